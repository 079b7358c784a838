/* linkmsg.c - dockd <-> camera-link worker messages (see linkmsg.h).
 *
 * Payload layouts (id = string that must pass proto_id_valid, text = any
 * bytes but NUL, both with a u16 length; caps in brackets):
 *   cert      dock_id:id agency_id:id dock_pubkey[32] not_before:i64
 *             not_after:i64 agency_sig[64]
 *   identity  pubkey[32] clock_ns:i64 serial:id model:text[128]
 *             firmware:text[128] officer_id:id
 *   entry     size:u64 start_utc:i64 end_utc:i64 has_gps:u8 lat_e7:i32
 *             lon_e7:i32 sha256[32] sig[64] recording_id:id category:text[128]
 *   receipt   sha256[32] issued_utc:i64 sig[64] recording_id:id
 *             location:text[256] dock_id:id
 */
#include <errno.h>
#include <string.h>

#include "linkmsg.h"

struct cur {
	uint8_t *w;             /* encoding */
	const uint8_t *r;       /* decoding */
	size_t pos, cap;
	int bad;
};

static void put(struct cur *c, const void *v, size_t n)
{
	if (c->bad || n > c->cap - c->pos) {
		c->bad = 1;
		return;
	}
	memcpy(c->w + c->pos, v, n);
	c->pos += n;
}

static void put_u(struct cur *c, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(c, b, n);
}

static void put_s(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT16_MAX) {
		c->bad = 1;
		return;
	}
	put_u(c, n, 2);
	put(c, s, n);
}

static void get(struct cur *c, void *v, size_t n)
{
	if (c->bad || n > c->cap - c->pos) {
		c->bad = 1;
		return;
	}
	memcpy(v, c->r + c->pos, n);
	c->pos += n;
}

static uint64_t get_u(struct cur *c, size_t n)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	get(c, b, n);
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static int32_t get_i32(struct cur *c)
{
	return (int32_t)(uint32_t)get_u(c, 4);
}

static int64_t get_i64(struct cur *c)
{
	return (int64_t)get_u(c, 8);
}

/* A string of at most max bytes into dst[max + 1]; no NUL inside. */
static void get_s(struct cur *c, char *dst, size_t max, int is_id)
{
	size_t n = (size_t)get_u(c, 2);

	if (c->bad || n > max || n > c->cap - c->pos) {
		c->bad = 1;
		return;
	}
	if (memchr(c->r + c->pos, 0, n)) {
		c->bad = 1;
		return;
	}
	memcpy(dst, c->r + c->pos, n);
	dst[n] = '\0';
	c->pos += n;
	if (is_id && !proto_id_valid(dst))
		c->bad = 1;
}

/* 0, or a negative code a peer may report: -errno or -PROTO_E_*. */
static void check_result(struct cur *c, int32_t v)
{
	if (v > 0 || v < -PROTO_E_MAX)
		c->bad = 1;
}

static void put_cert(struct cur *c, const struct proto_dock_cert *k)
{
	put_s(c, k->dock_id);
	put_s(c, k->agency_id);
	put(c, k->dock_pubkey, sizeof(k->dock_pubkey));
	put_u(c, (uint64_t)k->not_before, 8);
	put_u(c, (uint64_t)k->not_after, 8);
	put(c, k->agency_sig, sizeof(k->agency_sig));
}

static void get_cert(struct cur *c, struct proto_dock_cert *k)
{
	get_s(c, k->dock_id, PROTO_ID_MAX, 1);
	get_s(c, k->agency_id, PROTO_ID_MAX, 1);
	get(c, k->dock_pubkey, sizeof(k->dock_pubkey));
	k->not_before = get_i64(c);
	k->not_after = get_i64(c);
	get(c, k->agency_sig, sizeof(k->agency_sig));
}

static void put_ident(struct cur *c, const struct proto_identity *id)
{
	put(c, id->pubkey, sizeof(id->pubkey));
	put_u(c, (uint64_t)id->clock_ns, 8);
	put_s(c, id->serial);
	put_s(c, id->model);
	put_s(c, id->firmware);
	put_s(c, id->officer_id);
}

static void get_ident(struct cur *c, struct proto_identity *id)
{
	get(c, id->pubkey, sizeof(id->pubkey));
	id->clock_ns = get_i64(c);
	get_s(c, id->serial, PROTO_ID_MAX, 1);
	get_s(c, id->model, PROTO_TEXT_MAX, 0);
	get_s(c, id->firmware, PROTO_TEXT_MAX, 0);
	get_s(c, id->officer_id, PROTO_ID_MAX, 1);
}

static void put_entry(struct cur *c, const struct proto_manifest_entry *e)
{
	put_u(c, e->size, 8);
	put_u(c, (uint64_t)e->start_utc, 8);
	put_u(c, (uint64_t)e->end_utc, 8);
	put_u(c, e->has_gps ? 1 : 0, 1);
	put_u(c, (uint32_t)e->lat_e7, 4);
	put_u(c, (uint32_t)e->lon_e7, 4);
	put(c, e->sha256, sizeof(e->sha256));
	put(c, e->sig, sizeof(e->sig));
	put_s(c, e->recording_id);
	put_s(c, e->category);
}

static void get_entry(struct cur *c, struct proto_manifest_entry *e)
{
	uint64_t gps;

	e->size = get_u(c, 8);
	e->start_utc = get_i64(c);
	e->end_utc = get_i64(c);
	gps = get_u(c, 1);
	if (gps > 1)
		c->bad = 1;
	e->has_gps = gps == 1;
	e->lat_e7 = get_i32(c);
	e->lon_e7 = get_i32(c);
	get(c, e->sha256, sizeof(e->sha256));
	get(c, e->sig, sizeof(e->sig));
	get_s(c, e->recording_id, PROTO_ID_MAX, 1);
	get_s(c, e->category, PROTO_TEXT_MAX, 0);
}

static void put_receipt(struct cur *c, const struct proto_receipt *r)
{
	put(c, r->sha256, sizeof(r->sha256));
	put_u(c, (uint64_t)r->issued_utc, 8);
	put(c, r->sig, sizeof(r->sig));
	put_s(c, r->recording_id);
	put_s(c, r->location);
	put_s(c, r->dock_id);
}

static void get_receipt(struct cur *c, struct proto_receipt *r)
{
	get(c, r->sha256, sizeof(r->sha256));
	r->issued_utc = get_i64(c);
	get(c, r->sig, sizeof(r->sig));
	get_s(c, r->recording_id, PROTO_ID_MAX, 1);
	get_s(c, r->location, PROTO_LOCATION_MAX, 0);
	get_s(c, r->dock_id, PROTO_ID_MAX, 1);
}

/* A DATA descriptor: 1..PROTO_MAX_DATA bytes inside the ring, seq >= 1. */
static int data_ok(uint32_t ring_off, uint32_t len, uint32_t seq)
{
	return len >= 1 && len <= PROTO_MAX_DATA && seq != 0 &&
	       (uint64_t)ring_off + len <= LINKMSG_RING_SIZE;
}

int linkmsg_from_worker(uint8_t type)
{
	return type >= LM_HELLO && type <= LM_ABORT_DONE;
}

int linkmsg_has_state(uint8_t type)
{
	return type == LM_OPENED || (type >= LM_LIST_DONE && type <= LM_ABORT_DONE &&
				     type != LM_DATA);
}

static uint64_t get_limit(struct cur *c)
{
	uint64_t v = get_u(c, 8);

	if (v > LINKMSG_LIMIT_MAX)
		c->bad = 1;
	return v;
}

int linkmsg_hdr_decode(const uint8_t buf[LINKMSG_HDR_LEN], struct linkmsg_hdr *out)
{
	uint32_t len;
	uint8_t type;

	if (!buf || !out)
		return -EINVAL;
	type = buf[1];
	len = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 |
	      (uint32_t)buf[7] << 24;
	if (buf[0] != LINKMSG_VERSION || buf[2] || buf[3])
		return -EPROTO;
	if (!(type >= LM_OPEN && type <= LM_DATA_ACK) && !linkmsg_from_worker(type))
		return -EPROTO;
	if (len > LINKMSG_SMALL_MAX)
		return -EPROTO;
	out->type = type;
	out->length = len;
	return 0;
}

static void decode_body(struct cur *c, uint8_t type, struct linkmsg *m)
{
	switch (type) {
	case LM_OPEN:
		get(c, m->u.open.dock_nonce, PROTO_NONCE_LEN);
		m->u.open.timeout_ms = (uint32_t)get_u(c, 4);
		m->u.open.deadline_ms = get_limit(c);
		m->u.open.min_rate_bps = get_limit(c);
		m->u.open.rate_window_ms = get_limit(c);
		get_cert(c, &m->u.open.cert);
		break;
	case LM_DATA_ACK:
		m->u.ack_seq = (uint32_t)get_u(c, 4);
		if (m->u.ack_seq == 0)
			c->bad = 1;
		break;
	case LM_ABORT:
		m->u.abort_code = get_i32(c);
		if (m->u.abort_code > -PROTO_E_BASE || m->u.abort_code < -PROTO_E_MAX)
			c->bad = 1;
		break;
	case LM_AUTH:
		m->u.auth.verdict = get_i32(c);
		check_result(c, m->u.auth.verdict);
		get(c, m->u.auth.sig, PROTO_SIG_LEN);
		get_s(c, m->u.auth.why, PROTO_TEXT_MAX, 0);
		break;
	case LM_READ:
		m->u.read.offset = get_u(c, 8);
		m->u.read.length = get_u(c, 8);
		get_s(c, m->u.read.recording_id, PROTO_ID_MAX, 1);
		break;
	case LM_RELEASE:
		get_receipt(c, &m->u.release);
		break;
	case LM_HELLO:
		m->u.hello.version = (uint8_t)get_u(c, 1);
		get(c, m->u.hello.cam_nonce, PROTO_NONCE_LEN);
		get(c, m->u.hello.sig, PROTO_SIG_LEN);
		get_ident(c, &m->u.hello.id);
		break;
	case LM_OPENED:
		m->u.opened.result = get_i32(c);
		check_result(c, m->u.opened.result);
		m->u.opened.clock_offset_ns = get_i64(c);
		break;
	case LM_ENTRY:
		m->u.entry.verdict = get_i32(c);
		check_result(c, m->u.entry.verdict);
		get_entry(c, &m->u.entry.e);
		break;
	case LM_DATA:
		m->u.data.offset = get_u(c, 8);
		m->u.data.ring_off = (uint32_t)get_u(c, 4);
		m->u.data.len = (uint32_t)get_u(c, 4);
		m->u.data.seq = (uint32_t)get_u(c, 4);
		if (!data_ok(m->u.data.ring_off, m->u.data.len, m->u.data.seq))
			c->bad = 1;
		break;
	case LM_LIST_DONE: case LM_READ_DONE: case LM_RELEASE_DONE: case LM_ABORT_DONE:
		m->u.result = get_i32(c);
		check_result(c, m->u.result);
		break;
	case LM_STATUS_DONE:
		m->u.status.result = get_i32(c);
		check_result(c, m->u.status.result);
		m->u.status.st.battery_pct = (uint8_t)get_u(c, 1);
		m->u.status.st.storage_free = get_u(c, 8);
		m->u.status.st.storage_total = get_u(c, 8);
		m->u.status.st.recordings = (uint32_t)get_u(c, 4);
		break;
	case LM_TIME_DONE:
		m->u.time.result = get_i32(c);
		check_result(c, m->u.time.result);
		m->u.time.before_ns = get_i64(c);
		m->u.time.after_ns = get_i64(c);
		break;
	default: /* LIST, STATUS, TIME_SYNC, BYE: empty */
		break;
	}
	if (linkmsg_has_state(type)) {
		m->state.error = get_i32(c);
		check_result(c, m->state.error);
		m->state.limit = (uint8_t)get_u(c, 1);
		if (m->state.limit > LINKMSG_LIMIT_KINDS)
			c->bad = 1;
	}
}

int linkmsg_decode(const struct linkmsg_hdr *h, const uint8_t *p, struct linkmsg *out)
{
	struct linkmsg m;
	struct cur c = { .r = p, .cap = h ? h->length : 0 };

	if (!h || (!p && h->length) || !out)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = h->type;
	decode_body(&c, h->type, &m);
	if (c.bad || c.pos != c.cap)
		return -EPROTO;
	*out = m;
	return 0;
}

static void encode_body(struct cur *c, const struct linkmsg *m)
{
	switch (m->type) {
	case LM_OPEN:
		put(c, m->u.open.dock_nonce, PROTO_NONCE_LEN);
		put_u(c, m->u.open.timeout_ms, 4);
		put_u(c, m->u.open.deadline_ms, 8);
		put_u(c, m->u.open.min_rate_bps, 8);
		put_u(c, m->u.open.rate_window_ms, 8);
		put_cert(c, &m->u.open.cert);
		break;
	case LM_ABORT:
		put_u(c, (uint32_t)m->u.abort_code, 4);
		break;
	case LM_DATA_ACK:
		put_u(c, m->u.ack_seq, 4);
		break;
	case LM_AUTH:
		put_u(c, (uint32_t)m->u.auth.verdict, 4);
		put(c, m->u.auth.sig, PROTO_SIG_LEN);
		put_s(c, m->u.auth.why);
		break;
	case LM_READ:
		put_u(c, m->u.read.offset, 8);
		put_u(c, m->u.read.length, 8);
		put_s(c, m->u.read.recording_id);
		break;
	case LM_RELEASE:
		put_receipt(c, &m->u.release);
		break;
	case LM_HELLO:
		put_u(c, m->u.hello.version, 1);
		put(c, m->u.hello.cam_nonce, PROTO_NONCE_LEN);
		put(c, m->u.hello.sig, PROTO_SIG_LEN);
		put_ident(c, &m->u.hello.id);
		break;
	case LM_OPENED:
		put_u(c, (uint32_t)m->u.opened.result, 4);
		put_u(c, (uint64_t)m->u.opened.clock_offset_ns, 8);
		break;
	case LM_ENTRY:
		put_u(c, (uint32_t)m->u.entry.verdict, 4);
		put_entry(c, &m->u.entry.e);
		break;
	case LM_DATA:
		put_u(c, m->u.data.offset, 8);
		put_u(c, m->u.data.ring_off, 4);
		put_u(c, m->u.data.len, 4);
		put_u(c, m->u.data.seq, 4);
		break;
	case LM_LIST_DONE: case LM_READ_DONE: case LM_RELEASE_DONE: case LM_ABORT_DONE:
		put_u(c, (uint32_t)m->u.result, 4);
		break;
	case LM_STATUS_DONE:
		put_u(c, (uint32_t)m->u.status.result, 4);
		put_u(c, m->u.status.st.battery_pct, 1);
		put_u(c, m->u.status.st.storage_free, 8);
		put_u(c, m->u.status.st.storage_total, 8);
		put_u(c, m->u.status.st.recordings, 4);
		break;
	case LM_TIME_DONE:
		put_u(c, (uint32_t)m->u.time.result, 4);
		put_u(c, (uint64_t)m->u.time.before_ns, 8);
		put_u(c, (uint64_t)m->u.time.after_ns, 8);
		break;
	default:
		break;
	}
	if (linkmsg_has_state(m->type)) {
		put_u(c, (uint32_t)m->state.error, 4);
		put_u(c, m->state.limit, 1);
	}
}

int linkmsg_encode(const struct linkmsg *m, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct cur c = { .w = buf, .cap = cap, .pos = LINKMSG_HDR_LEN };
	uint64_t plen;

	if (!m || !buf || !len_out || cap < LINKMSG_HDR_LEN)
		return -EINVAL;
	if (!(m->type >= LM_OPEN && m->type <= LM_DATA_ACK) && !linkmsg_from_worker(m->type))
		return -EINVAL;
	if (m->type == LM_OPEN &&
	    (m->u.open.deadline_ms > LINKMSG_LIMIT_MAX || m->u.open.min_rate_bps > LINKMSG_LIMIT_MAX ||
	     m->u.open.rate_window_ms > LINKMSG_LIMIT_MAX))
		return -EINVAL;
	if (m->type == LM_DATA && !data_ok(m->u.data.ring_off, m->u.data.len, m->u.data.seq))
		return -EINVAL;
	if (m->type == LM_DATA_ACK && m->u.ack_seq == 0)
		return -EINVAL;
	encode_body(&c, m);
	if (c.bad)
		return -ENOSPC;
	plen = c.pos - LINKMSG_HDR_LEN;
	if (plen > LINKMSG_SMALL_MAX)
		return -ENOSPC;
	buf[0] = LINKMSG_VERSION;
	buf[1] = m->type;
	buf[2] = buf[3] = 0;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(plen >> (8 * i));
	*len_out = c.pos;
	return 0;
}
