/* fuzz_frame.c - libFuzzer target for the protocol v1 codec (wire.h).
 *
 * Each input is tried three ways:
 *   1. as a bare 16-byte header (proto_hdr_decode);
 *   2. as a whole frame, exactly as received;
 *   3. as a frame whose length field and CRC are repaired first (the last
 *      4 input bytes are taken as the old CRC and replaced), so mutations
 *      reach the payload decoders instead of dying at the CRC check.
 * Whenever a frame decodes, it is re-encoded with the same seq and flags:
 * the encoding is canonical, so the bytes must be identical, and decoding
 * them again must give the same message. Any difference abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_frame/ (one valid frame per message type,
 * written by WIRE_WRITE_SEEDS=DIR build/tests/test_wire).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fixed[PROTO_MAX_FRAME];
static uint8_t again[PROTO_MAX_FRAME];

static void check_err(int r)
{
	/* every failure is a protocol code, never -errno or garbage */
	if (r < 0 && !(-r > PROTO_E_BASE && -r <= PROTO_E_MAX))
		abort();
}

static void same_msg(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type)
		abort();
	if (a->type == PROTO_DATA) {
		if (a->u.data.offset != b->u.data.offset || a->u.data.len != b->u.data.len ||
		    memcmp(a->u.data.data, b->u.data.data, a->u.data.len) != 0)
			abort();
		return;
	}
	if (memcmp(&a->u, &b->u, sizeof(a->u)) != 0)
		abort();
}

static void try_frame(const uint8_t *buf, size_t len)
{
	static struct proto_msg m, m2;
	struct proto_hdr h, h2;
	size_t out = 0;
	int r;

	memset(&m, 0, sizeof(m));
	r = proto_frame_decode(buf, len, &h, &m);
	check_err(r);
	if (r < 0)
		return;
	if (h.type != m.type || h.length + PROTO_HDR_LEN + PROTO_CRC_LEN != len)
		abort();
	r = proto_frame_encode(&m, h.seq, h.flags, again, sizeof(again), &out);
	if (r < 0 || out != len || memcmp(again, buf, len) != 0)
		abort(); /* decoded, but not canonical: codec asymmetry */
	memset(&m2, 0, sizeof(m2));
	if (proto_frame_decode(again, out, &h2, &m2) != 0)
		abort();
	if (memcmp(&h, &h2, sizeof(h)) != 0)
		abort();
	same_msg(&m, &m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	size_t body;
	uint32_t crc;
	int r;

	r = proto_hdr_decode(data, size, &h);
	check_err(r);
	if (r == 0 && (h.length > PROTO_MAX_PAYLOAD || h.flags & ~PROTO_F_MASK))
		abort();

	try_frame(data, size);

	if (size < PROTO_HDR_LEN + PROTO_CRC_LEN || size > sizeof(fixed))
		return 0;
	body = size - PROTO_CRC_LEN;
	memcpy(fixed, data, body);
	fixed[12] = (uint8_t)((body - PROTO_HDR_LEN) >> 24);
	fixed[13] = (uint8_t)((body - PROTO_HDR_LEN) >> 16);
	fixed[14] = (uint8_t)((body - PROTO_HDR_LEN) >> 8);
	fixed[15] = (uint8_t)(body - PROTO_HDR_LEN);
	crc = (uint32_t)crc32(0L, fixed, (uInt)body);
	fixed[body] = (uint8_t)(crc >> 24);
	fixed[body + 1] = (uint8_t)(crc >> 16);
	fixed[body + 2] = (uint8_t)(crc >> 8);
	fixed[body + 3] = (uint8_t)crc;
	try_frame(fixed, size);
	return 0;
}
