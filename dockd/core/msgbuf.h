/* msgbuf.h - the little-endian field codec of dockd's channel messages to
 * its helper processes (custmsg.h, storemsg.h).
 *
 * A writer appends into a fixed buffer and a reader walks a received one;
 * both stop at the first error and keep it in err, so an encoder or a
 * decoder runs all its field calls and checks err once at the end.
 * Integers are 1..8 bytes little-endian; a string is a 2-byte length and
 * that many bytes, no NUL.
 *
 *	struct msgw w = { buf, cap, 0, 0 };
 *	msgw_u(&w, version, 1); msgw_str(&w, text, TEXT_MAX);
 *	if (w.err) ...                       // -ENAMETOOLONG: does not fit
 *
 *	struct msgr r = { buf, len, 0, 0 };
 *	v = msgr_u(&r, 1); msgr_str(&r, out, 0, TEXT_MAX);
 *	if (r.err) ...                       // -EPROTO: short or bad field
 */
#ifndef DOCKD_MSGBUF_H
#define DOCKD_MSGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msghdr;

struct msgw {
	uint8_t *p;
	size_t cap, n;
	int err;
};

struct msgr {
	const uint8_t *p;
	size_t n, off;
	int err;
};

void msgw_bytes(struct msgw *w, const void *b, size_t n);
/* The low `bytes` bytes of v (1..8). */
void msgw_u(struct msgw *w, uint64_t v, size_t bytes);
/* s (NULL: empty) of at most max bytes; longer: -ENAMETOOLONG. */
void msgw_str(struct msgw *w, const char *s, size_t max);

uint64_t msgr_u(struct msgr *r, size_t bytes);
void msgr_bytes(struct msgr *r, void *out, size_t n);
/* A string of min..max bytes, no control character, into out (max + 1
 * bytes, NUL-terminated). */
void msgr_str(struct msgr *r, char *out, size_t min, size_t max);

/* For a channel that carries no descriptors: close every descriptor the
 * SCM_RIGHTS control messages of a received mh brought; true if any
 * came (the message is then a protocol error). */
bool msgbuf_close_fds(struct msghdr *mh);

#endif
