/* test_wire.c - protocol v1 codec: round trips at the limits, one test per
 * malformed-input class, the byte layout against docs/protocol.md, the
 * to-be-signed encodings, and replay of the fuzzer's seeds and regressions.
 *
 * WIRE_WRITE_SEEDS=DIR makes the seed test also write one valid frame per
 * message type into DIR (how tests/fuzz/corpus/fuzz_frame/ was made).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "wire.h"

static const uint8_t all_types[] = {
	PROTO_HELLO, PROTO_HELLO_REPLY, PROTO_AUTH_DOCK, PROTO_AUTH_OK, PROTO_LIST_REQ,
	PROTO_LIST_REPLY, PROTO_READ_REQ, PROTO_DATA, PROTO_RELEASE_REQ, PROTO_RELEASE_REPLY,
	PROTO_TIME_SET, PROTO_TIME_REPLY, PROTO_STATUS_REQ, PROTO_STATUS_REPLY, PROTO_BYE,
	PROTO_ERROR,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

static uint8_t *big;     /* PROTO_MAX_FRAME + slack, for frames */
static uint8_t *payload; /* PROTO_MAX_DATA bytes for DATA */

static int setup(void **state)
{
	big = malloc(PROTO_MAX_FRAME + 64);
	payload = malloc(PROTO_MAX_DATA);
	if (!big || !payload)
		return -1;
	for (size_t i = 0; i < PROTO_MAX_DATA; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	return 0;
}

static int teardown(void **state)
{
	free(big);
	free(payload);
	return 0;
}

/* s = n copies of c (n <= cap - 1). */
static void fill(char *s, size_t cap, char c, size_t n)
{
	assert_true(n < cap);
	memset(s, c, n);
	s[n] = '\0';
}

/* Text of exactly n bytes made of 2-byte UTF-8 characters ("é"). */
static void fill_utf8(char *s, size_t cap, size_t n)
{
	assert_true(n < cap && n % 2 == 0);
	for (size_t i = 0; i < n; i += 2) {
		s[i] = (char)0xC3;
		s[i + 1] = (char)0xA9;
	}
	s[n] = '\0';
}

static void sample_entry(struct proto_manifest_entry *e, int i, bool max)
{
	if (max) {
		fill(e->recording_id, sizeof(e->recording_id), 'r', PROTO_ID_MAX);
		e->recording_id[0] = (char)('A' + i);
		fill_utf8(e->category, sizeof(e->category), PROTO_TEXT_MAX);
		e->size = (uint64_t)INT64_MAX;
		e->start_utc = INT64_MIN;
		e->end_utc = INT64_MAX;
		e->has_gps = true;
		e->lat_e7 = i % 2 ? -900000000 : 900000000;
		e->lon_e7 = i % 2 ? 1800000000 : -1800000000;
	} else {
		snprintf(e->recording_id, sizeof(e->recording_id), "rec-%04d", i);
		snprintf(e->category, sizeof(e->category), "traffic stop");
		e->size = 123456789;
		e->start_utc = 1700000000;
		e->end_utc = 1700000600;
	}
	memset(e->sha256, 0xA0 + i, sizeof(e->sha256));
	memset(e->sig, 0x50 + i, sizeof(e->sig));
}

/* A valid message of each type; max: every field at its upper bound. */
static void sample(uint8_t type, bool max, struct proto_msg *m)
{
	size_t id = max ? PROTO_ID_MAX : 8;

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case PROTO_HELLO:
		m->u.hello.version_min = 1;
		m->u.hello.version_max = max ? 255 : 1;
		memset(m->u.hello.dock_nonce, 0xD0, PROTO_NONCE_LEN);
		fill(m->u.hello.dock_id, sizeof(m->u.hello.dock_id), 'd', id);
		break;
	case PROTO_HELLO_REPLY:
		m->u.hello_reply.version = 1;
		memset(m->u.hello_reply.cam_nonce, 0xC0, PROTO_NONCE_LEN);
		fill(m->u.hello_reply.id.serial, sizeof(m->u.hello_reply.id.serial), 'S', id);
		if (max) {
			fill_utf8(m->u.hello_reply.id.model, sizeof(m->u.hello_reply.id.model),
				  PROTO_TEXT_MAX);
			fill(m->u.hello_reply.id.firmware, sizeof(m->u.hello_reply.id.firmware), '~',
			     PROTO_TEXT_MAX);
		}
		memset(m->u.hello_reply.id.pubkey, 0x11, PROTO_PUBKEY_LEN);
		fill(m->u.hello_reply.id.officer_id, sizeof(m->u.hello_reply.id.officer_id), '7', id);
		m->u.hello_reply.id.clock_ns = max ? INT64_MIN : 1700000000123456789LL;
		memset(m->u.hello_reply.sig, 0x22, PROTO_SIG_LEN);
		break;
	case PROTO_AUTH_DOCK:
		fill(m->u.auth_dock.cert.dock_id, sizeof(m->u.auth_dock.cert.dock_id), 'd', id);
		fill(m->u.auth_dock.cert.agency_id, sizeof(m->u.auth_dock.cert.agency_id), 'a', id);
		memset(m->u.auth_dock.cert.dock_pubkey, 0x33, PROTO_PUBKEY_LEN);
		m->u.auth_dock.cert.not_before = max ? INT64_MIN : 1700000000;
		m->u.auth_dock.cert.not_after = max ? INT64_MAX : 1800000000;
		memset(m->u.auth_dock.cert.agency_sig, 0x44, PROTO_SIG_LEN);
		memset(m->u.auth_dock.sig, 0x55, PROTO_SIG_LEN);
		break;
	case PROTO_LIST_REQ:
		m->u.list_req.start = max ? UINT32_MAX : 3;
		break;
	case PROTO_LIST_REPLY:
		m->u.list_reply.total = max ? UINT32_MAX : 2;
		m->u.list_reply.count = max ? PROTO_LIST_MAX : 2;
		for (uint32_t i = 0; i < m->u.list_reply.count; i++)
			sample_entry(&m->u.list_reply.entries[i], (int)i, max);
		break;
	case PROTO_READ_REQ:
		fill(m->u.read_req.recording_id, sizeof(m->u.read_req.recording_id), 'r', id);
		m->u.read_req.length = max ? PROTO_MAX_READ : 1;
		m->u.read_req.offset = max ? (uint64_t)INT64_MAX - PROTO_MAX_READ : 0;
		break;
	case PROTO_DATA:
		m->u.data.offset = max ? (uint64_t)INT64_MAX - PROTO_MAX_DATA : 4096;
		m->u.data.len = max ? PROTO_MAX_DATA : 5;
		m->u.data.data = payload;
		break;
	case PROTO_RELEASE_REQ:
		fill(m->u.release_req.recording_id, sizeof(m->u.release_req.recording_id), 'r', id);
		memset(m->u.release_req.sha256, 0x66, PROTO_SHA256_LEN);
		fill(m->u.release_req.location, sizeof(m->u.release_req.location), 'L',
		     max ? PROTO_LOCATION_MAX : 10);
		fill(m->u.release_req.dock_id, sizeof(m->u.release_req.dock_id), 'd', id);
		m->u.release_req.issued_utc = max ? INT64_MAX : 1700000000;
		memset(m->u.release_req.sig, 0x77, PROTO_SIG_LEN);
		break;
	case PROTO_RELEASE_REPLY:
		fill(m->u.release_reply.recording_id, sizeof(m->u.release_reply.recording_id), 'r', id);
		m->u.release_reply.deleted = max ? 1 : 0;
		break;
	case PROTO_TIME_SET:
		m->u.time_set.dock_ns = max ? INT64_MAX : -1;
		break;
	case PROTO_TIME_REPLY:
		m->u.time_reply.camera_before_ns = max ? INT64_MIN : 5;
		m->u.time_reply.camera_after_ns = max ? INT64_MAX : 4; /* clock may go back */
		break;
	case PROTO_STATUS_REPLY:
		m->u.status_reply.battery_pct = max ? 100 : 0;
		m->u.status_reply.storage_free = max ? UINT64_MAX : 0;
		m->u.status_reply.storage_total = max ? UINT64_MAX : 0;
		m->u.status_reply.recordings = max ? UINT32_MAX : 0;
		break;
	case PROTO_ERROR:
		m->u.error.code = max ? PROTO_E_MAX - PROTO_E_BASE : 1;
		if (max)
			fill_utf8(m->u.error.text, sizeof(m->u.error.text), PROTO_TEXT_MAX);
		break;
	default:
		break;
	}
}

static size_t encode(const struct proto_msg *m, uint32_t seq, uint16_t flags)
{
	size_t len = 0;

	assert_int_equal(proto_frame_encode(m, seq, flags, big, PROTO_MAX_FRAME + 64, &len), 0);
	assert_true(len >= PROTO_HDR_LEN + PROTO_CRC_LEN && len <= PROTO_MAX_FRAME);
	return len;
}

static int decode(size_t len, struct proto_msg *out)
{
	struct proto_hdr h;

	return proto_frame_decode(big, len, &h, out);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Set the header length to plen and append a fresh CRC; returns frame len. */
static size_t reframe(uint8_t *f, size_t plen)
{
	put32(f + 12, (uint32_t)plen);
	put32(f + PROTO_HDR_LEN + plen,
	      (uint32_t)crc32(0L, f, (uInt)(PROTO_HDR_LEN + plen)));
	return PROTO_HDR_LEN + plen + PROTO_CRC_LEN;
}

/* Build a frame around a hand-written payload (independent of the encoder). */
static size_t raw_frame(uint8_t type, uint16_t flags, const void *p, size_t plen)
{
	memcpy(big, "BCDK", 4);
	big[4] = 1;
	big[5] = type;
	big[6] = (uint8_t)(flags >> 8);
	big[7] = (uint8_t)flags;
	put32(big + 8, 42);
	memcpy(big + PROTO_HDR_LEN, p, plen);
	return reframe(big, plen);
}

static void roundtrip(uint8_t type, bool max)
{
	struct proto_msg in, out;
	struct proto_hdr h;
	uint16_t flags = type == PROTO_DATA ? PROTO_F_END : 0;
	size_t len, len2;
	uint8_t *copy;

	sample(type, max, &in);
	len = encode(&in, 0xFEEDBEEF, flags);
	memset(&out, 0xEE, sizeof(out));
	assert_int_equal(proto_frame_decode(big, len, &h, &out), 0);
	assert_int_equal(h.type, type);
	assert_int_equal(h.seq, 0xFEEDBEEF);
	assert_int_equal(h.flags, flags);
	assert_int_equal(h.length, len - PROTO_HDR_LEN - PROTO_CRC_LEN);
	assert_int_equal(out.type, type);
	if (type == PROTO_DATA) {
		assert_int_equal(out.u.data.offset, in.u.data.offset);
		assert_int_equal(out.u.data.len, in.u.data.len);
		assert_ptr_equal(out.u.data.data, big + PROTO_HDR_LEN + 12); /* no copy */
		assert_memory_equal(out.u.data.data, payload, in.u.data.len);
	} else {
		assert_memory_equal(&out.u, &in.u, sizeof(in.u));
	}
	/* re-encoding the decoded message gives the same bytes */
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, big, len);
	if (type == PROTO_DATA)
		out.u.data.data = payload;
	len2 = encode(&out, 0xFEEDBEEF, flags);
	assert_int_equal(len2, len);
	assert_memory_equal(copy, big, len);
	free(copy);
}

static void test_roundtrip_typical(void **state)
{
	for (size_t i = 0; i < NTYPES; i++)
		roundtrip(all_types[i], false);
}

static void test_roundtrip_max(void **state)
{
	for (size_t i = 0; i < NTYPES; i++)
		roundtrip(all_types[i], true);
}

static void test_max_data_frame_is_max_frame_bound(void **state)
{
	struct proto_msg m;
	size_t len;

	sample(PROTO_DATA, true, &m);
	len = encode(&m, 1, PROTO_F_END);
	assert_int_equal(len, PROTO_HDR_LEN + 12 + PROTO_MAX_DATA + PROTO_CRC_LEN);
	/* one byte less of buffer: refused, not truncated */
	assert_int_equal(proto_frame_encode(&m, 1, 0, big, len - 1, &len), -PROTO_E_TOO_LONG);
	m.u.data.len = PROTO_MAX_DATA + 1;
	assert_int_equal(proto_frame_encode(&m, 1, 0, big, PROTO_MAX_FRAME, &len),
			 -PROTO_E_TOO_LONG);
}

/* docs/protocol.md "Worked example": the exact bytes of a HELLO. */
static void test_hello_layout(void **state)
{
	static const uint8_t want_hdr[] = { 'B', 'C', 'D', 'K', 1, 0x01, 0, 0,
					    0, 0, 0, 1, 0, 0, 0, 0x2B };
	struct proto_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version_min = 1;
	m.u.hello.version_max = 1;
	for (int i = 0; i < PROTO_NONCE_LEN; i++)
		m.u.hello.dock_nonce[i] = (uint8_t)i;
	snprintf(m.u.hello.dock_id, sizeof(m.u.hello.dock_id), "dock-001");
	len = encode(&m, 1, 0);
	assert_int_equal(len, 16 + 43 + 4);
	assert_memory_equal(big, want_hdr, sizeof(want_hdr));
	assert_int_equal(big[16], 1);
	assert_int_equal(big[17], 1);
	assert_int_equal(big[18], 0);
	assert_int_equal(big[49], 31);
	assert_int_equal(big[50], 0);
	assert_int_equal(big[51], 8);
	assert_memory_equal(big + 52, "dock-001", 8);
	assert_int_equal(crc32(0L, big, 59), (uLong)big[59] << 24 | (uLong)big[60] << 16 |
						     (uLong)big[61] << 8 | big[62]);
}

/* STATUS_REPLY from hand-written bytes: the documented offsets. */
static void test_status_layout(void **state)
{
	uint8_t p[21] = { 77 };
	struct proto_msg m;

	p[8] = 0x10;                 /* storage_free = 0x1000 */
	p[15] = 0x20; p[16] = 0x00;  /* storage_total = 0x2000 */
	p[20] = 3;                   /* recordings */
	assert_int_equal(decode(raw_frame(PROTO_STATUS_REPLY, 0, p, sizeof(p)), &m), 0);
	assert_int_equal(m.u.status_reply.battery_pct, 77);
	assert_int_equal(m.u.status_reply.storage_free, 0x1000);
	assert_int_equal(m.u.status_reply.storage_total, 0x2000);
	assert_int_equal(m.u.status_reply.recordings, 3);
	p[0] = 101;
	assert_int_equal(decode(raw_frame(PROTO_STATUS_REPLY, 0, p, sizeof(p)), &m),
			 -PROTO_E_BAD_FIELD);
	p[0] = 100;
	p[16] = 0x00; p[15] = 0x00; /* total 0 < free */
	assert_int_equal(decode(raw_frame(PROTO_STATUS_REPLY, 0, p, sizeof(p)), &m),
			 -PROTO_E_BAD_FIELD);
}

/* ---- header-level errors --------------------------------------------------*/

static size_t valid_frame(uint8_t type)
{
	struct proto_msg m;

	sample(type, false, &m);
	return encode(&m, 9, 0);
}

static void test_bad_magic(void **state)
{
	struct proto_msg m;
	struct proto_hdr h;
	size_t len = valid_frame(PROTO_BYE);

	big[3] = 'X';
	assert_int_equal(decode(len, &m), -PROTO_E_BAD_MAGIC);
	assert_int_equal(proto_hdr_decode(big, len, &h), -PROTO_E_BAD_MAGIC);
}

static void test_bad_version(void **state)
{
	struct proto_msg m;
	size_t len = valid_frame(PROTO_BYE);

	for (int v = 0; v < 256; v++) {
		if (v == PROTO_VERSION)
			continue;
		big[4] = (uint8_t)v;
		assert_int_equal(decode(len, &m), -PROTO_E_BAD_VERSION);
	}
}

static void test_unknown_type(void **state)
{
	struct proto_msg m;
	size_t len = valid_frame(PROTO_BYE);
	int known = 0;

	for (int t = 0; t < 256; t++) {
		big[5] = (uint8_t)t;
		if (strcmp(proto_type_name((uint8_t)t), "UNKNOWN") != 0) {
			known++;
			continue;
		}
		assert_int_equal(decode(len, &m), -PROTO_E_BAD_TYPE);
	}
	assert_int_equal(known, NTYPES);
	m.type = 0x10;
	assert_int_equal(proto_frame_encode(&m, 0, 0, big, 64, &len), -PROTO_E_BAD_TYPE);
}

static void test_bad_flags(void **state)
{
	struct proto_msg m;
	size_t len = valid_frame(PROTO_DATA);

	for (int bit = 1; bit < 16; bit++) {
		big[6] = (uint8_t)((1u << bit) >> 8);
		big[7] = (uint8_t)(1u << bit);
		assert_int_equal(decode(len, &m), -PROTO_E_BAD_FLAGS);
	}
	/* END is defined for DATA only */
	len = valid_frame(PROTO_BYE);
	big[7] = PROTO_F_END;
	assert_int_equal(decode(len, &m), -PROTO_E_BAD_FLAGS);
	sample(PROTO_BYE, false, &m);
	assert_int_equal(proto_frame_encode(&m, 0, PROTO_F_END, big, 64, &len), -PROTO_E_BAD_FLAGS);
	assert_int_equal(proto_frame_encode(&m, 0, 0x0100, big, 64, &len), -PROTO_E_BAD_FLAGS);
}

static void test_length_above_max(void **state)
{
	struct proto_hdr h;
	struct proto_msg m;
	size_t len = valid_frame(PROTO_BYE);

	put32(big + 12, PROTO_MAX_PAYLOAD + 1);
	assert_int_equal(proto_hdr_decode(big, PROTO_HDR_LEN, &h), -PROTO_E_TOO_LONG);
	assert_int_equal(decode(len, &m), -PROTO_E_TOO_LONG);
	put32(big + 12, UINT32_MAX);
	assert_int_equal(proto_hdr_decode(big, PROTO_HDR_LEN, &h), -PROTO_E_TOO_LONG);
	put32(big + 12, PROTO_MAX_PAYLOAD); /* the bound itself is fine */
	assert_int_equal(proto_hdr_decode(big, PROTO_HDR_LEN, &h), 0);
	assert_int_equal(h.length, PROTO_MAX_PAYLOAD);
}

static void test_truncated_header(void **state)
{
	struct proto_hdr h = { .seq = 123 };
	struct proto_msg m;
	size_t len = valid_frame(PROTO_BYE);

	for (size_t n = 0; n < PROTO_HDR_LEN; n++) {
		assert_int_equal(proto_hdr_decode(big, n, &h), -PROTO_E_TRUNCATED);
		assert_int_equal(decode(n, &m), -PROTO_E_TRUNCATED);
	}
	assert_int_equal(h.seq, 123); /* untouched on failure */
	assert_int_equal(proto_hdr_decode(big, len, &h), 0);
	assert_int_equal(h.seq, 9);
}

static void test_frame_len_mismatch(void **state)
{
	struct proto_msg m;
	size_t len = valid_frame(PROTO_LIST_REQ);

	for (size_t n = PROTO_HDR_LEN; n < len; n++)
		assert_int_equal(decode(n, &m), -PROTO_E_TRUNCATED);
	assert_int_equal(decode(len + 1, &m), -PROTO_E_TRAILING);
	assert_int_equal(decode(len + 60, &m), -PROTO_E_TRAILING);
}

static void test_bad_crc(void **state)
{
	struct proto_msg m;
	size_t len = valid_frame(PROTO_TIME_SET);

	for (size_t i = 0; i < len; i++) {
		if (i < 16 && i != 8) /* header fields have their own checks */
			continue;
		big[i] ^= 0x01;
		assert_int_equal(decode(len, &m), -PROTO_E_BAD_CRC);
		big[i] ^= 0x01;
	}
	assert_int_equal(decode(len, &m), 0);
}

/* ---- payload-level errors --------------------------------------------------*/

/* Cutting any type's payload short, at every byte, is TRUNCATED: this walks
 * every field kind (ints, fixed arrays, string length and bytes, list
 * entries, DATA bytes). */
static void test_truncated_payload_every_field(void **state)
{
	struct proto_msg m;

	for (size_t t = 0; t < NTYPES; t++) {
		size_t len = valid_frame(all_types[t]);
		size_t plen = len - PROTO_HDR_LEN - PROTO_CRC_LEN;

		for (size_t k = 0; k < plen; k++) {
			size_t n = reframe(big, k);

			assert_int_equal(decode(n, &m), -PROTO_E_TRUNCATED);
			len = valid_frame(all_types[t]);
		}
	}
}

static void test_trailing_payload_bytes(void **state)
{
	struct proto_msg m;

	for (size_t t = 0; t < NTYPES; t++) {
		size_t len = valid_frame(all_types[t]);
		size_t plen = len - PROTO_HDR_LEN - PROTO_CRC_LEN;

		big[PROTO_HDR_LEN + plen] = 0;
		assert_int_equal(decode(reframe(big, plen + 1), &m), -PROTO_E_TRAILING);
	}
}

/* READ_REQ payload: u16 len, id, u64 offset, u32 length. */
static size_t read_req_raw(const char *id, size_t idlen, uint32_t length)
{
	uint8_t p[2 + 80 + 12] = { 0 };

	p[0] = (uint8_t)(idlen >> 8);
	p[1] = (uint8_t)idlen;
	memcpy(p + 2, id, idlen);
	put32(p + 2 + idlen + 8, length);
	return raw_frame(PROTO_READ_REQ, 0, p, 2 + idlen + 12);
}

static void test_bad_strings(void **state)
{
	struct proto_msg m;
	char id[80];

	assert_int_equal(decode(read_req_raw("abc", 3, 1), &m), 0);
	assert_string_equal(m.u.read_req.recording_id, "abc");
	assert_int_equal(decode(read_req_raw("", 0, 1), &m), -PROTO_E_BAD_STRING);
	assert_int_equal(decode(read_req_raw("a/b", 3, 1), &m), -PROTO_E_BAD_STRING);
	assert_int_equal(decode(read_req_raw("a b", 3, 1), &m), -PROTO_E_BAD_STRING);
	assert_int_equal(decode(read_req_raw("a\0b", 3, 1), &m), -PROTO_E_BAD_STRING);
	assert_int_equal(decode(read_req_raw("\xc3\xa9", 2, 1), &m), -PROTO_E_BAD_STRING);
	memset(id, 'x', sizeof(id));
	assert_int_equal(decode(read_req_raw(id, PROTO_ID_MAX, 1), &m), 0);
	assert_int_equal(decode(read_req_raw(id, PROTO_ID_MAX + 1, 1), &m), -PROTO_E_TOO_LONG);
}

/* ERROR payload: u16 code, u16 len, text. */
static int error_raw(const char *text, size_t n)
{
	uint8_t p[4 + 200] = { 0, 5 };
	struct proto_msg m;

	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memcpy(p + 4, text, n);
	return decode(raw_frame(PROTO_ERROR, 0, p, 4 + n), &m);
}

static void test_bad_text(void **state)
{
	char t[200];

	assert_int_equal(error_raw("", 0), 0); /* empty text is allowed */
	assert_int_equal(error_raw("fine \xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7", 16), 0);
	assert_int_equal(error_raw("nul\0inside", 10), -PROTO_E_BAD_STRING);
	assert_int_equal(error_raw("line\nbreak", 10), -PROTO_E_BAD_STRING);
	assert_int_equal(error_raw("esc\x1b[2J", 7), -PROTO_E_BAD_STRING);
	assert_int_equal(error_raw("del\x7f", 4), -PROTO_E_BAD_STRING);
	assert_int_equal(error_raw("\xc3", 1), -PROTO_E_BAD_STRING);         /* cut */
	assert_int_equal(error_raw("\xc0\xaf", 2), -PROTO_E_BAD_STRING);     /* overlong */
	assert_int_equal(error_raw("\xed\xa0\x80", 3), -PROTO_E_BAD_STRING); /* surrogate */
	assert_int_equal(error_raw("\xf4\x90\x80\x80", 4), -PROTO_E_BAD_STRING);
	memset(t, 'a', sizeof(t));
	assert_int_equal(error_raw(t, PROTO_TEXT_MAX), 0);
	assert_int_equal(error_raw(t, PROTO_TEXT_MAX + 1), -PROTO_E_TOO_LONG);
}

static void test_encoder_refuses_bad_strings(void **state)
{
	struct proto_msg m;
	size_t len;

	sample(PROTO_READ_REQ, false, &m);
	m.u.read_req.recording_id[0] = '\0';
	assert_int_equal(proto_frame_encode(&m, 0, 0, big, 4096, &len), -PROTO_E_BAD_STRING);
	m.u.read_req.recording_id[0] = '/';
	assert_int_equal(proto_frame_encode(&m, 0, 0, big, 4096, &len), -PROTO_E_BAD_STRING);
	memset(m.u.read_req.recording_id, 'a', sizeof(m.u.read_req.recording_id)); /* no NUL */
	assert_int_equal(proto_frame_encode(&m, 0, 0, big, 4096, &len), -PROTO_E_TOO_LONG);
	sample(PROTO_ERROR, false, &m);
	snprintf(m.u.error.text, sizeof(m.u.error.text), "tab\there");
	assert_int_equal(proto_frame_encode(&m, 0, 0, big, 4096, &len), -PROTO_E_BAD_STRING);
	assert_false(proto_id_valid(""));
	assert_false(proto_id_valid(NULL));
	assert_true(proto_id_valid("CAM-0001:a_b.c"));
	memset(big, 'a', 65);
	big[65] = 0;
	assert_false(proto_id_valid((const char *)big));
	big[64] = 0;
	assert_true(proto_id_valid((const char *)big));
}

/* Encoding a message whose one field is out of range must fail with
 * BAD_FIELD/TOO_LONG, and the same bytes forced onto the wire must fail to
 * decode with the same code. */
static void expect_range_error(struct proto_msg *bad, int code, size_t patch_off,
			       const uint8_t *patch, size_t patch_len)
{
	struct proto_msg good, out;
	size_t len;

	assert_int_equal(proto_frame_encode(bad, 0, 0, big, PROTO_MAX_FRAME, &len), code);
	memcpy(&good, bad, sizeof(good));
	good.type = bad->type;
	sample(bad->type, false, &good);
	len = encode(&good, 0, 0);
	memcpy(big + PROTO_HDR_LEN + patch_off, patch, patch_len);
	len = reframe(big, len - PROTO_HDR_LEN - PROTO_CRC_LEN);
	assert_int_equal(decode(len, &out), code);
}

static void test_out_of_range_fields(void **state)
{
	struct proto_msg m;
	const size_t e0 = 8 + 2 + 8; /* first manifest entry, after its id "rec-0000" */

	sample(PROTO_HELLO, false, &m);
	m.u.hello.version_min = 2; /* min > max */
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 0, (const uint8_t[]){ 2 }, 1);
	m.u.hello.version_min = 0;
	m.u.hello.version_max = 0;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 0, (const uint8_t[]){ 0, 0 }, 2);

	sample(PROTO_HELLO_REPLY, false, &m);
	m.u.hello_reply.version = 0;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 0, (const uint8_t[]){ 0 }, 1);

	sample(PROTO_READ_REQ, false, &m);
	m.u.read_req.length = 0; /* offset u64 at 10, length u32 at 18 */
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 21, (const uint8_t[]){ 0 }, 1);
	m.u.read_req.length = PROTO_MAX_READ + 1;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 18, (const uint8_t[]){ 0x04, 0, 0, 1 }, 4);
	m.u.read_req.length = 1;
	m.u.read_req.offset = (uint64_t)INT64_MAX;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 10,
			   (const uint8_t[]){ 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8);

	sample(PROTO_DATA, false, &m);
	m.u.data.len = PROTO_MAX_DATA + 1;
	expect_range_error(&m, -PROTO_E_TOO_LONG, 8, (const uint8_t[]){ 0, 0x10, 0, 1 }, 4);

	sample(PROTO_RELEASE_REPLY, false, &m);
	m.u.release_reply.deleted = 2;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 10, (const uint8_t[]){ 2 }, 1);

	sample(PROTO_ERROR, false, &m);
	m.u.error.code = 0;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 0, (const uint8_t[]){ 0, 0 }, 2);
	m.u.error.code = PROTO_E_MAX - PROTO_E_BASE + 1;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 0,
			   (const uint8_t[]){ 0, PROTO_E_MAX - PROTO_E_BASE + 1 }, 2);

	sample(PROTO_AUTH_DOCK, false, &m); /* not_before > not_after; nb at 2+8+2+8+32 */
	m.u.auth_dock.cert.not_before = 1800000001;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, 52,
			   (const uint8_t[]){ 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0x01 }, 8);

	sample(PROTO_LIST_REPLY, false, &m);
	m.u.list_reply.count = PROTO_LIST_MAX + 1;
	expect_range_error(&m, -PROTO_E_TOO_LONG, 4, (const uint8_t[]){ 0, 0, 0, 17 }, 4);
	/* entry: id(10) size(8) sha(32) start(8) end(8) cat(2+12) gps(1) lat lon sig */
	sample(PROTO_LIST_REPLY, false, &m);
	m.u.list_reply.entries[0].has_gps = true;
	m.u.list_reply.entries[0].lat_e7 = 900000001;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, e0 + 8 + 32 + 16 + 14,
			   (const uint8_t[]){ 1, 0x35, 0xa4, 0xe9, 0x01 }, 5);
	m.u.list_reply.entries[0].lat_e7 = 0;
	m.u.list_reply.entries[0].lon_e7 = -1800000001;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, e0 + 8 + 32 + 16 + 14,
			   (const uint8_t[]){ 1, 0, 0, 0, 0, 0x94, 0xb5, 0xc5, 0xff }, 9);
	sample(PROTO_LIST_REPLY, false, &m); /* presence byte 2 */
	assert_int_equal(decode(encode(&m, 0, 0), &m), 0);
	big[PROTO_HDR_LEN + e0 + 8 + 32 + 16 + 14] = 2;
	assert_int_equal(decode(reframe(big, big[15] | (size_t)big[14] << 8), &m),
			 -PROTO_E_BAD_FIELD);
	sample(PROTO_LIST_REPLY, false, &m); /* absent gps must be zeros */
	m.u.list_reply.entries[0].lat_e7 = 5;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, e0 + 8 + 32 + 16 + 14 + 4,
			   (const uint8_t[]){ 5 }, 1);
	sample(PROTO_LIST_REPLY, false, &m); /* start > end */
	m.u.list_reply.entries[0].end_utc = m.u.list_reply.entries[0].start_utc - 1;
	expect_range_error(&m, -PROTO_E_BAD_FIELD, e0 + 8 + 32 + 8,
			   (const uint8_t[]){ 0, 0, 0, 0, 0x65, 0x53, 0xf0, 0xff }, 8);
}

/* ---- to-be-signed encodings -------------------------------------------------*/

static void test_tbs(void **state)
{
	struct proto_msg hr, ad, lr, rr;
	uint8_t a[PROTO_TBS_MAX], b[PROTO_TBS_MAX];
	uint8_t n1[PROTO_NONCE_LEN], n2[PROTO_NONCE_LEN];
	size_t la = 0, lb = 0;

	memset(n1, 1, sizeof(n1));
	memset(n2, 2, sizeof(n2));
	sample(PROTO_HELLO_REPLY, true, &hr);
	sample(PROTO_AUTH_DOCK, true, &ad);
	sample(PROTO_LIST_REPLY, true, &lr);
	sample(PROTO_RELEASE_REQ, true, &rr);

	assert_int_equal(proto_identity_tbs(n1, n2, &hr.u.hello_reply.id, a, sizeof(a), &la), 0);
	assert_memory_equal(a, "BCDK-v1 camera-auth\0", 20);
	assert_memory_equal(a + 20, n1, 32);
	assert_memory_equal(a + 52, n2, 32);
	/* swapping the nonces changes the message: no reflection */
	assert_int_equal(proto_identity_tbs(n2, n1, &hr.u.hello_reply.id, b, sizeof(b), &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_not_equal(a, b, la);

	assert_int_equal(proto_dock_cert_tbs(&ad.u.auth_dock.cert, a, sizeof(a), &la), 0);
	assert_memory_equal(a, "BCDK-v1 dock-cert\0", 18);
	assert_int_equal(la, 18 + 66 + 66 + 32 + 16); /* agency_sig excluded */

	assert_int_equal(proto_dock_auth_tbs(n2, n1, "CAM-1", &ad.u.auth_dock.cert, a, sizeof(a),
					     &la), 0);
	assert_memory_equal(a, "BCDK-v1 dock-auth\0", 18);
	assert_memory_equal(a + 18, n2, 32);
	assert_memory_equal(a + 82, "\0\5CAM-1", 7);
	assert_int_equal(la, 18 + 64 + 7 + 66 + 66 + 32 + 16 + 64); /* cert with its sig */
	assert_int_equal(proto_dock_auth_tbs(n2, n1, "bad id", &ad.u.auth_dock.cert, a, sizeof(a),
					     &la), -PROTO_E_BAD_STRING);

	assert_int_equal(proto_manifest_tbs("CAM-1", &lr.u.list_reply.entries[3], a, sizeof(a),
					    &la), 0);
	assert_memory_equal(a, "BCDK-v1 manifest\0\0\5CAM-1", 24);
	assert_int_equal(la, 17 + 7 + 66 + 8 + 32 + 16 + 130 + 9); /* sig excluded */
	assert_int_equal(proto_manifest_tbs("CAM-1", &lr.u.list_reply.entries[3], a, 100, &la),
			 -PROTO_E_TOO_LONG);

	assert_int_equal(proto_receipt_tbs(&rr.u.release_req, a, sizeof(a), &la), 0);
	assert_memory_equal(a, "BCDK-v1 receipt\0", 16);
	assert_int_equal(la, 16 + 66 + 32 + 258 + 66 + 8);
	rr.u.release_req.dock_id[0] = 0;
	assert_int_equal(proto_receipt_tbs(&rr.u.release_req, a, sizeof(a), &la),
			 -PROTO_E_BAD_STRING);
}

static void test_names(void **state)
{
	assert_string_equal(proto_type_name(PROTO_HELLO), "HELLO");
	assert_string_equal(proto_type_name(PROTO_ERROR), "ERROR");
	assert_string_equal(proto_type_name(0x42), "UNKNOWN");
	for (int e = PROTO_E_BASE + 1; e <= PROTO_E_MAX; e++)
		assert_string_not_equal(proto_strerror(-e), "unknown error");
	assert_string_equal(proto_strerror(-PROTO_E_BAD_CRC), "CRC-32 mismatch");
	assert_string_equal(proto_strerror(-ENODEV), "No such device");
	assert_string_equal(proto_strerror(0), "success");
	assert_string_equal(proto_strerror(-PROTO_E_MAX - 1), "unknown error");
	assert_string_equal(proto_strerror(12345), "unknown error");
}

/* ---- fuzzer corpus and regressions --------------------------------------*/

static void path_in_repo(char *out, size_t cap, const char *rel)
{
	const char *top = getenv("TOP");

	snprintf(out, cap, "%s/%s", top && *top ? top : ".", rel);
}

/* Read every regular file of dir (each < PROTO_MAX_FRAME + 64 bytes) and
 * hand it to fn. Returns the number of files. */
static int for_each_file(const char *rel, void (*fn)(const char *name, size_t len))
{
	char dir[4096], path[8192];
	struct dirent *d;
	DIR *dh;
	int n = 0;

	path_in_repo(dir, sizeof(dir), rel);
	dh = opendir(dir);
	assert_non_null(dh);
	while ((d = readdir(dh)) != NULL) {
		FILE *f;
		size_t len;

		if (d->d_name[0] == '.' || strcmp(d->d_name, "README") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(big, 1, PROTO_MAX_FRAME + 64, f);
		fclose(f);
		fn(d->d_name, len);
		n++;
	}
	closedir(dh);
	return n;
}

static void replay_one(const char *name, size_t len)
{
	struct proto_hdr h;
	struct proto_msg m;
	int r = proto_frame_decode(big, len, &h, &m);

	/* no crash (ASan run), and an error is always one of ours */
	if (r < 0)
		assert_true(-r > PROTO_E_BASE && -r <= PROTO_E_MAX);
	r = proto_hdr_decode(big, len, &h);
	if (r < 0)
		assert_true(-r > PROTO_E_BASE && -r <= PROTO_E_MAX);
}

static void test_fuzz_regressions(void **state)
{
	for_each_file("tests/fuzz/regressions/fuzz_frame", replay_one);
}

static void seed_ok(const char *name, size_t len)
{
	struct proto_hdr h;
	struct proto_msg m;

	if (proto_frame_decode(big, len, &h, &m) != 0)
		fail_msg("seed %s does not decode", name);
}

static void test_fuzz_seeds(void **state)
{
	const char *out = getenv("WIRE_WRITE_SEEDS");

	for (size_t i = 0; out && i < NTYPES; i++) {
		char path[4096];
		struct proto_msg m;
		size_t len;
		FILE *f;

		sample(all_types[i], false, &m);
		len = encode(&m, (uint32_t)i, all_types[i] == PROTO_DATA ? PROTO_F_END : 0);
		snprintf(path, sizeof(path), "%s/%02x-%s", out, all_types[i],
			 proto_type_name(all_types[i]));
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(big, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	assert_true(for_each_file("tests/fuzz/corpus/fuzz_frame", seed_ok) >= (int)NTYPES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_typical),
		cmocka_unit_test(test_roundtrip_max),
		cmocka_unit_test(test_max_data_frame_is_max_frame_bound),
		cmocka_unit_test(test_hello_layout),
		cmocka_unit_test(test_status_layout),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_length_above_max),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_frame_len_mismatch),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_truncated_payload_every_field),
		cmocka_unit_test(test_trailing_payload_bytes),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_encoder_refuses_bad_strings),
		cmocka_unit_test(test_out_of_range_fields),
		cmocka_unit_test(test_tbs),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
