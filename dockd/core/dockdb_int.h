/* dockdb_int.h - shared by the pieces of dock_recordings: dockdb.c (the
 * table, its row codec and SQL helpers, the reads), dockdb_state.c (the
 * transitions) and dockdb_upload.c (upload bookkeeping). Not an API:
 * dockdb.h. Same conventions: 0 or -errno. */
#ifndef DOCKD_DOCKDB_INT_H
#define DOCKD_DOCKDB_INT_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "dockdb.h"
#include "edsig.h"

/* The columns row_read() decodes, in its order (rowid last). */
#define COLS "serial, recording_id, evidence_id, officer, size, sha256, category, start_utc, " \
	     "end_utc, gps, manifest_sig, state, durable_chunks, attempts, ct_size, ct_sha256, " \
	     "location, listed_ns, rowid"

/* The row of one recording in an UPDATE whose ?2, ?3 are serial, rid. */
#define WHERE_KEY " WHERE serial = ?2 AND recording_id = ?3"

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void hex32(const uint8_t *in, char out[65])
{
	edsig_hex(in, 32, out, 65);
}

/* Take ownership of obj and set it as ev's details. */
static inline int details(struct cust_event *ev, json_t *obj)
{
	int r = obj ? cust_event_set_details(ev, obj) : -ENOMEM;

	json_decref(obj);
	return r;
}

/* Log what failed and map SQLite's rc to -EBUSY, -ENOSPC or -EIO. */
int dockdb_sql_err(struct ledgerw *w, int rc, const char *what);
/* Run one UPDATE/INSERT; binds: text/int by a tiny format string:
 * 's' binds a const char *, any other letter an int64_t. 0, -ESTALE
 * when no row changed, or -errno. Caller holds the ledger lock. */
int dockdb_exec(struct ledgerw *w, const char *sql, const char *fmt, ...);
/* Lock the ledger and begin a transaction (unlocked again on failure). */
int dockdb_tx_begin(struct ledgerw *w);
/* Append evs, commit (or roll back on any earlier failure r), unlock. */
int dockdb_tx_end(struct ledgerw *w, int r, struct cust_event *evs, size_t n);
/* The first row of sql (SELECT COLS ...) with ?1, ?2 bound to text a, b
 * and ?3, ?4 to i1, i2, into *out (and its rowid into *rowid, may be
 * NULL). -ENOENT when there is none. Caller holds the ledger lock. */
int dockdb_query_one(struct ledgerw *w, const char *sql, const char *a, const char *b,
		     int64_t i1, int64_t i2, struct dock_rec *out, int64_t *rowid);

#endif
