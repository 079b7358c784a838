/* test_wire_errors.c - protocol v1 codec: one test per malformed-input
 * class (header, payload, strings, ranges), each with the specific
 * PROTO_E_* code, on both the decoder and the encoder side. */
#include "wire_samples.h"

/* ---- header-level errors --------------------------------------------------*/

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
			   (const uint8_t[]){ 1, 0, 0, 0, 0, 0x94, 0xb6, 0x2d, 0xff }, 9);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
