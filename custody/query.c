/*
 * query.c - history and audit-event queries as JSON (schemas in query.h).
 * Search: qsearch.c; times: qtime.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evstate.h"
#include "ledger_int.h"
#include "query.h"

static int prep(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : cust_ledger_sqlerr(l, rc);
}

static int add_event(void *arg, const struct cust_event *ev)
{
	json_t *e;
	int r = cust_event_to_json(ev, &e);

	if (r)
		return r;
	return json_array_append_new(arg, e) ? -ENOMEM : 0;
}

int cust_query_history(struct cust_ledger *l, const char *agency,
		       const char *evidence_id, json_t **out)
{
	sqlite3_stmt *s;
	struct cust_evstate st;
	json_t *events = NULL, *rec, *o;
	int rc, r;

	if (!evidence_id || !*evidence_id || strlen(evidence_id) > CUST_EVIDENCE_MAX)
		return -EINVAL;
	/* one snapshot for record and events */
	if ((rc = sqlite3_exec(cust_ledger_db(l), "BEGIN", NULL, NULL, NULL)))
		return cust_ledger_sqlerr(l, rc);
	if ((r = prep(l, cust_evstate_select_sql, &s)))
		goto out;
	sqlite3_bind_text(s, 1, evidence_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, &st);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : cust_ledger_sqlerr(l, rc);
		goto out;
	}
	if (agency && strcmp(agency, st.agency_id)) {
		r = -EACCES;
		goto out;
	}
	if (!(events = json_array())) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cust_ledger_foreach(l, evidence_id, 1, 0, add_event, events)))
		goto out;
	rec = cust_evstate_to_json(&st);
	o = json_pack("{s:s, s:s, s:o, s:O}", "evidence_id", st.evidence_id,
		      "agency_id", st.agency_id, "record", rec ? rec : json_null(),
		      "events", events);
	r = o ? 0 : -ENOMEM;
	if (o)
		*out = o;
out:
	json_decref(events);
	sqlite3_exec(cust_ledger_db(l), "COMMIT", NULL, NULL, NULL);
	return r;
}

int cust_query_events(struct cust_ledger *l, const char *agency,
		      const char *action_prefix, int64_t from_ns, int64_t to_ns,
		      size_t limit, json_t **out)
{
	sqlite3_stmt *s;
	struct cust_event ev;
	json_t *events = json_array(), *o;
	size_t n = 0;
	int rc = SQLITE_DONE, r = 0, truncated = 0;

	if (!limit)
		limit = CUST_SEARCH_DEFAULT_LIMIT;
	if (!events)
		return -ENOMEM;
	if (limit > CUST_SEARCH_MAX_LIMIT) {
		json_decref(events);
		return -EINVAL;
	}
	if ((r = prep(l, "SELECT " CUST_EVENT_COLS " FROM events WHERE (?1 IS NULL"
		      " OR agency_id = ?1) AND time_ns >= ?2 AND time_ns < ?3"
		      " ORDER BY seq DESC", &s))) {
		json_decref(events);
		return r;
	}
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from_ns);
	sqlite3_bind_int64(s, 3, to_ns ? to_ns : INT64_MAX);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name;
		json_t *e;
		if (cust_ledger_row_event(s, 0, &ev, NULL)) {
			r = -EBADMSG;
			break;
		}
		name = cust_action_name(ev.action);
		if (action_prefix && (!name || strncmp(name, action_prefix,
						       strlen(action_prefix))))
			continue;
		if (n++ == limit) {
			truncated = 1;
			break;
		}
		if ((r = cust_event_to_json(&ev, &e)) || json_array_append_new(events, e))
			break;
	}
	if (!r && rc != SQLITE_DONE && !truncated)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	if (r) {
		json_decref(events);
		return r;
	}
	o = json_pack("{s:I, s:b, s:o}", "count", (json_int_t)json_array_size(events),
		      "truncated", truncated, "events", events);
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}
