#ifndef CUSTODY_QOPS_H
#define CUSTODY_QOPS_H
/*
 * qops: internal to the query service (qrequest.c): parsing a request
 * into a struct qop, finding the agency its target belongs to, and
 * running the operations once access_decide() allowed them. Nothing here
 * writes to the socket; user changes write their own ledger events
 * (users.h). Not a public API.
 */

#include <stdint.h>

#include <jansson.h>

#include "access.h"
#include "event.h"
#include "qrequest.h"
#include "users.h"

#define QOP_STR_MAX 128		/* longest string parameter (bytes) */
#define QOP_NOTES_MAX 2048	/* longest "notes" (annotate) */
#define QOP_PATH_MAX 1024	/* longest "out", "file", "error" (export) */

struct qop {
	const struct qrequest_ctx *ctx;
	const struct qpeer *peer;
	/* identity */
	char user[USERS_NAME_MAX + 1];
	int known;
	struct cust_user u;
	struct access_subject subject;
	/* request */
	json_t *req;			/* parsed request (owned) */
	json_t *params;			/* request minus op/reason (owned) */
	enum access_op op;
	const char *op_name;		/* static name, or "unknown" */
	const char *reason;		/* into req, may be NULL */
	const char *item;		/* into req (history), may be NULL */
	/* web console (docs/console.md): the peer is the console account
	 * acting for the user it authenticated (on_behalf; q->user is then
	 * that user and console holds the peer's account name) */
	const char *on_behalf;		/* into req, may be NULL */
	const char *client;		/* into req: browser address, or NULL */
	int via_console;
	int packaged;		/* on_behalf from the service's own exporter (qpackage.h) */
	char console[USERS_NAME_MAX + 1];
	int console_event;		/* op "console-event" (qconsole.c) */
	/* target */
	char target[CUST_AGENCY_MAX + 1];
	int have_target;
	/* alert to raise once the ledger lock is released (kind NULL:
	 * none); detail is a static string or points into the caller's
	 * message buffer */
	const char *alert_kind;
	const char *alert_detail;
};

/* Parse and validate request bytes into q (req, params, op, reason,
 * item). An unknown op is NOT an error here (it is denied by policy);
 * malformed JSON, unknown keys, bad types or sizes are: -EINVAL with a
 * message for the caller in msg. */
int qop_parse(struct qop *q, const char *buf, size_t len, char *msg,
	      size_t cap);

/* Fill q->target/have_target: the agency of the item, of the user being
 * changed, the service's home agency (status), or the agency asked for
 * (default: the caller's). */
void qop_target(struct qop *q);

/* Run an allowed read operation; *out = result object. -ENOTSUP for an
 * operation the service does not offer; -EINVAL bad parameter; other
 * negatives from the ledger. msg gets a one-line explanation. */
int qop_run(struct qop *q, json_t **out, char *msg, size_t cap);

/* Run an allowed user-admin request and build the whole reply (the change
 * is its own audit event; a failed change is recorded as failed). NULL
 * only when out of memory. */
json_t *qop_user_admin(struct qop *q);

/* Metadata edits (qedit.c): 1 for categorize, hold, case, annotate. */
int qop_is_edit(enum access_op op);
/* Run an allowed metadata edit and build the whole reply: the edit is its
 * own event (categorized, hold_set, ...), followed in the same commit by
 * retention_set / retention_extended when the retention date changes; a
 * refused edit (bad value, nothing to change) is recorded as failed. NULL
 * only when out of memory. */
json_t *qop_edit(struct qop *q);

/* Destruction (qdestroy.c). 1 when the request changes something
 * (destroy request / approve): run with qop_destroy(), which builds the
 * whole reply (destruction_requested / destruction_approved, refusals
 * recorded as failed and alerted). Reads (due, destroy plan) go through
 * qop_run() -> qop_destroy_read() and are recorded as ledger_read. */
int qop_is_destroy(const struct qop *q);
json_t *qop_destroy(struct qop *q);
int qop_destroy_read(struct qop *q, json_t **out, char *msg, size_t cap);

/* The console's own events (qconsole.c): {"op":"console-event",
 * "event":E, "outcome":O, ...} from the console account only; builds the
 * whole reply. NULL only when out of memory. */
json_t *qop_console_event(struct qop *q);
/* Exports from a workstation and offline receipts (qexport.c): 1 for
 * export, receipt-issue, receipt-file. qop_export() runs an allowed one
 * and builds the whole reply (its own event: exported / shared /
 * offline_receipts_issued / export_receipt_filed; refusals recorded as
 * failed, a refused receipt also alerted). NULL only when out of memory. */
int qop_is_export(enum access_op op);
json_t *qop_export(struct qop *q);

/* From qrequest.c: record an event about q (seq or negative errno) and
 * build an error reply. */
int64_t qrequest_record_(struct qop *q, enum cust_action action,
			 enum cust_outcome outcome, const char *key,
			 const char *val);
json_t *qrequest_error_(const char *code, const char *msg, int64_t seq);
/* ... the same about q->item (when it exists); and the details object
 * every event of a request carries (uid, pid, via, role, op, params). */
int64_t qrequest_record_item_(struct qop *q, enum cust_action action,
			      enum cust_outcome outcome, const char *key,
			      const char *val);
json_t *qrequest_details_(const struct qop *q);
int64_t qrequest_record_ev_(struct qop *q, enum cust_action action,
			    enum cust_outcome outcome, const char *evidence_id,
			    const char *key, const char *val);

#endif
