/* msgbuf.c - the field codec of dockd's channel messages (msgbuf.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msgbuf.h"

void msgw_bytes(struct msgw *w, const void *b, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->n) {
		w->err = -ENAMETOOLONG;
		return;
	}
	if (n)
		memcpy(w->p + w->n, b, n);
	w->n += n;
}

void msgw_u(struct msgw *w, uint64_t v, size_t bytes)
{
	uint8_t b[8];

	if (bytes > sizeof(b)) {
		w->err = -EINVAL;
		return;
	}
	for (size_t i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	msgw_bytes(w, b, bytes);
}

void msgw_str(struct msgw *w, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (n > max) {
		w->err = -ENAMETOOLONG;
		return;
	}
	msgw_u(w, n, 2);
	msgw_bytes(w, s, n);
}

uint64_t msgr_u(struct msgr *r, size_t bytes)
{
	uint64_t v = 0;

	if (r->err || bytes > 8 || bytes > r->n - r->off) {
		r->err = -EPROTO;
		return 0;
	}
	for (size_t i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += bytes;
	return v;
}

void msgr_bytes(struct msgr *r, void *out, size_t n)
{
	if (r->err || n > r->n - r->off) {
		r->err = -EPROTO;
		return;
	}
	if (n)
		memcpy(out, r->p + r->off, n);
	r->off += n;
}

void msgr_str(struct msgr *r, char *out, size_t min, size_t max)
{
	size_t n = (size_t)msgr_u(r, 2);

	if (r->err)
		return;
	if (n < min || n > max || n > r->n - r->off) {
		r->err = -EPROTO;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t c = r->p[r->off + i];

		if (c < 0x20 || c == 0x7f) {
			r->err = -EPROTO;
			return;
		}
	}
	memcpy(out, r->p + r->off, n);
	out[n] = '\0';
	r->off += n;
}

bool msgbuf_close_fds(struct msghdr *mh)
{
	bool fds = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
			fds = true;
		}
	}
	return fds;
}
