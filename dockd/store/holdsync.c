/* holdsync.c - S3 legal holds follow the ledger. See holdsync.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "destruction.h"
#include "holdsync.h"
#include "log.h"

static int64_t watermark(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS dock_hold_sync(id INTEGER PRIMARY KEY"
			 " CHECK (id = 1), seq INTEGER NOT NULL);"
			 "INSERT OR IGNORE INTO dock_hold_sync VALUES (1, 0);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT seq FROM dock_hold_sync WHERE id = 1", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void advance(struct dockd *d, int64_t seq)
{
	sqlite3_stmt *s = NULL;

	ledgerw_lock(d->w);
	if (sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(d->w)),
			       "UPDATE dock_hold_sync SET seq = ?1 WHERE id = 1", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, seq);
		if (sqlite3_step(s) != SQLITE_DONE)
			log_error("holdsync: cannot save progress at event %lld", (long long)seq);
	}
	sqlite3_finalize(s);
	ledgerw_unlock(d->w);
}

/* The next event to follow after `after`, or -ENOENT. */
static int next_event(sqlite3 *db, int64_t after, int64_t *seq, char *item, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT seq, evidence_id FROM events WHERE seq > ?1"
			       " AND action IN (?2, ?3, ?4, ?5) AND outcome = ?6"
			       " ORDER BY seq LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int(s, 2, CUST_A_HOLD_SET);
	sqlite3_bind_int(s, 3, CUST_A_HOLD_CLEARED);
	sqlite3_bind_int(s, 4, CUST_A_RETENTION_SET);
	sqlite3_bind_int(s, 5, CUST_A_RETENTION_EXTENDED);
	sqlite3_bind_int(s, 6, CUST_OUTCOME_OK);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		snprintf(item, cap, "%s", sqlite3_column_text(s, 1) ?
			 (const char *)sqlite3_column_text(s, 1) : "");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* 1 when an event was followed (or skipped), 0 when none is waiting. */
static int follow_one(struct dockd *d)
{
	char item[CUST_EVIDENCE_MAX + 1], err[300] = "";
	struct cust_evstate st;
	struct cust_event ev;
	json_t *plan = NULL, *copy = NULL, *c, *det = NULL;
	sqlite3 *db;
	int64_t last, seq = 0;
	size_t i;
	bool on;
	int r;

	ledgerw_lock(d->w);
	db = cust_ledger_db(ledgerw_ledger(d->w));
	last = watermark(db);
	r = last < 0 ? -EIO : next_event(db, last, &seq, item, sizeof(item));
	if (r == 0 && item[0] && cust_destroy_record(ledgerw_ledger(d->w), item, &st) == 0 &&
	    strcmp(st.status, "destroyed"))
		r = cust_destroy_plan(ledgerw_ledger(d->w), &st, &plan);
	ledgerw_unlock(d->w);
	if (r < 0) {
		if (r != -ENOENT)
			log_error("holdsync: reading the ledger: %s", strerror(-r));
		return 0;
	}
	json_array_foreach(json_object_get(plan, "copies"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "where")), "storage") &&
		    !strncmp(json_string_value(json_object_get(c, "location")), "s3://", 5))
			copy = c;
	if (!copy)			/* nothing on S3 (yet, or any more) */
		goto done;
	on = st.legal_hold || !strcmp(st.retention_until, "indefinite");
	r = store_set_hold(d->store, json_string_value(json_object_get(copy, "object_key")),
			   json_string_value(json_object_get(copy, "version_id")), on);
	if (r == -ENOTSUP)		/* a bucket without Object Lock */
		goto done;
	if (r < 0)
		snprintf(err, sizeof(err), "S3 legal hold %s: %s", on ? "on" : "off", strerror(-r));
	det = json_deep_copy(copy);
	if (!det)
		goto done;
	json_object_del(det, "where");
	json_object_set_new(det, "on", json_boolean(on));
	json_object_set_new(det, "event", json_integer((json_int_t)seq));
	if (err[0])
		json_object_set_new(det, "error", json_string(err));
	r = ledgerw_event(d->w, &ev, CUST_A_STORAGE_HOLD, item,
			  err[0] ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_event_set_details(&ev, det);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	if (r < 0) {
		log_error("holdsync %s: recording storage_hold failed: %s", item, strerror(-r));
		goto out;		/* not advanced: tried again next tick */
	}
	if (err[0])
		dockd_alert(d, "storage-hold", item, "%s", err);
	else
		log_info("%s: S3 legal hold %s", item, on ? "on" : "off");
done:
	advance(d, seq);
	r = 1;
out:
	json_decref(det);
	json_decref(plan);
	return r > 0;
}

void holdsync_tick(struct dockd *d)
{
	/* events of items with nothing on S3 (most: every ingest writes a
	 * retention_set before its upload) are skipped cheaply; at most 16
	 * per tick keep the main loop responsive */
	if (!d->w || !d->store || strcmp(d->store->ops->scheme, "s3"))
		return;
	for (int n = 0; n < 16 && follow_one(d); n++)
		;
}
