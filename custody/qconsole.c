/* qconsole: the web console's own events through the query service
 * ({"op":"console-event"}, docs/console.md "Events"). Only the console
 * account gets here (qrequest.c); the console has already authenticated
 * the user, or reports a login that failed. */
#include "qops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ledger.h"

static const struct {
	const char *name;
	enum cust_action action;
} console_events[] = {
	{ "login", CUST_A_CONSOLE_LOGIN },
	{ "logout", CUST_A_CONSOLE_LOGOUT },
	{ "page_view", CUST_A_CONSOLE_PAGE_VIEW },
	{ "download", CUST_A_CONSOLE_DOWNLOAD },
	{ "refused", CUST_A_CONSOLE_REFUSED },
	{ "lockout", CUST_A_CONSOLE_LOCKOUT },
};

static int outcome_parse(const char *s, enum cust_outcome *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "ok"))
		*out = CUST_OUTCOME_OK;
	else if (!strcmp(s, "failed"))
		*out = CUST_OUTCOME_FAILED;
	else if (!strcmp(s, "denied"))
		*out = CUST_OUTCOME_DENIED;
	else
		return -EINVAL;
	return 0;
}

static const char *param(const struct qop *q, const char *k)
{
	return json_string_value(json_object_get(q->params, k));
}

/* The event's agency: the user's; for a failed login the agency of the
 * account that was tried (its auditors see attacks on it); else the
 * dock's own (record() falls back to home_agency). */
static void pick_agency(struct qop *q)
{
	const char *claimed = param(q, "claimed");
	struct cust_user u;

	if (q->known) {
		snprintf(q->target, sizeof(q->target), "%s", q->u.agency);
		q->have_target = 1;
	} else if (claimed && users_name_valid(claimed) &&
		   users_lookup(q->ctx->ledger, claimed, &u) == 0) {
		snprintf(q->target, sizeof(q->target), "%s", u.agency);
		q->have_target = 1;
	}
}

json_t *qop_console_event(struct qop *q)
{
	const char *ev = param(q, "event"), *item = param(q, "item");
	enum cust_action action = 0;
	enum cust_outcome outcome;
	char agency[CUST_AGENCY_MAX + 1];
	int64_t seq;
	size_t i;

	for (i = 0; ev && i < sizeof(console_events) / sizeof(console_events[0]); i++)
		if (!strcmp(ev, console_events[i].name))
			action = console_events[i].action;
	if (!action || outcome_parse(param(q, "outcome"), &outcome) < 0)
		return qrequest_error_("bad-request", "bad request: console-event "
				       "needs a known \"event\" and \"outcome\" "
				       "(ok, failed, denied)", 0);
	pick_agency(q);
	/* A login PAM accepted but the ledger does not know: the user gets
	 * nothing, recorded as denied (deny by default). */
	if (action == CUST_A_CONSOLE_LOGIN && outcome == CUST_OUTCOME_OK &&
	    !q->known) {
		seq = qrequest_record_ev_(q, action, CUST_OUTCOME_DENIED, "",
					  "verdict", "deny-unknown-user");
		q->alert_kind = "unknown-user";
		q->alert_detail = "console login of an unmapped account";
		return qrequest_error_(seq < 0 ? "audit-failed" : "denied",
				       "access denied: you are not a user of "
				       "the custody ledger", seq);
	}
	/* An item is named only when it exists in the user's own agency: the
	 * console cannot write another agency's evidence id into the ledger. */
	if (item && (!q->known || cust_ledger_item_agency(q->ctx->ledger, item,
				agency, sizeof(agency)) ||
		     strcmp(agency, q->u.agency)))
		return qrequest_error_("bad-request", "bad request: no such item "
				       "in the user's agency", 0);
	if (action == CUST_A_CONSOLE_LOCKOUT || action == CUST_A_CONSOLE_REFUSED) {
		/* probing: raised like the service's own refusals */
		q->alert_kind = action == CUST_A_CONSOLE_LOCKOUT ?
				"console-lockout" : "access-denied";
		q->alert_detail = action == CUST_A_CONSOLE_LOCKOUT ?
				  "too many failed logins" : "console-refused";
	}
	seq = qrequest_record_ev_(q, action, outcome, item ? item : "", NULL, NULL);
	if (seq < 0)
		return qrequest_error_("audit-failed", "console event could not "
				       "be written", 0);
	/* the console shows the actions of the user's role (the service
	 * still decides each one) */
	return json_pack("{s:b, s:s, s:s, s:I, s:{s:s, s:s}}", "ok", 1, "op",
			 "console-event", "user", q->user, "audit_seq",
			 (json_int_t)seq, "result", "role",
			 access_role_name(q->subject.role), "agency",
			 q->known ? q->u.agency : "");
}
