/*
 * qedit.c - metadata edits through the query service: categorize, case
 * assign/unassign, legal hold set/release, annotate (title/notes). Each
 * is an event by the person who asked (actor = their OS user, reason =
 * their stated reason), and the item's retention date is recomputed
 * from its category, cases and hold in the same commit (retention.h).
 * The model is described in docs/retention.md; the events in
 * docs/custody-ledger.md. Runs with the ledger lock held (qrequest.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evstate.h"
#include "qops.h"
#include "retention.h"

int qop_is_edit(enum access_op op)
{
	return op == ACCESS_OP_CATEGORIZE || op == ACCESS_OP_HOLD ||
	       op == ACCESS_OP_CASE || op == ACCESS_OP_ANNOTATE;
}

static const char *param(const struct qop *q, const char *k)
{
	return json_string_value(json_object_get(q->params, k));
}

/* The derived record of the item (it exists: access was decided on its
 * agency). */
static int load_record(struct qop *q, struct cust_evstate *st)
{
	sqlite3 *db = cust_ledger_db(q->ctx->ledger);
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, cust_evstate_select_sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, q->item, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, st);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Retention counts from the item's ingested event, as dockd counted it
 * at ingest (dockdb.c); an item never ingested counts from its first
 * event. */
static int64_t retention_base(struct qop *q, const struct cust_evstate *st)
{
	sqlite3 *db = cust_ledger_db(q->ctx->ledger);
	sqlite3_stmt *s = NULL;
	int64_t t = st->first_ns;

	if (sqlite3_prepare_v2(db, "SELECT time_ns FROM events WHERE evidence_id = ?1"
			       " AND action = ?2 AND outcome = ?3 ORDER BY seq LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		return t;
	sqlite3_bind_text(s, 1, q->item, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, CUST_A_INGESTED);
	sqlite3_bind_int(s, 3, CUST_OUTCOME_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		t = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return t;
}

/* Free text a person typed into an event: at least one non-blank, no
 * control character (the event format forbids C0 bytes; DEL too, so a
 * case number prints as what it is). Commas and any other printable
 * UTF-8 are fine. */
static int printable(const char *s, size_t max)
{
	size_t n = strlen(s);
	int seen = 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		seen |= c != ' ';
	}
	return seen;
}

/* A new event about the item by the caller, with the request's details
 * (minus the echoed params: the event's own fields say what changed). */
static int new_event(struct qop *q, struct cust_event *ev, enum cust_action a)
{
	json_t *d;
	int rc = cust_event_init(ev, q->target, CUST_ACTOR_CLERK, q->user, a,
				 q->item, CUST_OUTCOME_OK);

	if (rc)
		return rc;
	if (q->reason)
		(void)cust_event_set_text(ev->reason, sizeof(ev->reason), q->reason);
	d = qrequest_details_(q);
	if (!d)
		return -ENOMEM;
	json_object_del(d, "params");
	rc = cust_event_set_details(ev, d);
	json_decref(d);
	return rc;
}

/* Add key = value (a new reference taken) to ev's details. */
static int add_detail(struct cust_event *ev, const char *key, json_t *val)
{
	json_t *d = NULL;
	int rc;

	if (!val)
		return -ENOMEM;
	rc = cust_event_details(ev, &d);
	if (rc) {
		json_decref(val);
		return rc;
	}
	json_object_set_new(d, key, val);
	rc = cust_event_set_details(ev, d);
	json_decref(d);
	return rc;
}

struct edit {
	struct cust_event ev[2];
	size_t n;
	struct cust_evstate st;		/* before, then after */
	char msg[200];			/* why refused */
};

/* Fill e->ev[0] from the request; refuse (return -EINVAL with e->msg)
 * what would change nothing or is not allowed. */
static int build_change(struct qop *q, struct edit *e)
{
	const char *action = param(q, "action");
	struct cust_event *ev = &e->ev[0];
	int rc, known = 0;

	switch (q->op) {
	case ACCESS_OP_CATEGORIZE: {
		const char *c = param(q, "category");
		const struct cust_retention_rule *rule =
			c ? cust_retention_resolve(q->ctx->retention, c, &known) : NULL;
		/* a supervisor picks from the table; only cameras may bring an
		 * unknown category (dockd records and alerts that) */
		if (!c || !known) {
			snprintf(e->msg, sizeof(e->msg), "bad request: category must be one "
				 "of the [retention] table (case-insensitive)");
			return -EINVAL;
		}
		if (!strcmp(rule->category, e->st.category)) {
			snprintf(e->msg, sizeof(e->msg), "bad request: the item is "
				 "already categorized %s", rule->category);
			return -EINVAL;
		}
		if ((rc = new_event(q, ev, CUST_A_CATEGORIZED)) ||
		    (rc = add_detail(ev, "category", json_string(rule->category))) ||
		    (rc = add_detail(ev, "previous", json_string(e->st.category))))
			return rc;
		if (strcmp(c, rule->category))
			rc = add_detail(ev, "raw", json_string(c));
		return rc;
	}
	case ACCESS_OP_HOLD: {
		int set = action && !strcmp(action, "set");
		if (!set && (!action || strcmp(action, "release"))) {
			snprintf(e->msg, sizeof(e->msg), "bad request: action must be set or release");
			return -EINVAL;
		}
		if (set == !!e->st.legal_hold) {
			snprintf(e->msg, sizeof(e->msg), "bad request: the item is %s",
				 set ? "already under legal hold" : "not under legal hold");
			return -EINVAL;
		}
		return new_event(q, ev, set ? CUST_A_HOLD_SET : CUST_A_HOLD_CLEARED);
	}
	case ACCESS_OP_CASE: {
		const char *c = param(q, "case");
		char in[CUST_CASES_MAX + 2 * CUST_CASE_MAX], pad[CUST_CASE_MAX + 3];
		int assign = action && !strcmp(action, "assign"), has;

		if (!assign && (!action || strcmp(action, "unassign"))) {
			snprintf(e->msg, sizeof(e->msg), "bad request: action must be assign or unassign");
			return -EINVAL;
		}
		if (!c || !printable(c, CUST_CASE_MAX)) {
			snprintf(e->msg, sizeof(e->msg), "bad request: case must be 1..%d bytes "
				 "of printable text", CUST_CASE_MAX);
			return -EINVAL;
		}
		snprintf(in, sizeof(in), CUST_CASE_SEP_S "%s" CUST_CASE_SEP_S, e->st.cases);
		snprintf(pad, sizeof(pad), CUST_CASE_SEP_S "%s" CUST_CASE_SEP_S, c);
		has = strstr(in, pad) != NULL;
		if (assign == has) {
			snprintf(e->msg, sizeof(e->msg), "bad request: case %s is %s", c,
				 has ? "already assigned" : "not assigned to the item");
			return -EINVAL;
		}
		if ((rc = new_event(q, ev, assign ? CUST_A_CASE_ASSIGNED : CUST_A_CASE_UNASSIGNED)))
			return rc;
		/* the case_no field is what adds a case (evstate.c) */
		if (assign && (rc = cust_event_set_text(ev->case_no, sizeof(ev->case_no), c)))
			return rc;
		return add_detail(ev, "case", json_string(c));
	}
	case ACCESS_OP_ANNOTATE: {
		const char *t = param(q, "title"), *n = param(q, "notes");
		const char *f = t ? "title" : "notes", *v = t ? t : n;

		if (!t == !n || !printable(v, t ? QOP_STR_MAX : QOP_NOTES_MAX)) {
			snprintf(e->msg, sizeof(e->msg), "bad request: give one of title "
				 "(1..%d bytes) or notes (1..%d bytes), printable text",
				 QOP_STR_MAX, QOP_NOTES_MAX);
			return -EINVAL;
		}
		if ((rc = new_event(q, ev, CUST_A_ANNOTATED)) ||
		    (rc = add_detail(ev, "field", json_string(f))))
			return rc;
		return add_detail(ev, "value", json_string(v));
	}
	default:
		snprintf(e->msg, sizeof(e->msg), "%s is not an edit", q->op_name);
		return -ENOTSUP;
	}
}

/* After the change: the retention date from category, cases and hold; a
 * second event when it differs from the item's current date. */
static int build_retention(struct qop *q, struct edit *e)
{
	struct cust_evstate after = e->st;
	const struct cust_retention *rt = q->ctx->retention;
	const struct cust_retention_rule *rule;
	const char *basis = "category";
	char until[64], from[64];
	int64_t base;
	int32_t days;
	int known, rc, later;
	struct cust_event *ev = &e->ev[1];

	rc = cust_evstate_apply(&after, &e->ev[0], NULL);
	if (rc)
		return rc;
	rule = cust_retention_resolve(rt, after.category, &known);
	days = cust_retention_days(rt, rule, after.cases[0] != '\0', &basis);
	if (after.legal_hold)
		basis = "hold";
	base = retention_base(q, &after);
	if ((rc = cust_retention_until(base, days, after.legal_hold, until, sizeof(until))) ||
	    (rc = cust_utc_text(base, from, sizeof(from))))
		return rc;
	e->n = 1;
	if (!strcmp(until, after.retention_until))
		return 0;
	later = cust_retention_cmp(until, after.retention_until) > 0;
	if ((rc = new_event(q, ev, later ? CUST_A_RETENTION_EXTENDED : CUST_A_RETENTION_SET)) ||
	    (rc = add_detail(ev, "until", json_string(until))) ||
	    (rc = add_detail(ev, "previous", json_string(after.retention_until))) ||
	    (rc = add_detail(ev, "category", json_string(rule->category))) ||
	    (rc = add_detail(ev, "days", json_integer(days))) ||
	    (rc = add_detail(ev, "basis", json_string(basis))) ||
	    (rc = add_detail(ev, "from", json_string(from))))
		return rc;
	e->n = 2;
	return 0;
}

static json_t *refuse(struct qop *q, struct edit *e, int rc)
{
	static const enum cust_action act[] = {
		[ACCESS_OP_CATEGORIZE] = CUST_A_CATEGORIZED,
		[ACCESS_OP_HOLD] = CUST_A_HOLD_SET,
		[ACCESS_OP_CASE] = CUST_A_CASE_ASSIGNED,
		[ACCESS_OP_ANNOTATE] = CUST_A_ANNOTATED,
	};
	enum cust_action a = q->op < sizeof(act) / sizeof(act[0]) && act[q->op] ?
			     act[q->op] : CUST_A_LEDGER_READ;
	const char *action = param(q, "action");
	int64_t seq;

	if (q->op == ACCESS_OP_HOLD && action && !strcmp(action, "release"))
		a = CUST_A_HOLD_CLEARED;
	if (q->op == ACCESS_OP_CASE && action && !strcmp(action, "unassign"))
		a = CUST_A_CASE_UNASSIGNED;
	if (rc != -EINVAL)
		snprintf(e->msg, sizeof(e->msg), "%s failed: %s", q->op_name, strerror(-rc));
	/* failed edits change nothing (evstate applies only "ok") but are
	 * kept: who tried what, and why it was refused */
	seq = qrequest_record_item_(q, a, rc == -EINVAL ? CUST_OUTCOME_FAILED :
				    CUST_OUTCOME_ERROR, "error", e->msg);
	return qrequest_error_(seq < 0 ? "audit-failed" : rc == -EINVAL ? "bad-request" :
			       "error", e->msg, seq);
}

json_t *qop_edit(struct qop *q)
{
	struct edit e;
	json_t *evs, *rec;
	int rc = -EINVAL;	/* set before use; gcc -O1 + ASan cannot tell */

	memset(&e, 0, sizeof(e));
	if (!q->ctx->retention)		/* a host that gave no table: no edits */
		return refuse(q, &e, -ENOTSUP);
	if (!q->item || (rc = load_record(q, &e.st)) < 0)
		return refuse(q, &e, !q->item ? -EINVAL : rc);
	if ((rc = build_change(q, &e)) < 0 || (rc = build_retention(q, &e)) < 0)
		return refuse(q, &e, rc);
	/* change and retention in one commit: never a hold without its date */
	rc = cust_ledger_append_batch(q->ctx->ledger, e.ev, e.n);
	if (rc)
		return refuse(q, &e, rc);
	if (load_record(q, &e.st) < 0 || !(rec = cust_evstate_to_json(&e.st)))
		return NULL;
	evs = json_array();
	for (size_t i = 0; evs && i < e.n; i++)
		json_array_append_new(evs, json_pack("{s:I, s:s}", "seq", (json_int_t)e.ev[i].seq,
						     "action", cust_action_name(e.ev[i].action)));
	if (!evs) {
		json_decref(rec);
		return NULL;
	}
	return json_pack("{s:b, s:s, s:s, s:I, s:{s:s, s:o, s:o}}", "ok", 1, "op", q->op_name,
			 "user", q->user, "audit_seq", (json_int_t)e.ev[0].seq, "result",
			 "item", q->item, "events", evs, "record", rec);
}
