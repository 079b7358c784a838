/* session.c - dock side of a camera session (see session.h): open it (the
 * handshake), LIST, abort and close it, and the frame exchange helpers
 * session_ops.c's requests share (session_int.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "frame_io.h"
#include "session.h"
#include "session_fuzz.h"
#include "session_int.h"

#ifdef PROTO_FUZZING
static int fuzz_skip_sigs;
void session_fuzz_skip_signatures(int on)
{
	fuzz_skip_sigs = on;
}
#endif

static int camera_sig_ok(const uint8_t pub[PROTO_PUBKEY_LEN], const uint8_t *msg, size_t len,
			 const uint8_t sig[PROTO_SIG_LEN])
{
#ifdef PROTO_FUZZING
	if (fuzz_skip_sigs)
		return 0;
#endif
	return edsig_verify_raw(pub, msg, len, sig);
}

int64_t session_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t session_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int session_fail(struct session *s, int err)
{
	if (!s->failed)
		s->failed = err;
	return err;
}

bool session_proto_code(int err)
{
	return err <= -PROTO_E_BASE && err >= -PROTO_E_MAX;
}

/* The camera broke the protocol (a frame that does not decode, a wrong
 * seq, a message at the wrong time, DATA out of order): the stream is out
 * of step and the session ends. Tell the camera why with ERROR, seq 0
 * (docs/protocol.md 3.1, 5), best effort, then fail. A local failure
 * (-errno) ends the session without a word. */
int session_broke(struct session *s, int err)
{
	if (!s->failed && session_proto_code(err))
		frame_write_error(s->t, 0, err, proto_strerror(err),
				  s->timeout_ms < 1000 ? s->timeout_ms : 1000);
	return session_fail(s, err);
}

/* A link limit ended the session: ERROR BUSY ("dock again later") with the
 * reason, then -ETIMEDOUT (docs/protocol.md 10). */
int session_over_limit(struct session *s, int which, const char *why)
{
	if (!s->failed) {
		s->limit = which;
		frame_write_error(s->t, 0, -PROTO_E_BUSY, why,
				  s->timeout_ms < 1000 ? s->timeout_ms : 1000);
	}
	return session_fail(s, -ETIMEDOUT);
}

/* The wait for the next frame: the per-frame timeout, cut to what is left
 * of the session deadline. 0 when the deadline has passed. */
static int wait_ms(const struct session *s)
{
	int64_t left;

	if (!s->deadline_ns)
		return s->timeout_ms;
	left = (s->deadline_ns - session_mono_ns() + 999999) / 1000000; /* round up: never short */
	if (left <= 0)
		return 0;
	return left < s->timeout_ms ? (int)left : s->timeout_ms;
}

int session_send_msg(struct session *s, const struct proto_msg *m, uint32_t *seq_out)
{
	uint32_t seq = s->seq++;
	int r = frame_write(s->t, m, seq, 0, s->tx, sizeof(s->tx), s->timeout_ms);

	if (r < 0)
		return session_fail(s, r);
	*seq_out = seq;
	return 0;
}

/* Tell the camera why we stop, then fail (best effort: we are failing). */
static int refuse(struct session *s, uint32_t seq, int err, const char *why)
{
	frame_write_error(s->t, seq, err, why, s->timeout_ms);
	return session_fail(s, err);
}

/* Next frame answering request `seq`: skips (a bounded number of) unknown
 * frames; turns an ERROR reply into its code. */
int session_recv_reply(struct session *s, uint32_t seq, uint8_t want, struct proto_hdr *h,
		       struct proto_msg *m)
{
	int unknown = 0;

	for (;;) {
		int ms = wait_ms(s), r;

		if (ms == 0)
			return session_over_limit(s, SESSION_LIMIT_DEADLINE,
						  "session deadline reached: dock again to continue");
		r = frame_read(s->t, s->rx, PROTO_MAX_FRAME, ms, h, m);
		if (r == -ETIMEDOUT && ms < s->timeout_ms) /* the wait the deadline cut */
			return session_over_limit(s, SESSION_LIMIT_DEADLINE,
						  "session deadline reached: dock again to continue");
		if (r == -PROTO_E_BAD_TYPE) {
			if (++unknown > SESSION_MAX_UNKNOWN)
				return session_broke(s, -PROTO_E_UNEXPECTED);
			continue;
		}
		if (r < 0)
			return session_proto_code(r) ? session_broke(s, r) : session_fail(s, r);
		if (h->seq != seq)
			return session_broke(s, -PROTO_E_SEQ);
		if (m->type == PROTO_ERROR)
			return -(PROTO_E_BASE + (int)m->u.error.code); /* codec checked the range */
		if (m->type != want)
			return session_broke(s, -PROTO_E_UNEXPECTED);
		return 0;
	}
}

int session_usable(const struct session *s)
{
	if (!s)
		return -EINVAL;
	return s->failed ? s->failed : 0;
}

static int send_hello(struct session *s, const uint8_t nonce[PROTO_NONCE_LEN], uint32_t *seq)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.u.hello.version_min = PROTO_VERSION;
	m.u.hello.version_max = PROTO_VERSION;
	memcpy(m.u.hello.dock_nonce, nonce, PROTO_NONCE_LEN);
	memcpy(m.u.hello.dock_id, s->cert.dock_id, sizeof(m.u.hello.dock_id));
	return session_send_msg(s, &m, seq);
}

const char *session_refusal_text(int err)
{
	switch (err) {
	case -PROTO_E_UNENROLLED: return "camera not enrolled at this dock";
	case -PROTO_E_BUSY: return "dock busy with another session of this camera: retry in a moment";
	case -PROTO_E_AUTH: return "identity signature invalid: the camera did not prove its key";
	case -PROTO_E_BAD_VERSION: return "protocol version not supported: this dock speaks version 1";
	default: return "camera refused by this dock";
	}
}

/* Check HELLO_REPLY: version, the identity's self-signature, enrolment.
 * Each refusal names its cause on the wire (docs/protocol.md, 6.13). */
static int check_camera(struct session *s, uint32_t seq, const uint8_t dock_nonce[PROTO_NONCE_LEN],
			const struct proto_hello_reply *hr, const struct session_cfg *cfg)
{
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;
	int r;

	if (hr->version != PROTO_VERSION)
		return refuse(s, seq, -PROTO_E_BAD_VERSION, session_refusal_text(-PROTO_E_BAD_VERSION));
	r = proto_identity_tbs(dock_nonce, hr->cam_nonce, &hr->id, tbs, sizeof(tbs), &n);
	if (r < 0)
		return refuse(s, seq, r, "identity cannot be encoded");
	if (camera_sig_ok(hr->id.pubkey, tbs, n, hr->sig) < 0)
		return refuse(s, seq, -PROTO_E_AUTH, session_refusal_text(-PROTO_E_AUTH));
	if (cfg->why)
		cfg->why[0] = '\0';
	r = cfg->auth ? cfg->auth(cfg->auth_ctx, dock_nonce, hr, s->auth_sig)
		      : cfg->enrol(cfg->enrol_ctx, &hr->id);
	if (r < 0) {
		if (r > -PROTO_E_BASE || r < -PROTO_E_MAX)
			r = -PROTO_E_UNENROLLED; /* callback failures deny, never admit */
		return refuse(s, seq, r, cfg->why && cfg->why[0] ? cfg->why : session_refusal_text(r));
	}
	return 0;
}

static int send_auth(struct session *s, const uint8_t cam_nonce[PROTO_NONCE_LEN],
		     const uint8_t dock_nonce[PROTO_NONCE_LEN], uint32_t *seq)
{
	uint8_t tbs[PROTO_TBS_MAX];
	struct proto_msg m;
	size_t n = 0;
	int r;

	r = proto_dock_auth_tbs(cam_nonce, dock_nonce, s->id.serial, &s->cert, tbs, sizeof(tbs), &n);
	if (r < 0)
		return session_fail(s, r);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_AUTH_DOCK;
	m.u.auth_dock.cert = s->cert;
	if (s->auth)
		memcpy(m.u.auth_dock.sig, s->auth_sig, PROTO_SIG_LEN);
	else
		r = edsig_sign(s->key, tbs, n, m.u.auth_dock.sig);
	if (r < 0)
		return session_fail(s, r);
	return session_send_msg(s, &m, seq);
}

/* Camera clock minus dock clock without overflow: the camera's clock_ns
 * is any signed i64 it likes (INT64_MIN - now does not fit); a difference
 * beyond the i64 range saturates, keeping its sign (session.h). */
static int64_t clock_offset(int64_t camera_ns, int64_t dock_ns)
{
	int64_t d;

	if (__builtin_sub_overflow(camera_ns, dock_ns, &d))
		return camera_ns < dock_ns ? INT64_MIN : INT64_MAX;
	return d;
}

static int handshake(struct session *s, const struct session_cfg *cfg)
{
	uint8_t nonce[PROTO_NONCE_LEN];
	struct proto_hdr h;
	struct proto_msg *m = calloc(1, sizeof(*m));
	int64_t t0, t1;
	uint32_t seq;
	int r;

	if (!m)
		return -ENOMEM;
	r = -EIO;
	if (cfg->dock_nonce)
		memcpy(nonce, cfg->dock_nonce, sizeof(nonce));
	else if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		goto out;
	t0 = session_realtime_ns();
	r = send_hello(s, nonce, &seq);
	if (r == 0)
		r = session_recv_reply(s, seq, PROTO_HELLO_REPLY, &h, m);
	if (r < 0)
		goto out;
	t1 = session_realtime_ns();
	r = check_camera(s, seq, nonce, &m->u.hello_reply, cfg);
	if (r < 0)
		goto out;
	s->id = m->u.hello_reply.id;
	s->clock_offset_ns = clock_offset(m->u.hello_reply.id.clock_ns, t0 / 2 + t1 / 2);
	r = send_auth(s, m->u.hello_reply.cam_nonce, nonce, &seq);
	if (r == 0)
		r = session_recv_reply(s, seq, PROTO_AUTH_OK, &h, m);
out:
	if (r < 0)
		session_fail(s, r); /* a session that did not open is never reused */
	free(m);
	return r;
}

int session_open(struct transport *t, const struct session_cfg *cfg, struct session **out)
{
	struct session *s;
	int r;

	if (!t || !cfg || !cfg->cert || !out)
		return -EINVAL;
	if (!cfg->auth && (!cfg->enrol || !cfg->dock_key || !edsig_has_private(cfg->dock_key)))
		return -EINVAL;
	if (!proto_id_valid(cfg->cert->dock_id))
		return -EINVAL;
	if (cfg->rx_buf && cfg->rx_cap < PROTO_MAX_FRAME)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->own_rx = !cfg->rx_buf;
	s->rx = cfg->rx_buf ? cfg->rx_buf : malloc(PROTO_MAX_FRAME);
	if (!s->rx) {
		free(s);
		return -ENOMEM;
	}
	s->t = t;
	s->key = cfg->dock_key;
	s->auth = cfg->auth;
	s->auth_ctx = cfg->auth_ctx;
	s->cert = *cfg->cert;
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : SESSION_DEFAULT_TIMEOUT_MS;
	s->seq = 1;
	/* limits beyond SESSION_LIMIT_MAX_MS (years) are as good as none: capped
	 * there, so that ms -> ns cannot overflow */
	if (cfg->deadline_ms > 0)
		s->deadline_ns = session_mono_ns() + (cfg->deadline_ms < SESSION_LIMIT_MAX_MS
					      ? cfg->deadline_ms : SESSION_LIMIT_MAX_MS) * 1000000;
	if (cfg->min_rate_bps > 0 && cfg->rate_window_ms > 0) {
		s->min_rate_bps = cfg->min_rate_bps;
		s->rate_window_ns = (cfg->rate_window_ms < SESSION_LIMIT_MAX_MS
				     ? cfg->rate_window_ms : SESSION_LIMIT_MAX_MS) * 1000000;
	}
	r = handshake(s, cfg);
	if (r < 0) {
		session_close(s);
		return r;
	}
	*out = s;
	return 0;
}

const struct proto_identity *session_identity(const struct session *s)
{
	return &s->id;
}

int64_t session_clock_offset_ns(const struct session *s)
{
	return s->clock_offset_ns;
}

int session_abort(struct session *s, int err)
{
	if (!s || err > -PROTO_E_BASE || err < -PROTO_E_MAX)
		return -EINVAL;
	return session_broke(s, err);
}

int session_error(const struct session *s)
{
	return s ? s->failed : -EINVAL;
}

int session_limit(const struct session *s)
{
	return s ? s->limit : 0;
}

/* Check one LIST_REPLY page against what earlier pages said. */
static int check_page(const struct proto_list_reply *lr, uint32_t start, uint32_t total)
{
	if (lr->total != total || lr->total > SESSION_MAX_ENTRIES)
		return -PROTO_E_BAD_FIELD;
	if (lr->count > PROTO_LIST_MAX || lr->count > total - start)
		return -PROTO_E_BAD_FIELD;
	if (lr->count == 0 && start < total)
		return -PROTO_E_BAD_FIELD; /* no progress: would loop forever */
	return 0;
}

static int report_page(struct session *s, const struct proto_list_reply *lr,
		       session_entry_fn fn, void *ctx, int *any_bad)
{
	uint8_t tbs[PROTO_TBS_MAX];

	for (uint32_t i = 0; i < lr->count; i++) {
		const struct proto_manifest_entry *e = &lr->entries[i];
		size_t n = 0;
		int verdict = proto_manifest_tbs(s->id.serial, e, tbs, sizeof(tbs), &n);
		int r;

		if (verdict == 0)
			verdict = camera_sig_ok(s->id.pubkey, tbs, n, e->sig);
		if (verdict < 0) {
			verdict = -PROTO_E_AUTH;
			*any_bad = 1;
		}
		r = fn(ctx, e, verdict);
		if (r < 0)
			return r;
	}
	return 0;
}

int session_list(struct session *s, session_entry_fn fn, void *ctx)
{
	struct proto_msg *m;
	struct proto_hdr h;
	uint32_t start = 0, total = 0, seq;
	int any_bad = 0, r = session_usable(s);

	if (r < 0)
		return r;
	if (!fn)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	do {
		struct proto_msg req = { .type = PROTO_LIST_REQ, .u.list_req.start = start };

		r = session_send_msg(s, &req, &seq);
		if (r == 0)
			r = session_recv_reply(s, seq, PROTO_LIST_REPLY, &h, m);
		if (r < 0)
			goto out;
		if (start == 0)
			total = m->u.list_reply.total;
		r = check_page(&m->u.list_reply, start, total);
		if (r < 0) {
			session_broke(s, r);
			goto out;
		}
		r = report_page(s, &m->u.list_reply, fn, ctx, &any_bad);
		if (r < 0)
			goto out;
		start += m->u.list_reply.count;
	} while (start < total);
	r = any_bad ? -PROTO_E_AUTH : 0;
out:
	free(m);
	return r;
}

void session_close(struct session *s)
{
	if (!s)
		return;
	if (!s->failed) {
		struct proto_msg m = { .type = PROTO_BYE };

		frame_write(s->t, &m, s->seq++, 0, s->tx, sizeof(s->tx),
			    s->timeout_ms < 1000 ? s->timeout_ms : 1000);
	}
	if (s->own_rx)
		free(s->rx);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
