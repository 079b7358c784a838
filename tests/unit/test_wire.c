/* test_wire.c - protocol v1 codec: round trips at the limits, the byte
 * layout against docs/protocol.md, the to-be-signed encodings, names, and
 * replay of the fuzzer's seeds and regressions. Malformed input:
 * test_wire_errors.c.
 *
 * WIRE_WRITE_SEEDS=DIR makes the seed test also write one valid frame per
 * message type into DIR (how tests/fuzz/corpus/fuzz_frame/ was made).
 */
#include "wire_samples.h"

#include <dirent.h>

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
					    0, 0, 0, 1, 0, 0, 0, 0x2C };
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
	assert_int_equal(len, 16 + 44 + 4);
	assert_memory_equal(big, want_hdr, sizeof(want_hdr));
	assert_int_equal(big[16], 1);
	assert_int_equal(big[17], 1);
	assert_int_equal(big[18], 0);
	assert_int_equal(big[49], 31);
	assert_int_equal(big[50], 0);
	assert_int_equal(big[51], 8);
	assert_memory_equal(big + 52, "dock-001", 8);
	assert_memory_equal(big + 60, "\x71\x4f\xb7\x38", 4); /* as in the doc */
	assert_int_equal(crc32(0L, big, 60), (uLong)big[60] << 24 | (uLong)big[61] << 16 |
						     (uLong)big[62] << 8 | big[63]);
}

/* docs/protocol.md "Worked example": ERROR BAD_VERSION "v1 only". */
static void test_error_layout(void **state)
{
	static const uint8_t want[] = {
		0x42, 0x43, 0x44, 0x4b, 0x01, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x0b, 0x00, 0x02, 0x00, 0x07, 0x76, 0x31, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x82,
		0xd4, 0xec, 0xe5,
	};
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_ERROR;
	m.u.error.code = PROTO_E_BAD_VERSION - PROTO_E_BASE;
	snprintf(m.u.error.text, sizeof(m.u.error.text), "v1 only");
	assert_int_equal(encode(&m, 1, 0), sizeof(want));
	assert_memory_equal(big, want, sizeof(want));
}

/* STATUS_REPLY from hand-written bytes: the documented offsets. */
static void test_status_layout(void **state)
{
	uint8_t p[21] = { 77 };
	struct proto_msg m;

	p[7] = 0x10;                 /* storage_free = 0x1000 */
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
		cmocka_unit_test(test_error_layout),
		cmocka_unit_test(test_status_layout),
		cmocka_unit_test(test_tbs),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fuzz_regressions),
		cmocka_unit_test(test_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
