/* access: role model, a pure decision table. See access.h. */
#include "access.h"

#include <errno.h>
#include <string.h>

#define ROLE_BIT(r) (1u << (r))

/* One row per operation: which roles may do it and whether it needs a
 * reason. Rows not present (or op NONE) deny. */
static const struct op_rule {
	enum access_op op;
	const char *name;
	unsigned roles;
	int needs_reason;
} rules[] = {
	{ ACCESS_OP_HISTORY, "history",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_SEARCH, "search",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_HOLD, "hold", ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_CATEGORIZE, "categorize",
	  ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	/* Case numbers and notes are the clerks' daily work; the category
	 * and a legal hold decide how long evidence lives: supervisors. */
	{ ACCESS_OP_CASE, "case",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_ANNOTATE, "annotate",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	/* Which items are due is a list of ids and dates, no content. */
	{ ACCESS_OP_DUE, "due",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR) |
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR), 0 },
	/* Destroying evidence: supervisors, two of them (docs/retention.md). */
	{ ACCESS_OP_DESTROY, "destroy", ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_ACCESS_EVENTS, "access-events",
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR), 1 },
	{ ACCESS_OP_VERIFY, "verify", ROLE_BIT(CUSTODY_ROLE_AUDITOR), 0 },
	/* An item's inclusion proofs hold its events (as history does):
	 * who may read the history may take the proof, with a reason. */
	{ ACCESS_OP_PROOF, "proof",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR) |
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR), 1 },
	{ ACCESS_OP_USER_LIST, "user-list",
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR) | ROLE_BIT(CUSTODY_ROLE_ADMIN), 0 },
	{ ACCESS_OP_USER_ADMIN, "user-admin", ROLE_BIT(CUSTODY_ROLE_ADMIN), 0 },
	/* Which cameras are docked and how far their pulls are: operational
	 * state every role of the dock's agency needs, no evidence content. */
	{ ACCESS_OP_STATUS, "status",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR) |
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR) | ROLE_BIT(CUSTODY_ROLE_ADMIN), 0 },
	/* Evidence leaving the custody system (docs/custody-access.md
	 * "Exports from a workstation"): who may read it may hand it on, with
	 * a reason; offline receipts are a supervisor's pre-authorization;
	 * filing one back is routine (its signature is the authority). */
	{ ACCESS_OP_EXPORT, "export",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_RECEIPT_ISSUE, "receipt-issue",
	  ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 1 },
	{ ACCESS_OP_RECEIPT_FILE, "receipt-file",
	  ROLE_BIT(CUSTODY_ROLE_CLERK) | ROLE_BIT(CUSTODY_ROLE_SUPERVISOR), 0 },
	/* The auditors' views of the web console (docs/console.md): refusals,
	 * rejected cameras, lockouts, and whether the outside witnesses keep
	 * up - oversight, not clerks' work; listed without a reason like
	 * verify (each read is still a ledger_read event). */
	{ ACCESS_OP_ALERTS, "alerts", ROLE_BIT(CUSTODY_ROLE_AUDITOR), 0 },
	{ ACCESS_OP_WITNESS_STATUS, "witness-status",
	  ROLE_BIT(CUSTODY_ROLE_AUDITOR), 0 },
};

static const char *const role_names[] = {
	[CUSTODY_ROLE_NONE] = "none",
	[CUSTODY_ROLE_CLERK] = "clerk",
	[CUSTODY_ROLE_SUPERVISOR] = "supervisor",
	[CUSTODY_ROLE_AUDITOR] = "auditor",
	[CUSTODY_ROLE_ADMIN] = "admin",
};

static const struct op_rule *rule_for(enum access_op op)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].op == op)
			return &rules[i];
	return NULL;
}

int access_token_valid(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int access_agency_valid(const char *s)
{
	return access_token_valid(s, 64);
}

/* A reason is free text a person will read in the audit trail: it must
 * say something (not only blanks), fit the cap and carry no control
 * characters that could forge log lines. */
static int reason_valid(const char *s)
{
	int seen = 0;
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, ACCESS_REASON_MAX + 1);
	if (n > ACCESS_REASON_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c != ' ')
			seen = 1;
	}
	return seen;
}

enum access_verdict access_decide(const struct access_subject *who,
				  const struct access_request *req)
{
	const struct op_rule *r;

	if (!who || !req)
		return ACCESS_DENY_UNKNOWN_USER;
	if (who->role <= CUSTODY_ROLE_NONE || who->role > CUSTODY_ROLE_ADMIN ||
	    !access_agency_valid(who->agency))
		return ACCESS_DENY_UNKNOWN_USER;
	r = rule_for(req->op);
	if (!r)
		return ACCESS_DENY_UNKNOWN_OP;
	if (!(r->roles & ROLE_BIT(who->role)))
		return ACCESS_DENY_ROLE;
	if (!access_agency_valid(req->target_agency))
		return ACCESS_DENY_NO_TARGET;
	if (strcmp(req->target_agency, who->agency) != 0)
		return ACCESS_DENY_AGENCY;
	if (r->needs_reason && !reason_valid(req->reason))
		return ACCESS_DENY_NO_REASON;
	return ACCESS_ALLOW;
}

const char *access_verdict_name(enum access_verdict v)
{
	switch (v) {
	case ACCESS_ALLOW: return "allow";
	case ACCESS_DENY_UNKNOWN_USER: return "deny-unknown-user";
	case ACCESS_DENY_UNKNOWN_OP: return "deny-unknown-op";
	case ACCESS_DENY_ROLE: return "deny-role";
	case ACCESS_DENY_AGENCY: return "deny-agency";
	case ACCESS_DENY_NO_TARGET: return "deny-no-target";
	case ACCESS_DENY_NO_REASON: return "deny-no-reason";
	}
	return "deny";
}

const char *access_role_name(enum custody_role r)
{
	if (r < CUSTODY_ROLE_NONE || r > CUSTODY_ROLE_ADMIN)
		return "none";
	return role_names[r];
}

int access_role_parse(const char *s, enum custody_role *out)
{
	if (!s)
		return -EINVAL;
	for (int r = CUSTODY_ROLE_CLERK; r <= CUSTODY_ROLE_ADMIN; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum custody_role)r;
			return 0;
		}
	}
	return -EINVAL;
}

const char *access_op_name(enum access_op op)
{
	const struct op_rule *r = rule_for(op);

	return r ? r->name : "none";
}

int access_op_parse(const char *s, enum access_op *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(s, rules[i].name) == 0) {
			*out = rules[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

int access_op_needs_reason(enum access_op op)
{
	const struct op_rule *r = rule_for(op);

	return r ? r->needs_reason : 1;
}
