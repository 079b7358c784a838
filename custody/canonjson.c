/*
 * canonjson.c - strict check of canonical details JSON (see canonjson.h).
 */
#include <stdint.h>
#include <string.h>

#include "canonjson.h"

struct cur { const unsigned char *p, *end; };

static int value(struct cur *c, int depth);

/* Length of the valid UTF-8 sequence (>= 0x80 lead) at p, 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], len, cp, k;

	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if ((size_t)(end - p) < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int hexu(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Next unescaped byte of a string whose escapes were already checked;
 * -1 at the closing quote. */
static int next_byte(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	int b;

	if (*p == '"')
		return -1;
	if (*p != '\\') {
		*pp = p + 1;
		return *p;
	}
	switch (p[1]) {
	case 'b': b = '\b'; break;
	case 'f': b = '\f'; break;
	case 'n': b = '\n'; break;
	case 'r': b = '\r'; break;
	case 't': b = '\t'; break;
	case 'u': *pp = p + 6; return hexu(p[4]) * 16 + hexu(p[5]);
	default: b = p[1]; break;	/* '"' or '\\' */
	}
	*pp = p + 2;
	return b;
}

/* Byte order of two checked strings (pointers just past the opening
 * quote): <0, 0, >0 like strcmp of the unescaped bytes. */
static int str_cmp(const unsigned char *a, const unsigned char *b)
{
	for (;;) {
		int x = next_byte(&a), y = next_byte(&b);
		if (x != y || x < 0)
			return x - y;
	}
}

/* A canonical string at c->p (the opening quote). */
static int string(struct cur *c)
{
	const unsigned char *p = c->p + 1;

	if (c->p >= c->end || *c->p != '"')
		return 0;
	while (p < c->end && *p != '"') {
		if (*p == '\\') {
			if (c->end - p < 2)
				return 0;
			if (strchr("\"\\bfnrt", p[1]) && p[1]) {
				p += 2;
				continue;
			}
			/* \u00XX only for the bytes without a short form */
			if (p[1] != 'u' || c->end - p < 6 || p[2] != '0' || p[3] != '0' ||
			    hexu(p[4]) < 0 || hexu(p[5]) < 0 || hexu(p[4]) > 1)
				return 0;
			{
				int b = hexu(p[4]) * 16 + hexu(p[5]);
				if (!b || b == '\b' || b == '\f' || b == '\n' || b == '\r' ||
				    b == '\t')
					return 0;
			}
			p += 6;
		} else if (*p < 0x20 || *p == 0x7f) {
			return 0;
		} else if (*p < 0x80) {
			p++;
		} else {
			size_t l = utf8_len(p, c->end);
			if (!l)
				return 0;
			p += l;
		}
	}
	if (p >= c->end)
		return 0;
	c->p = p + 1;
	return 1;
}

static int integer(struct cur *c)
{
	static const char max[] = "9223372036854775807";
	const unsigned char *p = c->p, *d;
	size_t n;
	int neg = 0;

	if (p < c->end && *p == '-') {
		neg = 1;
		p++;
	}
	d = p;
	while (p < c->end && *p >= '0' && *p <= '9')
		p++;
	n = (size_t)(p - d);
	if (!n || (n > 1 && *d == '0') || (neg && n == 1 && *d == '0'))
		return 0;
	if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return 0;	/* no fractions or exponents */
	if (n > 19 || (n == 19 && memcmp(d, max, 19) > 0 &&
		       !(neg && !memcmp(d, "9223372036854775808", 19))))
		return 0;
	c->p = p;
	return 1;
}

static int lit(struct cur *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return 0;
	c->p += n;
	return 1;
}

static int object(struct cur *c, int depth)
{
	const unsigned char *prev = NULL, *key;

	c->p++;		/* '{' */
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 1;
	}
	for (;;) {
		key = c->p + 1;
		if (!string(c))
			return 0;
		if (prev && str_cmp(prev, key) >= 0)
			return 0;	/* unsorted or duplicate key */
		prev = key;
		if (c->p >= c->end || *c->p++ != ':' || !value(c, depth + 1))
			return 0;
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return 1;
		}
		if (c->p >= c->end || *c->p++ != ',')
			return 0;
	}
}

static int array(struct cur *c, int depth)
{
	c->p++;		/* '[' */
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 1;
	}
	for (;;) {
		if (!value(c, depth + 1))
			return 0;
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return 1;
		}
		if (c->p >= c->end || *c->p++ != ',')
			return 0;
	}
}

static int value(struct cur *c, int depth)
{
	if (c->p >= c->end || depth > CUST_JSON_MAX_DEPTH)
		return 0;
	switch (*c->p) {
	case '{': return object(c, depth);
	case '[': return array(c, depth);
	case '"': return string(c);
	case 't': return lit(c, "true");
	case 'f': return lit(c, "false");
	case 'n': return lit(c, "null");
	default: return integer(c);
	}
}

int cust_json_canonical_object(const char *s, size_t n)
{
	struct cur c = { (const unsigned char *)s, (const unsigned char *)s + n };

	if (!s || !n || *s != '{' || !object(&c, 1))
		return 0;
	return c.p == c.end;
}
