/* frame_io.c - read and write whole frames over a transport. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame_io.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* transport_recv_exact with one deadline for the whole read. */
static int recv_by(struct transport *t, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		size_t got = 0;
		int left = -1, r;

		if (deadline >= 0) {
			int64_t d = deadline - now_ms();

			if (d <= 0)
				return -ETIMEDOUT;
			left = d > 0x7fffffff ? 0x7fffffff : (int)d;
		}
		r = transport_recv(t, buf + done, len - done, &got, left);
		if (r < 0)
			return r;
		if (got == 0 || got > len - done)
			return -EIO; /* a transport must never report more than asked */
		done += got;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header is sound except for its type: the frame can be skipped. */
static bool skippable(const uint8_t *h)
{
	uint16_t flags = (uint16_t)(h[6] << 8 | h[7]);

	return memcmp(h, PROTO_MAGIC, 4) == 0 && h[4] == PROTO_VERSION &&
	       (flags & ~PROTO_F_MASK) == 0 && be32(h + 12) <= PROTO_MAX_PAYLOAD;
}

int frame_read(struct transport *t, uint8_t *buf, size_t cap, int timeout_ms,
	       struct proto_hdr *hdr, struct proto_msg *msg)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct proto_hdr h;
	size_t rest;
	int r;

	if (!t || !buf || cap < PROTO_MAX_FRAME || !hdr || !msg)
		return -EINVAL;
	r = recv_by(t, buf, PROTO_HDR_LEN, deadline);
	if (r < 0)
		return r;
	r = proto_hdr_decode(buf, PROTO_HDR_LEN, &h);
	if (r == -PROTO_E_BAD_TYPE && skippable(buf)) {
		r = recv_by(t, buf + PROTO_HDR_LEN, be32(buf + 12) + PROTO_CRC_LEN, deadline);
		if (r < 0)
			return r;
		memset(hdr, 0, sizeof(*hdr));
		hdr->version = buf[4];
		hdr->type = buf[5];
		hdr->flags = (uint16_t)(buf[6] << 8 | buf[7]);
		hdr->seq = be32(buf + 8);
		hdr->length = be32(buf + 12);
		return -PROTO_E_BAD_TYPE;
	}
	if (r < 0)
		return r;
	if (h.length > PROTO_MAX_PAYLOAD) /* the codec checks; be sure anyway */
		return -PROTO_E_TOO_LONG;
	rest = (size_t)h.length + PROTO_CRC_LEN;
	r = recv_by(t, buf + PROTO_HDR_LEN, rest, deadline);
	if (r < 0)
		return r;
	return proto_frame_decode(buf, PROTO_HDR_LEN + rest, hdr, msg);
}

int frame_write(struct transport *t, const struct proto_msg *msg, uint32_t seq, uint16_t flags,
		uint8_t *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;
	int r;

	if (!t || !msg || !buf)
		return -EINVAL;
	r = proto_frame_encode(msg, seq, flags, buf, cap, &len);
	if (r < 0)
		return r;
	return transport_send(t, buf, len, timeout_ms);
}

int frame_write_error(struct transport *t, uint32_t seq, int err, const char *text,
		      int timeout_ms)
{
	uint8_t buf[PROTO_HDR_LEN + 2 + 2 + PROTO_TEXT_MAX + PROTO_CRC_LEN + 16];
	struct proto_msg m;
	int code = -err;

	if (code <= PROTO_E_BASE || code > PROTO_E_MAX)
		code = PROTO_E_INTERNAL;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_ERROR;
	m.u.error.code = (uint16_t)(code - PROTO_E_BASE);
	snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text ? text : proto_strerror(-code));
	/* Error text must not carry control bytes; keep it printable. */
	for (char *p = m.u.error.text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return frame_write(t, &m, seq, 0, buf, sizeof(buf), timeout_ms);
}
