/*
 * verify_facts.c - `custody verify` replays the governing facts: users and
 * roles (user_added / user_removed / permission_changed) into the expected
 * custody_users table, enrolment (device_enrolled / device_revoked) into
 * the expected dock_cameras table, and compares both with the tables in
 * the ledger file (classes table-users, table-cameras). The replayed
 * enrolment is also what the camera's manifest signature of each ingested
 * event is checked against (verify_origin.c).
 *
 * Both tables are small (people and cameras of a dock): linear arrays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "verify_facts.h"

/* Copy details[key] (a string; absent = alt) into dst; -1 if missing,
 * not a string or over cap. */
static int get_str(json_t *d, const char *key, const char *alt, char *dst,
		   size_t cap)
{
	json_t *v = json_object_get(d, key);
	const char *s = v ? json_string_value(v) : alt;

	if (!s || strlen(s) >= cap)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
	size_t nc;
	void *np;

	if (n < *cap)
		return p;
	nc = *cap ? *cap * 2 : 16;
	np = realloc(p, nc * elem);
	if (np)
		*cap = nc;
	return np;
}

static struct fuser *find_user(struct vfacts *f, const char *name)
{
	for (size_t i = 0; i < f->nu; i++)
		if (!strcmp(f->u[i].name, name))
			return &f->u[i];
	return NULL;
}

const struct fcam *verify_facts_camera(const struct vctx *v, const char *serial)
{
	const struct vfacts *f = v->facts;

	for (size_t i = 0; f && i < f->nc; i++)
		if (!strcmp(f->c[i].serial, serial))
			return &f->c[i];
	return NULL;
}

const struct fcam *verify_facts_storage_camera(const struct vctx *v, const char *serial)
{
	const struct vfacts *f = v->facts;

	for (size_t i = 0; f && i < f->nsc; i++)
		if (!strcmp(f->sc[i].serial, serial))
			return &f->sc[i];
	return NULL;
}

static struct fcam *find_storage(struct vfacts *f, const char *vidpid, const char *serial)
{
	for (size_t i = 0; f && i < f->nsc; i++)
		if (!strcmp(f->sc[i].serial, serial) && !strcmp(f->sc[i].vidpid, vidpid))
			return &f->sc[i];
	return NULL;
}

/* device_enrolled / device_revoked of kind "storage": the mass-storage
 * camera list unsigned sources are checked against (verify_origin.c) and
 * the table dock_storage_cameras is compared with (check_storage_cameras). */
static void storage_camera_event(struct vctx *v, const struct cust_event *ev, json_t *d)
{
	struct vfacts *f = v->facts;
	char vid[8], pid[8];
	struct fcam c, *cur;

	memset(&c, 0, sizeof(c));
	if (get_str(d, "serial", NULL, c.serial, sizeof(c.serial)) ||
	    get_str(d, "agency", ev->agency_id, c.agency, sizeof(c.agency)) ||
	    strcmp(c.agency, ev->agency_id) || get_str(d, "vid", NULL, vid, sizeof(vid)) ||
	    get_str(d, "pid", NULL, pid, sizeof(pid)) || strlen(vid) != 4 || strlen(pid) != 4) {
		verify_find(v, "table-cameras", ev->seq, "%s of a mass-storage camera without a "
			    "valid serial, vid, pid and agency", cust_action_name(ev->action));
		return;
	}
	snprintf(c.vidpid, sizeof(c.vidpid), "%s:%s", vid, pid);
	cur = find_storage(f, c.vidpid, c.serial);
	if (ev->action == CUST_A_DEVICE_REVOKED) {
		if (!cur || cur->revoked)
			verify_find(v, "table-cameras", ev->seq, "device_revoked for mass-storage "
				    "camera %s:%s, which is not enrolled", c.vidpid, c.serial);
		else {
			cur->revoked = 1;
			cur->seq = ev->seq;
		}
		return;
	}
	if (get_str(d, "officer", NULL, c.officer, sizeof(c.officer)) ||
	    get_str(d, "profile", NULL, c.profile, sizeof(c.profile))) {
		verify_find(v, "table-cameras", ev->seq, "device_enrolled for mass-storage camera "
			    "%s:%s without an officer and profile", c.vidpid, c.serial);
		return;
	}
	c.seq = ev->seq;
	if (cur && !cur->revoked)
		verify_find(v, "table-cameras", ev->seq, "device_enrolled for mass-storage camera "
			    "%s:%s, which is enrolled already (seq %llu) and was not revoked",
			    c.vidpid, c.serial, (unsigned long long)cur->seq);
	if (cur) {
		*cur = c;
		return;
	}
	if (!(f->sc = grow(f->sc, &f->csc, f->nsc, sizeof(*f->sc)))) {
		f->oom = 1;
		return;
	}
	f->sc[f->nsc++] = c;
}

static void user_event(struct vctx *v, const struct cust_event *ev, json_t *d)
{
	struct vfacts *f = v->facts;
	const char *what = cust_action_name(ev->action);
	struct fuser u, *cur;
	enum custody_role role;

	memset(&u, 0, sizeof(u));
	if (get_str(d, "user", NULL, u.name, sizeof(u.name)) ||
	    get_str(d, "agency", ev->agency_id, u.agency, sizeof(u.agency)) ||
	    strcmp(u.agency, ev->agency_id)) {
		verify_find(v, "table-users", ev->seq, "%s without a valid user and agency", what);
		return;
	}
	cur = find_user(f, u.name);
	if (ev->action != CUST_A_USER_REMOVED &&
	    (get_str(d, "role", NULL, u.role, sizeof(u.role)) ||
	     access_role_parse(u.role, &role) < 0)) {
		verify_find(v, "table-users", ev->seq, "%s for %s names no valid role", what,
			    u.name);
		return;
	}
	u.seq = ev->seq;
	if (ev->action == CUST_A_USER_ADDED) {
		if (cur) {
			verify_find(v, "table-users", ev->seq, "user_added for %s, who was "
				    "already added (seq %llu)", u.name,
				    (unsigned long long)cur->seq);
			*cur = u;
			return;
		}
		if (!(f->u = grow(f->u, &f->cu, f->nu, sizeof(*f->u)))) {
			f->oom = 1;
			return;
		}
		f->u[f->nu++] = u;
		return;
	}
	if (!cur) {
		verify_find(v, "table-users", ev->seq, "%s for %s, who is not a user", what,
			    u.name);
		return;
	}
	if (strcmp(cur->agency, u.agency))
		verify_find(v, "table-users", ev->seq, "%s for %s names agency '%s', the user "
			    "belongs to '%s'", what, u.name, u.agency, cur->agency);
	if (ev->action == CUST_A_USER_REMOVED) {
		*cur = f->u[--f->nu];
		return;
	}
	snprintf(cur->role, sizeof(cur->role), "%s", u.role);
	cur->seq = ev->seq;
}

static void camera_event(struct vctx *v, const struct cust_event *ev, json_t *d)
{
	struct vfacts *f = v->facts;
	struct fcam c, *cur;
	const char *kind = json_string_value(json_object_get(d, "kind"));

	/* A USB mass-storage camera (kind "storage", no key) is a row of
	 * dock_storage_cameras, not of dock_cameras: kept on a list of its own. */
	if (kind && !strcmp(kind, "storage")) {
		storage_camera_event(v, ev, d);
		return;
	}
	memset(&c, 0, sizeof(c));
	if (get_str(d, "serial", NULL, c.serial, sizeof(c.serial)) ||
	    get_str(d, "agency", ev->agency_id, c.agency, sizeof(c.agency)) ||
	    strcmp(c.agency, ev->agency_id)) {
		verify_find(v, "table-cameras", ev->seq, "%s without a valid serial and agency",
			    cust_action_name(ev->action));
		return;
	}
	cur = (struct fcam *)verify_facts_camera(v, c.serial);
	if (ev->action == CUST_A_DEVICE_REVOKED) {
		if (!cur || cur->revoked)
			verify_find(v, "table-cameras", ev->seq, "device_revoked for %s, which "
				    "is not enrolled", c.serial);
		else if (strcmp(cur->agency, c.agency))
			verify_find(v, "table-cameras", ev->seq, "device_revoked for %s by agency "
				    "'%s', enrolled by '%s'", c.serial, c.agency, cur->agency);
		else {
			cur->revoked = 1;
			cur->seq = ev->seq;
		}
		return;
	}
	if (get_str(d, "pubkey", NULL, c.pubkey, sizeof(c.pubkey)) || strlen(c.pubkey) != 64 ||
	    get_str(d, "officer", NULL, c.officer, sizeof(c.officer)) ||
	    get_str(d, "model", NULL, c.model, sizeof(c.model))) {
		verify_find(v, "table-cameras", ev->seq, "device_enrolled for %s without a valid "
			    "pubkey, officer and model", c.serial);
		return;
	}
	c.seq = ev->seq;
	if (cur && !cur->revoked)
		verify_find(v, "table-cameras", ev->seq, "device_enrolled for %s, which is "
			    "enrolled already (seq %llu) and was not revoked", c.serial,
			    (unsigned long long)cur->seq);
	if (cur) {
		*cur = c;
		return;
	}
	if (!(f->c = grow(f->c, &f->cc, f->nc, sizeof(*f->c)))) {
		f->oom = 1;
		return;
	}
	f->c[f->nc++] = c;
}

struct vfacts *verify_facts_state(struct vctx *v)
{
	if (!v->facts && !(v->facts = calloc(1, sizeof(*v->facts))))
		verify_find(v, "record", 0, "out of memory replaying the governing facts");
	return v->facts;
}

void verify_facts_event(struct vctx *v, const struct cust_event *ev)
{
	json_t *d = NULL;

	if (ev->outcome != CUST_OUTCOME_OK)
		return;
	switch (ev->action) {
	case CUST_A_USER_ADDED:
	case CUST_A_USER_REMOVED:
	case CUST_A_PERMISSION_CHANGED:
	case CUST_A_DEVICE_ENROLLED:
	case CUST_A_DEVICE_REVOKED:
		break;
	case CUST_A_INGESTED:
		verify_origin_ingested(v, ev);
		return;
	case CUST_A_RECIPIENT_POLICY:
		verify_origin_policy(v, ev);
		return;
	default:
		return;
	}
	if (!verify_facts_state(v))
		return;
	if (cust_event_details(ev, &d)) {
		verify_find(v, ev->action <= CUST_A_PERMISSION_CHANGED ? "table-users" :
			    "table-cameras", ev->seq, "details are not a JSON object");
		return;
	}
	if (ev->action <= CUST_A_PERMISSION_CHANGED)
		user_event(v, ev, d);
	else
		camera_event(v, ev, d);
	json_decref(d);
}

/* Prepare a table read; TABLE_MISSING = the table does not exist (no
 * rows). Not an SQLite result code, so a loop ending on an error is never
 * mistaken for it. */
#define TABLE_MISSING (-100000)
static int prep(struct vctx *v, const char *sql, sqlite3_stmt **s)
{
	sqlite3 *db = cust_ledger_db(v->l);
	int rc = sqlite3_prepare_v2(db, sql, -1, s, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if (strstr(sqlite3_errmsg(db), "no such table"))
		return TABLE_MISSING;
	return cust_ledger_sqlerr(v->l, rc);
}

static const char *col(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? t : "";
}

static int check_users(struct vctx *v)
{
	struct vfacts *f = v->facts;
	sqlite3_stmt *s;
	struct fuser *u;
	int rc = prep(v, "SELECT name, role, agency, changed_seq FROM custody_users"
		      " ORDER BY name", &s);

	if (rc < 0 && rc != TABLE_MISSING)
		return rc;
	while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = col(s, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 3);

		rc = 0;	/* next row */
		if (!(u = f ? find_user(f, name) : NULL)) {
			verify_find(v, "table-users", seq, "custody_users has a row for %s (role "
				    "'%s') that no event justifies", name, col(s, 1));
			continue;
		}
		u->seen = 1;
		if (strcmp(u->role, col(s, 1)) || strcmp(u->agency, col(s, 2)) || u->seq != seq)
			verify_find(v, "table-users", u->seq, "custody_users row for %s says role "
				    "'%s', agency '%s', seq %llu; its events say '%s', '%s', %llu",
				    name, col(s, 1), col(s, 2), (unsigned long long)seq, u->role,
				    u->agency, (unsigned long long)u->seq);
	}
	if (rc != TABLE_MISSING) {
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return cust_ledger_sqlerr(v->l, rc);
	}
	for (size_t i = 0; f && i < f->nu; i++)
		if (!f->u[i].seen)
			verify_find(v, "table-users", f->u[i].seq, "custody_users has no row for "
				    "%s, whom the events make '%s'", f->u[i].name, f->u[i].role);
	return 0;
}

static int check_cameras(struct vctx *v)
{
	struct vfacts *f = v->facts;
	sqlite3_stmt *s;
	struct fcam *c;
	int rc = prep(v, "SELECT serial, pubkey, officer, model, agency, status, changed_seq"
		      " FROM dock_cameras ORDER BY serial", &s);

	if (rc < 0 && rc != TABLE_MISSING)
		return rc;
	while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *serial = col(s, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 6);

		rc = 0;
		if (!(c = (struct fcam *)verify_facts_camera(v, serial))) {
			verify_find(v, "table-cameras", seq, "dock_cameras has a row for %s (%s, "
				    "key %.16s...) that no event justifies", serial, col(s, 5),
				    col(s, 1));
			continue;
		}
		c->seen = 1;
		if (strcmp(c->pubkey, col(s, 1)) || strcmp(c->officer, col(s, 2)) ||
		    strcmp(c->model, col(s, 3)) || strcmp(c->agency, col(s, 4)) ||
		    strcmp(c->revoked ? "revoked" : "enrolled", col(s, 5)) || c->seq != seq)
			verify_find(v, "table-cameras", c->seq, "dock_cameras row for %s differs "
				    "from its events: stored %s key %.16s... officer %s agency %s seq "
				    "%llu, replayed %s key %.16s... officer %s agency %s seq %llu",
				    serial, col(s, 5), col(s, 1), col(s, 2), col(s, 4),
				    (unsigned long long)seq, c->revoked ? "revoked" : "enrolled",
				    c->pubkey, c->officer, c->agency, (unsigned long long)c->seq);
	}
	if (rc != TABLE_MISSING) {
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return cust_ledger_sqlerr(v->l, rc);
	}
	for (size_t i = 0; f && i < f->nc; i++)
		if (!f->c[i].seen)
			verify_find(v, "table-cameras", f->c[i].seq, "dock_cameras has no row for "
				    "%s, which the events %s", f->c[i].serial,
				    f->c[i].revoked ? "revoke" : "enrol");
	return 0;
}

/* dock_storage_cameras (dockd/ingest/enrol_msc.h) against the replayed
 * mass-storage enrolments: dockd trusts a row only when its changed_seq
 * names the matching event; verify shows any row no event justifies. */
static int check_storage_cameras(struct vctx *v)
{
	struct vfacts *f = v->facts;
	sqlite3_stmt *s;
	struct fcam *c;
	char vidpid[24];
	int rc = prep(v, "SELECT vid, pid, serial, officer, profile, agency, status, changed_seq"
		      " FROM dock_storage_cameras ORDER BY vid, pid, serial", &s);

	if (rc < 0 && rc != TABLE_MISSING)
		return rc;
	while (rc == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 7);

		rc = 0;

		snprintf(vidpid, sizeof(vidpid), "%s:%s", col(s, 0), col(s, 1));
		if (!(c = find_storage(f, vidpid, col(s, 2)))) {
			verify_find(v, "table-cameras", seq, "dock_storage_cameras has a row for "
				    "%s:%s (%s) that no event justifies", vidpid, col(s, 2), col(s, 6));
			continue;
		}
		c->seen = 1;
		if (strcmp(c->officer, col(s, 3)) || strcmp(c->profile, col(s, 4)) ||
		    strcmp(c->agency, col(s, 5)) ||
		    strcmp(c->revoked ? "revoked" : "enrolled", col(s, 6)) || c->seq != seq)
			verify_find(v, "table-cameras", c->seq, "dock_storage_cameras row for %s:%s "
				    "differs from its events: stored %s officer %s profile %s seq %llu, "
				    "replayed %s officer %s profile %s seq %llu", vidpid, col(s, 2),
				    col(s, 6), col(s, 3), col(s, 4), (unsigned long long)seq,
				    c->revoked ? "revoked" : "enrolled", c->officer, c->profile,
				    (unsigned long long)c->seq);
	}
	if (rc != TABLE_MISSING) {
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return cust_ledger_sqlerr(v->l, rc);
	}
	for (size_t i = 0; f && i < f->nsc; i++)
		if (!f->sc[i].seen)
			verify_find(v, "table-cameras", f->sc[i].seq, "dock_storage_cameras has no "
				    "row for %s:%s, which the events %s", f->sc[i].vidpid,
				    f->sc[i].serial, f->sc[i].revoked ? "revoke" : "enrol");
	return 0;
}

int verify_facts_tables(struct vctx *v)
{
	int r;

	if (v->facts && v->facts->oom)
		return -ENOMEM;
	if ((r = check_users(v)))
		return r;
	if ((r = check_cameras(v)))
		return r;
	if ((r = check_storage_cameras(v)))
		return r;
	return 0;
}

void verify_facts_free(struct vctx *v)
{
	if (!v->facts)
		return;
	free(v->facts->u);
	free(v->facts->c);
	free(v->facts->sc);
	free(v->facts);
	v->facts = NULL;
}
