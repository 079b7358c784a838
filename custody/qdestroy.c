/*
 * qdestroy.c - the retention engine's side of the query service: `due`
 * (items past their retention date, not held) and `destroy` (plan, request,
 * approve) with the two-person rule. The query service only RECORDS the
 * decisions; dockd, which holds the storage credentials, carries out an
 * approved destruction and records `destroyed` (dockd/lifecycle/destroy.c). Model:
 * docs/retention.md "Destruction"; events: docs/custody-ledger.md.
 * Runs with the ledger lock held (qrequest.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "destruction.h"
#include "qops.h"

static const char *param(const struct qop *q, const char *k)
{
	return json_string_value(json_object_get(q->params, k));
}

static int64_t now_ns(void)
{
	int64_t t;
	enum cust_clock c;

	cust_clock_now(&t, &c);
	return t;
}

int qop_is_destroy(const struct qop *q)
{
	const char *a = param(q, "action");

	return q->op == ACCESS_OP_DESTROY && a &&
	       (!strcmp(a, "request") || !strcmp(a, "approve"));
}

/* due, and destroy plan (the dry run): read-only, recorded as ledger_read
 * by the caller. The plan says whether a request would be accepted now. */
int qop_destroy_read(struct qop *q, json_t **out, char *msg, size_t cap)
{
	const struct cust_retention *rt = q->ctx->retention;
	json_t *l = json_object_get(q->params, "limit"), *plan = NULL;
	struct cust_evstate st;
	const char *why = NULL, *a = param(q, "action");
	char m[240];
	int rc;

	if (q->op == ACCESS_OP_DUE) {
		rc = cust_destroy_due(q->ctx->ledger, q->target, now_ns(),
				      l ? (size_t)json_integer_value(l) : 0, &plan);
		if (rc == 0 && !(*out = json_pack("{s:I, s:o}", "count",
				(json_int_t)json_array_size(plan), "items", plan)))
			rc = -ENOMEM;
		return rc;
	}
	if (!a || strcmp(a, "plan") || !q->item) {
		snprintf(msg, cap, "bad request: action must be plan, request or approve");
		return -EINVAL;
	}
	if (!rt) {
		snprintf(msg, cap, "destruction is not offered without a [retention] table");
		return -ENOTSUP;
	}
	if ((rc = cust_destroy_record(q->ctx->ledger, q->item, &st)) ||
	    (rc = cust_destroy_plan(q->ctx->ledger, &st, &plan)))
		return rc;
	rc = cust_destroy_check(q->ctx->ledger, rt, &st, now_ns(), &why, m, sizeof(m));
	json_object_set_new(plan, "retention_until", json_string(st.retention_until));
	json_object_set_new(plan, "category", json_string(st.category));
	json_object_set_new(plan, "allowed", json_boolean(rc == 0));
	if (rc)
		json_object_set_new(plan, "refused", json_string(m));
	*out = plan;
	return 0;
}

/* Record a refused request / approval: the attempt's own action with
 * outcome failed (policy refusals: denied) and the reason in details;
 * a policy violation is alerted. */
static json_t *refuse(struct qop *q, enum cust_action a, const char *why,
		      const char *msg, int alert)
{
	static char detail[240];	/* the service is single-threaded */
	enum cust_outcome o = alert ? CUST_OUTCOME_DENIED : CUST_OUTCOME_FAILED;
	int64_t seq = qrequest_record_item_(q, a, o, "error", msg);

	if (alert) {
		snprintf(detail, sizeof(detail), "%s: %s", why, msg);
		q->alert_kind = "destruction-refused";
		q->alert_detail = detail;
	}
	return qrequest_error_(seq < 0 ? "audit-failed" : alert ? "denied" : "bad-request",
			       msg, seq);
}

/* The event a successful request / approval writes, with the plan. */
static int build(struct qop *q, struct cust_event *ev, enum cust_action a,
		 json_t *plan, const struct cust_destroy_req *r)
{
	json_t *d = qrequest_details_(q);
	int rc = cust_event_init(ev, q->target, CUST_ACTOR_CLERK, q->user, a, q->item,
				 CUST_OUTCOME_OK);

	if (!d)
		return -ENOMEM;
	json_object_del(d, "params");
	json_object_set(d, "plan", plan);
	if (r) {
		json_object_set_new(d, "request_seq", json_integer((json_int_t)r->seq));
		json_object_set_new(d, "requested_by", json_string(r->by));
	}
	if (rc == 0 && q->reason)
		rc = cust_event_set_text(ev->reason, sizeof(ev->reason), q->reason);
	if (rc == 0)
		rc = cust_event_set_details(ev, d);
	json_decref(d);
	return rc;
}

json_t *qop_destroy(struct qop *q)
{
	const struct cust_retention *rt = q->ctx->retention;
	int approve = !strcmp(param(q, "action"), "approve");
	enum cust_action a = approve ? CUST_A_DESTRUCTION_APPROVED :
			     CUST_A_DESTRUCTION_REQUESTED;
	struct cust_destroy_req r;
	struct cust_evstate st;
	struct cust_event ev;
	json_t *plan = NULL, *reply;
	const char *why = NULL;
	char msg[240];
	int rc, have_req;

	if (!rt)
		return refuse(q, a, "config", "destruction is not offered without a"
			      " [retention] table", 0);
	if (!q->item || cust_destroy_record(q->ctx->ledger, q->item, &st))
		return refuse(q, a, "item", "bad request: no such item", 0);
	rc = cust_destroy_open_request(q->ctx->ledger, q->item, &r);
	if (rc && rc != -ENOENT)
		return refuse(q, a, "ledger", "destruction failed: cannot read the ledger", 0);
	have_req = rc == 0;
	if (have_req && r.approved_seq) {
		snprintf(msg, sizeof(msg), "already approved by %s (event %llu): dockd "
			 "carries it out", r.approved_by, (unsigned long long)r.approved_seq);
		return refuse(q, a, "pending", msg, 0);
	}
	if (!approve && have_req) {
		snprintf(msg, sizeof(msg), "already requested by %s (event %llu): it needs"
			 " a second supervisor's approval", r.by, (unsigned long long)r.seq);
		return refuse(q, a, "pending", msg, 0);
	}
	if (approve && !have_req)
		return refuse(q, a, "no-request", "no destruction request to approve:"
			      " a destruction needs a request first", 1);
	/* two-person rule: the approver is not the requester */
	if (approve && !strcmp(r.by, q->user)) {
		snprintf(msg, sizeof(msg), "two-person rule: %s requested this destruction"
			 " and may not approve it", q->user);
		return refuse(q, a, "same-person", msg, 1);
	}
	if (cust_destroy_check(q->ctx->ledger, rt, &st, now_ns(), &why, msg, sizeof(msg)))
		return refuse(q, a, why, msg, strcmp(why, "destroyed") != 0);
	if ((rc = cust_destroy_plan(q->ctx->ledger, &st, &plan)) ||
	    (rc = build(q, &ev, a, plan, approve ? &r : NULL)) ||
	    (rc = cust_ledger_append(q->ctx->ledger, &ev))) {
		json_decref(plan);
		snprintf(msg, sizeof(msg), "destruction failed: %s", strerror(-rc));
		return refuse(q, a, "error", msg, 0);
	}
	reply = json_pack("{s:b, s:s, s:s, s:I, s:{s:s, s:s, s:I, s:o}}", "ok", 1, "op",
			  q->op_name, "user", q->user, "audit_seq", (json_int_t)ev.seq,
			  "result", "item", q->item, "event", cust_action_name(a), "seq",
			  (json_int_t)ev.seq, "plan", plan);
	return reply;
}
