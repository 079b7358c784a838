/* custmsg.c - the custodian channel's messages (see custmsg.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custmsg.h"

enum {
	F_RC = 1 << 0,
	F_SERIAL = 1 << 1,
	F_REC = 1 << 2,
	F_SHA = 1 << 3,
	F_LOC = 1 << 4,
	F_ISSUED = 1 << 5,
	F_DOCK = 1 << 6,
	F_SIG = 1 << 7,
	F_KEYS = 1 << 8,
	F_SIZE = 1 << 9,
	F_TEXT = 1 << 10,
	F_BLOB = 1 << 11,
	F_KNOWN = 1 << 15,
};

/* Which fields each type carries. */
static unsigned fields(uint8_t type)
{
	switch (type) {
	case CM_AUTH:
		return F_KNOWN | F_BLOB;
	case CM_RECEIPT:
		return F_KNOWN | F_SERIAL | F_REC | F_SHA | F_LOC | F_ISSUED;
	case CM_CKPT:
	case CM_RELOAD:
		return F_KNOWN;
	case CM_READY:
		return F_KNOWN | F_RC | F_TEXT | F_KEYS;
	case CM_RESULT:
		return F_KNOWN | F_RC | F_TEXT | F_SIG | F_DOCK | F_ISSUED | F_SIZE | F_BLOB;
	default:
		return 0;
	}
}

/* ---- encoding ------------------------------------------------------------ */

struct wbuf {
	uint8_t *p;
	size_t cap, n;
	int err;
};

static void put_bytes(struct wbuf *w, const void *b, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->n) {
		w->err = -ENAMETOOLONG;
		return;
	}
	memcpy(w->p + w->n, b, n);
	w->n += n;
}

static void put_u(struct wbuf *w, uint64_t v, size_t bytes)
{
	uint8_t b[8];

	for (size_t i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, bytes);
}

static void put_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->err = -ENAMETOOLONG;
		return;
	}
	put_u(w, n, 2);
	put_bytes(w, s, n);
}

int custmsg_encode(const struct custmsg *m, uint8_t *buf, size_t cap, size_t *len)
{
	unsigned f = fields(m->type);
	struct wbuf w = { buf, cap < CUSTMSG_MAX ? cap : CUSTMSG_MAX, 0, 0 };

	if (!f || m->rc > 0 || m->rc < -4095 || m->have_ckpt > 1 || m->blob_len > CUSTMSG_BLOB_MAX)
		return -EINVAL;
	put_u(&w, CUSTMSG_VERSION, 1);
	put_u(&w, m->type, 1);
	put_u(&w, 0, 2);
	put_u(&w, 0, 4); /* length, filled in below */
	if (f & F_RC)
		put_u(&w, (uint32_t)m->rc, 4);
	if (f & F_SERIAL)
		put_str(&w, m->serial, PROTO_ID_MAX);
	if (f & F_REC)
		put_str(&w, m->recording, PROTO_ID_MAX);
	if (f & F_SHA)
		put_bytes(&w, m->sha256, 32);
	if (f & F_LOC)
		put_str(&w, m->location, PROTO_LOCATION_MAX);
	if (f & F_ISSUED)
		put_u(&w, (uint64_t)m->issued, 8);
	if (f & F_DOCK)
		put_str(&w, m->dock_id, PROTO_ID_MAX);
	if (f & F_SIG)
		put_bytes(&w, m->sig, 64);
	if (f & F_KEYS) {
		put_bytes(&w, m->dock_pub, 32);
		put_u(&w, m->have_ckpt, 1);
		put_bytes(&w, m->ckpt_pub, 32);
	}
	if (f & F_SIZE)
		put_u(&w, m->size, 8);
	if (f & F_TEXT)
		put_str(&w, m->text, CUSTMSG_TEXT_MAX);
	if (f & F_BLOB) {
		put_u(&w, m->blob_len, 2);
		put_bytes(&w, m->blob, m->blob_len);
	}
	if (w.err)
		return w.err;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)((w.n - CUSTMSG_HDR) >> (8 * i));
	*len = w.n;
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

struct rbuf {
	const uint8_t *p;
	size_t n, off;
	int err;
};

static uint64_t get_u(struct rbuf *r, size_t bytes)
{
	uint64_t v = 0;

	if (r->err || bytes > r->n - r->off) {
		r->err = -EPROTO;
		return 0;
	}
	for (size_t i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += bytes;
	return v;
}

static void get_bytes(struct rbuf *r, void *out, size_t n)
{
	if (r->err || n > r->n - r->off) {
		r->err = -EPROTO;
		return;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
}

/* A string of min..max bytes into out (max + 1 bytes). */
static void get_str(struct rbuf *r, char *out, size_t min, size_t max)
{
	size_t n = (size_t)get_u(r, 2);

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

static void get_id(struct rbuf *r, char *out)
{
	get_str(r, out, 1, PROTO_ID_MAX);
	if (!r->err && !proto_id_valid(out))
		r->err = -EPROTO;
}

int custmsg_decode(const uint8_t *buf, size_t len, struct custmsg *out)
{
	static const struct custmsg zero;
	struct custmsg m = zero; /* out is written only on success */
	struct rbuf r = { buf, len, 0, 0 };
	unsigned f;
	uint8_t ver;

	if (!buf || !out || len < CUSTMSG_HDR || len > CUSTMSG_MAX)
		return -EPROTO;
	ver = (uint8_t)get_u(&r, 1);
	m.type = (uint8_t)get_u(&r, 1);
	f = fields(m.type);
	if (ver != CUSTMSG_VERSION || !f || get_u(&r, 2) != 0 ||
	    get_u(&r, 4) != len - CUSTMSG_HDR)
		return -EPROTO;
	if (f & F_RC) {
		m.rc = (int32_t)(uint32_t)get_u(&r, 4);
		if (!r.err && (m.rc > 0 || m.rc < -4095))
			return -EPROTO;
	}
	if (f & F_SERIAL)
		get_id(&r, m.serial);
	if (f & F_REC)
		get_id(&r, m.recording);
	if (f & F_SHA)
		get_bytes(&r, m.sha256, 32);
	if (f & F_LOC)
		get_str(&r, m.location, 0, PROTO_LOCATION_MAX);
	if (f & F_ISSUED)
		m.issued = (int64_t)get_u(&r, 8);
	if (f & F_DOCK)
		get_str(&r, m.dock_id, 0, PROTO_ID_MAX);
	if (f & F_SIG)
		get_bytes(&r, m.sig, 64);
	if (f & F_KEYS) {
		get_bytes(&r, m.dock_pub, 32);
		m.have_ckpt = (uint8_t)get_u(&r, 1);
		get_bytes(&r, m.ckpt_pub, 32);
		if (!r.err && m.have_ckpt > 1)
			return -EPROTO;
	}
	if (f & F_SIZE)
		m.size = get_u(&r, 8);
	if (f & F_TEXT)
		get_str(&r, m.text, 0, CUSTMSG_TEXT_MAX);
	if (f & F_BLOB) {
		m.blob_len = (uint16_t)get_u(&r, 2);
		if (!r.err && m.blob_len > CUSTMSG_BLOB_MAX)
			return -EPROTO;
		get_bytes(&r, m.blob, m.blob_len);
	}
	if (r.err || r.off != len)
		return -EPROTO;
	*out = m;
	return 0;
}

/* ---- transport ----------------------------------------------------------- */

int custmsg_send(int sock, const struct custmsg *m)
{
	uint8_t buf[CUSTMSG_MAX];
	size_t len = 0;
	int r = custmsg_encode(m, buf, sizeof(buf), &len);

	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}

int custmsg_recv(int sock, int timeout_ms, struct custmsg *out)
{
	uint8_t buf[CUSTMSG_MAX + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	struct pollfd pfd = { sock, POLLIN, 0 };
	bool fds = false;
	ssize_t n;
	int r;

	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (n < 0)
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	/* this channel carries no descriptors: any that came are closed */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
			fds = true;
		}
	}
	if (n == 0 && !fds)
		return -ECONNRESET;
	if (fds || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	return custmsg_decode(buf, (size_t)n, out);
}
