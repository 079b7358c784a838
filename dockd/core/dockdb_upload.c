/* dockdb_upload.c - the storage worker's bookkeeping in the ledger
 * database (dockdb.h, "uploads"): the dock_uploads attempt counts, which
 * stored_local row to upload next, upload_started and a failed upload's
 * event. */
#include <errno.h>

#include <jansson.h>
#include <sqlite3.h>

#include "dockdb.h"
#include "dockdb_int.h"

int dockdb_upload_schema(struct cust_ledger *l)
{
	static const char sql[] = "CREATE TABLE IF NOT EXISTS dock_uploads("
				  " evidence_id TEXT PRIMARY KEY, attempts INTEGER NOT NULL);";

	return sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int dockdb_next_upload(struct ledgerw *w, const char (*prio)[129], size_t n_prio,
		       const int64_t *skip, size_t n_skip, struct dock_rec *out, int64_t *rowid)
{
	sqlite3_str *q;
	char *sql;
	int r;

	if (n_prio > 64 || n_skip > 64)
		return -E2BIG;
	/* Categories come from the configuration: quoted by SQLite (%Q). */
	q = sqlite3_str_new(NULL);
	sqlite3_str_appendall(q, "SELECT " COLS " FROM dock_recordings WHERE ?1 IS NULL AND"
			      " ?2 IS NULL AND ?3 = ?4 AND state = 'stored_local'");
	if (n_skip) {
		sqlite3_str_appendall(q, " AND rowid NOT IN (");
		for (size_t i = 0; i < n_skip; i++)
			sqlite3_str_appendf(q, "%s%lld", i ? "," : "", (long long)skip[i]);
		sqlite3_str_appendall(q, ")");
	}
	sqlite3_str_appendall(q, " ORDER BY ");
	if (n_prio) {
		sqlite3_str_appendall(q, "CASE category");
		for (size_t i = 0; i < n_prio; i++)
			sqlite3_str_appendf(q, " WHEN %Q THEN %d", prio[i], (int)i);
		sqlite3_str_appendf(q, " ELSE %d END, ", (int)n_prio);
	}
	sqlite3_str_appendall(q, "start_utc, rowid LIMIT 1");
	sql = sqlite3_str_finish(q);
	if (!sql)
		return -ENOMEM;
	ledgerw_lock(w);
	r = dockdb_query_one(w, sql, NULL, NULL, 0, 0, out, rowid);
	ledgerw_unlock(w);
	sqlite3_free(sql);
	return r;
}

int dockdb_upload_started(struct ledgerw *w, struct dock_rec *rec, const char *object_key,
			  const char *target, uint32_t *attempt)
{
	sqlite3_stmt *s = NULL;
	struct cust_event ev;
	int64_t n = 0;
	int r, rc;

	r = dockdb_tx_begin(w);
	if (r < 0)
		return r;
	r = dockdb_exec(w, "INSERT INTO dock_uploads(evidence_id, attempts) VALUES(?1, 1)"
			 " ON CONFLICT(evidence_id) DO UPDATE SET attempts = attempts + 1",
		      "s", rec->evidence_id);
	if (r == 0) {
		rc = sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(w)),
					"SELECT attempts FROM dock_uploads WHERE evidence_id = ?1",
					-1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(s, 1, rec->evidence_id, -1, SQLITE_STATIC);
			rc = sqlite3_step(s);
		}
		if (rc == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		else
			r = dockdb_sql_err(w, rc, "upload attempts");
		sqlite3_finalize(s);
	}
	if (r == 0)
		r = ledgerw_event(w, &ev, CUST_A_UPLOAD_STARTED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev, json_pack("{s:s,s:s,s:I}", "object_key", object_key, "target",
					   target, "attempt", (json_int_t)n));
	r = dockdb_tx_end(w, r, &ev, 1);
	if (r == 0 && attempt)
		*attempt = (uint32_t)n;
	return r;
}

int dockdb_upload_failed(struct ledgerw *w, const struct dock_rec *rec, const char *object_key,
			 const char *error)
{
	struct cust_event ev;
	int r = ledgerw_event(w, &ev, CUST_A_UPLOADED, rec->evidence_id, CUST_OUTCOME_FAILED);

	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), error);
	if (r == 0)
		r = details(&ev, json_pack("{s:s,s:s}", "error", error, "object_key", object_key));
	if (r == 0)
		r = ledgerw_append(w, &ev);
	return r;
}
