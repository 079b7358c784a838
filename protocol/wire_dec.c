/* wire_dec.c - protocol v1 decoder.
 *
 * Input is hostile (it comes from a camera, or from a dock we have not yet
 * authenticated). Every read is bounds-checked against the payload, every
 * string against its field limit and charset, every number against its
 * range; nothing is allocated. The result is built in a local struct and
 * copied out only on success, so out-parameters stay untouched on failure.
 */
#include <errno.h>
#include <string.h>
#include <libdeflate.h> /* crc32: same CRC as zlib's, ~3x faster (PCLMUL) */

#include "wire_priv.h"

/* A bounded input cursor; the first failure sticks in err. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static const uint8_t *take(struct rbuf *r, size_t k)
{
	const uint8_t *at;

	if (r->err)
		return NULL;
	if (k > r->len - r->off) {
		r->err = -PROTO_E_TRUNCATED;
		return NULL;
	}
	at = r->p + r->off;
	r->off += k;
	return at;
}

static void fail(struct rbuf *r, int err)
{
	if (!r->err && err)
		r->err = err;
}

static uint64_t get_be(struct rbuf *r, size_t k)
{
	const uint8_t *at = take(r, k);
	uint64_t v = 0;

	for (size_t i = 0; at && i < k; i++)
		v = v << 8 | at[i];
	return v;
}

static uint8_t get_u8(struct rbuf *r) { return (uint8_t)get_be(r, 1); }
static uint16_t get_u16(struct rbuf *r) { return (uint16_t)get_be(r, 2); }
static uint32_t get_u32(struct rbuf *r) { return (uint32_t)get_be(r, 4); }
static uint64_t get_u64(struct rbuf *r) { return get_be(r, 8); }
static int32_t get_i32(struct rbuf *r) { return (int32_t)get_u32(r); }
static int64_t get_i64(struct rbuf *r) { return (int64_t)get_u64(r); }

static void get_bytes(struct rbuf *r, uint8_t *dst, size_t k)
{
	const uint8_t *at = take(r, k);

	if (at)
		memcpy(dst, at, k);
}

/* u16 length + bytes into dst (size max+1), NUL-terminated. */
static void get_str(struct rbuf *r, char *dst, size_t max, enum wire_str_kind kind)
{
	uint16_t n = get_u16(r);
	const uint8_t *at;

	if (r->err)
		return;
	/* the limit is checked before the bytes: a huge length is TOO_LONG
	 * even when the frame is also short */
	if (n > max) {
		fail(r, -PROTO_E_TOO_LONG);
		return;
	}
	at = take(r, n);
	if (!at)
		return;
	fail(r, wire_check_str(at, n, max, kind));
	if (r->err)
		return;
	memcpy(dst, at, n);
	dst[n] = '\0';
}

#define GET_ID(r, f) get_str((r), (f), PROTO_ID_MAX, WIRE_ID)
#define GET_TEXT(r, f, max) get_str((r), (f), (max), WIRE_TEXT)

static void get_identity(struct rbuf *r, struct proto_identity *id)
{
	GET_ID(r, id->serial);
	GET_TEXT(r, id->model, PROTO_TEXT_MAX);
	GET_TEXT(r, id->firmware, PROTO_TEXT_MAX);
	get_bytes(r, id->pubkey, PROTO_PUBKEY_LEN);
	GET_ID(r, id->officer_id);
	id->clock_ns = get_i64(r);
}

static void get_cert(struct rbuf *r, struct proto_dock_cert *c)
{
	GET_ID(r, c->dock_id);
	GET_ID(r, c->agency_id);
	get_bytes(r, c->dock_pubkey, PROTO_PUBKEY_LEN);
	c->not_before = get_i64(r);
	c->not_after = get_i64(r);
	get_bytes(r, c->agency_sig, PROTO_SIG_LEN);
	if (!r->err)
		fail(r, wire_check_cert(c));
}

static void get_entry(struct rbuf *r, struct proto_manifest_entry *e)
{
	uint8_t gps;

	GET_ID(r, e->recording_id);
	e->size = get_u64(r);
	get_bytes(r, e->sha256, PROTO_SHA256_LEN);
	e->start_utc = get_i64(r);
	e->end_utc = get_i64(r);
	GET_TEXT(r, e->category, PROTO_TEXT_MAX);
	gps = get_u8(r);
	e->lat_e7 = get_i32(r);
	e->lon_e7 = get_i32(r);
	get_bytes(r, e->sig, PROTO_SIG_LEN);
	if (r->err)
		return;
	if (gps > 1) {
		fail(r, -PROTO_E_BAD_FIELD);
		return;
	}
	e->has_gps = gps == 1;
	fail(r, wire_check_entry(e));
}

static void get_list_reply(struct rbuf *r, struct proto_list_reply *l)
{
	l->total = get_u32(r);
	l->count = get_u32(r);
	if (r->err)
		return;
	if (l->count > PROTO_LIST_MAX) {
		fail(r, -PROTO_E_TOO_LONG);
		return;
	}
	for (uint32_t i = 0; i < l->count && !r->err; i++)
		get_entry(r, &l->entries[i]);
}

static void get_data(struct rbuf *r, struct proto_data *d)
{
	d->offset = get_u64(r);
	d->len = get_u32(r);
	if (r->err)
		return;
	fail(r, wire_check_data(d));
	d->data = take(r, d->len);
	if (!d->data && !r->err)
		d->data = r->p + r->off; /* len 0: still a valid pointer */
}

static void get_receipt(struct rbuf *r, struct proto_receipt *rc)
{
	GET_ID(r, rc->recording_id);
	get_bytes(r, rc->sha256, PROTO_SHA256_LEN);
	GET_TEXT(r, rc->location, PROTO_LOCATION_MAX);
	GET_ID(r, rc->dock_id);
	rc->issued_utc = get_i64(r);
	get_bytes(r, rc->sig, PROTO_SIG_LEN);
}

/* Range checks that need the whole message decoded first. */
static int check_msg(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		return wire_check_hello(&m->u.hello);
	case PROTO_HELLO_REPLY:
		return m->u.hello_reply.version ? 0 : -PROTO_E_BAD_FIELD;
	case PROTO_READ_REQ:
		return wire_check_read(&m->u.read_req);
	case PROTO_RELEASE_REPLY:
		return m->u.release_reply.deleted > 1 ? -PROTO_E_BAD_FIELD : 0;
	case PROTO_STATUS_REPLY:
		return wire_check_status(&m->u.status_reply);
	case PROTO_ERROR:
		return wire_check_error(&m->u.error);
	default:
		return 0;
	}
}

static void get_payload(struct rbuf *r, struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		m->u.hello.version_min = get_u8(r);
		m->u.hello.version_max = get_u8(r);
		get_bytes(r, m->u.hello.dock_nonce, PROTO_NONCE_LEN);
		GET_ID(r, m->u.hello.dock_id);
		break;
	case PROTO_HELLO_REPLY:
		m->u.hello_reply.version = get_u8(r);
		get_bytes(r, m->u.hello_reply.cam_nonce, PROTO_NONCE_LEN);
		get_identity(r, &m->u.hello_reply.id);
		get_bytes(r, m->u.hello_reply.sig, PROTO_SIG_LEN);
		break;
	case PROTO_AUTH_DOCK:
		get_cert(r, &m->u.auth_dock.cert);
		get_bytes(r, m->u.auth_dock.sig, PROTO_SIG_LEN);
		break;
	case PROTO_LIST_REQ:
		m->u.list_req.start = get_u32(r);
		break;
	case PROTO_LIST_REPLY:
		get_list_reply(r, &m->u.list_reply);
		break;
	case PROTO_READ_REQ:
		GET_ID(r, m->u.read_req.recording_id);
		m->u.read_req.offset = get_u64(r);
		m->u.read_req.length = get_u32(r);
		break;
	case PROTO_DATA:
		get_data(r, &m->u.data);
		break;
	case PROTO_RELEASE_REQ:
		get_receipt(r, &m->u.release_req);
		break;
	case PROTO_RELEASE_REPLY:
		GET_ID(r, m->u.release_reply.recording_id);
		m->u.release_reply.deleted = get_u8(r);
		break;
	case PROTO_TIME_SET:
		m->u.time_set.dock_ns = get_i64(r);
		break;
	case PROTO_TIME_REPLY:
		m->u.time_reply.camera_before_ns = get_i64(r);
		m->u.time_reply.camera_after_ns = get_i64(r);
		break;
	case PROTO_STATUS_REPLY:
		m->u.status_reply.battery_pct = get_u8(r);
		m->u.status_reply.storage_free = get_u64(r);
		m->u.status_reply.storage_total = get_u64(r);
		m->u.status_reply.recordings = get_u32(r);
		break;
	case PROTO_ERROR:
		m->u.error.code = get_u16(r);
		GET_TEXT(r, m->u.error.text, PROTO_TEXT_MAX);
		break;
	default: /* AUTH_OK, STATUS_REQ, BYE: empty */
		break;
	}
	if (!r->err && r->off != r->len)
		fail(r, -PROTO_E_TRAILING);
	if (!r->err)
		fail(r, check_msg(m));
}

int proto_hdr_decode(const uint8_t *buf, size_t len, struct proto_hdr *out)
{
	struct rbuf r = { .p = buf, .len = len };
	struct proto_hdr h;
	int e;

	if (!buf || !out)
		return -EINVAL;
	if (len < PROTO_HDR_LEN)
		return -PROTO_E_TRUNCATED;
	if (memcmp(buf, PROTO_MAGIC, 4) != 0)
		return -PROTO_E_BAD_MAGIC;
	r.off = 4;
	h.version = get_u8(&r);
	h.type = get_u8(&r);
	h.flags = get_u16(&r);
	h.seq = get_u32(&r);
	h.length = get_u32(&r);
	if (h.version != PROTO_VERSION)
		return -PROTO_E_BAD_VERSION;
	if (!wire_type_known(h.type))
		return -PROTO_E_BAD_TYPE;
	e = wire_check_flags(h.type, h.flags);
	if (e < 0)
		return e;
	if (h.length > PROTO_MAX_PAYLOAD)
		return -PROTO_E_TOO_LONG;
	*out = h;
	return 0;
}

int proto_frame_decode(const uint8_t *buf, size_t len, struct proto_hdr *hdr_out,
		       struct proto_msg *out)
{
	struct proto_hdr h;
	struct proto_msg m;
	struct rbuf r;
	size_t body;
	uint32_t want, got;
	int e;

	if (!buf || !hdr_out || !out)
		return -EINVAL;
	e = proto_hdr_decode(buf, len, &h);
	if (e < 0)
		return e;
	body = PROTO_HDR_LEN + (size_t)h.length;
	if (len < body + PROTO_CRC_LEN)
		return -PROTO_E_TRUNCATED;
	if (len > body + PROTO_CRC_LEN)
		return -PROTO_E_TRAILING;
	got = libdeflate_crc32(0, buf, body);
	want = (uint32_t)buf[body] << 24 | (uint32_t)buf[body + 1] << 16 |
	       (uint32_t)buf[body + 2] << 8 | buf[body + 3];
	if (got != want)
		return -PROTO_E_BAD_CRC;

	memset(&m, 0, sizeof(m));
	m.type = h.type;
	r = (struct rbuf){ .p = buf + PROTO_HDR_LEN, .len = h.length };
	get_payload(&r, &m);
	if (r.err)
		return r.err;
	*hdr_out = h;
	*out = m;
	return 0;
}
