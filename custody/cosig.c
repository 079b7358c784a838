/*
 * cosig.c - C2SP tlog-cosignature/v1 (Ed25519, type 0x04).  See cosig.h.
 *
 * Keys and vkeys go through checkpoint.c's signed-note code (note_int.h);
 * the cosignature line itself is read here with a small strict base64
 * for its one fixed length.
 */
#include "cosig.h"
#include "note_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SIG_PREFIX   "\xe2\x80\x94 "	/* U+2014 and a space */
#define PREFIX_LEN   4
#define RAW_LEN      (4 + 8 + EDKEY_SIG_LEN)	/* 76 */
#define MSG_HEAD_MAX 48	/* "cosignature/v1\ntime " 20 digits "\n" */

/* Canonical base64 of exactly `want` bytes from s[0..len). */
static int b64_fixed(const char *s, size_t len, uint8_t *out, size_t want)
{
	uint8_t tmp[120];
	char re[164];
	size_t enc = (want + 2) / 3 * 4;

	if (len != enc || enc >= sizeof(re) || enc / 4 * 3 > sizeof(tmp))
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		      (c == '=' && i >= len - 2)))
			return -EBADMSG;
	}
	if (EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len) !=
	    (int)(enc / 4 * 3))
		return -EBADMSG;
	/* re-encoding must give the same text: no stray '=' or pad bits */
	EVP_EncodeBlock((unsigned char *)re, tmp, (int)want);
	if (memcmp(re, s, len) != 0)
		return -EBADMSG;
	memcpy(out, tmp, want);
	return 0;
}

/* The key-id, vkey text and vkey parsing rules are the signed-note ones
 * of checkpoint.c with type 0x04 (note_int.h). */
int cosig_key_id(const char *name, const uint8_t pub[EDKEY_PUB_LEN],
		 uint8_t id[4])
{
	return ckpt_note_key_id(name, COSIG_SIG_TYPE, pub, id);
}

int cosig_vkey_from_edkey(const char *name, const struct edkey *key,
			  struct ckpt_vkey *out)
{
	return ckpt_note_vkey_from_edkey(name, COSIG_SIG_TYPE, key, out);
}

int cosig_vkey_format(const struct ckpt_vkey *v, char *buf, size_t cap)
{
	return ckpt_note_vkey_format(v, COSIG_SIG_TYPE, buf, cap);
}

int cosig_vkey_parse(const char *s, size_t len, struct ckpt_vkey *out)
{
	return ckpt_note_vkey_parse(s, len, COSIG_SIG_TYPE, out);
}

/* The signed message: header, time line, note text (heap, caller frees). */
static int build_msg(const char *text, size_t text_len, uint64_t ts,
		     char **msg, size_t *msg_len)
{
	char head[MSG_HEAD_MAX];
	int n;
	char *m;

	n = snprintf(head, sizeof(head), "cosignature/v1\ntime %llu\n",
		     (unsigned long long)ts);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if (!(m = malloc((size_t)n + text_len)))
		return -ENOMEM;
	memcpy(m, head, (size_t)n);
	memcpy(m + n, text, text_len);
	*msg = m;
	*msg_len = (size_t)n + text_len;
	return 0;
}

/* A note text: non-empty, ends in '\n', no empty line, under the cap. */
static int text_shape_ok(const char *text, size_t len)
{
	if (len < 2 || len > CKPT_MAX_NOTE || text[len - 1] != '\n' ||
	    text[0] == '\n')
		return 0;
	for (size_t i = 1; i < len; i++)
		if (text[i] == '\n' && text[i - 1] == '\n')
			return 0;
	return 1;
}

int cosig_sign(const struct edkey *k, const char *name, const char *text,
	       size_t text_len, uint64_t timestamp, char *line, size_t cap,
	       size_t *line_len)
{
	uint8_t raw[RAW_LEN], pub[EDKEY_PUB_LEN];
	char b64[COSIG_B64_LEN + 1];
	char *msg = NULL;
	size_t mlen;
	int rc, n;

	if (!k || !text || !line || !ckpt_name_valid(name) ||
	    timestamp > (uint64_t)COSIG_MAX_TIME || !text_shape_ok(text, text_len))
		return -EINVAL;
	if (!edkey_has_private(k))
		return -ENOKEY;
	if ((rc = edkey_public_raw(k, pub)) < 0 ||
	    (rc = cosig_key_id(name, pub, raw)) < 0)
		return rc;
	for (int i = 0; i < 8; i++)
		raw[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
	if ((rc = build_msg(text, text_len, timestamp, &msg, &mlen)) < 0)
		return rc;
	rc = edkey_sign(k, msg, mlen, raw + 12);
	free(msg);
	if (rc < 0)
		return rc;
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)sizeof(raw));
	n = snprintf(line, cap, SIG_PREFIX "%s %s\n", name, b64);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			line[0] = '\0';
		return -ENOSPC;
	}
	if (line_len)
		*line_len = (size_t)n;
	return 0;
}

int cosig_verify(const char *text, size_t text_len, const char *line,
		 size_t line_len, const struct ckpt_vkey *keys, size_t n,
		 size_t *which, uint64_t *timestamp)
{
	uint8_t raw[RAW_LEN];
	const char *name, *sp;
	size_t name_len, i;
	uint64_t ts = 0;
	char *msg = NULL;
	size_t mlen;
	int rc;

	if (!text || !line || (!keys && n))
		return -EINVAL;
	if (!text_shape_ok(text, text_len))
		return -EBADMSG;
	if (line_len > 0 && line[line_len - 1] == '\n')
		line_len--;
	if (line_len > COSIG_MAX_LINE)
		return -E2BIG;
	if (line_len <= PREFIX_LEN || memcmp(line, SIG_PREFIX, PREFIX_LEN))
		return -EBADMSG;
	name = line + PREFIX_LEN;
	sp = memchr(name, ' ', line_len - PREFIX_LEN);
	if (!sp || sp == name)
		return -EBADMSG;
	name_len = (size_t)(sp - name);
	if ((rc = b64_fixed(sp + 1, line_len - PREFIX_LEN - name_len - 1, raw,
			    sizeof(raw))) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if (strlen(keys[i].name) == name_len &&
		    !memcmp(keys[i].name, name, name_len) &&
		    !memcmp(keys[i].key_id, raw, 4))
			break;
	if (i == n)
		return -ENOKEY;
	for (int b = 0; b < 8; b++)
		ts = ts << 8 | raw[4 + b];
	if (ts > (uint64_t)COSIG_MAX_TIME)
		return -EKEYREJECTED;
	if ((rc = build_msg(text, text_len, ts, &msg, &mlen)) < 0)
		return rc;
	rc = edkey_verify_raw(keys[i].pub, msg, mlen, raw + 12);
	free(msg);
	if (rc == -EBADMSG)
		return -EKEYREJECTED;
	if (rc < 0)
		return rc;
	if (which)
		*which = i;
	if (timestamp)
		*timestamp = ts;
	return 0;
}

int cosig_note_text(const char *note, size_t len, size_t *text_len,
		    size_t *sigs)
{
	if (!note || !text_len || !sigs)
		return -EINVAL;
	if (len > CKPT_MAX_NOTE)
		return -E2BIG;
	if (len < 3 || note[len - 1] != '\n')
		return -EBADMSG;
	for (size_t i = len - 1; i-- > 0;)
		if (note[i] == '\n' && note[i + 1] == '\n') {
			if (i == 0)
				return -EBADMSG;
			*text_len = i + 1;
			*sigs = i + 2;
			return 0;
		}
	return -EBADMSG;
}

int cosig_note_check(const char *note, size_t len,
		     const struct ckpt_vkey *keys, size_t n, uint8_t *ok,
		     size_t *count, uint64_t *oldest)
{
	uint8_t seen[CKPT_MAX_SIGS];
	size_t tlen, p, c = 0, lines = 0;
	uint64_t old = 0;
	int rc;

	if (!note || !count || (!keys && n))
		return -EINVAL;
	if (n > CKPT_MAX_SIGS)
		return -E2BIG;
	if ((rc = cosig_note_text(note, len, &tlen, &p)) < 0)
		return rc;
	memset(seen, 0, sizeof(seen));
	while (p < len) {
		const char *nl = memchr(note + p, '\n', len - p);
		size_t llen = (size_t)(nl - (note + p)), k;
		uint64_t ts;

		if (++lines > CKPT_MAX_SIGS)
			return -E2BIG;
		rc = cosig_verify(note, tlen, note + p, llen, keys, n, &k, &ts);
		p += llen + 1;
		if (rc == -ENOKEY || rc == -EBADMSG)
			continue;	/* not ours (other types, the log's line) */
		if (rc < 0)
			return rc;
		if (seen[k])
			return -EBADMSG;	/* same key twice */
		seen[k] = 1;
		c++;
		if (old == 0 || ts < old)
			old = ts;
	}
	if (ok)
		memcpy(ok, seen, n);
	*count = c;
	if (oldest)
		*oldest = old;
	return 0;
}
