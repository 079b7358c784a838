/* fuzz_linkmsg.c - libFuzzer target for the daemon's receiving side of the
 * camera-link worker channel (protocol/linkmsg.h; dockd/link/linkc.c reads
 * every worker message through linkmsg_hdr_decode + linkmsg_decode).
 *
 * The input is taken as a stream of messages, as the daemon reads it:
 * header, then exactly `length` payload bytes, until a header or payload
 * fails or the bytes run out. Every message that decodes is encoded again:
 * the encoding is canonical (fixed field order, exact fill), so the bytes
 * must be identical and decode to the same message. Any difference, and
 * any result other than 0 / -EPROTO, abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_linkmsg/ (one message of each type the
 * worker sends, and the daemon's; version 3: DATA is a descriptor of bytes
 * in the shared ring, dockd/link/linkring.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];

static void roundtrip(const struct linkmsg_hdr *h, const uint8_t *hdr, const uint8_t *p,
		      const struct linkmsg *m)
{
	struct linkmsg m2;
	struct linkmsg_hdr h2;
	size_t n = 0;

	if (linkmsg_encode(m, again, sizeof(again), &n) != 0)
		abort();
	/* a DATA descriptor that decoded lies inside the ring (the daemon
	 * checks it again against its own ring before copying) */
	if (m->type == LM_DATA &&
	    (m->u.data.len == 0 || m->u.data.len > PROTO_MAX_DATA || m->u.data.seq == 0 ||
	     (uint64_t)m->u.data.ring_off + m->u.data.len > LINKMSG_RING_SIZE))
		abort();
	if (n != LINKMSG_HDR_LEN + h->length || memcmp(again, hdr, LINKMSG_HDR_LEN) ||
	    memcmp(again + LINKMSG_HDR_LEN, p, h->length))
		abort();
	if (linkmsg_hdr_decode(again, &h2) != 0 || linkmsg_decode(&h2, again + LINKMSG_HDR_LEN, &m2))
		abort();
	if (m2.type != m->type)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (size - pos >= LINKMSG_HDR_LEN) {
		struct linkmsg_hdr h;
		struct linkmsg m;
		const uint8_t *hdr = data + pos;
		int r = linkmsg_hdr_decode(hdr, &h);

		if (r != 0 && r != -EPROTO)
			abort();
		if (r < 0)
			break;
		pos += LINKMSG_HDR_LEN;
		if (h.length > size - pos)
			break;
		r = linkmsg_decode(&h, data + pos, &m);
		if (r != 0 && r != -EPROTO)
			abort();
		if (r == 0) {
			if (m.type != h.type)
				abort();
			roundtrip(&h, hdr, data + pos, &m);
		}
		pos += h.length;
	}
	return 0;
}
