#ifndef CUSTODY_ACCESS_H
#define CUSTODY_ACCESS_H

#include <stddef.h>
/*
 * access: the role model of the custody ledger, as one pure decision
 * function. No I/O, no ledger handle, no globals: the caller resolves who
 * is asking (OS user -> role + agency, see users.h) and which agency the
 * target belongs to (the item's agency, or the agency a search/audit view
 * is restricted to), then asks access_decide() whether to go on.
 *
 * Deny by default: anything not explicitly listed in the table below is
 * refused - an unknown user (role NONE), an unknown operation, an empty or
 * unknown target agency, a cross-agency request, a data read without a
 * reason. There is no cross-agency super-role: even an admin only manages
 * the users of its own agency. (The service account / root acting locally
 * on the ledger file is outside this model: file permissions are its
 * authority, see docs/custody-access.md.)
 *
 *   op               clerk supervisor auditor admin  reason required
 *   history            x      x                          yes
 *   search             x      x                          yes
 *   hold, categorize          x                          yes
 *   case, annotate     x      x                          yes
 *   due                x      x          x               no
 *   destroy                   x                          yes
 *     (request and approve by two different supervisors: qdestroy.c)
 *   access-events                       x                yes
 *   verify, proof                       x                no
 *   user-list                           x       x        no
 *   user-admin                                  x        no
 *   status             x      x          x       x       no
 *   export             x      x                          yes
 *     (an export, share or decryption made at a workstation)
 *   receipt-issue             x                          yes
 *   receipt-file       x      x                          no
 *     (the receipt carries its own reason)
 *   alerts                              x                no
 *   witness-status                      x                no
 *
 * All of them only within the subject's own agency.
 */

enum custody_role {
	CUSTODY_ROLE_NONE = 0,	/* unknown / unmapped user: nothing allowed */
	CUSTODY_ROLE_CLERK,
	CUSTODY_ROLE_SUPERVISOR,
	CUSTODY_ROLE_AUDITOR,
	CUSTODY_ROLE_ADMIN,
};

enum access_op {
	ACCESS_OP_NONE = 0,	/* unknown operation: always denied */
	ACCESS_OP_HISTORY,	/* custody history of one item */
	ACCESS_OP_SEARCH,	/* search items / events */
	ACCESS_OP_HOLD,		/* legal hold set / release (docs/retention.md) */
	ACCESS_OP_CATEGORIZE,	/* change a recording's category */
	ACCESS_OP_ACCESS_EVENTS,/* read the access/audit events themselves */
	ACCESS_OP_VERIFY,	/* verify the ledger chain */
	ACCESS_OP_PROOF,	/* inclusion / consistency proofs */
	ACCESS_OP_USER_LIST,	/* list users and roles */
	ACCESS_OP_USER_ADMIN,	/* add / remove users, change roles */
	ACCESS_OP_STATUS,	/* the dock's live status (no evidence data) */
	ACCESS_OP_CASE,		/* assign / unassign a case number */
	ACCESS_OP_ANNOTATE,	/* set an item's title or notes */
	ACCESS_OP_DUE,		/* list items past their retention date */
	ACCESS_OP_DESTROY,	/* destruction plan / request / approve */
	ACCESS_OP_EXPORT,	/* record an export/share/decrypt made at a
				 * workstation, before its output exists */
	ACCESS_OP_RECEIPT_ISSUE,/* pre-authorize offline export receipts */
	ACCESS_OP_RECEIPT_FILE,	/* file a signed offline export receipt */
	ACCESS_OP_ALERTS,	/* the ledger events that raise alerts */
	ACCESS_OP_WITNESS_STATUS,/* each configured witness, as the dock sees it */
};

enum access_verdict {
	ACCESS_ALLOW = 0,
	ACCESS_DENY_UNKNOWN_USER,	/* role NONE or no agency */
	ACCESS_DENY_UNKNOWN_OP,
	ACCESS_DENY_ROLE,		/* role may not perform op */
	ACCESS_DENY_AGENCY,		/* target in another agency */
	ACCESS_DENY_NO_TARGET,		/* target agency unknown/empty */
	ACCESS_DENY_NO_REASON,		/* reason required but missing */
};

/* Who is asking. Strings are borrowed; NULL/"" agency means none. */
struct access_subject {
	const char *user;
	enum custody_role role;
	const char *agency;
};

/* What is asked: the op, the agency the target belongs to (NULL when the
 * target does not exist - denied, so a missing item and another agency's
 * item look the same to the caller), and the stated reason. */
struct access_request {
	enum access_op op;
	const char *target_agency;
	const char *reason;
};

/* The decision. Pure: same inputs, same answer. NULL pointers deny. */
enum access_verdict access_decide(const struct access_subject *who,
				  const struct access_request *req);

/* Short stable token for a verdict ("allow", "deny-agency", ...), for
 * events and replies. Never NULL. */
const char *access_verdict_name(enum access_verdict v);

/* Role names: "clerk", "supervisor", "auditor", "admin" ("none" for NONE).
 * access_role_parse() returns 0 and sets *out, or -EINVAL (out untouched);
 * "none" is not accepted: an unmapped user is removed, not given a role. */
const char *access_role_name(enum custody_role r);
int access_role_parse(const char *s, enum custody_role *out);

/* Operation names as used on the wire: "history", "search", "hold",
 * "categorize", "access-events", "verify", "proof", "user-list",
 * "user-admin", "status", "case", "annotate", "due", "destroy", "export",
 * "receipt-issue", "receipt-file". Parse returns 0 or -EINVAL. */
const char *access_op_name(enum access_op op);
int access_op_parse(const char *s, enum access_op *out);

/* Longest reason accepted (bytes; the ledger's reason field cap). A
 * reason must also contain a non-blank and no control character. */
#define ACCESS_REASON_MAX 512

/* Does op require a reason (see table)? Unknown op: 1. */
int access_op_needs_reason(enum access_op op);

/* Agency names: 1..64 chars of [A-Za-z0-9._-]; returns 1 if valid. */
int access_agency_valid(const char *s);
/* 1 when s is 1..max characters of [A-Za-z0-9._-] (agency ids, user
 * names): the one charset rule both share. */
int access_token_valid(const char *s, size_t max);

#endif
