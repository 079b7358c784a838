/* receipt: offline export receipts - text format, signing, parsing.
 * See receipt.h; the format is specified in docs/custody-access.md. */
#include "receipt.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

enum kind { K_TEXT, K_HEX64, K_NUMBER, K_COMMAND, K_TIME };

/* The lines after the magic, in their one allowed order. */
static const struct field {
	const char *name;
	size_t off, cap;
	int optional;
	enum kind kind;
} fields[] = {
#define F(n, m, o, k) { n, offsetof(struct receipt, m), \
			sizeof(((struct receipt *)0)->m), o, k }
	{ "number", 0, 0, 0, K_NUMBER },
	F("agency", agency, 0, K_TEXT),
	F("workstation", workstation, 0, K_TEXT),
	F("key-id", key_id, 0, K_HEX64),
	F("command", command, 0, K_COMMAND),
	F("item", item, 0, K_TEXT),
	F("sha256", sha256, 0, K_HEX64),
	F("output", output, 0, K_TEXT),
	F("user", user, 0, K_TEXT),
	F("reason", reason, 0, K_TEXT),
	F("case", case_no, 1, K_TEXT),
	F("recipient-key-id", rkey, 1, K_HEX64),
	F("until", until, 1, K_TIME),
	F("time", time, 0, K_TIME),
#undef F
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9') v |= c - '0';
			else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
			else return -EINVAL;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

int receipt_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

int receipt_key_id(const uint8_t pub[EDKEY_PUB_LEN], char out[65])
{
	uint8_t md[32];
	unsigned n = 0;

	if (!EVP_Digest(pub, EDKEY_PUB_LEN, md, &n, EVP_sha256(), NULL))
		return -EIO;
	hex(md, sizeof(md), out);
	return 0;
}

/* YYYY-MM-DDTHH:MM:SSZ, digits where digits belong. */
static int time_ok(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	return 1;
}

/* One value: 1..RECEIPT_VAL_MAX bytes, no control character, valid for
 * its kind. */
static int value_ok(const struct field *f, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	if (n == 0 || n > RECEIPT_VAL_MAX || memchr(v, '\0', n))
		return 0;
	switch (f->kind) {
	case K_HEX64:
		return receipt_hex64(v);
	case K_COMMAND:
		return !strcmp(v, "export") || !strcmp(v, "share") ||
		       !strcmp(v, "decrypt");
	case K_TIME:
		return time_ok(v);
	default:
		return 1;
	}
}

static int parse_number(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 16 || v[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > RECEIPT_NUMBER_MAX)
		return -EINVAL;
	*out = x;
	return 0;
}

int receipt_sign(struct receipt *r, const struct edkey *k, char *buf,
		 size_t cap, size_t *len)
{
	size_t at;
	int n, rc;
	char sig[2 * EDKEY_SIG_LEN + 1];

	if (!r || !k || !buf || !len || !r->number || r->number > RECEIPT_NUMBER_MAX)
		return -EINVAL;
	n = snprintf(buf, cap, "%s\nnumber: %llu\n", RECEIPT_MAGIC,
		     (unsigned long long)r->number);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	at = (size_t)n;
	for (size_t i = 1; i < NFIELDS; i++) {
		const char *v = (const char *)r + fields[i].off;

		if (!v[0] && fields[i].optional)
			continue;
		if (!value_ok(&fields[i], v, strlen(v)))
			return -EINVAL;
		n = snprintf(buf + at, cap - at, "%s: %s\n", fields[i].name, v);
		if (n < 0 || (size_t)n >= cap - at)
			return -ENOSPC;
		at += (size_t)n;
	}
	if (at > RECEIPT_MAX - 12 - 2 * EDKEY_SIG_LEN)
		return -ENOSPC;
	if ((rc = edkey_sign(k, buf, at, r->sig)))
		return rc;
	r->signed_len = at;
	hex(r->sig, EDKEY_SIG_LEN, sig);
	n = snprintf(buf + at, cap - at, "signature: %s\n", sig);
	if (n < 0 || (size_t)n >= cap - at)
		return -ENOSPC;
	*len = at + (size_t)n;
	return 0;
}

/* The next line of buf[*at..len): must be "name: value\n". */
static int take_line(const char *buf, size_t len, size_t *at, const char *name,
		     const char **val, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = buf + *at, *e;

	if (len - *at < nl + 3 || memcmp(p, name, nl) || p[nl] != ':' || p[nl + 1] != ' ')
		return -EINVAL;
	e = memchr(p, '\n', len - *at);
	if (!e)
		return -EINVAL;
	*val = p + nl + 2;
	*vlen = (size_t)(e - *val);
	*at = (size_t)(e - buf) + 1;
	return 0;
}

int receipt_parse(const char *buf, size_t len, struct receipt *out)
{
	struct receipt r;
	const char *v;
	size_t at, vlen, ml = strlen(RECEIPT_MAGIC);
	size_t i;

	if (!buf || !out || len > RECEIPT_MAX || len < ml + 1 ||
	    memcmp(buf, RECEIPT_MAGIC "\n", ml + 1))
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	at = ml + 1;
	if (take_line(buf, len, &at, "number", &v, &vlen) ||
	    parse_number(v, vlen, &r.number))
		return -EINVAL;
	for (i = 1; i < NFIELDS; i++) {
		char *dst = (char *)&r + fields[i].off;

		if (take_line(buf, len, &at, fields[i].name, &v, &vlen)) {
			if (fields[i].optional)
				continue;
			return -EINVAL;
		}
		if (vlen >= fields[i].cap)
			return -EINVAL;
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
		if (!value_ok(&fields[i], dst, vlen))
			return -EINVAL;
	}
	r.signed_len = at;
	if (take_line(buf, len, &at, "signature", &v, &vlen) ||
	    vlen != 2 * EDKEY_SIG_LEN || unhex(v, EDKEY_SIG_LEN, r.sig) || at != len)
		return -EINVAL;
	*out = r;
	return 0;
}

int receipt_verify(const struct receipt *r, const char *buf,
		   const uint8_t pub[EDKEY_PUB_LEN])
{
	if (!r || !buf || !pub || r->signed_len > RECEIPT_MAX)
		return -EINVAL;
	return edkey_verify_raw(pub, buf, r->signed_len, r->sig) ? -EBADMSG : 0;
}
