/*
 * checkpoint.c - C2SP tlog-checkpoint in a C2SP signed note, Ed25519.
 * See checkpoint.h for the format and the error contract.
 *
 * The parser never allocates in proportion to attacker input beyond the
 * CKPT_MAX_NOTE cap and copies out only after everything checked out.
 * Verifier keys (key ids, vkey text) are ckpt_key.c.
 */
#include "checkpoint.h"
#include "note_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define EM_DASH      "\xe2\x80\x94"	/* U+2014 */
#define SIG_PREFIX   EM_DASH " "
#define SIG_B64_LEN  92			/* base64(4 + 64 bytes) */
#define MAX_SIG_B64  8192		/* any signature line's base64 */

/* ---- small strict helpers ------------------------------------------------ */

/* NUL-terminated base64 of in[0..n) into out (cap >= b64_len(n) + 1). */
void ckpt_note_b64_encode(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Strict RFC 4648 section 4 decoding: length a multiple of 4, padding only
 * at the end, and canonical (re-encoding gives the same text, which
 * rejects non-zero pad bits).  EVP_DecodeBlock alone would accept
 * whitespace and keep the padding bytes in its count.
 */
int ckpt_note_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap,
			 size_t *outlen)
{
	uint8_t *tmp;
	char *re;
	size_t pad = 0, n;
	int rc = -EBADMSG;

	if (len == 0 || len % 4 || len > MAX_SIG_B64)
		return -EBADMSG;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(s[i]))
			return -EBADMSG;
	n = len / 4 * 3 - pad;
	if (n > cap)
		return -EBADMSG;
	tmp = malloc(len / 4 * 3);
	re = malloc(len + 1);
	if (!tmp || !re) {
		rc = -ENOMEM;
		goto fail;
	}
	if (EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len) !=
	    (int)(len / 4 * 3))
		goto fail;
	ckpt_note_b64_encode(tmp, n, re);
	if (memcmp(re, s, len) != 0)
		goto fail;
	memcpy(out, tmp, n);
	*outlen = n;
	rc = 0;
fail:
	free(tmp);
	free(re);
	return rc;
}

/* Valid UTF-8 (no overlong forms, surrogates or > U+10FFFF) and no control
 * character other than '\n' - the signed-note rule for the whole note. */
static int text_ok(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 && c != '\n')
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int ckpt_note_text_ok(const char *p, size_t len)
{
	return text_ok((const uint8_t *)p, len);
}

int ckpt_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return 0;
	n = strnlen(name, CKPT_MAX_NAME + 1);
	if (n == 0 || n > CKPT_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '+')
			return 0;
	return 1;
}

int ckpt_origin_valid(const char *origin)
{
	size_t n;

	if (!origin)
		return 0;
	n = strnlen(origin, CKPT_MAX_ORIGIN + 1);
	return n > 0 && n <= CKPT_MAX_ORIGIN &&
	       text_ok((const uint8_t *)origin, n) && !memchr(origin, '\n', n);
}

/* Extension text: "" or non-empty '\n'-terminated lines, capped. */
static int ext_valid(const char *ext)
{
	size_t n = strnlen(ext, CKPT_MAX_EXT + 1);

	if (n > CKPT_MAX_EXT)
		return 0;
	if (n == 0)
		return 1;
	if (!text_ok((const uint8_t *)ext, n) || ext[0] == '\n' ||
	    ext[n - 1] != '\n' || strstr(ext, "\n\n"))
		return 0;
	return 1;
}

/* ---- formatting ---------------------------------------------------------- */

int checkpoint_body(const struct checkpoint *cp, char *buf, size_t cap,
		    size_t *len)
{
	char root[48];
	int n;

	if (!cp || !buf || !ckpt_origin_valid(cp->origin) ||
	    !ext_valid(cp->extensions) || cp->size > MERKLE_MAX_SIZE)
		return -EINVAL;
	ckpt_note_b64_encode(cp->root, MERKLE_HASH_LEN, root);
	n = snprintf(buf, cap, "%s\n%llu\n%s\n%s", cp->origin,
		     (unsigned long long)cp->size, root, cp->extensions);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	if (len)
		*len = (size_t)n;
	return 0;
}

int checkpoint_format(const struct checkpoint *cp, const char *key_name,
		      const struct edkey *key, char *buf, size_t cap,
		      size_t *len)
{
	size_t blen, n;
	int rc;

	if (!key || !buf || !ckpt_name_valid(key_name))
		return -EINVAL;
	if (!edkey_has_private(key))
		return -ENOKEY;
	if ((rc = checkpoint_body(cp, buf, cap, &blen)) < 0)
		goto fail;
	if ((rc = ckpt_note_sigline(key_name, key, buf, blen, buf + blen,
				    cap - blen, &n)) < 0)
		goto fail;
	if (len)
		*len = blen + n;
	return 0;
fail:
	if (cap > 0)
		buf[0] = '\0';	/* never hand out an unsigned body */
	return rc;
}

/* "\n— name base64(id || sig)\n" for text[0..tlen) into out (NUL-
 * terminated); shared with signote.c through note_int.h. */
int ckpt_note_sigline(const char *key_name, const struct edkey *key,
		      const char *text, size_t tlen, char *out, size_t cap,
		      size_t *n_out)
{
	uint8_t raw[4 + EDKEY_SIG_LEN], pub[EDKEY_PUB_LEN];
	char sig64[SIG_B64_LEN + 1];
	int rc, n;

	if (!key || !text || !out || !ckpt_name_valid(key_name))
		return -EINVAL;
	if (!edkey_has_private(key))
		return -ENOKEY;
	if ((rc = edkey_public_raw(key, pub)) < 0 ||
	    (rc = ckpt_key_id(key_name, pub, raw)) < 0 ||
	    (rc = edkey_sign(key, text, tlen, raw + 4)) < 0)
		return rc;
	ckpt_note_b64_encode(raw, sizeof(raw), sig64);
	n = snprintf(out, cap, "\n" SIG_PREFIX "%s %s\n", key_name, sig64);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	*n_out = (size_t)n;
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* Next '\n'-terminated line of [*p, end); the note is known to end in
 * '\n', so every line has its terminator. */
static const char *next_line(const char **p, const char *end, size_t *llen)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

	*llen = (size_t)(nl - s);
	*p = nl + 1;
	return s;
}

/* No allocation: witness_req.c promises none for its untrusted body. */
int ckpt_note_hash_b64(const char *s, size_t len, merkle_hash out)
{
	uint8_t tmp[33];
	char re[45];

	if (len != 44 || s[43] != '=' || s[42] == '=')
		return -EBADMSG;
	for (size_t i = 0; i < 43; i++)
		if (!b64_char(s[i]))
			return -EBADMSG;
	if (EVP_DecodeBlock(tmp, (const unsigned char *)s, 44) != 33)
		return -EBADMSG;
	EVP_EncodeBlock((unsigned char *)re, tmp, MERKLE_HASH_LEN);
	if (memcmp(re, s, 44) != 0)	/* non-zero pad bits */
		return -EBADMSG;
	memcpy(out, tmp, MERKLE_HASH_LEN);
	return 0;
}

int ckpt_note_parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > MERKLE_MAX_SIZE)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* Body text [p, end): origin, size, root, extension lines; none empty. */
static int parse_body(const char *p, const char *end, struct checkpoint *cp)
{
	const char *line;
	size_t n;
	int rc;

	memset(cp, 0, sizeof(*cp));
	line = next_line(&p, end, &n);
	if (n == 0 || n > CKPT_MAX_ORIGIN)
		return n ? -E2BIG : -EBADMSG;
	memcpy(cp->origin, line, n);
	if (p == end)
		return -EBADMSG;
	line = next_line(&p, end, &n);
	if ((rc = ckpt_note_parse_size(line, n, &cp->size)) < 0 || p == end)
		return -EBADMSG;
	line = next_line(&p, end, &n);
	if (ckpt_note_hash_b64(line, n, cp->root) < 0)
		return -EBADMSG;
	if ((size_t)(end - p) > CKPT_MAX_EXT)
		return -E2BIG;
	memcpy(cp->extensions, p, (size_t)(end - p));
	/* the body has no empty line at all: the separator is unique */
	return ext_valid(cp->extensions) ? 0 : -EBADMSG;
}

struct sigline {
	const char *name;
	size_t name_len;
	uint8_t raw[MAX_SIG_B64 / 4 * 3];
	size_t raw_len;
};

static int parse_sigline(const char *s, size_t n, struct sigline *sl)
{
	const char *sp;
	size_t plen = sizeof(SIG_PREFIX) - 1;

	if (n <= plen || memcmp(s, SIG_PREFIX, plen) != 0)
		return -EBADMSG;
	s += plen;
	n -= plen;
	sp = memchr(s, ' ', n);
	if (!sp || sp == s || memchr(s, '+', (size_t)(sp - s)))
		return -EBADMSG;
	sl->name = s;
	sl->name_len = (size_t)(sp - s);
	n -= sl->name_len + 1;
	if (n > MAX_SIG_B64)
		return -E2BIG;
	if (ckpt_note_b64_decode(sp + 1, n, sl->raw, sizeof(sl->raw),
				 &sl->raw_len) < 0 ||
	    sl->raw_len < 5)
		return -EBADMSG;
	return 0;
}

/* Index of the known key this line claims (name AND id), or -1. */
static long match_key(const struct sigline *sl, const struct ckpt_vkey *keys,
		      size_t n_keys)
{
	for (size_t i = 0; i < n_keys; i++)
		if (strlen(keys[i].name) == sl->name_len &&
		    !memcmp(keys[i].name, sl->name, sl->name_len) &&
		    !memcmp(keys[i].key_id, sl->raw, 4))
			return (long)i;
	return -1;
}

int ckpt_note_verify_sigs(const char *p, const char *end, const char *text,
		       size_t text_len, const struct ckpt_vkey *keys,
		       size_t n_keys, size_t *signer)
{
	struct sigline *sl = malloc(sizeof(*sl));
	size_t seen[CKPT_MAX_SIGS], n_seen = 0;
	size_t count = 0, n;
	long first = -1, k;
	int rc = 0;

	if (!sl)
		return -ENOMEM;
	while (p < end && rc == 0) {
		const char *line = next_line(&p, end, &n);

		if (++count > CKPT_MAX_SIGS) {
			rc = -E2BIG;
			break;
		}
		if ((rc = parse_sigline(line, n, sl)) < 0)
			break;
		k = match_key(sl, keys, n_keys);
		if (k < 0)
			continue;	/* unknown keys are ignored (spec) */
		for (size_t i = 0; i < n_seen && rc == 0; i++)
			if (seen[i] == (size_t)k)
				rc = -EBADMSG;	/* same key twice */
		if (rc < 0)
			break;
		seen[n_seen++] = (size_t)k;
		if (sl->raw_len != 4 + EDKEY_SIG_LEN ||
		    edkey_verify_raw(keys[k].pub, text, text_len,
				     sl->raw + 4) != 0) {
			rc = -EKEYREJECTED;
			break;
		}
		if (first < 0)
			first = k;
	}
	free(sl);
	if (rc == 0 && count == 0)
		rc = -EBADMSG;
	if (rc == 0 && first < 0)
		rc = -ENOKEY;
	if (rc == 0 && signer)
		*signer = (size_t)first;
	return rc;
}

int ckpt_note_split(const char *note, size_t len, size_t n_keys,
		    const char **sep_out)
{
	const char *sep = NULL;

	if (len > CKPT_MAX_NOTE)
		return -E2BIG;
	if (n_keys == 0)
		return -ENOKEY;
	if (len < 2 || note[len - 1] != '\n' ||
	    !text_ok((const uint8_t *)note, len))
		return -EBADMSG;
	/* the text ends at the LAST empty line (signed-note spec) */
	for (size_t i = len - 1; i-- > 0;)
		if (note[i] == '\n' && note[i + 1] == '\n') {
			sep = note + i;
			break;
		}
	if (!sep || sep == note)
		return -EBADMSG;
	*sep_out = sep;
	return 0;
}

int checkpoint_parse_verify(const char *note, size_t len,
			    const struct ckpt_vkey *keys, size_t n_keys,
			    struct checkpoint *out, size_t *signer)
{
	struct checkpoint *cp;
	const char *sep = NULL, *end = note + len;
	size_t who = 0;
	int rc;

	if (!note || !out || (!keys && n_keys))
		return -EINVAL;
	if ((rc = ckpt_note_split(note, len, n_keys, &sep)) < 0)
		return rc;
	if (!(cp = malloc(sizeof(*cp))))
		return -ENOMEM;
	rc = parse_body(note, sep + 1, cp);
	if (rc == 0)
		rc = ckpt_note_verify_sigs(sep + 2, end, note, (size_t)(sep + 1 - note),
				 keys, n_keys, &who);
	if (rc == 0) {
		*out = *cp;
		if (signer)
			*signer = who;
	}
	free(cp);
	return rc;
}

const char *checkpoint_strerror(int err)
{
	switch (err) {
	case 0:			return "ok";
	case -EINVAL:		return "invalid argument";
	case -E2BIG:		return "checkpoint exceeds a size limit";
	case -EBADMSG:		return "malformed checkpoint or verifier key";
	case -ENOKEY:		return "not signed by any trusted key";
	case -EKEYREJECTED:	return "signature by a trusted key does not verify";
	case -ENOSPC:		return "output buffer too small";
	case -ENOMEM:		return "out of memory";
	case -EIO:		return "cryptographic library failure";
	default:		return "unexpected error";
	}
}
