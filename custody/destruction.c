/* destruction.c - what is due, what is pending, what a destruction
 * deletes: read from the ledger only. See destruction.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "destruction.h"
#include "event.h"

#define NS_PER_DAY 86400000000000LL

int cust_destroy_record(struct cust_ledger *l, const char *item,
			struct cust_evstate *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(cust_ledger_db(l), cust_evstate_select_sql, -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, item, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, st);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* The details of the item's latest successful event of action a (a new
 * object), or NULL. */
static json_t *last_details(struct cust_ledger *l, const char *item,
			    enum cust_action a, int64_t *time_ns)
{
	sqlite3_stmt *s = NULL;
	json_t *j = NULL;

	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT details, time_ns FROM events"
			       " WHERE evidence_id = ?1 AND action = ?2 AND outcome = ?3"
			       " ORDER BY seq DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, item, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, a);
	sqlite3_bind_int(s, 3, CUST_OUTCOME_OK);
	if (sqlite3_step(s) == SQLITE_ROW) {
		j = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
		if (time_ns)
			*time_ns = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static const char *dstr(json_t *d, const char *k)
{
	const char *v = json_string_value(json_object_get(d, k));
	return v ? v : "";
}

int cust_destroy_plan(struct cust_ledger *l, const struct cust_evstate *st,
		      json_t **out)
{
	json_t *ing = last_details(l, st->evidence_id, CUST_A_INGESTED, NULL);
	json_t *loc = last_details(l, st->evidence_id, CUST_A_STORED_LOCAL, NULL);
	json_t *up = last_details(l, st->evidence_id, CUST_A_UPLOADED, NULL);
	json_t *copies = json_array(), *p = NULL;
	int rc = -ENOMEM;

	if (!copies)
		goto fail;
	if (st->local_copy && loc && dstr(loc, "path")[0] &&
	    json_array_append_new(copies, json_pack("{s:s, s:s}", "where", "vault",
						    "path", dstr(loc, "path"))))
		goto fail;
	if (up && dstr(up, "object_key")[0] &&
	    json_array_append_new(copies, json_pack("{s:s, s:s, s:s, s:s}", "where",
						    "storage", "location", dstr(up, "location"),
						    "object_key", dstr(up, "object_key"),
						    "version_id", dstr(up, "version_id"))))
		goto fail;
	p = json_pack("{s:s, s:s, s:s, s:O}", "item", st->evidence_id, "sha256",
		      st->sha256, "ct_sha256", ing ? dstr(ing, "ct_sha256") : "",
		      "copies", copies);
	if (!p)
		goto fail;
	*out = p;
	rc = 0;
fail:
	json_decref(copies);
	json_decref(ing);
	json_decref(loc);
	json_decref(up);
	return rc;
}

int cust_destroy_check(struct cust_ledger *l, const struct cust_retention *rt,
		       const struct cust_evstate *st, int64_t now_ns,
		       const char **why, char *msg, size_t cap)
{
	const struct cust_retention_rule *rule;
	char now[64], minimum[64];
	int64_t base = st->first_ns;
	int known;

	if (cust_utc_text(now_ns, now, sizeof(now)))
		return -EINVAL;
	if (!strcmp(st->status, "destroyed")) {
		*why = "destroyed";
		snprintf(msg, cap, "the item is already destroyed");
		return -EPERM;
	}
	if (st->legal_hold) {
		*why = "hold";
		snprintf(msg, cap, "the item is under legal hold");
		return -EPERM;
	}
	if (!st->retention_until[0] || !strcmp(st->retention_until, "indefinite")) {
		*why = "indefinite";
		snprintf(msg, cap, "the item is kept indefinitely (no retention date)");
		return -EPERM;
	}
	if (cust_retention_cmp(st->retention_until, now) > 0) {
		*why = "not-due";
		snprintf(msg, cap, "retention runs until %s", st->retention_until);
		return -EPERM;
	}
	/* The statutory minimum of the table in force, from the ingested
	 * event (as the retention date counts): a table changed since the
	 * date was computed cannot make an item destroyable early. */
	rule = cust_retention_resolve(rt, st->category, &known);
	{
		json_t *j = last_details(l, st->evidence_id, CUST_A_INGESTED, &base);
		json_decref(j);
	}
	if (rule->min_days < 0) {
		*why = "minimum";
		snprintf(msg, cap, "category %s has an indefinite statutory minimum",
			 rule->category);
		return -EPERM;
	}
	if (cust_utc_text(base + (int64_t)rule->min_days * NS_PER_DAY, minimum,
			  sizeof(minimum)))
		return -EINVAL;
	if (cust_retention_cmp(minimum, now) > 0) {
		*why = "minimum";
		snprintf(msg, cap, "before the statutory minimum of category %s (%d days,"
			 " until %s)", rule->category, (int)rule->min_days, minimum);
		return -EPERM;
	}
	return 0;
}

static int find_request(struct cust_ledger *l, const char *sql, const char *item,
			char *item_out, size_t cap, struct cust_destroy_req *r)
{
	sqlite3_stmt *s = NULL;
	struct cust_destroy_req t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	if (item)
		sqlite3_bind_text(s, 1, item, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, CUST_A_DESTRUCTION_REQUESTED);
	sqlite3_bind_int(s, 3, CUST_A_DESTRUCTION_APPROVED);
	sqlite3_bind_int(s, 4, CUST_A_DESTROYED);
	sqlite3_bind_int(s, 5, CUST_OUTCOME_OK);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t.seq = (uint64_t)sqlite3_column_int64(s, 0);
		snprintf(t.by, sizeof(t.by), "%s", (const char *)sqlite3_column_text(s, 1));
		t.approved_seq = (uint64_t)sqlite3_column_int64(s, 2);
		if (sqlite3_column_text(s, 3))
			snprintf(t.approved_by, sizeof(t.approved_by), "%s",
				 (const char *)sqlite3_column_text(s, 3));
		if (item_out && (size_t)snprintf(item_out, cap, "%s",
				(const char *)sqlite3_column_text(s, 4)) >= cap)
			rc = SQLITE_TOOBIG;
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		*r = t;
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT :
	       rc == SQLITE_TOOBIG ? -ENAMETOOLONG : -EIO;
}

/* A request r, the first successful approval after it (a), and no
 * `destroyed` event (any outcome) after the request. */
#define REQ_SQL(where, order) \
	"SELECT r.seq, r.actor_id, a.seq, a.actor_id, r.evidence_id FROM events r" \
	" LEFT JOIN events a ON a.seq = (SELECT min(seq) FROM events x WHERE" \
	" x.evidence_id = r.evidence_id AND x.action = ?3 AND x.outcome = ?5" \
	" AND x.seq > r.seq)" \
	" WHERE " where " r.action = ?2 AND r.outcome = ?5 AND NOT EXISTS" \
	" (SELECT 1 FROM events d WHERE d.evidence_id = r.evidence_id" \
	" AND d.action = ?4 AND d.seq > r.seq) " order

int cust_destroy_open_request(struct cust_ledger *l, const char *item,
			      struct cust_destroy_req *r)
{
	return find_request(l, REQ_SQL("r.evidence_id = ?1 AND", "ORDER BY r.seq DESC LIMIT 1"),
			    item, NULL, 0, r);
}

int cust_destroy_next_approved(struct cust_ledger *l, char *item, size_t cap,
			       struct cust_destroy_req *r)
{
	return find_request(l, REQ_SQL("a.seq IS NOT NULL AND", "ORDER BY a.seq LIMIT 1"),
			    NULL, item, cap, r);
}

int cust_destroy_due(struct cust_ledger *l, const char *agency,
		     int64_t now_ns, size_t limit, json_t **out)
{
	sqlite3_stmt *s = NULL;
	char now[64];
	json_t *a;
	int rc = SQLITE_DONE;

	if (cust_utc_text(now_ns, now, sizeof(now)))
		return -EINVAL;
	if (limit == 0 || limit > CUST_DESTROY_LIST_MAX)
		limit = CUST_DESTROY_LIST_MAX;
	/* retention_until is fixed-width RFC 3339 UTC (cust_utc_text), so
	 * text order is time order; "indefinite" and "" are excluded. */
	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT evidence_id, category,"
			       " retention_until, status FROM evidence WHERE agency_id = ?1"
			       " AND legal_hold = 0 AND status <> 'destroyed'"
			       " AND retention_until GLOB '[0-9]*' AND retention_until <= ?2"
			       " ORDER BY retention_until, evidence_id LIMIT ?3",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	a = json_array();
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	while (a && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s, s:s?, s:s, s:s?}", "item",
				      (const char *)sqlite3_column_text(s, 0), "category",
				      (const char *)sqlite3_column_text(s, 1), "retention_until",
				      (const char *)sqlite3_column_text(s, 2), "status",
				      (const char *)sqlite3_column_text(s, 3));
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			a = NULL;
		}
	}
	sqlite3_finalize(s);
	if (!a)
		return -ENOMEM;
	if (rc != SQLITE_DONE) {
		json_decref(a);
		return -EIO;
	}
	*out = a;
	return 0;
}
