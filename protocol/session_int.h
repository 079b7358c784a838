#ifndef PROTOCOL_SESSION_INT_H
#define PROTOCOL_SESSION_INT_H
/*
 * session_int.h - the session state and frame exchange helpers shared by
 * session.c (open, handshake, LIST, close) and session_ops.c (READ,
 * release, time sync, status); not an API for anything else (session.h
 * is).
 */
#include <stdbool.h>
#include <stdint.h>

#include "session.h"

#define TX_CAP 2048 /* the dock's largest frame (a receipt) is ~500 bytes */

struct session {
	struct transport *t;
	const struct edsig_key *key;
	struct proto_dock_cert cert;
	struct proto_identity id;
	int64_t clock_offset_ns;
	int timeout_ms;
	uint32_t seq;
	int failed; /* first error that left the stream out of step */
	session_auth_fn auth; /* the dock key is elsewhere (session.h) */
	void *auth_ctx;
	uint8_t auth_sig[PROTO_SIG_LEN];
	int limit;  /* SESSION_LIMIT_* that ended the session, or 0 */
	/* Link limits (issue 11, defect 6): the whole-session deadline
	 * (CLOCK_MONOTONIC ns, 0: none) and the minimum DATA rate, measured
	 * over the time the dock waits for DATA frames after the first of each
	 * READ_REQ (the dock's own disk time and a READ's first-reply latency
	 * are not the camera's fault). */
	int64_t deadline_ns;
	uint64_t min_rate_bps;
	int64_t rate_window_ns;
	int64_t win_wait_ns;
	uint64_t win_bytes;
	uint8_t *rx; /* PROTO_MAX_FRAME bytes */
	bool own_rx; /* rx is ours to free (not cfg->rx_buf) */
	uint8_t tx[TX_CAP];
};

/* Wall clock and monotonic clock, ns. */
int64_t session_realtime_ns(void);
int64_t session_mono_ns(void);

/* Record err as the session's first failure (it stays unusable); returns
 * err. */
int session_fail(struct session *s, int err);

/* err is a protocol error code (-PROTO_E_*), not a local -errno. */
bool session_proto_code(int err);

/* The camera broke the protocol: ERROR to the camera (best effort) for a
 * protocol code, then session_fail(). */
int session_broke(struct session *s, int err);

/* A link limit (SESSION_LIMIT_*) ended the session: ERROR BUSY with why,
 * then session_fail(-ETIMEDOUT). */
int session_over_limit(struct session *s, int which, const char *why);

/* Send m with the next seq (*seq_out); 0 or the failure. */
int session_send_msg(struct session *s, const struct proto_msg *m, uint32_t *seq_out);

/* Next frame answering request seq, of type want, into h and m (skips a
 * bounded number of unknown frames, keeps the session deadline); an ERROR
 * reply gives its code. */
int session_recv_reply(struct session *s, uint32_t seq, uint8_t want, struct proto_hdr *h,
		       struct proto_msg *m);

/* 0 if s may take a request, else -EINVAL or its first failure. */
int session_usable(const struct session *s);

#endif
