/* session.h - the DOCK side of one protocol session with a camera.
 *
 * Transport-agnostic (USB or socket: transport.h), holds no ledger and no
 * key but the dock's own signing key. The caller plugs in policy through
 * callbacks: which cameras are enrolled, what to do with each manifest
 * entry, where streamed bytes go.
 *
 *	struct session_cfg cfg = { .dock_key = key, .cert = &cert,
 *				   .enrol = my_enrol_check, .enrol_ctx = db };
 *	struct session *s;
 *	int r = session_open(t, &cfg, &s);      // HELLO .. AUTH_OK
 *	r = session_list(s, on_entry, ctx);     // verified manifest entries
 *	r = session_read(s, id, off, len, sink, ctx);
 *	r = session_release(s, &receipt);       // after the copy is safe
 *	session_close(s);                       // BYE; then transport_close(t)
 *
 * Results: 0 or negative (-errno from the transport, -PROTO_E_* from the
 * protocol; an ERROR frame from the camera is returned as its -code). Any
 * failure in the middle of an exchange leaves the stream out of step: the
 * session then refuses further requests (returning the first error) and
 * session_close() skips BYE. Every wait is bounded by cfg.timeout_ms per
 * frame; at most SESSION_MAX_UNKNOWN consecutive frames of unknown type are
 * skipped, then the session fails with -PROTO_E_UNEXPECTED. A known message
 * at the wrong time fails at once with -PROTO_E_UNEXPECTED. Whenever the
 * camera breaks the protocol (codec error, wrong seq, unexpected message,
 * DATA out of order or past the end, an inconsistent LIST_REPLY) the dock
 * sends ERROR with that code and seq 0 before failing (docs/protocol.md 5).
 *
 * Code: session.c (open, handshake, LIST, abort, close; the frame exchange),
 * session_ops.c (READ, receipts and release, time sync, status),
 * session_int.h (what both share).
 */
#ifndef DOCK_SESSION_H
#define DOCK_SESSION_H

#include <stdint.h>

#include "edsig.h"
#include "transport.h"
#include "wire.h"

#define SESSION_DEFAULT_TIMEOUT_MS 10000
#define SESSION_MAX_UNKNOWN 16          /* consecutive unknown-type frames */
/* The largest manifest total the dock accepts (docs/protocol.md 6.5, 10):
 * bounds what one listing may make the dock remember. */
#define SESSION_MAX_ENTRIES 65536u

/* Enrolment decision for a camera whose identity signature has already been
 * verified (it proved it holds id->pubkey). Return 0 to accept, or
 * -PROTO_E_UNENROLLED (or another -PROTO_E_*) to refuse: the camera then
 * gets an ERROR frame with that code and session_open() fails with it. */
typedef int (*session_enrol_fn)(void *ctx, const struct proto_identity *id);

/* For a dock whose key lives in another process (dockd's camera-link
 * worker, docs/architecture.md): called INSTEAD of enrol, with the dock
 * nonce sent in HELLO and the camera's HELLO_REPLY (its identity signature
 * already verified here). Return 0 with sig = the AUTH_DOCK signature, or
 * a refusal like enrol (-PROTO_E_*, cfg->why may name the cause). */
typedef int (*session_auth_fn)(void *ctx, const uint8_t dock_nonce[PROTO_NONCE_LEN],
			       const struct proto_hello_reply *hr, uint8_t sig[PROTO_SIG_LEN]);

struct session_cfg {
	const struct edsig_key *dock_key;    /* private; borrowed until session_close */
	const struct proto_dock_cert *cert;  /* agency-signed, for dock_key; copied */
	session_enrol_fn enrol;              /* required: no callback, no session */
	void *enrol_ctx;
	int timeout_ms;                      /* per frame; 0: SESSION_DEFAULT_TIMEOUT_MS */
	/* Link limits (docs/protocol.md 10), 0: off. deadline_ms bounds the
	 * whole session from session_open. min_rate_bps over rate_window_ms:
	 * the bytes of DATA frames after the first of each READ_REQ, against
	 * the time the dock spent waiting for them (never its own work). Either
	 * limit ends the session: the camera gets ERROR BUSY, the call returns
	 * -ETIMEDOUT and session_limit() says which. */
	int64_t deadline_ms;
	uint64_t min_rate_bps;
	int64_t rate_window_ms;
	/* Optional: a buffer (at least SESSION_WHY_MAX + 1 bytes, NUL-terminated)
	 * the enrol callback may fill with the refusal's cause; it is sent as
	 * the ERROR text instead of session_refusal_text(code). */
	char *why;
	/* Optional (see session_auth_fn): when auth is set, dock_key and enrol
	 * may be NULL and session_release() is unavailable (send receipts
	 * signed elsewhere with session_release_signed). dock_nonce, when not
	 * NULL, is the HELLO nonce to use (the signer chose it). */
	session_auth_fn auth;
	void *auth_ctx;
	const uint8_t *dock_nonce;
	/* Optional: the buffer every camera frame is read into (rx_cap >=
	 * PROTO_MAX_FRAME, else session_open returns -EINVAL), borrowed until
	 * session_close; NULL: the session allocates its own. The data a sink
	 * gets points into it (the frame's DATA payload), valid until the sink
	 * returns. dockd's camera-link worker passes a shared-memory ring here,
	 * so DATA bytes reach the daemon without another copy. */
	uint8_t *rx_buf;
	size_t rx_cap;
};

#define SESSION_WHY_MAX 128 /* the ERROR frame's text limit */

/* The ERROR text the dock sends for a refusal code with no more specific
 * cause (docs/protocol.md, 6.13): one per code, never NULL. */
const char *session_refusal_text(int err);

struct session;

/* Authenticate both ends over t (borrowed: close it after session_close):
 * HELLO with a fresh random nonce; HELLO_REPLY must carry version 1 and an
 * identity signed by the key it names (else -PROTO_E_BAD_VERSION /
 * -PROTO_E_AUTH); cfg->enrol decides; AUTH_DOCK; AUTH_OK. On rejection the
 * camera is sent an ERROR frame with the specific code and a text naming
 * the cause: cfg->why when the enrol callback filled it, else
 * session_refusal_text(code) (docs/protocol.md, 7.1.1). */
int session_open(struct transport *t, const struct session_cfg *cfg, struct session **out);

/* The camera's verified, enrolled identity (valid until session_close). */
const struct proto_identity *session_identity(const struct session *s);

#define SESSION_LIMIT_MAX_MS (INT64_C(1) << 40) /* larger limits are capped (~35 years) */
#define SESSION_LIMIT_RATE 1     /* below min_rate_bps over a rate window */
#define SESSION_LIMIT_DEADLINE 2 /* deadline_ms reached */

/* The SESSION_LIMIT_* that ended s, or 0. */
int session_limit(const struct session *s);

/* The caller found the camera's answers unacceptable (e.g. a manifest that
 * lists an id twice): send ERROR err (a -PROTO_E_* code), seq 0, and fail
 * the session with it. -EINVAL for another err. */
int session_abort(struct session *s, int err);

/* The first error that left s out of step (then every request returns
 * it), or 0 while it is usable. A camera's ERROR reply is not one. */
int session_error(const struct session *s);

/* Camera clock minus dock clock (CLOCK_REALTIME), in ns, measured at
 * HELLO_REPLY (positive: the camera runs ahead). The camera's clock_ns is
 * untrusted: a difference outside the i64 range (e.g. clock_ns =
 * INT64_MIN) saturates to INT64_MIN or INT64_MAX, keeping its sign; the
 * caller records such a clock as absurd and trusts it for nothing. */
int64_t session_clock_offset_ns(const struct session *s);


/* Called once per manifest entry. verdict is 0 when the entry's signature
 * verified with the enrolled camera key, -PROTO_E_AUTH when it did not
 * (record which entry lied; never trust its fields). Return 0 to go on,
 * negative to stop listing (session_list returns that value). */
typedef int (*session_entry_fn)(void *ctx, const struct proto_manifest_entry *e, int verdict);

/* Fetch the whole manifest page by page (LIST_REQ), calling fn for each
 * entry. A total above SESSION_MAX_ENTRIES, or a page that disagrees with
 * the first, is -PROTO_E_BAD_FIELD. Returns 0 when every entry verified, -PROTO_E_AUTH when at least
 * one did not (after reporting them all), or another error. */
int session_list(struct session *s, session_entry_fn fn, void *ctx);

/* Receives recording bytes in order: data[0..len) is at `offset` of the
 * recording. Return 0, or negative to abort the read with that value. */
typedef int (*session_sink_fn)(void *ctx, const uint8_t *data, size_t len, uint64_t offset);

/* Read [offset, offset+length) of a recording, PROTO_MAX_READ bytes per
 * READ_REQ, passing every byte to sink exactly once, in order. DATA must
 * echo the request seq (-PROTO_E_SEQ), arrive at exactly the next offset
 * (-PROTO_E_SEQ) and stop exactly at the end, flagged END
 * (-PROTO_E_MISMATCH for too much or too little). length 0 is a no-op. On
 * failure the sink has seen a prefix of the range: resume from there. */
int session_read(struct session *s, const char *recording_id, uint64_t offset, uint64_t length,
		 session_sink_fn sink, void *ctx);

/* Sign *r for this dock: sets r->dock_id from the certificate, issued_utc
 * to now when it is 0, and r->sig; then send it. The caller fills
 * recording_id, sha256 and location, and should record the signed receipt
 * (it is the evidence the camera deleted on our word). 0 when the camera
 * answered RELEASE_REPLY deleted=1 for that id; -EEXIST when it answered
 * deleted=0 (the receipt was valid, the camera keeps the recording: its
 * retention policy); the camera's ERROR code (e.g. -PROTO_E_BAD_RECEIPT)
 * when it refused. */
int session_release(struct session *s, struct proto_receipt *r);

/* Send an already signed receipt as is (e.g. resending a stored receipt
 * after a crash). Same results as session_release(). */
int session_release_signed(struct session *s, const struct proto_receipt *r);

/* Sign a receipt with key (any dock key) in place: r->sig over
 * proto_receipt_tbs(r). */
int session_receipt_sign(const struct edsig_key *key, struct proto_receipt *r);

/* TIME_SET with the dock's clock; the camera reports its clock just before
 * and after it stepped. */
int session_time_sync(struct session *s, int64_t *camera_before_ns, int64_t *camera_after_ns);

/* STATUS_REQ -> STATUS_REPLY. */
int session_status(struct session *s, struct proto_status_reply *out);

/* Say BYE (unless the session failed) and free s. NULL is fine. Does not
 * close the transport. */
void session_close(struct session *s);

#endif
