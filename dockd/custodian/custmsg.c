/* custmsg.c - the custodian channel's messages (see custmsg.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custmsg.h"
#include "msgbuf.h"

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

int custmsg_encode(const struct custmsg *m, uint8_t *buf, size_t cap, size_t *len)
{
	unsigned f = fields(m->type);
	struct msgw w = { buf, cap < CUSTMSG_MAX ? cap : CUSTMSG_MAX, 0, 0 };

	if (!f || m->rc > 0 || m->rc < -4095 || m->have_ckpt > 1 || m->blob_len > CUSTMSG_BLOB_MAX)
		return -EINVAL;
	msgw_u(&w, CUSTMSG_VERSION, 1);
	msgw_u(&w, m->type, 1);
	msgw_u(&w, 0, 2);
	msgw_u(&w, 0, 4); /* length, filled in below */
	if (f & F_RC)
		msgw_u(&w, (uint32_t)m->rc, 4);
	if (f & F_SERIAL)
		msgw_str(&w, m->serial, PROTO_ID_MAX);
	if (f & F_REC)
		msgw_str(&w, m->recording, PROTO_ID_MAX);
	if (f & F_SHA)
		msgw_bytes(&w, m->sha256, 32);
	if (f & F_LOC)
		msgw_str(&w, m->location, PROTO_LOCATION_MAX);
	if (f & F_ISSUED)
		msgw_u(&w, (uint64_t)m->issued, 8);
	if (f & F_DOCK)
		msgw_str(&w, m->dock_id, PROTO_ID_MAX);
	if (f & F_SIG)
		msgw_bytes(&w, m->sig, 64);
	if (f & F_KEYS) {
		msgw_bytes(&w, m->dock_pub, 32);
		msgw_u(&w, m->have_ckpt, 1);
		msgw_bytes(&w, m->ckpt_pub, 32);
	}
	if (f & F_SIZE)
		msgw_u(&w, m->size, 8);
	if (f & F_TEXT)
		msgw_str(&w, m->text, CUSTMSG_TEXT_MAX);
	if (f & F_BLOB) {
		msgw_u(&w, m->blob_len, 2);
		msgw_bytes(&w, m->blob, m->blob_len);
	}
	if (w.err)
		return w.err;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)((w.n - CUSTMSG_HDR) >> (8 * i));
	*len = w.n;
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static void get_id(struct msgr *r, char *out)
{
	msgr_str(r, out, 1, PROTO_ID_MAX);
	if (!r->err && !proto_id_valid(out))
		r->err = -EPROTO;
}

int custmsg_decode(const uint8_t *buf, size_t len, struct custmsg *out)
{
	static const struct custmsg zero;
	struct custmsg m = zero; /* out is written only on success */
	struct msgr r = { buf, len, 0, 0 };
	unsigned f;
	uint8_t ver;

	if (!buf || !out || len < CUSTMSG_HDR || len > CUSTMSG_MAX)
		return -EPROTO;
	ver = (uint8_t)msgr_u(&r, 1);
	m.type = (uint8_t)msgr_u(&r, 1);
	f = fields(m.type);
	if (ver != CUSTMSG_VERSION || !f || msgr_u(&r, 2) != 0 ||
	    msgr_u(&r, 4) != len - CUSTMSG_HDR)
		return -EPROTO;
	if (f & F_RC) {
		m.rc = (int32_t)(uint32_t)msgr_u(&r, 4);
		if (!r.err && (m.rc > 0 || m.rc < -4095))
			return -EPROTO;
	}
	if (f & F_SERIAL)
		get_id(&r, m.serial);
	if (f & F_REC)
		get_id(&r, m.recording);
	if (f & F_SHA)
		msgr_bytes(&r, m.sha256, 32);
	if (f & F_LOC)
		msgr_str(&r, m.location, 0, PROTO_LOCATION_MAX);
	if (f & F_ISSUED)
		m.issued = (int64_t)msgr_u(&r, 8);
	if (f & F_DOCK)
		msgr_str(&r, m.dock_id, 0, PROTO_ID_MAX);
	if (f & F_SIG)
		msgr_bytes(&r, m.sig, 64);
	if (f & F_KEYS) {
		msgr_bytes(&r, m.dock_pub, 32);
		m.have_ckpt = (uint8_t)msgr_u(&r, 1);
		msgr_bytes(&r, m.ckpt_pub, 32);
		if (!r.err && m.have_ckpt > 1)
			return -EPROTO;
	}
	if (f & F_SIZE)
		m.size = msgr_u(&r, 8);
	if (f & F_TEXT)
		msgr_str(&r, m.text, 0, CUSTMSG_TEXT_MAX);
	if (f & F_BLOB) {
		m.blob_len = (uint16_t)msgr_u(&r, 2);
		if (!r.err && m.blob_len > CUSTMSG_BLOB_MAX)
			return -EPROTO;
		msgr_bytes(&r, m.blob, m.blob_len);
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
	fds = msgbuf_close_fds(&mh);
	if (n == 0 && !fds)
		return -ECONNRESET;
	if (fds || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	return custmsg_decode(buf, (size_t)n, out);
}
