/* qmsg.h - the channel between the query-service process and the
 * custodian (dockd), docs/architecture.md "The query-service process".
 *
 * One stream socketpair; strictly request/reply, the query process asks,
 * dockd answers, one message at a time. Every message is a fixed header
 *     u8 'Q'  u8 version (QMSG_VERSION)  u16 type  u32 body length
 * (big-endian) and a body of exactly that length, at most the type's cap:
 *
 *   query -> dockd
 *     QM_APPEND   u16 n (1..QMSG_MAX_EVENTS), then n times
 *                 u32 len + the event's canonical encoding (event.h;
 *                 seq 0). dockd appends them as one batch if every action
 *                 is one the query service writes (qmsg_action_allowed).
 *     QM_STATUS   empty: the dock's status object.
 *     QM_PUBLISH  empty: sign and publish a checkpoint now.
 *     QM_ALERT    an alert the query service raised (alert.h; since
 *                 version 2): i64 uid (-1: unknown), then kind, user,
 *                 agency, op, target, detail, each u16 length + bytes
 *                 (0: absent, at most QMSG_ALERT_FIELD_MAX, no NUL). dockd
 *                 runs the alert command, the query process none; a kind
 *                 not qmsg_alert_kind_allowed gets QM_FAILED EPERM.
 *   dockd -> query
 *     QM_APPENDED u16 n + n times u64 seq (the same n as asked).
 *     QM_FAILED   u32 errno (positive): nothing of the batch was written.
 *     QM_STATUS_REPLY  a JSON object (UTF-8 text, not NUL-terminated);
 *                 empty body: status unavailable.
 *     QM_PUBLISHED  empty: the checkpoint was attempted (its failure is
 *                 dockd's to log; the events are durable either way).
 *     QM_ALERTED  empty: the alert was taken (logged; its command started
 *                 or skipped, never waited for).
 *
 * Parsers take untrusted bytes (each side trusts the other no more than
 * it must): every length is checked, no trailing bytes, events are
 * decoded strictly (cust_event_decode). Fuzzed: tests/fuzz/fuzz_qmsg.c.
 * Returns 0 or -errno: -EPROTO malformed, -E2BIG over a cap.
 */
#ifndef DOCKD_QMSG_H
#define DOCKD_QMSG_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* 2: QM_ALERT / QM_ALERTED added. Both ends are the same executable
 * (dockd execs /proc/self/exe), so a mismatch means a corrupted peer. */
#define QMSG_VERSION 2
#define QMSG_HDR 8
#define QMSG_MAX_EVENTS 16		/* events per QM_APPEND */
#define QMSG_STATUS_MAX (1u << 20)	/* status reply bytes */
#define QMSG_APPEND_MAX (2 + QMSG_MAX_EVENTS * (4 + CUST_CANON_MAX))
#define QMSG_ALERT_FIELD_MAX 1024	/* bytes of one alert string */
#define QMSG_ALERT_MAX (8 + 6 * (2 + QMSG_ALERT_FIELD_MAX))
#define QMSG_BODY_MAX QMSG_STATUS_MAX	/* the largest body of any type */

enum qmsg_type {
	QM_APPEND = 1,
	QM_STATUS = 2,
	QM_PUBLISH = 3,
	QM_ALERT = 4,
	QM_APPENDED = 0x81,
	QM_FAILED = 0x82,
	QM_STATUS_REPLY = 0x83,
	QM_PUBLISHED = 0x84,
	QM_ALERTED = 0x85,
};

/* Check a header: magic, version, known type, length within its cap. */
int qmsg_header(const uint8_t hdr[QMSG_HDR], uint16_t *type, uint32_t *len);
void qmsg_put_header(uint8_t hdr[QMSG_HDR], uint16_t type, uint32_t len);

/* QM_APPEND body <-> events. encode validates each event (-EINVAL). */
int qmsg_encode_append(const struct cust_event *evs, size_t n, uint8_t *buf,
		       size_t cap, size_t *len);
int qmsg_decode_append(const uint8_t *p, size_t len, struct cust_event *evs,
		       size_t cap, size_t *n);

/* QM_APPENDED body: buf holds 2 + 8 * QMSG_MAX_EVENTS. decode demands
 * exactly n seqs, each > 0. */
int qmsg_encode_appended(const uint64_t *seqs, size_t n, uint8_t *buf, size_t cap,
			 size_t *len);
int qmsg_decode_appended(const uint8_t *p, size_t len, uint64_t *seqs, size_t n);

/* QM_ALERT body <-> struct alert (alert.h). encode cuts a string longer
 * than QMSG_ALERT_FIELD_MAX (an alert is a nudge, the ledger event is the
 * record) and refuses none; buf holds QMSG_ALERT_MAX. decode: the strings
 * point into strs (cap >= 6 * (QMSG_ALERT_FIELD_MAX + 1)), NUL-terminated;
 * -EPROTO on a bad length, an embedded NUL, a uid below -1 or trailing
 * bytes. */
struct alert;
int qmsg_encode_alert(const struct alert *a, uint8_t *buf, size_t cap, size_t *len);
int qmsg_decode_alert(const uint8_t *p, size_t len, struct alert *a, char *strs,
		      size_t cap);

/* 1 if kind is one the query service raises (access-denied,
 * unknown-user, console-lockout, destruction-refused, receipt-refused):
 * dockd raises no other for it, so a compromised query process cannot
 * pass for the custodian or a camera in the alert stream. */
int qmsg_alert_kind_allowed(const char *kind);

/* 1 if the query service may have dockd append an event with action a
 * and outcome o (its audit events and the clerks' edits it serves; the
 * list and why: docs/architecture.md). */
int qmsg_action_allowed(int a, int o);

/* Blocking framed I/O on a stream socket (EINTR retried). recv: body in
 * buf (cap >= QMSG_BODY_MAX); -ECONNRESET when the peer closed,
 * -ETIMEDOUT on SO_RCVTIMEO. */
int qmsg_send(int fd, uint16_t type, const void *body, uint32_t len);
int qmsg_recv(int fd, uint8_t *buf, size_t cap, uint16_t *type, uint32_t *len);

#endif
