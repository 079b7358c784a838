/* users: user -> role/agency mapping in the ledger file. See users.h. */
#include "users.h"
#include "access.h"
#include "facts.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS custody_users ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" role TEXT NOT NULL,"
	" agency TEXT NOT NULL,"
	" changed_seq INTEGER NOT NULL,"
	" changed_ns INTEGER NOT NULL)";

int users_name_valid(const char *s)
{
	/* no leading '-': a name must never read as a command-line option */
	return s && s[0] != '-' && access_token_valid(s, USERS_NAME_MAX);
}

/* Prepare; a missing table (nobody added yet) is -ENOENT. */
static int prepare(struct cust_ledger *l, const char *sql, sqlite3_stmt **st)
{
	sqlite3 *db = cust_ledger_db(l);
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if (strstr(sqlite3_errmsg(db), "no such table"))
		return -ENOENT;
	return -EIO;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* The row as stored; *seq = its changed_seq. */
static int lookup_row(struct cust_ledger *l, const char *name,
		      struct cust_user *out, uint64_t *seq)
{
	sqlite3_stmt *st = NULL;
	struct cust_user u;
	int rc;

	if (!l || !users_name_valid(name))
		return -EINVAL;
	rc = prepare(l, "SELECT role, agency, changed_seq FROM custody_users "
		     "WHERE name = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_BUSY ? -EBUSY : -EIO;
		goto out;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	copy_text(u.agency, sizeof(u.agency), sqlite3_column_text(st, 1));
	/* A row we cannot understand grants nothing. */
	if (access_role_parse((const char *)sqlite3_column_text(st, 0),
			      &u.role) < 0 || !access_agency_valid(u.agency)) {
		rc = -EINVAL;
		goto out;
	}
	*out = u;
	*seq = (uint64_t)sqlite3_column_int64(st, 2);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int users_lookup(struct cust_ledger *l, const char *name,
		 struct cust_user *out)
{
	struct cust_user u;
	uint64_t seq = 0;
	int rc = lookup_row(l, name, &u, &seq);

	/* Deny by default: a row that no event set (a direct SQL write)
	 * grants nothing (facts.h). */
	if (!rc)
		rc = facts_user_backed(l, u.name, access_role_name(u.role),
				       u.agency, seq);
	if (!rc)
		*out = u;
	return rc;
}

static int list_rows(sqlite3_stmt *st, json_t *arr)
{
	char when[64];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o;

		if (cust_format_utc(sqlite3_column_int64(st, 4), when,
				    sizeof(when)) < 0)
			snprintf(when, sizeof(when), "?");
		o = json_pack("{s:s?, s:s?, s:s?, s:I, s:s}",
			      "user", (const char *)sqlite3_column_text(st, 0),
			      "role", (const char *)sqlite3_column_text(st, 1),
			      "agency", (const char *)sqlite3_column_text(st, 2),
			      "changed_seq",
			      (json_int_t)sqlite3_column_int64(st, 3),
			      "changed", when);
		if (!o || json_array_append_new(arr, o) < 0)
			return -ENOMEM;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int users_list(struct cust_ledger *l, const char *agency, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr, *res;
	int rc;

	if (!l || (agency && !access_agency_valid(agency)))
		return -EINVAL;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	rc = prepare(l, "SELECT name, role, agency, changed_seq, changed_ns "
		     "FROM custody_users WHERE ?1 IS NULL OR agency = ?1 "
		     "ORDER BY name", &st);
	if (rc == 0) {
		if (agency)
			sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
		rc = list_rows(st, arr);
		sqlite3_finalize(st);
	} else if (rc == -ENOENT) {
		rc = 0;		/* no table yet: nobody */
	}
	if (rc)
		goto fail;
	res = json_pack("{s:o}", "users", arr);
	if (!res)
		return -ENOMEM;
	*out = res;
	return 0;
fail:
	json_decref(arr);
	return rc;
}

/* Run one statement with up to three text parameters and an event seq.
 * Returns the number of changed rows or a negative errno. */
static int exec_change(struct cust_ledger *l, const char *sql, const char *a,
		       const char *b, const char *c, const struct cust_event *ev)
{
	sqlite3 *db = cust_ledger_db(l);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	/* ?4/?5 exist only in INSERT and UPDATE: SQLITE_RANGE elsewhere
	 * is expected and harmless. */
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->seq);
	sqlite3_bind_int64(st, 5, ev->time_ns);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_BUSY ? -EBUSY : -EIO;
	return sqlite3_changes(db);
}

/* Build the event of a change. */
static int make_event(struct cust_event *ev, const struct users_actor *who,
		      enum cust_action action, const char *agency,
		      const char *name, const char *role,
		      const char *old_role)
{
	json_t *d;
	int rc;

	rc = cust_event_init(ev, agency, who->kind, who->id, action, NULL,
			     CUST_OUTCOME_OK);
	if (rc)
		return rc;
	if (who->reason && who->reason[0]) {
		rc = cust_event_set_text(ev->reason, sizeof(ev->reason),
					 who->reason);
		if (rc)
			return rc;
	}
	d = json_pack("{s:s, s:s, s:I}", "user", name, "agency", agency,
		      "actor_uid", (json_int_t)who->uid);
	if (!d)
		return -ENOMEM;
	if ((role && json_object_set_new(d, "role", json_string(role))) ||
	    (old_role &&
	     json_object_set_new(d, "old_role", json_string(old_role)))) {
		json_decref(d);
		return -ENOMEM;
	}
	rc = cust_event_set_details(ev, d);
	json_decref(d);
	return rc;
}

/* Common frame: begin, ensure the table, look up, event + change,
 * commit; rollback on any failure. */
enum change_kind { CH_ADD, CH_REMOVE, CH_SET_ROLE };

static int apply(struct cust_ledger *l, struct cust_event *ev,
		 enum change_kind kind, const char *name, const char *role,
		 const char *agency)
{
	int n;

	switch (kind) {
	case CH_ADD:
		n = exec_change(l, "INSERT OR IGNORE INTO custody_users "
				"VALUES (?1, ?2, ?3, ?4, ?5)",
				name, role, agency, ev);
		return n < 0 ? n : n == 1 ? 0 : -EEXIST;
	case CH_REMOVE:
		n = exec_change(l, "DELETE FROM custody_users WHERE name = ?1",
				name, NULL, NULL, ev);
		return n < 0 ? n : n == 1 ? 0 : -ENOENT;
	case CH_SET_ROLE:
		n = exec_change(l, "UPDATE custody_users SET role = ?2, "
				"changed_seq = ?4, changed_ns = ?5 "
				"WHERE name = ?1", name, role, NULL, ev);
		return n < 0 ? n : n == 1 ? 0 : -ENOENT;
	}
	return -EINVAL;
}

static int change(struct cust_ledger *l, const struct users_actor *who,
		  enum change_kind kind, const char *name,
		  enum custody_role role, const char *agency, uint64_t *seq)
{
	static const enum cust_action actions[] = {
		[CH_ADD] = CUST_A_USER_ADDED,
		[CH_REMOVE] = CUST_A_USER_REMOVED,
		[CH_SET_ROLE] = CUST_A_PERMISSION_CHANGED,
	};
	struct cust_event ev;
	struct cust_user cur;
	uint64_t cur_seq;
	const char *rname = kind == CH_REMOVE ? NULL : access_role_name(role);
	const char *old = NULL;
	int rc;

	if (!l || !who || !who->id || !users_name_valid(name))
		return -EINVAL;
	if (kind != CH_REMOVE && access_role_parse(rname, &role) < 0)
		return -EINVAL;
	if (kind == CH_ADD && !access_agency_valid(agency))
		return -EINVAL;
	if (cust_ledger_readonly(l))
		return -EROFS;
	rc = cust_ledger_begin(l);
	if (rc)
		return rc;
	if (sqlite3_exec(cust_ledger_db(l), schema, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = -EIO;
		goto fail;
	}
	/* The raw row: an administrator may remove or fix a row that no
	 * event backs (the change is then recorded like any other). */
	if (kind == CH_ADD) {
		rc = lookup_row(l, name, &cur, &cur_seq);
		if (rc != -ENOENT) {
			rc = rc ? rc : -EEXIST;
			goto fail;
		}
	} else {
		rc = lookup_row(l, name, &cur, &cur_seq);
		if (rc)
			goto fail;
		agency = cur.agency;
		old = access_role_name(cur.role);
	}
	rc = make_event(&ev, who, actions[kind], agency, name, rname, old);
	if (!rc)
		rc = cust_ledger_append(l, &ev);
	if (!rc)
		rc = apply(l, &ev, kind, name, rname, agency);
	if (rc)
		goto fail;
	rc = cust_ledger_commit(l);
	if (rc)
		goto fail;
	if (seq)
		*seq = ev.seq;
	return 0;
fail:
	cust_ledger_rollback(l);
	return rc;
}

int users_add(struct cust_ledger *l, const struct users_actor *who,
	      const char *name, enum custody_role role, const char *agency,
	      uint64_t *seq)
{
	return change(l, who, CH_ADD, name, role, agency, seq);
}

int users_remove(struct cust_ledger *l, const struct users_actor *who,
		 const char *name, uint64_t *seq)
{
	return change(l, who, CH_REMOVE, name, CUSTODY_ROLE_NONE, NULL, seq);
}

int users_set_role(struct cust_ledger *l, const struct users_actor *who,
		   const char *name, enum custody_role role, uint64_t *seq)
{
	return change(l, who, CH_SET_ROLE, name, role, NULL, seq);
}
