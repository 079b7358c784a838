/* wire_samples.h - shared fixtures for the codec tests (test_wire.c,
 * test_wire_errors.c): one valid message of every type, typical or at every
 * upper bound, and helpers to build and re-frame raw frames. Header-only
 * (static inline) because every tests/unit/test_*.c is its own binary. */
#ifndef DOCK_TEST_WIRE_SAMPLES_H
#define DOCK_TEST_WIRE_SAMPLES_H

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

static uint8_t *big __attribute__((unused));     /* PROTO_MAX_FRAME + slack, for frames */
static uint8_t *payload __attribute__((unused)); /* PROTO_MAX_DATA bytes for DATA */

static inline int setup(void **state)
{
	big = malloc(PROTO_MAX_FRAME + 64);
	payload = malloc(PROTO_MAX_DATA);
	if (!big || !payload)
		return -1;
	for (size_t i = 0; i < PROTO_MAX_DATA; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	return 0;
}

static inline int teardown(void **state)
{
	free(big);
	free(payload);
	return 0;
}

/* s = n copies of c (n <= cap - 1). */
static inline void fill(char *s, size_t cap, char c, size_t n)
{
	assert_true(n < cap);
	memset(s, c, n);
	s[n] = '\0';
}

/* Text of exactly n bytes made of 2-byte UTF-8 characters ("é"). */
static inline void fill_utf8(char *s, size_t cap, size_t n)
{
	assert_true(n < cap && n % 2 == 0);
	for (size_t i = 0; i < n; i += 2) {
		s[i] = (char)0xC3;
		s[i + 1] = (char)0xA9;
	}
	s[n] = '\0';
}

static inline void sample_entry(struct proto_manifest_entry *e, int i, bool max)
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
static inline void sample(uint8_t type, bool max, struct proto_msg *m)
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

static inline size_t encode(const struct proto_msg *m, uint32_t seq, uint16_t flags)
{
	size_t len = 0;

	assert_int_equal(proto_frame_encode(m, seq, flags, big, PROTO_MAX_FRAME + 64, &len), 0);
	assert_true(len >= PROTO_HDR_LEN + PROTO_CRC_LEN && len <= PROTO_MAX_FRAME);
	return len;
}

static inline int decode(size_t len, struct proto_msg *out)
{
	struct proto_hdr h;

	return proto_frame_decode(big, len, &h, out);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Set the header length to plen and append a fresh CRC; returns frame len. */
static inline size_t reframe(uint8_t *f, size_t plen)
{
	put32(f + 12, (uint32_t)plen);
	put32(f + PROTO_HDR_LEN + plen,
	      (uint32_t)crc32(0L, f, (uInt)(PROTO_HDR_LEN + plen)));
	return PROTO_HDR_LEN + plen + PROTO_CRC_LEN;
}

/* Build a frame around a hand-written payload (independent of the encoder). */
static inline size_t raw_frame(uint8_t type, uint16_t flags, const void *p, size_t plen)
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

static inline size_t valid_frame(uint8_t type)
{
	struct proto_msg m;

	sample(type, false, &m);
	return encode(&m, 9, 0);
}


#endif
