/* enrol_util.h - what the two enrolment lists share (internal to
 * dockd/ingest/: enrol.c for protocol cameras, enrol_msc.c for USB
 * mass-storage cameras). Both keep a cache table in the ledger's
 * database, written in the same transaction as its device_enrolled /
 * device_revoked event, and trusted only when that event backs it.
 */
#ifndef DOCKD_ENROL_UTIL_H
#define DOCKD_ENROL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "event.h"
#include "ledger.h"

/* printf into why (NULL or 0 bytes: nothing). */
void enrol_say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy text column i into dst (cap bytes with the NUL): -EBADMSG when it
 * does not fit (a row that does not fit is corrupt). */
int enrol_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);

/* Prepare sql on the ledger's database: -ENOENT when its table does not
 * exist yet (nobody enrolled anything), -EIO otherwise. */
int enrol_prepare(struct cust_ledger *l, const char *sql, sqlite3_stmt **s);

/* At most max bytes, no control character. */
bool enrol_text_ok(const char *s, size_t max);

/* A clerk's enrolment event: action_name, reason (may be NULL), details
 * (taken: always released; NULL = -EINVAL, the caller's json_pack failed
 * on bad UTF-8 or memory). -ENOSYS for an unknown action name. */
int enrol_make_event(struct cust_event *ev, const char *agency, const char *actor,
		     const char *action_name, const char *reason, json_t *details);

/* Commit when r is 0, else (or when the commit fails) roll back; r. */
int enrol_end_tx(struct cust_ledger *l, int r);

/* The arguments every revocation needs: valid agency and serial ids, a
 * reason (printable, CUST_REASON_MAX), an actor. 0, or -EINVAL with why. */
int enrol_revoke_args(const char *agency_id, const char *serial, const char *reason,
		      const char *actor_id, char *why, size_t whylen);

#endif
