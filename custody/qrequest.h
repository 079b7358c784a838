#ifndef CUSTODY_QREQUEST_H
#define CUSTODY_QREQUEST_H
/*
 * qrequest: one query-service request, from the caller's kernel-given
 * identity and its request bytes to the reply - the policy half of the
 * query service (qservice.c is the socket half).
 *
 *   1. identity: peer uid (SO_PEERCRED) -> OS user name (getpwuid_r) ->
 *      role + agency (users.h). No mapping = unknown user, role NONE.
 *   2. parse the request: one JSON object (see docs/custody-access.md):
 *        {"op":"history","item":ID,"reason":R}
 *        {"op":"search","reason":R, "officer"|"camera"|"category"|"case"|
 *         "status"|"from"|"to": S, "limit": N}
 *        {"op":"access-events","reason":R, "action": S, "from"|"to": S,
 *         "limit": N}
 *        {"op":"user-list"}
 *        {"op":"user-admin","action":"add"|"remove"|"set-role",
 *         "user":U, "role":R, "agency":A, "reason":R}
 *        {"op":"status"}   (the host's status_fn, any role of the home
 *         agency); "view": SEQ from the web console: a tick of a live
 *         view, covered by that recorded console_page_view (no event)
 *        {"op":"witness-status"} (auditors; status's "witnesses")
 *        {"op":"alerts","from"|"to": S, "limit": N} (auditors)
 *      Unknown keys, wrong types, over-long strings: bad request.
 *   3. decide (access.h) against the target's agency.
 *   4. run the query (query.h / users.h) WITHOUT sending anything.
 *   5. append the audit event (ledger_read / access_denied / user_* /
 *      logon for requests that never got that far). If the event cannot
 *      be written the reply is an error and no result is returned.
 *   6. alert (alert.h, asynchronous) on a refusal by role, agency,
 *      unknown user or unknown op - after the lock is released.
 *
 * Replies (one JSON object):
 *   {"ok":true, "op":OP, "user":U, "audit_seq":N, "result":{...}}
 *   {"ok":false, "error":CODE, "message":TEXT, "audit_seq":N|absent}
 * CODE: "denied", "bad-request", "too-large", "timeout", "audit-failed",
 * "unsupported", "error". A cross-agency item and a missing item get the
 * same reply (no existence oracle); the ledger event tells them apart.
 */

#include <sys/types.h>

#include <jansson.h>

#include "alert.h"
#include "ledger.h"
#include "retention.h"

#define QREQ_MAX 8192	/* request bytes (one line) */

struct qrequest_ctx {
	struct cust_ledger *ledger;	/* read-write handle */
	struct alert_runner *alerts;	/* NULL: alerts are only logged */
	const char *home_agency;	/* agency for events of callers who
					 * have none (unknown users), and the
					 * agency whose status the service
					 * reports */
	/* Optional lock around every use of ledger (NULL: none). Taken
	 * only around ledger work: never while calling status_fn, raising
	 * an alert or touching a socket. */
	void (*lock)(void *lock_ctx);
	void (*unlock)(void *lock_ctx);
	void *lock_ctx;
	/* Optional source of the "status" reply (NULL: "status
	 * unavailable"). Returns a new reference to a JSON object, or NULL
	 * on failure; called without the lock held. */
	json_t *(*status_fn)(void *status_ctx);
	void *status_ctx;
	/* The [retention] table for metadata edits (qedit.c); never NULL
	 * once the service is open. */
	const struct cust_retention *retention;
	/* OS account of the web console (docs/console.md): the only peer
	 * whose requests may carry "on_behalf" (the console user it has
	 * authenticated with PAM + TOTP) and "client", and who may send
	 * {"op":"console-event"} (qconsole.c). NULL: no console. */
	const char *console_account;
	/* The checkpoint signer the host signs with, or NULL: the proof op
	 * then returns proofs without events_claim (completeness not
	 * attested; custody/proof.h). Used with the lock held. */
	const struct cust_signer *proof_signer;
};

struct qpeer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Handle one request of len bytes (no NUL needed). Always produces a
 * reply unless memory runs out (-ENOMEM). */
int qrequest_handle(const struct qrequest_ctx *ctx, const struct qpeer *peer,
		    const char *req, size_t len, json_t **reply);

/* A connection that never delivered a request (why = "too-large",
 * "timeout", "bad-request"): record a logon event with outcome error and
 * build the error reply (NULL reply pointer = none wanted). */
int qrequest_reject(const struct qrequest_ctx *ctx, const struct qpeer *peer,
		    const char *why, const char *message, json_t **reply);

#endif
