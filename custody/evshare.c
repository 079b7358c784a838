/*
 * evshare.c - re-wrapping a file's data key to a recipient, and reading
 * with such a share (evshare.h; docs/evidence-format.md §15). Only the
 * primitives of evfile_wrap.c: no new algorithm.
 */
#include "evshare.h"
#include "evfile_int.h"
#include "agencykey.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

static int binding_mac(const uint8_t dk[EVFILE_KEY_LEN],
		       const uint8_t salt[EVFILE_SALT_LEN],
		       const uint8_t *binding, size_t len, uint8_t mac[32])
{
	uint8_t k[32];
	int rc = evf_hkdf("SHA256", dk, EVFILE_KEY_LEN, salt, EVFILE_SALT_LEN,
			  (const uint8_t *)EVSHARE_INFO_MAC,
			  strlen(EVSHARE_INFO_MAC), k, sizeof(k));

	if (!rc)
		rc = evf_hmac_sha256(k, binding, len, mac);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

int evshare_make(EVP_PKEY *agency, const uint8_t *hdr, size_t hdr_len,
		 EVP_PKEY *recipient, const uint8_t *binding, size_t binding_len,
		 uint8_t *stanza, size_t *stanza_len,
		 uint8_t mac[EVSHARE_MAC_LEN], uint8_t hh[32])
{
	struct evfile_info info;
	struct evf_keys k;
	uint8_t dk[EVFILE_KEY_LEN], st[EVSHARE_STANZA_MAX], m[EVSHARE_MAC_LEN];
	size_t st_len = 0;
	int rc;

	if (!agency || !hdr || !recipient || !binding || !stanza || !stanza_len ||
	    !mac || !hh || binding_len > EVSHARE_BINDING_MAX)
		return -EINVAL;
	if (agencykey_type(recipient) < 0)
		return -EPROTONOSUPPORT;
	rc = evfile_header_parse(hdr, hdr_len, &info);
	if (!rc && info.header_len != hdr_len)
		rc = -EPROTO;
	if (!rc)
		rc = evf_unwrap(agency, &info, hdr, dk);
	if (rc)
		return rc;
	/* The MAC check proves dk is this file's key before we hand it on. */
	rc = evf_keys_derive(&info, hdr, dk, &k);
	if (!rc)
		rc = evf_wrap(recipient, info.salt, dk, st, &st_len);
	if (!rc)
		rc = binding_mac(dk, info.salt, binding, binding_len, m);
	OPENSSL_cleanse(dk, sizeof(dk));
	if (!rc) {
		memcpy(stanza, st, st_len);
		*stanza_len = st_len;
		memcpy(mac, m, sizeof(m));
		memcpy(hh, k.hdr_hash, 32);
	}
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

struct share_arg {
	EVP_PKEY *key;
	const struct evshare *sh;
};

/* The share's stanza, checked as the header parser checks stanzas (§10
 * step 2), seen as a one-stanza header so evf_unwrap applies as is. */
static int share_dk(void *arg, const struct evfile_info *info,
		    const uint8_t *hdr, uint8_t dk[EVFILE_KEY_LEN])
{
	const struct share_arg *a = arg;
	const struct evshare *sh = a->sh;
	struct evfile_info one;
	uint8_t hh[32], mac[EVSHARE_MAC_LEN];
	unsigned int hl = 0;
	uint32_t body_len;
	int rc;

	if (!EVP_Digest(hdr, info->header_len, hh, &hl, EVP_sha256(), NULL))
		return -ENOMEM;
	if (CRYPTO_memcmp(hh, sh->header_sha256, sizeof(hh)))
		return -EXDEV;
	if (sh->stanza_len < EVF_STANZA_FIXED)
		return -EPROTO;
	body_len = (uint32_t)evf_get_be(sh->stanza + 1, 2);
	if (sh->stanza_len != EVF_STANZA_FIXED + body_len)
		return -EPROTO;
	switch (sh->stanza[0]) {
	case EVFILE_R_ECDH_P256:
		rc = body_len == EVF_P256_POINT + EVF_WRAPPED_LEN ? 0 : -EPROTO;
		break;
	case EVFILE_R_ECDH_P384:
		rc = body_len == EVF_P384_POINT + EVF_WRAPPED_LEN ? 0 : -EPROTO;
		break;
	case EVFILE_R_RSA_OAEP:
		rc = body_len >= EVF_RSA_MIN && body_len <= EVF_RSA_MAX ? 0 : -EPROTO;
		break;
	default:
		rc = -EPROTONOSUPPORT;
	}
	if (rc)
		return rc;
	memset(&one, 0, sizeof(one));
	memcpy(one.salt, info->salt, sizeof(one.salt));
	one.n_stanzas = 1;
	one.stanzas[0].type = sh->stanza[0];
	memcpy(one.stanzas[0].key_id, sh->stanza + 3, EVFILE_KEYID_LEN);
	one.stanzas[0].body_off = EVF_STANZA_FIXED;
	one.stanzas[0].body_len = body_len;
	rc = evf_unwrap(a->key, &one, sh->stanza, dk);
	if (!rc)
		rc = binding_mac(dk, info->salt, sh->binding, sh->binding_len, mac);
	if (!rc && CRYPTO_memcmp(mac, sh->mac, sizeof(mac)))
		rc = -EBADMSG;
	if (rc)
		OPENSSL_cleanse(dk, EVFILE_KEY_LEN);
	return rc;
}

int evshare_reader_open(struct evfile_reader **r, EVP_PKEY *key,
			const struct evshare *sh, evfile_read_fn in,
			void *in_arg, struct evfile_info *info)
{
	struct share_arg a = { key, sh };

	if (!key || !sh || !sh->stanza || !sh->binding ||
	    sh->binding_len > EVSHARE_BINDING_MAX)
		return -EINVAL;
	return evf_reader_open_with(r, share_dk, &a, in, in_arg, info);
}
