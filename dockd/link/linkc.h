/* linkc.h - the daemon's side of a camera-link worker (linkw.h): the same
 * calls as protocol/session.h, answered by a sandboxed worker process that
 * parses the camera's bytes (docs/architecture.md, "The camera-link
 * worker").
 *
 *	struct link *l;
 *	int r = link_open(d, snap, t, &cfg, &l);   // spawn, HELLO .. AUTH_OK
 *	r = link_list(l, on_entry, ctx);           // entries re-verified here
 *	r = link_read_into(l, id, off, len, getbuf, sink, ctx); // getbuf may be NULL
 *	r = link_release(l, &receipt);             // custodian gate, then send
 *	                                           // -EEXIST: deleted=0, kept
 *	link_close(l);                             // BYE, reap the worker
 *
 * The daemon treats the worker as hostile: every message is length- and
 * type-checked (linkmsg.h) and must fit the exchange in progress; identity
 * and manifest signatures are verified again here; DATA must arrive at the
 * next offset and stop exactly at the end; the dock key never leaves this
 * process (the worker gets AUTH_DOCK's signature for the nonce the daemon
 * chose, and receipts the custodian gate signed). A worker that breaks
 * this, dies, or stops answering (timeout_ms + LINK_SLACK_MS) is killed,
 * reaped and recorded (custodian_worker_killed); the link then fails with
 * -ECONNABORTED and nothing is released.
 *
 * Results as session.h: 0, -errno, -PROTO_E_* (the camera's or the
 * worker's session's); -ECONNABORTED once the worker was stopped; -EPERM
 * from link_release when the receipt gate refused.
 */
#ifndef DOCKD_LINKC_H
#define DOCKD_LINKC_H

#include "daemon.h"
#include "session.h"
#include "transport.h"

#define LINK_SLACK_MS 5000

struct link;

/* Find the worker program (call once from main, before threads):
 * workers are started by exec'ing <prefix>/LINKW_EXE_REL (linkw.h), where
 * <prefix> is the folder above the one holding the running executable. */
void link_init_exe(void);

/* Spawn a worker for transport t (a socket transport is handed over by
 * fd; any other, i.e. USB, is relayed through a socketpair by a thread
 * here that copies bytes and never interprets them beyond the frame
 * length) and authenticate the camera. cfg: as session_open's; its enrol
 * callback and dock_key are used here, in the daemon; its link limits
 * (deadline_ms, min_rate_bps, rate_window_ms) go to the worker, whose
 * session measures and enforces them. t stays owned by
 * the caller and must outlive the link. */
int link_open(struct dockd *d, const struct dock_snap *snap, struct transport *t,
	      const struct session_cfg *cfg, struct link **out);

const struct proto_identity *link_identity(const struct link *l);
int64_t link_clock_offset_ns(const struct link *l);
int link_list(struct link *l, session_entry_fn fn, void *ctx);
/* Where link_read_into() copies the bytes of the next piece out of the
 * worker's ring (linkring.h): a private buffer of *cap (> 0) bytes,
 * which sink then gets as its data; NULL: the link's own buffer. The one
 * copy out of the ring then lands where the sink needs the bytes anyway
 * (the ingest's hash slot), not in a buffer the sink copies again. */
typedef void *(*link_buf_fn)(void *ctx, size_t *cap);
/* Read length bytes of the recording from offset, each piece copied once
 * out of the worker's ring, to where getbuf says (NULL or a NULL answer:
 * the link's own buffer), and handed to sink (ctx is both's). */
int link_read_into(struct link *l, const char *recording_id, uint64_t offset, uint64_t length,
		   link_buf_fn getbuf, session_sink_fn sink, void *ctx);
/* custodian_sign_receipt(), then RELEASE_REQ; *r is what was sent. */
int link_release(struct link *l, struct proto_receipt *r);
/* As session_abort(): the worker sends the camera ERROR err (a
 * -PROTO_E_* code) and fails its session; -EINVAL for another err. */
int link_abort(struct link *l, int err);
/* As session_error(): the first error that left the worker's session out
 * of step (as of its last reply), -ECONNABORTED once the worker was
 * stopped, or 0. */
int link_error(const struct link *l);
/* As session_limit(): the SESSION_LIMIT_* that ended the worker's
 * session (its last reply says), or 0. */
int link_limit(const struct link *l);
int link_time_sync(struct link *l, int64_t *camera_before_ns, int64_t *camera_after_ns);
int link_status(struct link *l, struct proto_status_reply *out);
void link_close(struct link *l);

#endif
