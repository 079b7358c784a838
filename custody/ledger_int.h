/*
 * ledger_int.h - internals shared by the ledger's own modules (verify,
 * publish, query); not part of the public API.
 */
#ifndef CUSTODY_LEDGER_INT_H
#define CUSTODY_LEDGER_INT_H

#include "ledger.h"

#define CUST_LEDGER_FORMAT "evidence-dock custody ledger"
#define CUST_LEDGER_SCHEMA "1"

/* Columns read by cust_ledger_row_event(), in order. */
#define CUST_EVENT_COLS "seq, time_ns, clock, agency_id, actor_kind, " \
	"actor_id, action, evidence_id, outcome, reason, case_no, details"

/* Decode the event columns (CUST_EVENT_COLS from column col0) of the
 * current row. -EBADMSG if a column has the wrong type or exceeds its
 * cap; then *bad names the column. */
int cust_ledger_row_event(sqlite3_stmt *s, int col0, struct cust_event *ev,
			  const char **bad);
/* Record a SQLite error and map it to a negative errno. */
int cust_ledger_sqlerr(struct cust_ledger *l, int rc);
/* Set the error message (printf-style). */
void cust_ledger_seterr(struct cust_ledger *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
