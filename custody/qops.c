/* qops: request parsing, target agency, and the operations of the query
 * service. See qops.h. */
#include "qops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proof.h"
#include "query.h"
#include "receipt.h"
#include "receipt_ledger.h"

/* Keys each operation accepts besides "op" (and "reason", always). */
static const char *const keys_history[] = { "item", NULL };
static const char *const keys_proof[] = { "item", NULL };
static const char *const keys_search[] = {
	"officer", "camera", "category", "case", "status", "from", "to",
	"docked_from", "docked_to", "hold", "due", "refused",
	"limit", "agency", NULL };
static const char *const keys_events[] = {
	"action", "from", "to", "limit", "agency", NULL };
static const char *const keys_users[] = { "agency", NULL };
static const char *const keys_admin[] = {
	"action", "user", "role", "agency", NULL };
static const char *const keys_none[] = { "agency", NULL };
static const char *const keys_status[] = { "view", NULL };
static const char *const keys_empty[] = { NULL };
static const char *const keys_alerts[] = { "from", "to", "limit", NULL };
static const char *const keys_categorize[] = { "item", "category", NULL };
static const char *const keys_hold[] = { "item", "action", NULL };
static const char *const keys_case[] = { "item", "action", "case", NULL };
static const char *const keys_annotate[] = { "item", "title", "notes", NULL };
static const char *const keys_due[] = { "agency", "limit", NULL };
static const char *const keys_destroy[] = { "item", "action", NULL };
static const char *const keys_console[] = {
	"event", "outcome", "claimed", "path", "item", "detail", NULL };
/* docs/custody-access.md "Exports from a workstation" */
static const char *const keys_export[] = {
	"item", "command", "case", "evidence_sha256", "key_id", "recipient_key_id",
	"until", "share_id", "share_sha256", "header_sha256", "plaintext_sha256",
	"out", "file", "format", "package", "error", "workstation", NULL };
static const char *const keys_rissue[] = { "workstation", "key", "count", NULL };
static const char *const keys_rfile[] = { "receipt", NULL };

/* Audit actions an auditor may list (prefixes of event.h names). */
static const char *const audit_prefixes[] = {
	"logon", "ledger_read", "access_denied", "user_",
	"permission_changed", "ledger_verified", "config_changed",
	"key_changed", "privileged_action", "console_", NULL };

/* The events that raise an alert when written (op "alerts";
 * docs/console.md "Alerts"): refusals of people and of cameras, evidence
 * that failed its checks, a link worker killed, a receipt refused. */
static const char *const alert_prefixes[] = {
	"access_denied", "device_rejected", "integrity_failed", "quarantined",
	"link_worker_killed", "receipt_refused", "console_lockout",
	"console_refused", NULL };

static const char *const *keys_for(enum access_op op)
{
	switch (op) {
	case ACCESS_OP_HISTORY: return keys_history;
	case ACCESS_OP_PROOF: return keys_proof;
	case ACCESS_OP_HOLD: return keys_hold;
	case ACCESS_OP_CATEGORIZE: return keys_categorize;
	case ACCESS_OP_CASE: return keys_case;
	case ACCESS_OP_ANNOTATE: return keys_annotate;
	case ACCESS_OP_DUE: return keys_due;
	case ACCESS_OP_DESTROY: return keys_destroy;
	case ACCESS_OP_SEARCH: return keys_search;
	case ACCESS_OP_ACCESS_EVENTS: return keys_events;
	case ACCESS_OP_USER_LIST: return keys_users;
	case ACCESS_OP_USER_ADMIN: return keys_admin;
	case ACCESS_OP_STATUS: return keys_status;
	case ACCESS_OP_EXPORT: return keys_export;
	case ACCESS_OP_RECEIPT_ISSUE: return keys_rissue;
	case ACCESS_OP_RECEIPT_FILE: return keys_rfile;
	case ACCESS_OP_ALERTS: return keys_alerts;
	case ACCESS_OP_WITNESS_STATUS: return keys_empty;
	default: return keys_none;
	}
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static int check_keys(json_t *params, const char *const *keys,
		      const char *op_name, char *msg, size_t cap)
{
	const char *k;
	json_t *v;

	json_object_foreach(params, k, v) {
		if (!in_list(keys, k)) {
			snprintf(msg, cap, "bad request: unknown key \"%.40s\" "
				 "for op %s", k, op_name);
			return -EINVAL;
		}
		if (strcmp(k, "limit") == 0 || strcmp(k, "count") == 0) {
			int lim = k[0] == 'l' ? CUST_SEARCH_MAX_LIMIT : RECEIPT_ISSUE_MAX;

			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > lim) {
				snprintf(msg, cap, "bad request: %s must be "
					 "1..%d", k, lim);
				return -EINVAL;
			}
			continue;
		}
		{
			/* notes are free text, paths and errors may be long, a
			 * receipt is a whole signed text */
			size_t max = !strcmp(k, "notes") ? QOP_NOTES_MAX :
				     !strcmp(k, "receipt") ? RECEIPT_MAX :
				     (!strcmp(k, "out") || !strcmp(k, "file") ||
				      !strcmp(k, "error")) ? QOP_PATH_MAX : QOP_STR_MAX;
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > max ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				snprintf(msg, cap, "bad request: \"%.40s\" must be a "
					 "string of 1..%zu bytes", k, max);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_params(json_t *params, enum access_op op, char *msg,
			size_t cap)
{
	return check_keys(params, keys_for(op), access_op_name(op), msg, cap);
}

/* "on_behalf" (a user name) and "client" (the browser's address, printable
 * ASCII) come from the web console only (qrequest.c checks who sent
 * them); taken out of params so each op's key list stays its own. */
static int console_keys(struct qop *q, char *msg, size_t cap)
{
	json_t *ob = json_object_get(q->req, "on_behalf");
	json_t *cl = json_object_get(q->req, "client");

	if (ob && (!json_is_string(ob) || !users_name_valid(json_string_value(ob)))) {
		snprintf(msg, cap, "bad request: \"on_behalf\" must be a user name");
		return -EINVAL;
	}
	if (cl) {
		const char *c = json_string_value(cl);
		size_t i, n = c ? json_string_length(cl) : 0;

		if (!c || n == 0 || n > 64 || strlen(c) != n) {
			snprintf(msg, cap, "bad request: \"client\" must be an address");
			return -EINVAL;
		}
		for (i = 0; i < n; i++)
			if (c[i] <= ' ' || c[i] > '~') {
				snprintf(msg, cap, "bad request: \"client\" must be an address");
				return -EINVAL;
			}
	}
	q->on_behalf = ob ? json_string_value(ob) : NULL;
	q->client = cl ? json_string_value(cl) : NULL;
	json_object_del(q->params, "on_behalf");
	json_object_del(q->params, "client");
	return 0;
}

int qop_parse(struct qop *q, const char *buf, size_t len, char *msg,
	      size_t cap)
{
	json_error_t jerr;
	json_t *op, *reason;

	q->req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!q->req || !json_is_object(q->req)) {
		snprintf(msg, cap, "bad request: not a JSON object (%.80s)",
			 q->req ? "wrong type" : jerr.text);
		return -EINVAL;
	}
	op = json_object_get(q->req, "op");
	if (!json_is_string(op)) {
		snprintf(msg, cap, "bad request: \"op\" missing");
		return -EINVAL;
	}
	reason = json_object_get(q->req, "reason");
	if (reason && !json_is_string(reason)) {
		snprintf(msg, cap, "bad request: \"reason\" must be a string");
		return -EINVAL;
	}
	q->reason = reason ? json_string_value(reason) : NULL;
	q->params = json_deep_copy(q->req);
	if (!q->params) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	json_object_del(q->params, "op");
	json_object_del(q->params, "reason");
	if (console_keys(q, msg, cap) < 0)
		return -EINVAL;
	if (strcmp(json_string_value(op), "console-event") == 0) {
		/* not an access op: qrequest.c lets only the console
		 * account through, everyone else is denied (unknown op) */
		q->op = ACCESS_OP_NONE;
		q->op_name = "console-event";
		q->console_event = 1;
		if (check_keys(q->params, keys_console, q->op_name, msg, cap) < 0)
			return -EINVAL;
		q->item = json_string_value(json_object_get(q->params, "item"));
		return 0;
	}
	if (access_op_parse(json_string_value(op), &q->op) < 0) {
		/* Denied by policy, not a syntax error: keep what was asked
		 * (cut short) for the record, drop the rest. */
		q->op = ACCESS_OP_NONE;
		q->op_name = "unknown";
		json_object_clear(q->params);
		json_object_set_new(q->params, "op_requested",
				    json_stringn(json_string_value(op),
					 json_string_length(op) > 64 ? 64 :
					 json_string_length(op)));
		return 0;
	}
	q->op_name = access_op_name(q->op);
	if (check_params(q->params, q->op, msg, cap) < 0)
		return -EINVAL;
	q->item = json_string_value(json_object_get(q->params, "item"));
	return 0;
}

static void set_target(struct qop *q, const char *agency)
{
	if (!access_agency_valid(agency))
		return;
	snprintf(q->target, sizeof(q->target), "%s", agency);
	q->have_target = 1;
}

void qop_target(struct qop *q)
{
	const char *agency = json_string_value(json_object_get(q->params,
								"agency"));
	const char *action, *user;
	struct cust_user u;

	switch (q->op) {
	case ACCESS_OP_HISTORY:
	case ACCESS_OP_PROOF:
	case ACCESS_OP_HOLD:
	case ACCESS_OP_CATEGORIZE:
	case ACCESS_OP_CASE:
	case ACCESS_OP_ANNOTATE:
	case ACCESS_OP_DESTROY:
	case ACCESS_OP_EXPORT:
		if (q->item && cust_ledger_item_agency(q->ctx->ledger, q->item,
				q->target, sizeof(q->target)) == 0 &&
		    access_agency_valid(q->target))
			q->have_target = 1;
		return;
	case ACCESS_OP_USER_ADMIN:
		action = json_string_value(json_object_get(q->params,
							   "action"));
		user = json_string_value(json_object_get(q->params, "user"));
		if (action && strcmp(action, "add") == 0)
			set_target(q, agency);
		else if (user && users_lookup(q->ctx->ledger, user, &u) == 0)
			set_target(q, u.agency);
		return;
	case ACCESS_OP_STATUS:
	case ACCESS_OP_WITNESS_STATUS:
		/* the service reports on its own dock, nothing else */
		set_target(q, q->ctx->home_agency);
		return;
	case ACCESS_OP_NONE:
		return;
	default:
		set_target(q, agency ? agency : q->subject.agency);
		return;
	}
}

static const char *param(const struct qop *q, const char *k)
{
	return json_string_value(json_object_get(q->params, k));
}

/* Time parameters into ns; a bare date as an upper bound means the end
 * of it. A time without a zone is UTC here, never the service's zone
 * (`custody remote` sends the clerk's dates with their offset). */
static int time_param(const struct qop *q, const char *k, int upper, int64_t *ns,
		      char *msg, size_t cap)
{
	const char *v = param(q, k);

	*ns = 0;
	if (v && cust_parse_time_utc(v, upper, ns) < 0) {
		snprintf(msg, cap, "bad request: %s must be an ISO 8601 date or "
			 "date-time", k);
		return -EINVAL;
	}
	return 0;
}

static int time_range(const struct qop *q, int64_t *from, int64_t *to,
		      char *msg, size_t cap)
{
	int rc = time_param(q, "from", 0, from, msg, cap);

	return rc ? rc : time_param(q, "to", 1, to, msg, cap);
}

/* "yes" / absent; anything else is a bad request. */
static int flag_param(const struct qop *q, const char *k, int *on, char *msg,
		      size_t cap)
{
	const char *v = param(q, k);

	*on = v && !strcmp(v, "yes");
	if (v && !*on) {
		snprintf(msg, cap, "bad request: %s must be \"yes\" when given", k);
		return -EINVAL;
	}
	return 0;
}

static size_t limit_of(const struct qop *q)
{
	json_t *l = json_object_get(q->params, "limit");

	return l ? (size_t)json_integer_value(l) : 0;
}

static int run_search(struct qop *q, json_t **out, char *msg, size_t cap)
{
	struct cust_search s;
	const char *hold = param(q, "hold");
	int rc, refused = 0;

	memset(&s, 0, sizeof(s));
	s.officer = param(q, "officer");
	s.camera = param(q, "camera");
	s.category = param(q, "category");
	s.case_no = param(q, "case");
	s.status = param(q, "status");
	s.limit = limit_of(q);
	if (s.status && !cust_status_valid(s.status)) {
		snprintf(msg, cap, "bad request: status \"%.40s\" is not one of: %s",
			 s.status, CUST_STATUS_NAMES);
		return -EINVAL;
	}
	if (hold && strcmp(hold, "yes") && strcmp(hold, "no")) {
		snprintf(msg, cap, "bad request: hold must be \"yes\" or \"no\"");
		return -EINVAL;
	}
	s.hold = !hold ? 0 : hold[0] == 'y' ? CUST_HOLD_YES : CUST_HOLD_NO;
	if ((rc = time_range(q, &s.from_ns, &s.to_ns, msg, cap)) ||
	    (rc = time_param(q, "docked_from", 0, &s.docked_from_ns, msg, cap)) ||
	    (rc = time_param(q, "docked_to", 1, &s.docked_to_ns, msg, cap)) ||
	    (rc = flag_param(q, "due", &s.due, msg, cap)) ||
	    (rc = flag_param(q, "refused", &refused, msg, cap)))
		return rc;
	if (refused) {
		if (s.officer || s.category || s.case_no || s.status || s.hold || s.due ||
		    s.docked_from_ns || s.docked_to_ns) {
			snprintf(msg, cap, "bad request: refused takes only camera, from, "
				 "to, limit");
			return -EINVAL;
		}
		return cust_query_refusals(q->ctx->ledger, q->target, s.camera, s.from_ns,
					   s.to_ns, s.limit, out);
	}
	return cust_query_search(q->ctx->ledger, q->target, &s, out);
}

static int by_seq_desc(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(
		*(json_t *const *)a, "seq"));
	json_int_t y = json_integer_value(json_object_get(
		*(json_t *const *)b, "seq"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Gather the events of every audit prefix asked for, newest first. */
static int collect_events(struct qop *q, const char *const *prefixes,
			  int64_t from, int64_t to, size_t limit,
			  json_t *all, int *truncated)
{
	for (; *prefixes; prefixes++) {
		json_t *res = NULL, *ev;
		size_t i;
		int rc = cust_query_events(q->ctx->ledger, q->target,
					   *prefixes, from, to, limit, &res);
		if (rc)
			return rc;
		if (json_is_true(json_object_get(res, "truncated")))
			*truncated = 1;
		json_array_foreach(json_object_get(res, "events"), i, ev)
			json_array_append(all, ev);
		json_decref(res);
	}
	return 0;
}

/* Events of the actions in `allowed` (prefixes), one of them when the
 * request names "action". */
static int run_events(struct qop *q, const char *const *allowed, json_t **out,
		      char *msg, size_t cap)
{
	const char *action = param(q, "action");
	const char *one[2] = { action, NULL };
	size_t limit = limit_of(q) ? limit_of(q) : CUST_SEARCH_DEFAULT_LIMIT;
	int64_t from, to;
	int truncated = 0, rc;
	json_t *all, *sorted;
	size_t n;

	if (action) {
		int ok = 0;
		for (const char *const *p = allowed; *p; p++)
			ok |= strncmp(action, *p, strlen(*p)) == 0;
		if (!ok) {
			snprintf(msg, cap, "bad request: action must be an "
				 "audit action (logon, ledger_read, ...)");
			return -EINVAL;
		}
	}
	rc = time_range(q, &from, &to, msg, cap);
	if (rc)
		return rc;
	all = json_array();
	if (!all)
		return -ENOMEM;
	rc = collect_events(q, action ? one : allowed, from, to, limit,
			    all, &truncated);
	if (rc)
		goto fail;
	n = json_array_size(all);
	{
		json_t **v = calloc(n ? n : 1, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(all, i);
		qsort(v, n, sizeof(*v), by_seq_desc);
		sorted = json_array();
		for (size_t i = 0; sorted && i < n && i < limit; i++)
			json_array_append(sorted, v[i]);
		free(v);
	}
	if (!sorted) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = json_pack("{s:I, s:b, s:o}", "count",
			 (json_int_t)json_array_size(sorted), "truncated",
			 truncated || n > limit, "events", sorted);
	json_decref(all);
	return *out ? 0 : -ENOMEM;
fail:
	json_decref(all);
	return rc;
}

int qop_run(struct qop *q, json_t **out, char *msg, size_t cap)
{
	int rc;

	snprintf(msg, cap, "query failed");
	switch (q->op) {
	case ACCESS_OP_HISTORY:
		rc = cust_query_history(q->ctx->ledger, q->target, q->item,
					out);
		break;
	case ACCESS_OP_SEARCH:
		rc = run_search(q, out, msg, cap);
		break;
	case ACCESS_OP_ACCESS_EVENTS:
		rc = run_events(q, audit_prefixes, out, msg, cap);
		break;
	case ACCESS_OP_ALERTS:
		rc = run_events(q, alert_prefixes, out, msg, cap);
		break;
	case ACCESS_OP_USER_LIST:
		rc = users_list(q->ctx->ledger, q->target, out);
		break;
	case ACCESS_OP_PROOF:
		/* docs/custody-ledger.md "Proof files"; with the host's
		 * signer the file carries events_claim */
		rc = cust_proof_build(q->ctx->ledger, q->target, q->item,
				      q->ctx->proof_signer, out);
		if (rc == -ENODATA)
			snprintf(msg, cap, "no proof yet: the ledger has no "
				 "checkpoint (the dock signs one within "
				 "[ledger] checkpoint_interval_s)");
		if (rc == -ENODATA)
			return rc;
		break;
	case ACCESS_OP_DUE:
	case ACCESS_OP_DESTROY:
		rc = qop_destroy_read(q, out, msg, cap);
		break;
	default:
		snprintf(msg, cap, "%s is not offered by the query service",
			 q->op_name);
		return -ENOTSUP;
	}
	if (rc && rc != -EINVAL)
		snprintf(msg, cap, "query failed: %s", strerror(-rc));
	return rc;
}

static json_t *admin_fail(struct qop *q, enum cust_action action,
			  const char *msg)
{
	int64_t seq = qrequest_record_(q, action, CUST_OUTCOME_FAILED,
				       "error", msg);

	return qrequest_error_(seq < 0 ? "audit-failed" : "bad-request", msg,
			       seq);
}

json_t *qop_user_admin(struct qop *q)
{
	const char *action = param(q, "action"), *user = param(q, "user");
	const char *rname = param(q, "role");
	struct users_actor who = { CUST_ACTOR_CLERK, q->user,
				   (long)q->peer->uid, q->reason };
	enum custody_role role = CUSTODY_ROLE_NONE;
	enum cust_action ea = CUST_A_PERMISSION_CHANGED;
	uint64_t seq = 0;
	char msg[256];
	int rc;

	if (action && strcmp(action, "add") == 0)
		ea = CUST_A_USER_ADDED;
	else if (action && strcmp(action, "remove") == 0)
		ea = CUST_A_USER_REMOVED;
	else if (!action || strcmp(action, "set-role") != 0)
		return admin_fail(q, ea, "bad request: action must be add, "
				  "remove or set-role");
	if (!user || (ea != CUST_A_USER_REMOVED &&
		      (!rname || access_role_parse(rname, &role) < 0)))
		return admin_fail(q, ea, "bad request: user and a valid role "
				  "(clerk, supervisor, auditor, admin) needed");
	if (ea == CUST_A_USER_ADDED)
		rc = users_add(q->ctx->ledger, &who, user, role, q->target,
			       &seq);
	else if (ea == CUST_A_USER_REMOVED)
		rc = users_remove(q->ctx->ledger, &who, user, &seq);
	else
		rc = users_set_role(q->ctx->ledger, &who, user, role, &seq);
	if (rc) {
		snprintf(msg, sizeof(msg), "user %s failed: %s", action,
			 rc == -EEXIST ? "user exists" : rc == -ENOENT ?
			 "no such user" : rc == -EROFS ? "this service holds the "
			 "ledger read-only (dockd's query process): run `custody "
			 "user` on the dock as the service account" : strerror(-rc));
		return admin_fail(q, ea, msg);
	}
	return json_pack("{s:b, s:s, s:s, s:I, s:{s:s, s:s, s:s?, s:s}}",
			 "ok", 1, "op", q->op_name, "user", q->user,
			 "audit_seq", (json_int_t)seq, "result",
			 "action", action, "user", user,
			 "role", rname, "agency", q->target);
}
