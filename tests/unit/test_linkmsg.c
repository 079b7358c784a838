/* test_linkmsg.c - the dockd <-> camera-link worker messages
 * (protocol/linkmsg.h): round trips of every type, the header layout of
 * docs/architecture.md, and refusal of malformed messages (the daemon's
 * receiving side: caps, exact fill, ids, NULs, booleans, result ranges).
 * Also replays the fuzzer's seeds.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linkmsg.h"

static uint8_t buf[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];

static int decode(const uint8_t *b, size_t n, struct linkmsg *m)
{
	struct linkmsg_hdr h;
	int r = linkmsg_hdr_decode(b, &h);

	if (r < 0)
		return r;
	if (h.length != n - LINKMSG_HDR_LEN)
		return -EMSGSIZE;
	return linkmsg_decode(&h, b + LINKMSG_HDR_LEN, m);
}

static struct linkmsg entry_msg(void)
{
	struct linkmsg m = { .type = LM_ENTRY };

	m.u.entry.verdict = -1005;
	snprintf(m.u.entry.e.recording_id, sizeof(m.u.entry.e.recording_id), "REC-1");
	snprintf(m.u.entry.e.category, sizeof(m.u.entry.e.category), "patrol, night");
	m.u.entry.e.size = 1ull << 40;
	m.u.entry.e.start_utc = -5;
	m.u.entry.e.has_gps = true;
	m.u.entry.e.lat_e7 = -900000000;
	memset(m.u.entry.e.sha256, 0xAB, 32);
	memset(m.u.entry.e.sig, 0xCD, 64);
	return m;
}

static void test_roundtrip(void **state)
{
	struct linkmsg in = entry_msg(), out;
	size_t n = 0;

	(void)state;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	/* header: version 3, type, reserved 0, little-endian length */
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[1], LM_ENTRY);
	assert_int_equal(buf[2] | buf[3], 0);
	assert_int_equal(buf[4] | buf[5] << 8 | buf[6] << 16 | buf[7] << 24, n - 8);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(out.u.entry.verdict, -1005);
	assert_string_equal(out.u.entry.e.recording_id, "REC-1");
	assert_string_equal(out.u.entry.e.category, "patrol, night");
	assert_true(out.u.entry.e.size == 1ull << 40);
	assert_int_equal(out.u.entry.e.lat_e7, -900000000);
	assert_true(out.u.entry.e.has_gps);
	assert_memory_equal(out.u.entry.e.sig, in.u.entry.e.sig, 64);

	memset(&in, 0, sizeof(in));
	in.type = LM_HELLO;
	in.u.hello.version = 1;
	snprintf(in.u.hello.id.serial, sizeof(in.u.hello.id.serial), "CAM-1");
	snprintf(in.u.hello.id.officer_id, sizeof(in.u.hello.id.officer_id), "OFF-1");
	in.u.hello.id.clock_ns = INT64_MIN;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_true(out.u.hello.id.clock_ns == INT64_MIN);
	assert_string_equal(out.u.hello.id.serial, "CAM-1");

	/* DATA: a descriptor of ring bytes (version 3), and its answer */
	memset(&in, 0, sizeof(in));
	in.type = LM_DATA;
	in.u.data.offset = 77;
	in.u.data.ring_off = 28;
	in.u.data.len = PROTO_MAX_DATA;
	in.u.data.seq = UINT32_MAX;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 8 + 20);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_true(out.u.data.offset == 77);
	assert_int_equal(out.u.data.ring_off, 28);
	assert_int_equal(out.u.data.len, PROTO_MAX_DATA);
	assert_true(out.u.data.seq == UINT32_MAX);
	memset(&in, 0, sizeof(in));
	in.type = LM_DATA_ACK;
	in.u.ack_seq = 7;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 8 + 4);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(out.u.ack_seq, 7);
	assert_false(linkmsg_from_worker(LM_DATA_ACK));
	assert_true(linkmsg_from_worker(LM_DATA));
}

/* A DATA descriptor whose bytes are not all inside the ring, empty, over
 * a camera frame's payload, or with seq 0; an answer with seq 0: the
 * encoder refuses (-EINVAL), and so does the decoder (-EPROTO) when the
 * bytes are written by hand. */
static void test_data_refused(void **state)
{
	static const struct { uint32_t off, len, seq; } bad[] = {
		{ 0, 0, 1 },                                     /* empty */
		{ 0, PROTO_MAX_DATA + 1, 1 },                     /* over a frame */
		{ LINKMSG_RING_SIZE - 16, 17, 1 },                /* past the end */
		{ LINKMSG_RING_SIZE, 1, 1 },
		{ UINT32_MAX, 2, 1 },                             /* wraps in u32 */
		{ 28, 100, 0 },                                   /* seq 0 */
	};
	struct linkmsg in, out;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.type = LM_DATA;
		in.u.data.ring_off = bad[i].off;
		in.u.data.len = bad[i].len;
		in.u.data.seq = bad[i].seq;
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), -EINVAL);
		/* the same fields by hand */
		in.u.data.ring_off = 28;
		in.u.data.len = 100;
		in.u.data.seq = 1;
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
		assert_int_equal(decode(buf, n, &out), 0);
		for (int k = 0; k < 4; k++) {
			buf[16 + k] = (uint8_t)(bad[i].off >> (8 * k));
			buf[20 + k] = (uint8_t)(bad[i].len >> (8 * k));
			buf[24 + k] = (uint8_t)(bad[i].seq >> (8 * k));
		}
		assert_int_equal(decode(buf, n, &out), -EPROTO);
	}
	/* the last byte inside the ring is fine */
	in.u.data.ring_off = LINKMSG_RING_SIZE - 1;
	in.u.data.len = 1;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	/* bytes after the descriptor (version 2 carried the data inline) */
	{
		struct linkmsg_hdr h = { .type = LM_DATA, .length = 21 };

		buf[8 + 20] = 0;
		assert_int_equal(linkmsg_decode(&h, buf + 8, &out), -EPROTO);
	}
	memset(&in, 0, sizeof(in));
	in.type = LM_DATA_ACK;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), -EINVAL);
	in.u.ack_seq = 1;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	buf[8] = 0;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
}

static void test_refused(void **state)
{
	struct linkmsg in = entry_msg(), out;
	size_t n = 0, id_at;

	(void)state;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	buf[0] = 1; /* version 1 (no limits, no session state): refused */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[0] = 2; /* version 2 (DATA bytes on the channel): refused */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[0] = 4;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[0] = 3;
	buf[1] = 11; /* unknown type */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[1] = 74;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[1] = LM_ENTRY;
	buf[3] = 1; /* reserved */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[3] = 0;
	/* a small type over 2048 bytes */
	buf[4] = 0x01; buf[5] = 0x08; buf[6] = buf[7] = 0;
	assert_int_equal(linkmsg_hdr_decode(buf, &(struct linkmsg_hdr){ 0 }), -EPROTO);
	/* one byte too many or too few */
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	{
		struct linkmsg_hdr h = { .type = LM_ENTRY, .length = (uint32_t)(n - 8 + 1) };

		assert_int_equal(linkmsg_decode(&h, buf + 8, &out), -EPROTO);
		h.length = (uint32_t)(n - 8 - 1);
		assert_int_equal(linkmsg_decode(&h, buf + 8, &out), -EPROTO);
	}
	/* has_gps must be 0 or 1: at payload offset 4 + 24 */
	buf[8 + 28] = 2;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[8 + 28] = 1;
	/* a verdict that is neither 0 nor -errno / -PROTO_E_* */
	in.u.entry.verdict = 1;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	in.u.entry.verdict = -1021;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	/* ids: "..", and a NUL inside */
	in.u.entry.verdict = 0;
	snprintf(in.u.entry.e.recording_id, sizeof(in.u.entry.e.recording_id), "A/B");
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	snprintf(in.u.entry.e.recording_id, sizeof(in.u.entry.e.recording_id), "ABC");
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	id_at = 8 + 4 + 8 + 8 + 8 + 1 + 4 + 4 + 32 + 64 + 2;
	assert_memory_equal(buf + id_at, "ABC", 3);
	buf[id_at + 1] = 0;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	/* DATA is a small message now: over 2048 bytes is refused (version 2
	 * allowed 256 KiB + 8) */
	{
		struct linkmsg_hdr h;
		uint8_t d[8] = { 3, LM_DATA, 0, 0, 8, 0, 0x04, 0 };

		assert_int_equal(linkmsg_hdr_decode(d, &h), -EPROTO);
		d[4] = 0; d[5] = 0x08; d[6] = 0; /* 2048: the cap */
		assert_int_equal(linkmsg_hdr_decode(d, &h), 0);
		d[4] = 1; /* 2049 */
		assert_int_equal(linkmsg_hdr_decode(d, &h), -EPROTO);
	}
}

/* Version 2: LM_OPEN's link limits, LM_ABORT, and the session state
 * (session_error, session_limit) at the end of every reply that ends an
 * exchange. */
static void test_limits_state(void **state)
{
	static const uint8_t with_state[] = { LM_OPENED, LM_LIST_DONE, LM_READ_DONE,
					      LM_RELEASE_DONE, LM_STATUS_DONE, LM_TIME_DONE,
					      LM_ABORT_DONE };
	struct linkmsg in, out;
	size_t n = 0, n0 = 0;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = LM_OPEN;
	in.u.open.timeout_ms = 30000;
	in.u.open.deadline_ms = 600000;
	in.u.open.min_rate_bps = 1024 * 1024;
	in.u.open.rate_window_ms = LINKMSG_LIMIT_MAX;
	snprintf(in.u.open.cert.dock_id, sizeof(in.u.open.cert.dock_id), "DOCK-1");
	snprintf(in.u.open.cert.agency_id, sizeof(in.u.open.cert.agency_id), "AG");
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_true(out.u.open.deadline_ms == 600000);
	assert_true(out.u.open.min_rate_bps == 1024 * 1024);
	assert_true(out.u.open.rate_window_ms == LINKMSG_LIMIT_MAX);
	assert_string_equal(out.u.open.cert.dock_id, "DOCK-1");
	/* limits sit after nonce[32] timeout[4]; one over the cap is refused */
	buf[8 + 36 + 8 + 8 + 6] = 0x01; /* rate_window_ms = 2^48 + 2^40 */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	in.u.open.deadline_ms = LINKMSG_LIMIT_MAX + 1;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), -EINVAL);

	/* LM_ABORT: a -PROTO_E_* code only */
	memset(&in, 0, sizeof(in));
	in.type = LM_ABORT;
	in.u.abort_code = -1006;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 8 + 4);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(out.u.abort_code, -1006);
	in.u.abort_code = -5; /* an errno is no protocol code */
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	in.u.abort_code = -1021;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO);

	/* the state trails each reply: 5 bytes, error then limit */
	for (size_t i = 0; i < sizeof(with_state); i++) {
		memset(&in, 0, sizeof(in));
		in.type = with_state[i];
		assert_true(linkmsg_has_state(in.type));
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n0), 0);
		in.state.error = -110; /* -ETIMEDOUT, with a limit */
		in.state.limit = 2;
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, n0);
		assert_int_equal(decode(buf, n, &out), 0);
		assert_int_equal(out.state.error, -110);
		assert_int_equal(out.state.limit, 2);
		buf[n - 1] = 3; /* no such limit */
		assert_int_equal(decode(buf, n, &out), -EPROTO);
		in.state.limit = 0;
		in.state.error = 7; /* positive: no error code */
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
		assert_int_equal(decode(buf, n, &out), -EPROTO);
		/* a reply without its state is short */
		in.state.error = 0;
		assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
		{
			struct linkmsg_hdr h = { .type = in.type, .length = (uint32_t)(n - 8 - 5) };

			assert_int_equal(linkmsg_decode(&h, buf + 8, &out), -EPROTO);
		}
	}
	assert_false(linkmsg_has_state(LM_ENTRY));
	assert_false(linkmsg_has_state(LM_DATA));
	assert_false(linkmsg_has_state(LM_HELLO));

	/* RELEASE_DONE carries deleted=0 as -EEXIST */
	memset(&in, 0, sizeof(in));
	in.type = LM_RELEASE_DONE;
	in.u.result = -EEXIST;
	assert_int_equal(linkmsg_encode(&in, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(out.u.result, -EEXIST);
}

static void test_seeds(void **state)
{
	const char *dir = getenv("TOP");
	char path[1024];
	DIR *dp;
	struct dirent *de;
	int files = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_linkmsg", dir ? dir : ".");
	dp = opendir(path);
	if (!dp)
		skip();
	while ((de = readdir(dp))) {
		static uint8_t in[LINKMSG_MAX];
		char f[1300];
		FILE *fp;
		size_t n, pos = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		fp = fopen(f, "rb");
		assert_non_null(fp);
		n = fread(in, 1, sizeof(in), fp);
		fclose(fp);
		while (pos < n) { /* each seed is a valid message stream */
			struct linkmsg_hdr h;
			struct linkmsg m;

			assert_int_equal(linkmsg_hdr_decode(in + pos, &h), 0);
			pos += LINKMSG_HDR_LEN;
			assert_true(h.length <= n - pos);
			assert_int_equal(linkmsg_decode(&h, in + pos, &m), 0);
			pos += h.length;
		}
		files++;
	}
	closedir(dp);
	assert_true(files >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_data_refused),
		cmocka_unit_test(test_limits_state),
		cmocka_unit_test(test_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
