/*
 * ckpt_key.c - signed-note verifier keys: key ids, vkey text (format and
 * strict parsing) for the log's Ed25519 key and, by signature type, for
 * witness cosignature keys. See checkpoint.h and note_int.h; the note
 * itself is checkpoint.c.
 */
#include "checkpoint.h"
#include "note_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define SIG_TYPE_ED25519 0x01

/*
 * The four key functions below take the signature type because the same
 * key-id, vkey text and vkey parsing rules serve the log's Ed25519 key
 * (0x01, here) and witness cosignature keys (0x04, cosig.c) - see
 * note_int.h.
 */
int ckpt_note_key_id(const char *name, uint8_t type,
		     const uint8_t pub[EDKEY_PUB_LEN], uint8_t id[4])
{
	const uint8_t sep[2] = { 0x0a, type };
	uint8_t md[32];
	EVP_MD_CTX *ctx;
	int rc = -EIO;

	if (!name || !pub || !id)
		return -EINVAL;
	if (!(ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, name, strlen(name)) &&
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) &&
	    EVP_DigestUpdate(ctx, pub, EDKEY_PUB_LEN) &&
	    EVP_DigestFinal_ex(ctx, md, NULL)) {
		memcpy(id, md, 4);
		rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int ckpt_note_vkey_from_edkey(const char *name, uint8_t type,
			      const struct edkey *key, struct ckpt_vkey *out)
{
	struct ckpt_vkey v;
	int rc;

	if (!key || !out || !ckpt_name_valid(name))
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	memcpy(v.name, name, strlen(name) + 1);
	if ((rc = edkey_public_raw(key, v.pub)) < 0 ||
	    (rc = ckpt_note_key_id(v.name, type, v.pub, v.key_id)) < 0)
		return rc;
	*out = v;
	return 0;
}

int ckpt_note_vkey_format(const struct ckpt_vkey *v, uint8_t type, char *buf,
			  size_t cap)
{
	uint8_t raw[1 + EDKEY_PUB_LEN];
	char b64[64];
	int n;

	if (!v || !buf || !ckpt_name_valid(v->name))
		return -EINVAL;
	raw[0] = type;
	memcpy(raw + 1, v->pub, EDKEY_PUB_LEN);
	ckpt_note_b64_encode(raw, sizeof(raw), b64);
	n = snprintf(buf, cap, "%s+%02x%02x%02x%02x+%s", v->name,
		     v->key_id[0], v->key_id[1], v->key_id[2], v->key_id[3],
		     b64);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return 0;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* uppercase is not the spec's lowercase hex */
}

int ckpt_note_vkey_parse(const char *s, size_t len, uint8_t type,
			 struct ckpt_vkey *out)
{
	uint8_t raw[1 + EDKEY_PUB_LEN], id[4];
	struct ckpt_vkey v;
	const char *plus;
	size_t nlen, rlen;
	int rc;

	if (!s || !out)
		return -EINVAL;
	if (len >= CKPT_MAX_VKEY)
		return -E2BIG;
	plus = memchr(s, '+', len);
	if (!plus)
		return -EBADMSG;
	nlen = (size_t)(plus - s);
	/* name '+' 8 hex '+' 44 base64 */
	if (nlen == 0 || nlen > CKPT_MAX_NAME || len != nlen + 1 + 8 + 1 + 44 ||
	    s[nlen + 9] != '+')
		return -EBADMSG;
	memset(&v, 0, sizeof(v));
	memcpy(v.name, s, nlen);
	/* strlen check: a NUL inside the name would silently truncate it */
	if (strlen(v.name) != nlen || !ckpt_name_valid(v.name))
		return -EBADMSG;
	for (int i = 0; i < 4; i++) {
		int hi = hex_nibble(s[nlen + 1 + 2 * i]);
		int lo = hex_nibble(s[nlen + 2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		v.key_id[i] = (uint8_t)(hi << 4 | lo);
	}
	rc = ckpt_note_b64_decode(s + nlen + 10, 44, raw, sizeof(raw), &rlen);
	if (rc < 0)
		return rc;
	if (rlen != sizeof(raw) || raw[0] != type)
		return -EBADMSG;
	memcpy(v.pub, raw + 1, EDKEY_PUB_LEN);
	if ((rc = ckpt_note_key_id(v.name, type, v.pub, id)) < 0)
		return rc;
	if (memcmp(id, v.key_id, 4) != 0)
		return -EBADMSG;
	*out = v;
	return 0;
}

int ckpt_key_id(const char *name, const uint8_t pub[EDKEY_PUB_LEN],
		uint8_t id[4])
{
	return ckpt_note_key_id(name, SIG_TYPE_ED25519, pub, id);
}

int ckpt_vkey_from_edkey(const char *name, const struct edkey *key,
			 struct ckpt_vkey *out)
{
	return ckpt_note_vkey_from_edkey(name, SIG_TYPE_ED25519, key, out);
}

int ckpt_vkey_format(const struct ckpt_vkey *v, char *buf, size_t cap)
{
	return ckpt_note_vkey_format(v, SIG_TYPE_ED25519, buf, cap);
}

int ckpt_vkey_parse(const char *s, size_t len, struct ckpt_vkey *out)
{
	return ckpt_note_vkey_parse(s, len, SIG_TYPE_ED25519, out);
}
