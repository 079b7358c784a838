/* qrequest: identity -> parse -> decide -> run -> record -> reply.
 * See qrequest.h. The operations themselves are in qops.c. */
#include "qrequest.h"
#include "qops.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "event.h"
#include "users.h"

/* Name of the OS account behind uid; "uid-N" when it has none. */
static void peer_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res &&
	    users_name_valid(res->pw_name))
		snprintf(buf, cap, "%s", res->pw_name);
	else
		snprintf(buf, cap, "uid-%lu", (unsigned long)uid);
}

static void identify(struct qop *q)
{
	peer_name(q->peer->uid, q->user, sizeof(q->user));
	q->known = users_lookup(q->ctx->ledger, q->user, &q->u) == 0;
	q->subject.user = q->user;
	q->subject.role = q->known ? q->u.role : CUSTODY_ROLE_NONE;
	q->subject.agency = q->known ? q->u.agency : NULL;
}

/* The details object of every event this module writes. */
static json_t *base_details(const struct qop *q)
{
	json_t *d = json_pack("{s:I, s:I, s:s, s:s}",
			      "uid", (json_int_t)q->peer->uid,
			      "pid", (json_int_t)q->peer->pid,
			      "via", q->via_console ? "console" : "qservice",
			      "role", access_role_name(q->subject.role));

	if (d && q->via_console)
		json_object_set_new(d, "console_account", json_string(q->console));
	if (d && q->packaged)
		json_object_set_new(d, "built_by", json_string("query-service"));
	if (d && q->via_console && q->client)
		json_object_set_new(d, "client", json_string(q->client));

	if (d && q->subject.agency)
		json_object_set_new(d, "user_agency",
				    json_string(q->subject.agency));
	if (d && q->op_name)
		json_object_set_new(d, "op", json_string(q->op_name));
	if (d && q->params)
		json_object_set(d, "params", q->params);
	return d;
}

/* Append one event about this request; returns its seq (> 0) or a
 * negative errno. The agency is the target's when known (so the owning
 * agency's auditors see attempts on their items), else the caller's,
 * else the service's home agency. */
static int64_t record(struct qop *q, enum cust_action action,
		      enum cust_outcome outcome, const char *evidence_id,
		      const char *key, const char *val)
{
	const char *agency = q->have_target ? q->target :
			     q->subject.agency ? q->subject.agency :
			     q->ctx->home_agency;
	struct cust_event ev;
	json_t *d;
	int rc;

	rc = cust_event_init(&ev, agency ? agency : "", CUST_ACTOR_CLERK,
			     q->user, action, evidence_id, outcome);
	if (rc)
		return rc;
	if (q->reason && q->reason[0])
		(void)cust_event_set_text(ev.reason, sizeof(ev.reason),
					  q->reason);
	d = base_details(q);
	if (!d)
		return -ENOMEM;
	if (key && val)
		json_object_set_new(d, key, json_string(val));
	rc = cust_event_set_details(&ev, d);
	json_decref(d);
	if (rc == -E2BIG) {		/* params too long to log: drop them */
		d = base_details(q);
		if (!d)
			return -ENOMEM;
		json_object_del(d, "params");
		json_object_set_new(d, "params_dropped", json_true());
		rc = cust_event_set_details(&ev, d);
		json_decref(d);
	}
	if (!rc)
		rc = cust_ledger_append(q->ctx->ledger, &ev);
	if (rc) {
		fprintf(stderr, "custody qservice: cannot record %s event "
			"for %s: %s\n", cust_action_name(action), q->user,
			strerror(-rc));
		return rc;
	}
	return (int64_t)ev.seq;
}

static json_t *error_reply(const char *code, const char *msg, int64_t seq)
{
	json_t *r = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code,
			      "message", msg);

	if (r && seq > 0)
		json_object_set_new(r, "audit_seq", json_integer(seq));
	return r;
}

static void ledger_lock(const struct qrequest_ctx *c)
{
	if (c->lock)
		c->lock(c->lock_ctx);
}

static void ledger_unlock(const struct qrequest_ctx *c)
{
	if (c->unlock)
		c->unlock(c->lock_ctx);
}

/* Remember an alert; raised by flush_alert() once the lock is released
 * (spawning a process while holding a host daemon's ledger mutex would
 * stall its camera threads for nothing). */
static void defer_alert(struct qop *q, const char *kind, const char *detail)
{
	q->alert_kind = kind;
	q->alert_detail = detail;
}

static void flush_alert(const struct qop *q)
{
	struct alert a = {
		.kind = q->alert_kind, .user = q->user,
		.uid = (long)q->peer->uid, .agency = q->subject.agency,
		.op = q->op_name,
		.target = q->item ? q->item : q->have_target ? q->target : NULL,
		.detail = q->alert_detail,
	};

	if (q->alert_kind)
		(void)alert_raise_async(q->ctx->alerts, &a);
}

static const char *deny_message(enum access_verdict v)
{
	switch (v) {
	case ACCESS_DENY_UNKNOWN_USER:
		return "access denied: you are not a user of the custody ledger";
	case ACCESS_DENY_ROLE:
		return "access denied: your role may not do this";
	case ACCESS_DENY_AGENCY:
	case ACCESS_DENY_NO_TARGET:
		return "access denied: not found in your agency";
	case ACCESS_DENY_NO_REASON:
		return "access denied: a reason is required (--reason)";
	case ACCESS_DENY_UNKNOWN_OP:
		return "access denied: unknown operation";
	case ACCESS_ALLOW:
		break;
	}
	return "access denied";
}

static json_t *deny(struct qop *q, enum access_verdict v)
{
	/* Record the item only if it exists (and so has an agency): a made-up
	 * id must not appear as an evidence id in the ledger. */
	const char *ev_id = q->item && q->have_target ? q->item : "";
	int64_t seq = record(q, CUST_A_ACCESS_DENIED, CUST_OUTCOME_DENIED,
			     ev_id, "verdict", access_verdict_name(v));

	/* Alert on what looks like probing: another agency, a role
	 * overstepped, a stranger, a made-up operation. A missing reason or
	 * a missing item is a mistake, recorded but not alerted. */
	if (v == ACCESS_DENY_AGENCY || v == ACCESS_DENY_ROLE ||
	    v == ACCESS_DENY_UNKNOWN_USER || v == ACCESS_DENY_UNKNOWN_OP)
		defer_alert(q, v == ACCESS_DENY_UNKNOWN_USER ? "unknown-user" :
			    "access-denied", access_verdict_name(v));
	if (seq < 0)
		return error_reply("audit-failed", "request refused; its audit "
				   "record could not be written", 0);
	return error_reply("denied", deny_message(v), seq);
}

/* A request the policy would allow but for its missing reason: a clerk's
 * slip, not a refusal (issue 15: each slip landed in the auditors' denial
 * list). Recorded like any unusable request (logon, outcome error, details
 * error), answered "bad-request"; nothing is run. access_decide()
 * returns deny-no-reason only after the user, role, operation and agency
 * checks passed, so a real refusal is still an access_denied event. */
static json_t *usage_error(struct qop *q)
{
	const char *msg = "bad request: a reason is required (--reason)";
	int64_t seq = record(q, CUST_A_LOGON, CUST_OUTCOME_ERROR,
			     q->item && q->have_target ? q->item : "",
			     "error", msg);

	if (seq < 0)
		return error_reply("audit-failed", "request refused; its audit "
				   "record could not be written", 0);
	return error_reply("bad-request", msg, seq);
}

/* on_behalf / client from a peer that is not the console account. */
static json_t *deny_delegation(struct qop *q)
{
	int64_t seq = record(q, CUST_A_ACCESS_DENIED, CUST_OUTCOME_DENIED, "",
			     "verdict", "deny-delegation");

	defer_alert(q, "access-denied", "deny-delegation");
	if (seq < 0)
		return error_reply("audit-failed", "request refused; its audit "
				   "record could not be written", 0);
	return error_reply("denied", "access denied: only the web console "
			   "may act on behalf of a user", seq);
}

/* The console account acts for the user it authenticated (PAM + TOTP,
 * docs/console.md): from here on that user is the subject - the same
 * roles, agency and deny-by-default as if they had connected themselves;
 * the events say via=console and name the console account. Without
 * on_behalf (a failed login's event) the subject is nobody. */
static void as_console_user(struct qop *q)
{
	snprintf(q->console, sizeof(q->console), "%s", q->user);
	q->via_console = 1;
	snprintf(q->user, sizeof(q->user), "%s",
		 q->on_behalf ? q->on_behalf : "-");
	q->known = q->on_behalf &&
		   users_lookup(q->ctx->ledger, q->user, &q->u) == 0;
	q->subject.user = q->user;
	q->subject.role = q->known ? q->u.role : CUSTODY_ROLE_NONE;
	q->subject.agency = q->known ? q->u.agency : NULL;
}

/* The exporter the service runs for the console's export-package
 * (qpackage.h): the service's own account, an `export` request, and a
 * console configured. That account owns the ledger and could write any
 * event itself, so accepting its on_behalf grants it nothing; the user's
 * roles and agency are then decided as for the console. */
static int by_packager(const struct qop *q)
{
	return q->ctx->console_account && q->peer->uid == geteuid() &&
	       q->op == ACCESS_OP_EXPORT;
}

/* Shared with qconsole.c: record with a given evidence id. */
int64_t qrequest_record_ev_(struct qop *q, enum cust_action action,
			    enum cust_outcome outcome, const char *evidence_id,
			    const char *key, const char *val)
{
	return record(q, action, outcome, evidence_id, key, val);
}

/* The ok reply around a result (taken over), or NULL. */
static json_t *ok_reply(const struct qop *q, int64_t seq, json_t *result)
{
	return json_pack("{s:b, s:s, s:s, s:I, s:o}", "ok", 1, "op",
			 q->op_name, "user", q->user, "audit_seq",
			 (json_int_t)seq, "result", result);
}

/* Record an allowed query's outcome; hand out the result only if the
 * record was written. */
static json_t *answer(struct qop *q, int rc, json_t *result, const char *msg)
{
	int64_t seq;

	if (rc) {
		seq = record(q, CUST_A_LEDGER_READ, CUST_OUTCOME_ERROR,
			     q->have_target && q->item ? q->item : "",
			     "error", msg);
		return error_reply(rc == -ENOTSUP ? "unsupported" :
				   rc == -EINVAL ? "bad-request" : "error",
				   msg, seq);
	}
	seq = record(q, CUST_A_LEDGER_READ, CUST_OUTCOME_OK,
		     q->item ? q->item : "", NULL, NULL);
	if (seq < 0) {
		json_decref(result);
		return error_reply("audit-failed", "query refused: its audit "
				   "record could not be written", 0);
	}
	return ok_reply(q, seq, result);
}

/* A tick of the console's live dock view (docs/console.md "The dock
 * now"): "view" names the console_page_view event of the stream, which
 * is the record of all its ticks, so a tick writes no event of its own.
 * Only when that event is this user's ok view of /dock/events, written
 * through this console account, and not older than a console session
 * lives (12 h). 0: no "view"; 1 and *seq: covered; -1: a bad view. */
static int covered_by_view(const struct qop *q, int64_t *seq)
{
	const char *v = json_string_value(json_object_get(q->params, "view"));
	const json_t *p;
	struct cust_event ev;
	enum cust_clock clk;
	json_t *d = NULL;
	int64_t now;
	char *end;
	unsigned long long n;
	int ok;

	if (!v)
		return 0;
	n = strtoull(v, &end, 10);
	if (!q->via_console || *end || end == v || n == 0 || n > INT64_MAX ||
	    cust_ledger_get(q->ctx->ledger, n, &ev) || cust_event_details(&ev, &d))
		return -1;
	cust_clock_now(&now, &clk);
	p = json_object_get(d, "params");
	ok = ev.action == CUST_A_CONSOLE_PAGE_VIEW && ev.outcome == CUST_OUTCOME_OK &&
	     !strcmp(ev.actor_id, q->user) &&
	     ev.time_ns > now - 12 * 3600 * 1000000000LL &&
	     !strcmp(json_string_value(json_object_get(d, "console_account")) ?: "",
		     q->console) &&
	     !strcmp(json_string_value(json_object_get(p, "path")) ?: "", "/dock/events");
	json_decref(d);
	if (!ok)
		return -1;
	*seq = (int64_t)n;
	return 1;
}

/* witness-status: the "witnesses" member of the dock's status. */
static json_t *witness_part(json_t *st)
{
	json_t *w = json_object_get(st, "witnesses"), *r = json_object();

	if (r) {
		if (json_is_string(json_object_get(st, "dock_id")))
			json_object_set(r, "dock_id", json_object_get(st, "dock_id"));
		if (json_is_string(json_object_get(st, "time")))
			json_object_set(r, "time", json_object_get(st, "time"));
		json_object_set_new(r, "witnesses", json_is_array(w) ? json_incref(w) :
				    json_array());
	}
	json_decref(st);
	return r;
}

/* status: ask the host (dockd) WITHOUT the ledger lock - its status
 * function takes its own locks, possibly the same mutex - then record. */
static json_t *allow_status(struct qop *q)
{
	json_t *st = NULL;
	const char *msg = "status unavailable: no dock in this service";
	int rc = -ENOTSUP, view;
	int64_t seq = 0;

	view = covered_by_view(q, &seq);
	if (view < 0) {
		seq = record(q, CUST_A_ACCESS_DENIED, CUST_OUTCOME_DENIED, "",
			     "verdict", "deny-view");
		defer_alert(q, "access-denied", "deny-view");
		return error_reply(seq < 0 ? "audit-failed" : "denied",
				   "access denied: \"view\" is not this user's live "
				   "view of the dock", seq);
	}
	if (q->ctx->status_fn) {
		ledger_unlock(q->ctx);
		st = q->ctx->status_fn(q->ctx->status_ctx);
		ledger_lock(q->ctx);
		rc = 0;
		if (!json_is_object(st)) {
			json_decref(st);
			st = NULL;
			rc = -EIO;
			msg = "status unavailable: the dock did not answer";
		}
	}
	if (!rc && q->op == ACCESS_OP_WITNESS_STATUS && !(st = witness_part(st)))
		rc = -ENOMEM;
	if (!rc && view > 0)	/* a tick of a recorded view */
		return ok_reply(q, seq, st);
	return answer(q, rc, st, msg);
}

/* Allowed: run it, record it, and only then hand out the result. */
static json_t *allow(struct qop *q)
{
	json_t *result = NULL;
	char msg[160];
	int rc;

	if (q->op == ACCESS_OP_USER_ADMIN)
		return qop_user_admin(q);
	if (q->op == ACCESS_OP_STATUS || q->op == ACCESS_OP_WITNESS_STATUS)
		return allow_status(q);
	if (qop_is_edit(q->op))
		return qop_edit(q);
	if (qop_is_destroy(q))
		return qop_destroy(q);
	if (qop_is_export(q->op))
		return qop_export(q);
	rc = qop_run(q, &result, msg, sizeof(msg));
	return answer(q, rc, result, msg);
}

int qrequest_handle(const struct qrequest_ctx *ctx, const struct qpeer *peer,
		    const char *req, size_t len, json_t **reply)
{
	struct qop q;
	enum access_verdict v;
	char msg[160];
	json_t *r;
	int64_t seq;

	memset(&q, 0, sizeof(q));
	q.ctx = ctx;
	q.peer = peer;
	ledger_lock(ctx);
	identify(&q);
	if (qop_parse(&q, req, len, msg, sizeof(msg)) < 0) {
		seq = record(&q, CUST_A_LOGON, CUST_OUTCOME_ERROR, "",
			     "error", msg);
		if (!q.known)
			defer_alert(&q, "unknown-user", msg);
		r = error_reply(seq < 0 ? "audit-failed" : "bad-request", msg,
				seq);
		goto out;
	}
	if (q.on_behalf && !q.client && !q.console_event && by_packager(&q)) {
		as_console_user(&q);	/* the console's package (qpackage.h) */
		snprintf(q.console, sizeof(q.console), "%s", ctx->console_account);
		q.packaged = 1;
	} else if ((q.on_behalf || q.client || q.console_event) &&
	    (!ctx->console_account || strcmp(q.user, ctx->console_account))) {
		if (q.on_behalf || q.client) {
			/* acting for someone else is the console's alone */
			r = deny_delegation(&q);
			goto out;
		}
		/* console-event from anyone else: an unknown op, denied */
	} else if (q.on_behalf || q.console_event) {
		as_console_user(&q);
		if (q.console_event) {
			r = qop_console_event(&q);
			goto out;
		}
	}
	qop_target(&q);
	{
		struct access_request ar = { q.op, q.have_target ? q.target :
					     NULL, q.reason };
		v = access_decide(&q.subject, &ar);
	}
	r = v == ACCESS_ALLOW ? allow(&q) :
	    v == ACCESS_DENY_NO_REASON ? usage_error(&q) : deny(&q, v);
out:
	ledger_unlock(ctx);
	flush_alert(&q);
	json_decref(q.req);
	json_decref(q.params);
	if (!r)
		return -ENOMEM;
	*reply = r;
	return 0;
}

int qrequest_reject(const struct qrequest_ctx *ctx, const struct qpeer *peer,
		    const char *why, const char *message, json_t **reply)
{
	struct qop q;
	int64_t seq;

	memset(&q, 0, sizeof(q));
	q.ctx = ctx;
	q.peer = peer;
	ledger_lock(ctx);
	identify(&q);
	seq = record(&q, CUST_A_LOGON, CUST_OUTCOME_ERROR, "", "error", why);
	ledger_unlock(ctx);
	if (!q.known)
		defer_alert(&q, "unknown-user", why);
	flush_alert(&q);
	if (!reply)
		return 0;
	*reply = error_reply(seq < 0 ? "audit-failed" : why, message, seq);
	return *reply ? 0 : -ENOMEM;
}

/* Shared with qops.c: record a user-admin outcome (lock held). */
int64_t qrequest_record_(struct qop *q, enum cust_action action,
			 enum cust_outcome outcome, const char *key,
			 const char *val)
{
	return record(q, action, outcome, "", key, val);
}

/* Shared with qedit.c: a failed edit is recorded on the item. */
int64_t qrequest_record_item_(struct qop *q, enum cust_action action,
			      enum cust_outcome outcome, const char *key,
			      const char *val)
{
	return record(q, action, outcome, q->item && q->have_target ? q->item : "",
		      key, val);
}

json_t *qrequest_details_(const struct qop *q)
{
	return base_details(q);
}

json_t *qrequest_error_(const char *code, const char *msg, int64_t seq)
{
	return error_reply(code, msg, seq);
}
