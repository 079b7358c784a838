/*
 * witness_req.c - the tlog-witness add-checkpoint request body parser
 * (see witness.h).  Untrusted input: every length is capped before use
 * and nothing is allocated.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "witness.h"

/* Canonical base64 (RFC 4648 section 4, padded) of exactly 32 bytes. */
static int hash_b64(const char *s, size_t len, merkle_hash out)
{
	uint8_t tmp[33];
	char re[45];

	if (len != 44 || s[43] != '=' || s[42] == '=')
		return -EBADMSG;
	for (size_t i = 0; i < 43; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -EBADMSG;
	}
	if (EVP_DecodeBlock(tmp, (const unsigned char *)s, 44) != 33)
		return -EBADMSG;
	EVP_EncodeBlock((unsigned char *)re, tmp, MERKLE_HASH_LEN);
	if (memcmp(re, s, 44) != 0)	/* non-zero pad bits */
		return -EBADMSG;
	memcpy(out, tmp, MERKLE_HASH_LEN);
	return 0;
}

/* Decimal, no leading zero unless "0", at most 2^63 (MERKLE_MAX_SIZE). */
static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');	/* 19 digits fit */
	}
	if (v > MERKLE_MAX_SIZE)
		return -EBADMSG;
	*out = v;
	return 0;
}

int witness_req_parse(const char *body, size_t len, struct witness_req *out)
{
	struct witness_req r;
	const char *p, *end, *nl;
	int rc;

	if (!body || !out)
		return -EINVAL;
	if (len > WITNESS_MAX_BODY)
		return -E2BIG;
	memset(&r, 0, sizeof(r));
	end = body + len;
	if (len < 4 || memcmp(body, "old ", 4) != 0)
		return -EBADMSG;
	if (!(nl = memchr(body, '\n', len)))
		return -EBADMSG;
	if ((rc = parse_dec(body + 4, (size_t)(nl - body) - 4, &r.old_size)))
		return rc;
	p = nl + 1;
	for (;;) {
		size_t n;

		if (p >= end || !(nl = memchr(p, '\n', (size_t)(end - p))))
			return -EBADMSG;	/* no empty line before the note */
		n = (size_t)(nl - p);
		if (n == 0)
			break;
		if (r.n_proof == WITNESS_MAX_PROOF)
			return -E2BIG;
		if ((rc = hash_b64(p, n, r.proof[r.n_proof])))
			return rc;
		r.n_proof++;
		p = nl + 1;
	}
	p = nl + 1;
	if (p >= end)
		return -EBADMSG;	/* no checkpoint */
	r.note = p;
	r.note_len = (size_t)(end - p);
	*out = r;
	return 0;
}
