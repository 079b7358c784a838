/* dockdb.c - the dock_recordings table (see dockdb.h): its schema, the
 * row codec, the SQL and transaction helpers the other dockdb_*.c share
 * (dockdb_int.h), and the read queries (get, next, count, sum). The
 * transitions are in dockdb_state.c, the upload bookkeeping in
 * dockdb_upload.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "dockdb.h"
#include "dockdb_int.h"
#include "edsig.h"
#include "log.h"
#include "vaultpath.h"

static const char *const state_names[DREC_N_STATES] = {
	"listed", "pulling", "quarantined", "stored_local", "storage_verified", "released",
};

const char *dockdb_state_name(enum dock_rec_state s)
{
	return (unsigned)s < DREC_N_STATES ? state_names[s] : "?";
}

static enum dock_rec_state state_parse(const char *s)
{
	for (int i = 0; i < DREC_N_STATES; i++)
		if (s && !strcmp(s, state_names[i]))
			return (enum dock_rec_state)i;
	return DREC_QUARANTINED; /* unknown text: never releasable */
}

int dockdb_schema(struct cust_ledger *l)
{
	static const char sql[] =
		"CREATE TABLE IF NOT EXISTS dock_recordings("
		" serial TEXT NOT NULL, recording_id TEXT NOT NULL,"
		" evidence_id TEXT NOT NULL UNIQUE, officer TEXT NOT NULL DEFAULT '',"
		" size INTEGER NOT NULL, sha256 TEXT NOT NULL, category TEXT NOT NULL,"
		" start_utc INTEGER NOT NULL, end_utc INTEGER NOT NULL, gps TEXT,"
		" manifest_sig TEXT NOT NULL, state TEXT NOT NULL,"
		" durable_chunks INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
		" ct_size INTEGER, ct_sha256 TEXT, location TEXT, receipt TEXT,"
		" updated_ns INTEGER NOT NULL, listed_ns INTEGER NOT NULL DEFAULT 0,"
		" PRIMARY KEY(serial, recording_id));"
		"CREATE INDEX IF NOT EXISTS dock_recordings_state ON dock_recordings(state);";
	int rc = sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : -EIO;
}

void dockdb_evidence_id(const char *serial, const char *rid, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", serial, rid);
}

bool dockdb_nameable(const char *serial, const char *rid)
{
	return cust_vault_name_ok(serial) && cust_vault_name_ok(rid) &&
	       strlen(serial) + 1 + strlen(rid) <= CUST_EVIDENCE_MAX;
}

static void text_col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? t : "");
}

static void row_read(sqlite3_stmt *s, struct dock_rec *r, int64_t *rowid)
{
	char hex[129];
	const char *gps;

	memset(r, 0, sizeof(*r));
	text_col(s, 0, r->serial, sizeof(r->serial));
	text_col(s, 1, r->recording_id, sizeof(r->recording_id));
	text_col(s, 2, r->evidence_id, sizeof(r->evidence_id));
	text_col(s, 3, r->officer, sizeof(r->officer));
	r->size = (uint64_t)sqlite3_column_int64(s, 4);
	text_col(s, 5, hex, sizeof(hex));
	(void)edsig_unhex(hex, r->sha256, 32);
	text_col(s, 6, r->category, sizeof(r->category));
	r->start_utc = sqlite3_column_int64(s, 7);
	r->end_utc = sqlite3_column_int64(s, 8);
	gps = (const char *)sqlite3_column_text(s, 9);
	if (gps && sscanf(gps, "%d,%d", &r->lat_e7, &r->lon_e7) == 2)
		r->has_gps = true;
	text_col(s, 10, hex, sizeof(hex));
	(void)edsig_unhex(hex, r->sig, 64);
	r->state = state_parse((const char *)sqlite3_column_text(s, 11));
	r->durable_chunks = (uint64_t)sqlite3_column_int64(s, 12);
	r->attempts = (uint32_t)sqlite3_column_int64(s, 13);
	r->ct_size = (uint64_t)sqlite3_column_int64(s, 14);
	text_col(s, 15, hex, sizeof(hex));
	(void)edsig_unhex(hex, r->ct_sha256, 32);
	text_col(s, 16, r->location, sizeof(r->location));
	r->listed_ns = sqlite3_column_int64(s, 17);
	if (rowid)
		*rowid = sqlite3_column_int64(s, 18);
}

int dockdb_sql_err(struct ledgerw *w, int rc, const char *what)
{
	log_error("dock_recordings %s: %s", what, sqlite3_errmsg(cust_ledger_db(ledgerw_ledger(w))));
	return rc == SQLITE_BUSY ? -EBUSY : rc == SQLITE_FULL ? -ENOSPC : -EIO;
}

/* Run one UPDATE/INSERT; binds: text/int by a tiny format string. */
int dockdb_exec(struct ledgerw *w, const char *sql, const char *fmt, ...)
{
	sqlite3 *db = cust_ledger_db(ledgerw_ledger(w));
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL), i = 1;

	if (rc != SQLITE_OK)
		return dockdb_sql_err(w, rc, "prepare");
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 's')
			sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return dockdb_sql_err(w, rc, "write");
	return sqlite3_changes(db) > 0 ? 0 : -ESTALE;
}

int dockdb_tx_begin(struct ledgerw *w)
{
	int r;

	ledgerw_lock(w);
	r = cust_ledger_begin(ledgerw_ledger(w));
	if (r < 0)
		ledgerw_unlock(w);
	return r;
}

/* Append evs, commit (or roll back on any earlier failure r), unlock. */
int dockdb_tx_end(struct ledgerw *w, int r, struct cust_event *evs, size_t n)
{
	struct cust_ledger *l = ledgerw_ledger(w);

	if (r == 0 && n)
		r = cust_ledger_append_batch(l, evs, n);
	if (r == 0)
		r = cust_ledger_commit(l);
	if (r < 0)
		cust_ledger_rollback(l);
	ledgerw_unlock(w);
	return r;
}

int dockdb_query_one(struct ledgerw *w, const char *sql, const char *a, const char *b,
		     int64_t i1, int64_t i2, struct dock_rec *out, int64_t *rowid)
{
	sqlite3_stmt *s = NULL;
	struct dock_rec rec;
	int64_t id = 0;
	int rc, r;

	rc = sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(w)), sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return dockdb_sql_err(w, rc, "prepare");
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, i1);
	sqlite3_bind_int64(s, 4, i2);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_read(s, &rec, &id);
		*out = rec;
		if (rowid)
			*rowid = id;
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : dockdb_sql_err(w, rc, "read");
	}
	sqlite3_finalize(s);
	return r;
}

int dockdb_get(struct ledgerw *w, const char *serial, const char *rid, struct dock_rec *out)
{
	int r;

	ledgerw_lock(w);
	r = dockdb_query_one(w, "SELECT " COLS " FROM dock_recordings WHERE serial = ?1 AND recording_id = ?2"
			 " AND ?3 = ?4", serial, rid, 0, 0, out, NULL);
	ledgerw_unlock(w);
	return r;
}

/* "state IN (...)" for a mask, into buf. */
static void state_set(unsigned mask, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < DREC_N_STATES; i++)
		if (mask & DREC_BIT(i)) {
			int n = snprintf(buf + o, cap - o, "%s'%s'", o ? "," : "", state_names[i]);
			if (n < 0 || (size_t)n >= cap - o)
				return;
			o += (size_t)n;
		}
}

int dockdb_next(struct ledgerw *w, const char *serial, unsigned mask, const char *after,
		int64_t min_listed_ns, int64_t *cursor, struct dock_rec *out)
{
	char states[160], sql[512];
	int r;

	state_set(mask, states, sizeof(states));
	if (serial)
		snprintf(sql, sizeof(sql),
			 "SELECT " COLS " FROM dock_recordings WHERE serial = ?1 AND recording_id > ?2"
			 " AND listed_ns >= ?3 AND ?4 = 0 AND state IN (%s)"
			 " ORDER BY recording_id LIMIT 1", states);
	else
		snprintf(sql, sizeof(sql),
			 "SELECT " COLS " FROM dock_recordings WHERE ?1 IS NULL AND ?2 IS NULL"
			 " AND listed_ns >= ?3 AND rowid > ?4 AND state IN (%s)"
			 " ORDER BY rowid LIMIT 1", states);
	ledgerw_lock(w);
	r = dockdb_query_one(w, sql, serial, serial ? (after ? after : "") : NULL, min_listed_ns,
		      serial ? 0 : (cursor ? *cursor : 0), out, cursor);
	ledgerw_unlock(w);
	return r;
}

/* The one integer the aggregate sql gives; its ?1 (if any) is serial. */
static int scalar(struct ledgerw *w, const char *sql, const char *serial, const char *what,
		  uint64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	ledgerw_lock(w);
	rc = sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(w)), sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(s, 0);
	else
		r = dockdb_sql_err(w, rc, what);
	sqlite3_finalize(s);
	ledgerw_unlock(w);
	return r;
}

int dockdb_count(struct ledgerw *w, const char *serial, unsigned mask, uint64_t *n)
{
	char states[160], sql[256];

	state_set(mask, states, sizeof(states));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM dock_recordings WHERE"
		 " (?1 IS NULL OR serial = ?1) AND state IN (%s)", states);
	return scalar(w, sql, serial, "count", n);
}

int dockdb_sum_size(struct ledgerw *w, unsigned mask, uint64_t *bytes)
{
	char states[160], sql[256];

	state_set(mask, states, sizeof(states));
	snprintf(sql, sizeof(sql), "SELECT coalesce(sum(size), 0) FROM dock_recordings"
		 " WHERE state IN (%s)", states);
	return scalar(w, sql, NULL, "sum", bytes);
}
