/* witmsg.c - the witness client channel's messages (see witmsg.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msgbuf.h"
#include "witmsg.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

void witmsg_clean_text(char *s, size_t *len)
{
	if (*len > WITMSG_TEXT_MAX)
		*len = WITMSG_TEXT_MAX;
	for (size_t i = 0; i < *len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			s[i] = '?';
	}
	s[*len] = '\0';
}

int witmsg_encode(const struct witmsg *m, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = WITMSG_HDR;

	if (cap < WITMSG_MAX)
		return -EINVAL;
	switch (m->type) {
	case WM_READY:
		if (m->rc > 0 || m->rc < -4095 || m->count > WITMSG_WITNESSES)
			return -EINVAL;
		if (m->len > WITMSG_TEXT_MAX)
			return -EMSGSIZE;
		if (!text_ok(m->data, m->len))
			return -EINVAL;
		put32(buf + n, (uint32_t)m->rc);
		buf[n + 4] = m->count;
		put16(buf + n + 5, (uint16_t)m->len);
		n += 7;
		break;
	case WM_POST:
		if (m->witness >= WITMSG_WITNESSES)
			return -EINVAL;
		if (m->len > WITMSG_BODY_MAX)
			return -EMSGSIZE;
		if (!m->len || memchr(m->data, '\0', m->len))
			return -EINVAL;
		put32(buf + n, m->seq);
		buf[n + 4] = m->witness;
		put32(buf + n + 5, (uint32_t)m->len);
		n += 9;
		break;
	case WM_ANSWER:
		if (m->witness >= WITMSG_WITNESSES || m->status > 599 ||
		    (m->status && m->status < 100))
			return -EINVAL;
		if (m->len > WITMSG_TEXT_MAX)
			return -EMSGSIZE;
		if (!text_ok(m->data, m->len))
			return -EINVAL;
		put32(buf + n, m->seq);
		buf[n + 4] = m->witness;
		put16(buf + n + 5, m->status);
		put16(buf + n + 7, (uint16_t)m->len);
		n += 9;
		break;
	default:
		return -EINVAL;
	}
	memcpy(buf + n, m->data, m->len);
	n += m->len;
	buf[0] = WITMSG_VERSION;
	buf[1] = m->type;
	put16(buf + 2, 0);
	put32(buf + 4, (uint32_t)(n - WITMSG_HDR));
	*len = n;
	return 0;
}

int witmsg_decode(const uint8_t *buf, size_t len, struct witmsg *out)
{
	struct witmsg *m;
	const uint8_t *p = buf + WITMSG_HDR;
	size_t plen, fixed, dlen;
	int r = -EPROTO;

	if (len < WITMSG_HDR || len > WITMSG_MAX || buf[0] != WITMSG_VERSION ||
	    get16(buf + 2) != 0 || get32(buf + 4) != len - WITMSG_HDR)
		return -EPROTO;
	plen = len - WITMSG_HDR;
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	m->type = buf[1];
	switch (m->type) {
	case WM_READY:
		if (plen < (fixed = 7))
			goto out;
		m->rc = (int32_t)get32(p);
		m->count = p[4];
		dlen = get16(p + 5);
		if (m->rc > 0 || m->rc < -4095 || m->count > WITMSG_WITNESSES ||
		    dlen > WITMSG_TEXT_MAX)
			goto out;
		break;
	case WM_POST:
		if (plen < (fixed = 9))
			goto out;
		m->seq = get32(p);
		m->witness = p[4];
		dlen = get32(p + 5);
		if (m->witness >= WITMSG_WITNESSES || dlen == 0 || dlen > WITMSG_BODY_MAX)
			goto out;
		break;
	case WM_ANSWER:
		if (plen < (fixed = 9))
			goto out;
		m->seq = get32(p);
		m->witness = p[4];
		m->status = get16(p + 5);
		dlen = get16(p + 7);
		if (m->witness >= WITMSG_WITNESSES || m->status > 599 ||
		    (m->status && m->status < 100) || dlen > WITMSG_TEXT_MAX)
			goto out;
		break;
	default:
		goto out;
	}
	if (plen != fixed + dlen)
		goto out;
	memcpy(m->data, p + fixed, dlen);
	m->data[dlen] = '\0';
	m->len = dlen;
	if (memchr(m->data, '\0', dlen) ||
	    (m->type != WM_POST && !text_ok(m->data, dlen)))
		goto out;
	memcpy(out, m, sizeof(*m));
	r = 0;
out:
	free(m);
	return r;
}

int witmsg_send(int sock, const struct witmsg *m)
{
	uint8_t *buf = malloc(WITMSG_MAX);
	size_t len = 0;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	r = witmsg_encode(m, buf, WITMSG_MAX, &len);
	while (r == 0) {
		n = send(sock, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = errno == EPIPE ? -ECONNRESET : -errno;
		else if ((size_t)n != len)
			r = -EIO;
		break;
	}
	free(buf);
	return r;
}

int witmsg_recv(int sock, int timeout_ms, struct witmsg *out)
{
	/* one byte more than the largest record: a longer one is truncated
	 * (MSG_TRUNC), never mistaken for a shorter valid one */
	uint8_t *buf = malloc(WITMSG_MAX + 1);
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf, WITMSG_MAX + 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { sock, POLLIN, 0 };
	bool fds = false;
	ssize_t n = -1;
	int r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = r < 0 ? -errno : -ETIMEDOUT;
			goto out;
		}
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (n < 0) {
		r = -errno;
		goto out;
	}
	/* this channel carries no descriptors: any that came are closed */
	fds = msgbuf_close_fds(&mh);
	if (n == 0 && !fds)
		r = -ECONNRESET;
	else if (fds || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		r = -EPROTO;
	else
		r = witmsg_decode(buf, (size_t)n, out);
out:
	free(buf);
	return r;
}
