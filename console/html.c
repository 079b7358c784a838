/* html: output buffer and escaping. See html.h. */
#include "html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hb_init(struct hbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void hb_free(struct hbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put(struct hbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > HB_MAX) {
			b->err = -E2BIG;
			return;
		}
		if (!(p = realloc(b->p, cap))) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void hb_raw(struct hbuf *b, const char *s)
{
	if (s)
		put(b, s, strlen(s));
}

void hb_esc(struct hbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': put(b, "&amp;", 5); break;
		case '<': put(b, "&lt;", 4); break;
		case '>': put(b, "&gt;", 4); break;
		case '"': put(b, "&quot;", 6); break;
		case '\'': put(b, "&#39;", 5); break;
		default: put(b, s, 1); break;
		}
	}
}

void hb_url(struct hbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			put(b, s, 1);
		else
			put(b, e, 3);
	}
}

void hb_num(struct hbuf *b, int64_t n)
{
	char t[32];

	snprintf(t, sizeof(t), "%" PRId64, n);
	hb_raw(b, t);
}

char *hb_take(struct hbuf *b, size_t *len)
{
	char *p = b->err ? NULL : b->p;

	if (b->err)
		free(b->p);
	if (p && len)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}
