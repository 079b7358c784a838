/*
 * evfile key handling: HKDF/HMAC/GCM wrappers and the recipient stanzas
 * that wrap a file's data key to agency public keys. OpenSSL EVP only.
 */
#include "evfile_int.h"
#include "agencykey.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

int evf_hkdf(const char *md, const uint8_t *ikm, size_t ikm_len,
	     const uint8_t *salt, size_t salt_len,
	     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];
	int rc = 0;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	p[4] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_KDF_derive(ctx, out, out_len, p) != 1) {
		ERR_clear_error();
		rc = -ENOMEM;
	}
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

int evf_hmac_sha256(const uint8_t key[32], const uint8_t *data, size_t len,
		    uint8_t out[32])
{
	size_t outlen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, data, len,
		       out, 32, &outlen) || outlen != 32) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

/* AES-256-GCM in place. enc=1 writes the tag; enc=0 checks it (-EBADMSG). */
int evf_gcm(EVP_CIPHER_CTX *ctx, int enc, const uint8_t key[32],
	    const uint8_t nonce[EVF_NONCE_LEN], const uint8_t *aad, size_t aad_len,
	    uint8_t *buf, size_t len, uint8_t tag[EVFILE_TAG_LEN])
{
	int outl = 0, ok;

	if (len > INT32_MAX || aad_len > INT32_MAX)
		return -EINVAL;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1;
	if (ok && aad_len)
		ok = EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) == 1;
	if (ok && len)
		ok = EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) == 1;
	if (!ok) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (enc) {
		ok = EVP_CipherFinal_ex(ctx, buf + len, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
					 EVFILE_TAG_LEN, tag) == 1;
		ERR_clear_error();
		return ok ? 0 : -ENOMEM;
	}
	ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, EVFILE_TAG_LEN, tag) == 1 &&
	     EVP_CipherFinal_ex(ctx, buf + len, &outl) == 1;
	ERR_clear_error();
	if (!ok) {
		OPENSSL_cleanse(buf, len); /* never hand out unauthenticated bytes */
		return -EBADMSG;
	}
	return 0;
}

static const uint8_t zero_nonce[EVF_NONCE_LEN];

/* KEK = HKDF-<md>(Z, salt, info || eph_point || key_id). */
static int ecdh_kek(int type, const uint8_t *z, size_t z_len,
		    const uint8_t salt[EVFILE_SALT_LEN], const uint8_t *point,
		    size_t point_len, const uint8_t key_id[EVFILE_KEYID_LEN],
		    uint8_t kek[32])
{
	const char *label = type == AGENCYKEY_P256 ? EVF_INFO_P256 : EVF_INFO_P384;
	uint8_t info[64 + EVF_P384_POINT + EVFILE_KEYID_LEN];
	size_t ll = strlen(label), n = 0;

	memcpy(info, label, ll);
	n += ll;
	memcpy(info + n, point, point_len);
	n += point_len;
	memcpy(info + n, key_id, EVFILE_KEYID_LEN);
	n += EVFILE_KEYID_LEN;
	return evf_hkdf(type == AGENCYKEY_P256 ? "SHA256" : "SHA384", z, z_len,
			salt, EVFILE_SALT_LEN, info, n, kek, 32);
}

static int ecdh_derive(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t *z_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
		 EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) == 1 &&
		 EVP_PKEY_derive(ctx, z, z_len) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -EBADMSG;
}

static int wrap_ecdh(EVP_PKEY *rcpt, int type, const uint8_t salt[EVFILE_SALT_LEN],
		     const uint8_t dk[EVFILE_KEY_LEN],
		     const uint8_t key_id[EVFILE_KEYID_LEN], uint8_t *body, size_t *body_len)
{
	size_t plen = type == AGENCYKEY_P256 ? EVF_P256_POINT : EVF_P384_POINT;
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
					  type == AGENCYKEY_P256 ? "P-256" : "P-384");
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t z[66], kek[32];
	size_t zl = sizeof(z), got = 0;
	int rc = -ENOMEM;

	if (!eph || !c)
		goto out;
	if (!EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					     body, plen, &got) ||
	    got != plen || body[0] != 0x04)
		goto out;
	rc = ecdh_derive(eph, rcpt, z, &zl);
	if (rc) {
		rc = -EINVAL;
		goto out;
	}
	rc = ecdh_kek(type, z, zl, salt, body, plen, key_id, kek);
	if (rc)
		goto out;
	memcpy(body + plen, dk, EVFILE_KEY_LEN);
	rc = evf_gcm(c, 1, kek, zero_nonce, NULL, 0, body + plen, EVFILE_KEY_LEN,
		     body + plen + EVFILE_KEY_LEN);
	if (!rc)
		*body_len = plen + EVF_WRAPPED_LEN;
out:
	ERR_clear_error();
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_free(eph);
	return rc;
}

static int rsa_oaep_ctx(EVP_PKEY_CTX *ctx)
{
	return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1;
}

static int wrap_rsa(EVP_PKEY *rcpt, const uint8_t dk[EVFILE_KEY_LEN],
		    uint8_t *body, size_t *body_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rcpt, NULL);
	size_t outl = EVF_RSA_MAX;
	int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 && rsa_oaep_ctx(ctx) &&
		 EVP_PKEY_encrypt(ctx, body, &outl, dk, EVFILE_KEY_LEN) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok || outl != (size_t)EVP_PKEY_get_size(rcpt))
		return -EINVAL;
	*body_len = outl;
	return 0;
}

int evf_wrap(EVP_PKEY *recipient, const uint8_t salt[EVFILE_SALT_LEN],
	     const uint8_t dk[EVFILE_KEY_LEN], uint8_t *out, size_t *out_len)
{
	int type = agencykey_type(recipient);
	uint8_t *body = out + EVF_STANZA_FIXED;
	size_t body_len = 0;
	int rc;

	if (type < 0)
		return -EINVAL;
	rc = agencykey_id(recipient, out + 3);
	if (rc)
		return rc;
	if (type == AGENCYKEY_RSA)
		rc = wrap_rsa(recipient, dk, body, &body_len);
	else
		rc = wrap_ecdh(recipient, type, salt, dk, out + 3, body, &body_len);
	if (rc)
		return rc;
	/* agencykey types and stanza types share their numbers on purpose. */
	out[0] = (uint8_t)type;
	evf_put_be(out + 1, body_len, 2);
	*out_len = EVF_STANZA_FIXED + body_len;
	return 0;
}

static EVP_PKEY *ec_point_key(int type, const uint8_t *point, size_t len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM p[3];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		(char *)(type == AGENCYKEY_P256 ? "P-256" : "P-384"), 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						 (void *)point, len);
	p[2] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pk;
}

static int unwrap_ecdh(EVP_PKEY *key, int type, const uint8_t salt[EVFILE_SALT_LEN],
		       const struct evfile_stanza *s, const uint8_t *body,
		       uint8_t dk[EVFILE_KEY_LEN])
{
	size_t plen = type == AGENCYKEY_P256 ? EVF_P256_POINT : EVF_P384_POINT;
	EVP_CIPHER_CTX *c = NULL;
	EVP_PKEY *peer = NULL;
	uint8_t z[66], kek[32], wrapped[EVF_WRAPPED_LEN];
	size_t zl = sizeof(z);
	int rc = -EBADMSG;

	/* The parser fixed body_len; a compressed or odd point is forged. */
	if (s->body_len != plen + EVF_WRAPPED_LEN || body[0] != 0x04)
		return -EBADMSG;
	peer = ec_point_key(type, body, plen);  /* rejects off-curve points */
	if (!peer)
		goto out;
	rc = ecdh_derive(key, peer, z, &zl);
	if (rc)
		goto out;
	rc = ecdh_kek(type, z, zl, salt, body, plen, s->key_id, kek);
	if (rc)
		goto out;
	c = EVP_CIPHER_CTX_new();
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(wrapped, body + plen, EVF_WRAPPED_LEN);
	rc = evf_gcm(c, 0, kek, zero_nonce, NULL, 0, wrapped, EVFILE_KEY_LEN,
		     wrapped + EVFILE_KEY_LEN);
	if (!rc)
		memcpy(dk, wrapped, EVFILE_KEY_LEN);
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(wrapped, sizeof(wrapped));
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_free(peer);
	return rc;
}

static int unwrap_rsa(EVP_PKEY *key, const struct evfile_stanza *s,
		      const uint8_t *body, uint8_t dk[EVFILE_KEY_LEN])
{
	EVP_PKEY_CTX *ctx;
	uint8_t out[EVF_RSA_MAX];
	size_t outl = sizeof(out);
	int ok;

	/* Our own modulus size, or the stanza cannot be for this key. */
	if (s->body_len != (uint32_t)EVP_PKEY_get_size(key))
		return -EBADMSG;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 && rsa_oaep_ctx(ctx) &&
	     EVP_PKEY_decrypt(ctx, out, &outl, body, s->body_len) == 1 &&
	     outl == EVFILE_KEY_LEN;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (ok)
		memcpy(dk, out, EVFILE_KEY_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	return ok ? 0 : -EBADMSG;
}

int evf_unwrap(EVP_PKEY *key, const struct evfile_info *info,
	       const uint8_t *hdr, uint8_t dk[EVFILE_KEY_LEN])
{
	uint8_t id[EVFILE_KEYID_LEN];
	int type = agencykey_type(key);
	int rc;

	if (type < 0)
		return -EINVAL;
	rc = agencykey_id(key, id);
	if (rc)
		return rc;
	/* Key ids are unique within a header (the parser enforces it). */
	for (unsigned i = 0; i < info->n_stanzas; i++) {
		const struct evfile_stanza *s = &info->stanzas[i];
		const uint8_t *body = hdr + s->body_off;

		if (CRYPTO_memcmp(s->key_id, id, sizeof(id)))
			continue;
		/* Same public key but another type: a forged stanza. */
		if (s->type != type)
			return -EBADMSG;
		if (type == AGENCYKEY_RSA)
			return unwrap_rsa(key, s, body, dk);
		return unwrap_ecdh(key, type, info->salt, s, body, dk);
	}
	return -ENOKEY;
}

int evf_keys_derive(const struct evfile_info *info, const uint8_t *hdr,
		    const uint8_t dk[EVFILE_KEY_LEN], struct evf_keys *k)
{
	size_t mac_off = info->header_len - EVFILE_MAC_LEN;
	uint8_t mac[EVFILE_MAC_LEN];
	unsigned int hl = 0;
	int rc;

	rc = evf_hkdf("SHA256", dk, EVFILE_KEY_LEN, info->salt, EVFILE_SALT_LEN,
		      (const uint8_t *)EVF_INFO_HEADER, strlen(EVF_INFO_HEADER),
		      k->hdr_mac, sizeof(k->hdr_mac));
	if (!rc)
		rc = evf_hmac_sha256(k->hdr_mac, hdr, mac_off, mac);
	if (!rc && CRYPTO_memcmp(mac, hdr + mac_off, EVFILE_MAC_LEN))
		rc = -EBADMSG;
	if (!rc)
		rc = evf_hkdf("SHA256", dk, EVFILE_KEY_LEN, info->salt,
			      EVFILE_SALT_LEN, (const uint8_t *)EVF_INFO_PAYLOAD,
			      strlen(EVF_INFO_PAYLOAD), k->payload, sizeof(k->payload));
	if (!rc && !EVP_Digest(hdr, info->header_len, k->hdr_hash, &hl,
			       EVP_sha256(), NULL))
		rc = -ENOMEM;
	if (rc)
		OPENSSL_cleanse(k, sizeof(*k));
	return rc;
}
