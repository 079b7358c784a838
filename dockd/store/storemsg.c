/* storemsg.c - the uploader channel's messages (see storemsg.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storemsg.h"
#include "msgbuf.h"

enum {
	F_KEY = 1 << 0,
	F_VERSION = 1 << 1,
	F_SIZE = 1 << 2,
	F_SHA = 1 << 3,
	F_TAGS = 1 << 4,
	F_FLAGS = 1 << 5,
	F_RC = 1 << 6,
	F_INFO = 1 << 7,
	F_TEXT = 1 << 8,
	F_KNOWN = 1 << 15, /* the type exists */
};

/* Which fields each type carries, and which flag bits it may set. */
static unsigned fields(uint8_t type, uint8_t *flags_ok)
{
	*flags_ok = 0;
	switch (type) {
	case SM_PUT:
	case SM_REPLACE:
		*flags_ok = SMF_LEGAL_HOLD | SMF_PROGRESS | SMF_SUMS;
		return F_KNOWN | F_KEY | F_SIZE | F_SHA | F_TAGS | F_FLAGS;
	case SM_VERIFY:
		return F_KNOWN | F_KEY | F_SIZE | F_SHA;
	case SM_REMOVE:
		return F_KNOWN | F_KEY | F_VERSION;
	case SM_SET_HOLD:
		*flags_ok = SMF_HOLD_ON;
		return F_KNOWN | F_KEY | F_VERSION | F_FLAGS;
	case SM_HASH:
		return F_KNOWN | F_KEY;
	case SM_FETCH:
		*flags_ok = SMF_VERSION;
		return F_KNOWN | F_KEY | F_VERSION | F_SIZE | F_FLAGS;
	case SM_PREPARE:
	case SM_NEWCHAN:
	case SM_CANCEL:
		return F_KNOWN;
	case SM_PROGRESS:
		return F_KNOWN | F_SIZE;
	case SM_RESULT:
		return F_KNOWN | F_RC | F_INFO | F_SHA | F_SIZE;
	case SM_READY:
		return F_KNOWN | F_RC | F_TEXT;
	default:
		return 0;
	}
}

int storemsg_nfds(uint8_t type, uint8_t flags)
{
	switch (type) {
	case SM_PUT:
	case SM_REPLACE:
		return flags & SMF_SUMS ? 2 : 1;
	case SM_FETCH:
	case SM_NEWCHAN:
		return 1;
	default:
		return 0;
	}
}

/* ---- encoding ------------------------------------------------------------ */

int storemsg_encode(const struct storemsg *m, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t flags_ok;
	unsigned f = fields(m->type, &flags_ok);
	struct msgw w = { buf, cap < STOREMSG_MAX ? cap : STOREMSG_MAX, 0, 0 };

	if (!f || (m->flags & ~flags_ok))
		return -EINVAL;
	msgw_u(&w, STOREMSG_VERSION, 1);
	msgw_u(&w, m->type, 1);
	msgw_u(&w, 0, 2);
	msgw_u(&w, 0, 4); /* length, filled in below */
	if (f & F_KEY)
		msgw_str(&w, m->key, STORE_KEY_MAX);
	if (f & F_VERSION)
		msgw_str(&w, m->version, sizeof(m->version) - 1);
	if (f & F_SIZE)
		msgw_u(&w, m->size, 8);
	if (f & F_SHA)
		msgw_bytes(&w, m->sha256, 32);
	if (f & F_TAGS) {
		msgw_str(&w, m->category, STOREMSG_TAG_MAX);
		msgw_str(&w, m->case_no, STOREMSG_TAG_MAX);
		msgw_str(&w, m->retention, STOREMSG_TAG_MAX);
		msgw_u(&w, (uint64_t)m->retain_until, 8);
	}
	if (f & F_FLAGS)
		msgw_u(&w, m->flags, 1);
	if (f & F_RC)
		msgw_u(&w, (uint32_t)m->rc, 4);
	if (f & F_INFO) {
		msgw_str(&w, m->info.location, STORE_LOCATION_MAX);
		msgw_str(&w, m->info.version_id, sizeof(m->info.version_id) - 1);
		msgw_str(&w, m->info.etag, sizeof(m->info.etag) - 1);
	}
	if (f & F_TEXT)
		msgw_str(&w, m->text, STOREMSG_TEXT_MAX);
	if (w.err)
		return w.err;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)((w.n - STOREMSG_HDR) >> (8 * i));
	*len = w.n;
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

int storemsg_decode(const uint8_t *buf, size_t len, struct storemsg *out)
{
	static struct storemsg zero;
	struct storemsg m = zero;
	struct msgr r = { buf, len, 0, 0 };
	uint8_t flags_ok, ver;
	unsigned f;
	uint64_t plen;

	if (len < STOREMSG_HDR || len > STOREMSG_MAX)
		return -EPROTO;
	ver = (uint8_t)msgr_u(&r, 1);
	m.type = (uint8_t)msgr_u(&r, 1);
	f = fields(m.type, &flags_ok);
	if (ver != STOREMSG_VERSION || !f || msgr_u(&r, 2) != 0)
		return -EPROTO;
	plen = msgr_u(&r, 4);
	if (plen != len - STOREMSG_HDR)
		return -EPROTO;
	if (f & F_KEY) {
		msgr_str(&r, m.key, 0, STORE_KEY_MAX);
		if (!r.err && !store_key_valid(m.key))
			return -EPROTO;
	}
	if (f & F_VERSION)
		msgr_str(&r, m.version, 0, sizeof(m.version) - 1);
	if (f & F_SIZE)
		m.size = msgr_u(&r, 8);
	if (f & F_SHA)
		msgr_bytes(&r, m.sha256, 32);
	if (f & F_TAGS) {
		msgr_str(&r, m.category, 0, STOREMSG_TAG_MAX);
		msgr_str(&r, m.case_no, 0, STOREMSG_TAG_MAX);
		msgr_str(&r, m.retention, 0, STOREMSG_TAG_MAX);
		m.retain_until = (int64_t)msgr_u(&r, 8);
	}
	if (f & F_FLAGS) {
		m.flags = (uint8_t)msgr_u(&r, 1);
		if (m.flags & ~flags_ok)
			return -EPROTO;
	}
	if (f & F_RC) {
		m.rc = (int32_t)(uint32_t)msgr_u(&r, 4);
		if (m.rc > 0 || m.rc < -4095)
			return -EPROTO;
	}
	if (f & F_INFO) {
		msgr_str(&r, m.info.location, 0, STORE_LOCATION_MAX);
		msgr_str(&r, m.info.version_id, 0, sizeof(m.info.version_id) - 1);
		msgr_str(&r, m.info.etag, 0, sizeof(m.info.etag) - 1);
	}
	if (f & F_TEXT)
		msgr_str(&r, m.text, 0, STOREMSG_TEXT_MAX);
	if (r.err || r.off != len)
		return -EPROTO;
	*out = m;
	return 0;
}

/* ---- transport ----------------------------------------------------------- */

int storemsg_send(int sock, const struct storemsg *m, const int *fds, int nfds)
{
	uint8_t buf[STOREMSG_MAX];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * STOREMSG_FDS_MAX)];
	} cm;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len = 0;
	int r = storemsg_encode(m, buf, sizeof(buf), &len);

	if (r < 0)
		return r;
	if (nfds != storemsg_nfds(m->type, m->flags))
		return -EINVAL;
	iov.iov_base = buf;
	iov.iov_len = len;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * (size_t)nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

int storemsg_recv(int sock, int timeout_ms, struct storemsg *out, int fds[STOREMSG_FDS_MAX],
		  int *nfds)
{
	uint8_t buf[STOREMSG_MAX + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * (STOREMSG_FDS_MAX + 1))];
	} cm;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	struct pollfd pfd = { sock, POLLIN, 0 };
	struct storemsg m;
	int got[STOREMSG_FDS_MAX + 1], ngot = 0, r;
	ssize_t n;

	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (n < 0)
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ngot <= STOREMSG_FDS_MAX)
				got[ngot++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0 && ngot == 0)
		return -ECONNRESET;
	r = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EPROTO : 0;
	if (r == 0)
		r = storemsg_decode(buf, (size_t)n, &m);
	if (r == 0 && ngot != storemsg_nfds(m.type, m.flags))
		r = -EPROTO;
	if (r < 0) {
		close_fds(got, ngot);
		return r;
	}
	memcpy(fds, got, sizeof(int) * (size_t)ngot);
	*nfds = ngot;
	*out = m;
	return 0;
}
