/* wire_enc.c - protocol v1 encoder and the canonical to-be-signed encodings.
 *
 * Every field is validated with the same rules the decoder applies
 * (wire_priv.h), so anything this file emits decodes. The layouts are
 * specified byte by byte in docs/protocol.md.
 */
#include <errno.h>
#include <string.h>
#include <libdeflate.h> /* crc32: same CRC as zlib's, ~3x faster (PCLMUL) */

#include "wire_priv.h"

/* A bounded output cursor. The first failure sticks in err and every later
 * put is a no-op, so encoders check once at the end. */
struct wbuf {
	uint8_t *p;
	size_t cap, n;
	int err;
};

static uint8_t *reserve(struct wbuf *w, size_t k)
{
	uint8_t *at;

	if (w->err)
		return NULL;
	if (k > w->cap - w->n) {
		w->err = -PROTO_E_TOO_LONG;
		return NULL;
	}
	at = w->p + w->n;
	w->n += k;
	return at;
}

static void put_bytes(struct wbuf *w, const void *src, size_t k)
{
	uint8_t *at = reserve(w, k);

	if (at && k)
		memcpy(at, src, k);
}

static void put_be(struct wbuf *w, uint64_t v, size_t k)
{
	uint8_t *at = reserve(w, k);

	for (size_t i = 0; at && i < k; i++)
		at[i] = (uint8_t)(v >> (8 * (k - 1 - i)));
}

static void put_u8(struct wbuf *w, uint8_t v) { put_be(w, v, 1); }
static void put_u16(struct wbuf *w, uint16_t v) { put_be(w, v, 2); }
static void put_u32(struct wbuf *w, uint32_t v) { put_be(w, v, 4); }
static void put_u64(struct wbuf *w, uint64_t v) { put_be(w, v, 8); }
/* two's complement, as the spec says */
static void put_i32(struct wbuf *w, int32_t v) { put_be(w, (uint32_t)v, 4); }
static void put_i64(struct wbuf *w, int64_t v) { put_be(w, (uint64_t)v, 8); }

static void fail(struct wbuf *w, int err)
{
	if (!w->err && err)
		w->err = err;
}

/* u16 length + bytes. `field_size` is the C array size (max + 1): a string
 * without a NUL inside it is too long. */
static void put_str(struct wbuf *w, const char *s, size_t field_size, size_t max,
		    enum wire_str_kind kind)
{
	size_t n = strnlen(s, field_size);

	fail(w, wire_check_str((const uint8_t *)s, n, max, kind));
	put_u16(w, (uint16_t)n);
	put_bytes(w, s, n);
}

#define PUT_ID(w, f) put_str((w), (f), sizeof(f), PROTO_ID_MAX, WIRE_ID)
#define PUT_TEXT(w, f, max) put_str((w), (f), sizeof(f), (max), WIRE_TEXT)

static void put_identity(struct wbuf *w, const struct proto_identity *id)
{
	PUT_ID(w, id->serial);
	PUT_TEXT(w, id->model, PROTO_TEXT_MAX);
	PUT_TEXT(w, id->firmware, PROTO_TEXT_MAX);
	put_bytes(w, id->pubkey, PROTO_PUBKEY_LEN);
	PUT_ID(w, id->officer_id);
	put_i64(w, id->clock_ns);
}

static void put_cert_body(struct wbuf *w, const struct proto_dock_cert *c)
{
	fail(w, wire_check_cert(c));
	PUT_ID(w, c->dock_id);
	PUT_ID(w, c->agency_id);
	put_bytes(w, c->dock_pubkey, PROTO_PUBKEY_LEN);
	put_i64(w, c->not_before);
	put_i64(w, c->not_after);
}

static void put_cert(struct wbuf *w, const struct proto_dock_cert *c)
{
	put_cert_body(w, c);
	put_bytes(w, c->agency_sig, PROTO_SIG_LEN);
}

static void put_entry_body(struct wbuf *w, const struct proto_manifest_entry *e)
{
	fail(w, wire_check_entry(e));
	PUT_ID(w, e->recording_id);
	put_u64(w, e->size);
	put_bytes(w, e->sha256, PROTO_SHA256_LEN);
	put_i64(w, e->start_utc);
	put_i64(w, e->end_utc);
	PUT_TEXT(w, e->category, PROTO_TEXT_MAX);
	put_u8(w, e->has_gps ? 1 : 0);
	put_i32(w, e->has_gps ? e->lat_e7 : 0);
	put_i32(w, e->has_gps ? e->lon_e7 : 0);
}

static void put_receipt_body(struct wbuf *w, const struct proto_receipt *r)
{
	PUT_ID(w, r->recording_id);
	put_bytes(w, r->sha256, PROTO_SHA256_LEN);
	PUT_TEXT(w, r->location, PROTO_LOCATION_MAX);
	PUT_ID(w, r->dock_id);
	put_i64(w, r->issued_utc);
}

static void put_list_reply(struct wbuf *w, const struct proto_list_reply *l)
{
	if (l->count > PROTO_LIST_MAX) {
		fail(w, -PROTO_E_TOO_LONG);
		return;
	}
	put_u32(w, l->total);
	put_u32(w, l->count);
	for (uint32_t i = 0; i < l->count; i++) {
		put_entry_body(w, &l->entries[i]);
		put_bytes(w, l->entries[i].sig, PROTO_SIG_LEN);
	}
}

static void put_payload(struct wbuf *w, const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		fail(w, wire_check_hello(&m->u.hello));
		put_u8(w, m->u.hello.version_min);
		put_u8(w, m->u.hello.version_max);
		put_bytes(w, m->u.hello.dock_nonce, PROTO_NONCE_LEN);
		PUT_ID(w, m->u.hello.dock_id);
		break;
	case PROTO_HELLO_REPLY:
		fail(w, m->u.hello_reply.version ? 0 : -PROTO_E_BAD_FIELD);
		put_u8(w, m->u.hello_reply.version);
		put_bytes(w, m->u.hello_reply.cam_nonce, PROTO_NONCE_LEN);
		put_identity(w, &m->u.hello_reply.id);
		put_bytes(w, m->u.hello_reply.sig, PROTO_SIG_LEN);
		break;
	case PROTO_AUTH_DOCK:
		put_cert(w, &m->u.auth_dock.cert);
		put_bytes(w, m->u.auth_dock.sig, PROTO_SIG_LEN);
		break;
	case PROTO_LIST_REQ:
		put_u32(w, m->u.list_req.start);
		break;
	case PROTO_LIST_REPLY:
		put_list_reply(w, &m->u.list_reply);
		break;
	case PROTO_READ_REQ:
		fail(w, wire_check_read(&m->u.read_req));
		PUT_ID(w, m->u.read_req.recording_id);
		put_u64(w, m->u.read_req.offset);
		put_u32(w, m->u.read_req.length);
		break;
	case PROTO_DATA:
		fail(w, wire_check_data(&m->u.data));
		if (m->u.data.len && !m->u.data.data)
			fail(w, -PROTO_E_BAD_FIELD);
		put_u64(w, m->u.data.offset);
		put_u32(w, m->u.data.len);
		put_bytes(w, m->u.data.data, w->err ? 0 : m->u.data.len);
		break;
	case PROTO_RELEASE_REQ:
		put_receipt_body(w, &m->u.release_req);
		put_bytes(w, m->u.release_req.sig, PROTO_SIG_LEN);
		break;
	case PROTO_RELEASE_REPLY:
		fail(w, m->u.release_reply.deleted > 1 ? -PROTO_E_BAD_FIELD : 0);
		PUT_ID(w, m->u.release_reply.recording_id);
		put_u8(w, m->u.release_reply.deleted);
		break;
	case PROTO_TIME_SET:
		put_i64(w, m->u.time_set.dock_ns);
		break;
	case PROTO_TIME_REPLY:
		put_i64(w, m->u.time_reply.camera_before_ns);
		put_i64(w, m->u.time_reply.camera_after_ns);
		break;
	case PROTO_STATUS_REPLY:
		fail(w, wire_check_status(&m->u.status_reply));
		put_u8(w, m->u.status_reply.battery_pct);
		put_u64(w, m->u.status_reply.storage_free);
		put_u64(w, m->u.status_reply.storage_total);
		put_u32(w, m->u.status_reply.recordings);
		break;
	case PROTO_ERROR:
		fail(w, wire_check_error(&m->u.error));
		put_u16(w, m->u.error.code);
		PUT_TEXT(w, m->u.error.text, PROTO_TEXT_MAX);
		break;
	case PROTO_AUTH_OK:
	case PROTO_STATUS_REQ:
	case PROTO_BYE:
		break;
	default:
		fail(w, -PROTO_E_BAD_TYPE);
	}
}

int proto_frame_encode(const struct proto_msg *msg, uint32_t seq, uint16_t flags,
		       uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };
	size_t plen;
	uint32_t crc;
	int r;

	if (!msg || !buf || !len_out)
		return -EINVAL;
	if (!wire_type_known(msg->type))
		return -PROTO_E_BAD_TYPE;
	r = wire_check_flags(msg->type, flags);
	if (r < 0)
		return r;
	/* header last (its length field needs the payload size): skip it now */
	if (!reserve(&w, PROTO_HDR_LEN))
		return w.err;
	put_payload(&w, msg);
	if (w.err)
		return w.err;
	plen = w.n - PROTO_HDR_LEN;
	if (plen > PROTO_MAX_PAYLOAD)
		return -PROTO_E_TOO_LONG;
	w.n = 0;
	put_bytes(&w, PROTO_MAGIC, 4);
	put_u8(&w, PROTO_VERSION);
	put_u8(&w, msg->type);
	put_u16(&w, flags);
	put_u32(&w, seq);
	put_u32(&w, (uint32_t)plen);
	w.n = PROTO_HDR_LEN + plen;
	crc = libdeflate_crc32(0, buf, w.n);
	put_u32(&w, (uint32_t)crc);
	if (w.err)
		return w.err;
	*len_out = w.n;
	return 0;
}

/* ---- to-be-signed encodings ----------------------------------------------*/

static void put_domain(struct wbuf *w, const char *dom)
{
	put_bytes(w, dom, strlen(dom) + 1); /* the NUL separates the domain */
}

static int tbs_finish(struct wbuf *w, size_t *len_out)
{
	if (w->err)
		return w->err;
	*len_out = w->n;
	return 0;
}

int proto_identity_tbs(const uint8_t dock_nonce[PROTO_NONCE_LEN],
		       const uint8_t cam_nonce[PROTO_NONCE_LEN],
		       const struct proto_identity *id, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (!dock_nonce || !cam_nonce || !id || !buf || !len_out)
		return -EINVAL;
	put_domain(&w, WIRE_DOM_CAMERA_AUTH);
	put_bytes(&w, dock_nonce, PROTO_NONCE_LEN);
	put_bytes(&w, cam_nonce, PROTO_NONCE_LEN);
	put_identity(&w, id);
	return tbs_finish(&w, len_out);
}

int proto_dock_cert_tbs(const struct proto_dock_cert *c, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (!c || !buf || !len_out)
		return -EINVAL;
	put_domain(&w, WIRE_DOM_DOCK_CERT);
	put_cert_body(&w, c);
	return tbs_finish(&w, len_out);
}

int proto_dock_auth_tbs(const uint8_t cam_nonce[PROTO_NONCE_LEN],
			const uint8_t dock_nonce[PROTO_NONCE_LEN], const char *serial,
			const struct proto_dock_cert *c, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (!cam_nonce || !dock_nonce || !serial || !c || !buf || !len_out)
		return -EINVAL;
	put_domain(&w, WIRE_DOM_DOCK_AUTH);
	put_bytes(&w, cam_nonce, PROTO_NONCE_LEN);
	put_bytes(&w, dock_nonce, PROTO_NONCE_LEN);
	put_str(&w, serial, PROTO_ID_MAX + 1, PROTO_ID_MAX, WIRE_ID);
	put_cert(&w, c); /* the whole cert, agency signature included */
	return tbs_finish(&w, len_out);
}

int proto_manifest_tbs(const char *serial, const struct proto_manifest_entry *e,
		       uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (!serial || !e || !buf || !len_out)
		return -EINVAL;
	put_domain(&w, WIRE_DOM_MANIFEST);
	put_str(&w, serial, PROTO_ID_MAX + 1, PROTO_ID_MAX, WIRE_ID);
	put_entry_body(&w, e);
	return tbs_finish(&w, len_out);
}

int proto_receipt_tbs(const struct proto_receipt *r, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct wbuf w = { .p = buf, .cap = cap };

	if (!r || !buf || !len_out)
		return -EINVAL;
	put_domain(&w, WIRE_DOM_RECEIPT);
	put_receipt_body(&w, r);
	return tbs_finish(&w, len_out);
}
