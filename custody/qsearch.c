/*
 * qsearch.c - `custody search` as clerks think (query.h): by when a
 * recording was made (the camera's signed manifest), officer, camera,
 * case, category, status (validated), legal hold, due for destruction;
 * and the refused cameras, which have no evidence item.
 *
 * Derived facts that are not columns of the evidence record are read
 * from the item's own events in the same SQL statement: the recording
 * time (details start/end of its ok ingest_started) and "released" (an ok
 * camera_released). Every filter is a bound parameter or one of the fixed
 * SQL fragments below; no request text is ever pasted into SQL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evstate.h"
#include "ledger_int.h"
#include "query.h"

static const char *const statuses[] = {
	"docked", "ingesting", "ingested", "stored", "uploading", "uploaded",
	"verified", "quarantined", "destroyed", "released", NULL
};

int cust_status_valid(const char *s)
{
	for (const char *const *p = statuses; s && *p; p++)
		if (!strcmp(*p, s))
			return 1;
	return 0;
}

/* Legal hold filter. The only place that knows how hold is stored: today
 * the record's legal_hold column (hold_set / hold_cleared replayed by
 * evstate.c); change it here if holds move. */
static const char *hold_sql(int hold)
{
	if (hold == CUST_HOLD_YES)
		return " AND legal_hold = 1";
	if (hold == CUST_HOLD_NO)
		return " AND legal_hold = 0";
	return "";
}

/* Due for destruction: a retention date (RFC 3339 or a date; anything
 * else, e.g. "indefinite", is never due) before ?10 (UTC seconds), not
 * destroyed already; and not under hold (hold_sql(CUST_HOLD_NO), added by
 * the caller). */
static const char due_sql[] =
	" AND unixepoch(retention_until) IS NOT NULL AND unixepoch(retention_until) < ?10"
	" AND (status IS NULL OR status <> 'destroyed')";

/* The manifest's recording time and the release, per item (events_item
 * index: a few rows per item). */
#define REC_COLS \
	", (SELECT json_extract(v.details, '$.start') FROM events v WHERE" \
	" v.evidence_id = e.evidence_id AND v.action = 4 AND v.outcome = 1" \
	" ORDER BY v.seq DESC LIMIT 1) AS rs" \
	", (SELECT json_extract(v.details, '$.end') FROM events v WHERE" \
	" v.evidence_id = e.evidence_id AND v.action = 4 AND v.outcome = 1" \
	" ORDER BY v.seq DESC LIMIT 1) AS re" \
	", EXISTS (SELECT 1 FROM events v WHERE v.evidence_id = e.evidence_id" \
	" AND v.action = 12 AND v.outcome = 1) AS rel"

static int filter_ok(const char *s, size_t cap)
{
	return !s || (*s && strlen(s) < cap);
}

static int prep(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : cust_ledger_sqlerr(l, rc);
}

static void put_time(json_t *o, const char *k, int64_t ns)
{
	char t[64];

	if (ns && !cust_format_utc(ns, t, sizeof(t)))
		json_object_set_new(o, k, json_string(t));
}

/* Manifest seconds (an integer column, else null) as RFC 3339. */
static json_t *manifest_time(sqlite3_stmt *s, int col)
{
	char t[64];
	int64_t v;

	if (sqlite3_column_type(s, col) != SQLITE_INTEGER)
		return json_null();
	v = sqlite3_column_int64(s, col);
	if (v < 0 || v > 253402300799LL || cust_format_utc(v * 1000000000, t, sizeof(t)))
		return json_null();
	return json_string(t);
}

static json_t *query_echo(const struct cust_search *q)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
#define Q(k, v) if (v) json_object_set_new(o, k, json_string(v));
	Q("officer", q->officer) Q("camera", q->camera) Q("category", q->category)
	Q("case", q->case_no) Q("status", q->status)
#undef Q
	put_time(o, "from", q->from_ns);
	put_time(o, "to", q->to_ns);
	put_time(o, "docked_from", q->docked_from_ns);
	put_time(o, "docked_to", q->docked_to_ns);
	if (q->hold)
		json_object_set_new(o, "hold", json_string(q->hold == CUST_HOLD_YES ? "yes" : "no"));
	if (q->due)
		json_object_set_new(o, "due", json_true());
	return o;
}

static int range_bad(int64_t from, int64_t to)
{
	return from < 0 || to < 0 || (to && from >= to);
}

int cust_query_search(struct cust_ledger *l, const char *agency,
		      const struct cust_search *q, json_t **out)
{
	char sql[2048];
	sqlite3_stmt *s;
	struct cust_evstate st;
	json_t *items, *query, *o, *it;
	size_t limit = q->limit ? q->limit : CUST_SEARCH_DEFAULT_LIMIT, n = 0;
	int rc = SQLITE_DONE, r, truncated = 0, released;
	int64_t now = q->now_ns ? q->now_ns : (int64_t)time(NULL) * 1000000000;

	if (limit > CUST_SEARCH_MAX_LIMIT || !filter_ok(q->officer, CUST_STATE_TEXT) ||
	    !filter_ok(q->camera, CUST_STATE_TEXT) || !filter_ok(q->category, CUST_STATE_TEXT) ||
	    !filter_ok(q->case_no, CUST_CASE_MAX + 1) ||
	    (q->status && !cust_status_valid(q->status)) ||
	    range_bad(q->from_ns, q->to_ns) || range_bad(q->docked_from_ns, q->docked_to_ns) ||
	    q->hold < 0 || q->hold > CUST_HOLD_NO || (q->due && q->hold == CUST_HOLD_YES))
		return -EINVAL;	/* held items are never due */
	released = q->status && !strcmp(q->status, "released");
	/* A filter that is not given is left out of the SQL rather than
	 * written "(?N IS NULL OR col = ?N)": SQLite cannot use an index for
	 * that form and scanned every item of the ledger on each search
	 * (~100 ms at 85k items; tests/bench/console.sh). Unused parameter
	 * numbers stay unbound. */
	r = snprintf(sql, sizeof(sql), "SELECT " CUST_EVSTATE_COLS ", rs, re, rel FROM"
		     " (SELECT e.*" REC_COLS " FROM evidence e"
		     " WHERE %s%s%s%s%s%s%s%s%s%s)"
		     " WHERE (?11 IS NULL OR (typeof(re) = 'integer' AND re * 1000000000 >= ?11))"
		     " AND (?12 IS NULL OR (typeof(rs) = 'integer' AND rs * 1000000000 < ?12))"
		     "%s ORDER BY rs IS NULL, rs, first_ns, evidence_id LIMIT ?9",
		     /* by case: start from the case's few items (evidence_cases),
		      * not from the agency's time index over all its items */
		     q->case_no ? "+first_ns >= ?6 AND +first_ns < ?7" :
				  "first_ns >= ?6 AND first_ns < ?7",
		     !agency ? "" : q->case_no ? " AND +agency_id = ?1" : " AND agency_id = ?1",
		     q->officer ? " AND officer = ?2" : "",
		     q->camera ? " AND camera = ?3" : "",
		     q->category ? " AND category = ?4" : "",
		     q->status && !released ? " AND status = ?5" : "",
		     q->case_no ? " AND evidence_id IN (SELECT evidence_id FROM"
				  " evidence_cases WHERE case_no = ?8)" : "",
		     hold_sql(q->due ? CUST_HOLD_NO : q->hold), q->due ? due_sql : "",
		     released ? " AND (status IS NULL OR status <> 'destroyed')" : "",
		     released ? " AND rel = 1" : "");
	if (r < 0 || (size_t)r >= sizeof(sql))
		return -E2BIG;
	if ((r = prep(l, sql, &s)))
		return r;
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, q->officer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, q->camera, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, q->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, released ? NULL : q->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, q->docked_from_ns);
	sqlite3_bind_int64(s, 7, q->docked_to_ns ? q->docked_to_ns : INT64_MAX);
	sqlite3_bind_text(s, 8, q->case_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)limit + 1);
	if (q->due)
		sqlite3_bind_int64(s, 10, now / 1000000000);
	if (q->from_ns)
		sqlite3_bind_int64(s, 11, q->from_ns);
	if (q->to_ns)
		sqlite3_bind_int64(s, 12, q->to_ns);
	items = json_array();
	while (items && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == limit) {
			truncated = 1;
			break;
		}
		cust_evstate_from_row(s, &st);
		it = cust_evstate_to_json(&st);
		if (!it || json_array_append_new(items, it)) {
			json_decref(items);
			items = NULL;
			break;
		}
		json_object_set_new(it, "recording_start", manifest_time(s, 20));
		json_object_set_new(it, "recording_end", manifest_time(s, 21));
		json_object_set_new(it, "released", json_boolean(sqlite3_column_int(s, 22)));
	}
	sqlite3_finalize(s);
	if (!items)
		return -ENOMEM;
	if (rc != SQLITE_DONE && !truncated) {
		json_decref(items);
		return cust_ledger_sqlerr(l, rc);
	}
	query = query_echo(q);
	o = json_pack("{s:o, s:I, s:b, s:o}", "query", query ? query : json_object(),
		      "count", (json_int_t)json_array_size(items), "truncated", truncated,
		      "items", items);
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

int cust_query_refusals(struct cust_ledger *l, const char *agency,
			const char *camera, int64_t from_ns, int64_t to_ns,
			size_t limit, json_t **out)
{
	sqlite3_stmt *s;
	struct cust_event ev;
	json_t *events, *query, *o, *e;
	size_t n = 0;
	int rc = SQLITE_DONE, r = 0, truncated = 0;

	if (!limit)
		limit = CUST_SEARCH_DEFAULT_LIMIT;
	if (limit > CUST_SEARCH_MAX_LIMIT || !filter_ok(camera, CUST_STATE_TEXT) ||
	    range_bad(from_ns, to_ns))
		return -EINVAL;
	if ((r = prep(l, "SELECT " CUST_EVENT_COLS " FROM events WHERE action = 3 AND"
		      " (?1 IS NULL OR agency_id = ?1) AND time_ns >= ?2 AND time_ns < ?3"
		      " AND (?4 IS NULL OR json_extract(details, '$.serial') = ?4)"
		      " ORDER BY seq DESC LIMIT ?5", &s)))
		return r;
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from_ns);
	sqlite3_bind_int64(s, 3, to_ns ? to_ns : INT64_MAX);
	sqlite3_bind_text(s, 4, camera, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)limit + 1);
	if (!(events = json_array())) {
		sqlite3_finalize(s);
		return -ENOMEM;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == limit) {
			truncated = 1;
			break;
		}
		if (cust_ledger_row_event(s, 0, &ev, NULL)) {
			r = -EBADMSG;
			break;
		}
		if ((r = cust_event_to_json(&ev, &e)) || (r = json_array_append_new(events, e) ? -ENOMEM : 0))
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	query = json_pack("{s:b}", "refused", 1);
	if (!r && !query)
		r = -ENOMEM;
	if (r) {
		json_decref(events);
		json_decref(query);
		return r;
	}
	if (camera)
		json_object_set_new(query, "camera", json_string(camera));
	put_time(query, "from", from_ns);
	put_time(query, "to", to_ns);
	o = json_pack("{s:o, s:I, s:b, s:o}", "query", query,
		      "count", (json_int_t)json_array_size(events), "truncated", truncated,
		      "refusals", events);
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}
