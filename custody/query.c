/*
 * query.c - history / search / audit-event queries as JSON (schemas in
 * query.h), and ISO 8601 time parsing.
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

static int filter_ok(const char *s, size_t cap)
{
	return !s || (*s && strlen(s) < cap);
}

int cust_query_search(struct cust_ledger *l, const char *agency,
		      const struct cust_search *q, json_t **out)
{
	char sql[1024];
	sqlite3_stmt *s;
	struct cust_evstate st;
	json_t *items, *query, *o;
	size_t limit = q->limit ? q->limit : CUST_SEARCH_DEFAULT_LIMIT, n = 0;
	int rc, r, truncated = 0;

	if (limit > CUST_SEARCH_MAX_LIMIT || !filter_ok(q->officer, CUST_STATE_TEXT) ||
	    !filter_ok(q->camera, CUST_STATE_TEXT) || !filter_ok(q->category, CUST_STATE_TEXT) ||
	    !filter_ok(q->case_no, CUST_CASE_MAX + 1) || !filter_ok(q->status, 24) ||
	    q->from_ns < 0 || q->to_ns < 0 || (q->to_ns && q->from_ns >= q->to_ns))
		return -EINVAL;
	/* All filters are bound parameters; NULL parameters match anything. */
	snprintf(sql, sizeof(sql), "SELECT " CUST_EVSTATE_COLS " FROM evidence e"
		 " WHERE (?1 IS NULL OR agency_id = ?1) AND (?2 IS NULL OR officer = ?2)"
		 " AND (?3 IS NULL OR camera = ?3) AND (?4 IS NULL OR category = ?4)"
		 " AND (?5 IS NULL OR status = ?5) AND first_ns >= ?6 AND first_ns < ?7"
		 " AND (?8 IS NULL OR evidence_id IN (SELECT evidence_id FROM"
		 " evidence_cases WHERE case_no = ?8)) ORDER BY first_ns, evidence_id"
		 " LIMIT ?9");
	if ((r = prep(l, sql, &s)))
		return r;
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, q->officer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, q->camera, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, q->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, q->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, q->from_ns);
	sqlite3_bind_int64(s, 7, q->to_ns ? q->to_ns : INT64_MAX);
	sqlite3_bind_text(s, 8, q->case_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)limit + 1);
	items = json_array();
	while (items && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == limit) {
			truncated = 1;
			break;
		}
		cust_evstate_from_row(s, &st);
		json_array_append_new(items, cust_evstate_to_json(&st));
	}
	sqlite3_finalize(s);
	if (!items)
		return -ENOMEM;
	if (rc != SQLITE_DONE && !truncated) {
		json_decref(items);
		return cust_ledger_sqlerr(l, rc);
	}
	query = json_object();
#define Q(k, v) if (v) json_object_set_new(query, k, json_string(v));
	Q("officer", q->officer) Q("camera", q->camera) Q("category", q->category)
	Q("case", q->case_no) Q("status", q->status)
#undef Q
	if (q->from_ns) {
		char t[64];
		cust_format_utc(q->from_ns, t, sizeof(t));
		json_object_set_new(query, "from", json_string(t));
	}
	if (q->to_ns) {
		char t[64];
		cust_format_utc(q->to_ns, t, sizeof(t));
		json_object_set_new(query, "to", json_string(t));
	}
	o = json_pack("{s:o, s:I, s:b, s:o}", "query", query ? query : json_object(),
		      "count", (json_int_t)json_array_size(items), "truncated", truncated,
		      "items", items);
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
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

/* ---- time ---- */

int cust_format_utc(int64_t t_ns, char *buf, size_t cap)
{
	return cust_utc_text(t_ns, buf, cap);
}

int cust_format_local(int64_t t_ns, char *buf, size_t cap)
{
	time_t s = (time_t)(t_ns / 1000000000);
	struct tm tm;

	if (t_ns < 0 && t_ns % 1000000000)
		s--;
	if (!localtime_r(&s, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %Z %z", &tm))
		return -EINVAL;
	return 0;
}

static int digits(const char **p, int n, int *v)
{
	int x = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return -1;
		x = x * 10 + (*(*p)++ - '0');
	}
	*v = x;
	return 0;
}

static int mdays(int y, int m)
{
	static const int t[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return t[m - 1];
}

int cust_parse_time(const char *str, int end_of_day, int64_t *out_ns)
{
	struct tm tm;
	const char *p = str;
	int y, mo, d, h = 0, mi = 0, se = 0, zone = 0, off = 0, oh, om, date_only = 1;
	time_t t;

	if (!str || strlen(str) > 40)
		return -EINVAL;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p++;
		date_only = 0;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':' && (p++, digits(&p, 2, &se)))
			return -EINVAL;
	}
	if (*p == 'Z') {
		zone = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		zone = 1;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays(y, mo) || h > 23 || mi > 59 || se > 59)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d + (date_only && end_of_day ? 1 : 0);
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	t = zone ? timegm(&tm) - off : mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out_ns = (int64_t)t * 1000000000;
	return 0;
}
