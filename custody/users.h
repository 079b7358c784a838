#ifndef CUSTODY_USERS_H
#define CUSTODY_USERS_H
/*
 * users: the OS user -> (role, agency) mapping of the access control,
 * kept inside the ledger file.
 *
 * Storage: table `custody_users(name PRIMARY KEY, role, agency,
 * changed_seq, changed_ns)` in the ledger's SQLite file (derived state),
 * created on first change. Every change is made in ONE transaction with
 * its ledger event, so the table never differs from the event history:
 *
 *   users_add      -> event user_added         details {user, role,
 *                                                 agency, actor_uid}
 *   users_remove   -> event user_removed       details {user, old_role,
 *                                                 agency, actor_uid}
 *   users_set_role -> event permission_changed details {user, role,
 *                                     old_role, agency, actor_uid}
 *
 * The table is a cache of these events: users_lookup() refuses a row
 * that its event does not back (facts.h), and `custody verify` replays
 * the events and reports any difference (class table-users).
 *
 * with the event's agency_id = the user's agency and the actor given by
 * the caller (who made the change, and through which path: the query
 * service for an admin, or "local" for the service account / root
 * working on the file directly - the bootstrap of the first admin).
 *
 * This module does NOT decide who may change what: callers ask
 * access_decide() (ACCESS_OP_USER_ADMIN) first, or rely on file
 * permissions for local use. A user is one OS account name; the role and
 * agency are looked up by name (the query service maps the SO_PEERCRED
 * uid to a name with getpwuid_r).
 *
 * Errors: 0 or negative errno: -ENOENT no such user, -EEXIST already
 * present, -EINVAL bad name/agency/role, -EROFS read-only ledger, other
 * ledger errors passed through (nothing changed on any error).
 */

#include <jansson.h>

#include "access.h"
#include "ledger.h"

#define USERS_NAME_MAX 64

struct cust_user {
	char name[USERS_NAME_MAX + 1];
	enum custody_role role;
	char agency[CUST_AGENCY_MAX + 1];
};

/* Who makes a change (recorded as the event's actor). */
struct users_actor {
	enum cust_actor_kind kind;	/* CLERK for a person via the service,
					 * SYSTEM for local file access */
	const char *id;			/* actor_id, e.g. "alice" or
					 * "local:root" */
	long uid;			/* recorded in details; -1 unknown */
	const char *reason;		/* may be NULL */
};

/* 1 if s is a valid user name: 1..64 chars of [A-Za-z0-9._-], not
 * starting with '-'. */
int users_name_valid(const char *s);

/* Look a user up by name. -ENOENT if unknown (also when no user was
 * ever added), -EPERM if the row is not backed by the event it names
 * (written around this module: it grants nothing). out untouched on
 * failure. */
int users_lookup(struct cust_ledger *l, const char *name,
		 struct cust_user *out);

/* All users of agency (NULL = all agencies) as
 * {"users": [{"user", "role", "agency", "changed_seq", "changed"}...]}
 * ordered by name. */
int users_list(struct cust_ledger *l, const char *agency, json_t **out);

/* Changes: one transaction = table change + event. On success the
 * event's seq is stored in *seq (may be NULL). */
int users_add(struct cust_ledger *l, const struct users_actor *who,
	      const char *name, enum custody_role role, const char *agency,
	      uint64_t *seq);
int users_remove(struct cust_ledger *l, const struct users_actor *who,
		 const char *name, uint64_t *seq);
int users_set_role(struct cust_ledger *l, const struct users_actor *who,
		   const char *name, enum custody_role role, uint64_t *seq);

#endif
