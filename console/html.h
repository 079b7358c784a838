#ifndef CONSOLE_HTML_H
#define CONSOLE_HTML_H
/*
 * html: a growing output buffer for server-rendered pages, with the one
 * escaping rule every value from the ledger goes through (camera, officer,
 * case and reason fields are hostile input: docs/console.md "Escaping").
 *
 *   hb_raw()  trusted markup written by the console itself
 *   hb_esc()  any value: & < > " ' become entities (safe in text and in
 *             double-quoted attributes)
 *   hb_url()  a value inside a URL query (percent-encoded, then safe in
 *             an attribute as well)
 *   hb_num()  a number
 *
 * A buffer that would grow past HB_MAX, or cannot grow, goes into error
 * state (hb.err = -E2BIG / -ENOMEM) and ignores further writes; the
 * caller checks err once at the end.
 */
#include <stddef.h>
#include <stdint.h>

#define HB_MAX (4u << 20)

struct hbuf {
	char *p;
	size_t len, cap;
	int err;
};

void hb_init(struct hbuf *b);
void hb_free(struct hbuf *b);
void hb_raw(struct hbuf *b, const char *s);
void hb_esc(struct hbuf *b, const char *s);	/* NULL: nothing */
void hb_url(struct hbuf *b, const char *s);
void hb_num(struct hbuf *b, int64_t n);
/* Hand the bytes over (caller frees); NULL when the buffer is in error.
 * The buffer is empty afterwards. */
char *hb_take(struct hbuf *b, size_t *len);

#endif
