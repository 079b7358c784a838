/*
 * ledger.c - the SQLite custody ledger: open/create, append with group
 * commit, read. Schema and durability rules: docs/custody-ledger.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstate.h"
#include "ledger_int.h"

enum { ST_INS_EVENT, ST_SEL_STATE, ST_UPSERT_STATE, ST_INS_CASE,
       ST_GET_TREE, ST_SET_TREE, ST_MAX_SEQ, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
	[ST_INS_EVENT] = "INSERT INTO events(" CUST_EVENT_COLS ", canon, "
		"leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11, ?12, ?13, ?14)",
	[ST_SEL_STATE] = cust_evstate_select_sql,
	[ST_UPSERT_STATE] = cust_evstate_upsert_sql,
	[ST_INS_CASE] = cust_evstate_case_sql,
	[ST_GET_TREE] = "SELECT frontier FROM tree WHERE id = 1",
	[ST_SET_TREE] = "UPDATE tree SET frontier = ?1 WHERE id = 1",
	[ST_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
};

struct cust_ledger {
	sqlite3 *db;
	char *path;
	int rdonly;
	sqlite3_stmt *st[ST_COUNT];
	char err[512];
};

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE evidence(evidence_id TEXT PRIMARY KEY, agency_id TEXT NOT NULL,"
	" status TEXT, size INTEGER, sha256 TEXT, officer TEXT, camera TEXT,"
	" category TEXT, retention_until TEXT, legal_hold INTEGER NOT NULL,"
	" local_copy INTEGER NOT NULL, object_key TEXT, version_id TEXT, etag TEXT,"
	" cases TEXT, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
	" n_events INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL);"
	"CREATE INDEX evidence_officer ON evidence(agency_id, officer, first_ns);"
	"CREATE INDEX evidence_camera ON evidence(agency_id, camera, first_ns);"
	"CREATE INDEX evidence_category ON evidence(agency_id, category, first_ns);"
	"CREATE INDEX evidence_status ON evidence(agency_id, status, first_ns);"
	"CREATE INDEX evidence_time ON evidence(agency_id, first_ns);"
	"CREATE TABLE evidence_cases(case_no TEXT NOT NULL, evidence_id TEXT NOT NULL"
	" REFERENCES evidence(evidence_id), PRIMARY KEY(case_no, evidence_id)) WITHOUT ROWID;"
	"CREATE TABLE events(seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
	" clock INTEGER NOT NULL, agency_id TEXT NOT NULL, actor_kind INTEGER NOT NULL,"
	" actor_id TEXT NOT NULL, action INTEGER NOT NULL, evidence_id TEXT"
	" REFERENCES evidence(evidence_id) DEFERRABLE INITIALLY DEFERRED,"
	" outcome INTEGER NOT NULL, reason TEXT NOT NULL, case_no TEXT NOT NULL,"
	" details TEXT NOT NULL, canon BLOB NOT NULL, leaf_hash BLOB NOT NULL);"
	"CREATE INDEX events_item ON events(evidence_id, seq);"
	"CREATE INDEX events_action ON events(agency_id, action, seq);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN"
	" SELECT RAISE(ABORT, 'custody events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN"
	" SELECT RAISE(ABORT, 'custody events are append-only'); END;"
	"CREATE TABLE tree(id INTEGER PRIMARY KEY CHECK (id = 1), frontier BLOB NOT NULL);"
	"INSERT INTO tree VALUES (1, x'0000000000000000');"
	"CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, note TEXT NOT NULL,"
	" created_ns INTEGER NOT NULL);"
	"CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN"
	" SELECT RAISE(ABORT, 'checkpoints are write-once'); END;"
	"CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN"
	" SELECT RAISE(ABORT, 'checkpoints are write-once'); END;"
	"INSERT INTO meta VALUES ('format', '" CUST_LEDGER_FORMAT "'),"
	" ('schema', '" CUST_LEDGER_SCHEMA "');";

void cust_ledger_seterr(struct cust_ledger *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
}

int cust_ledger_sqlerr(struct cust_ledger *l, int rc)
{
	cust_ledger_seterr(l, "%s: %s", l->path, sqlite3_errmsg(l->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_NOTADB: case SQLITE_CORRUPT: return -EBADF;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CONSTRAINT: return -EUCLEAN;
	default: return -EIO;
	}
}

const char *cust_ledger_errmsg(const struct cust_ledger *l)
{
	return l && l->err[0] ? l->err : "no error";
}
sqlite3 *cust_ledger_db(struct cust_ledger *l) { return l->db; }
int cust_ledger_readonly(const struct cust_ledger *l) { return l->rdonly; }
const char *cust_ledger_path(const struct cust_ledger *l) { return l->path; }

static int exec(struct cust_ledger *l, const char *sql)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : cust_ledger_sqlerr(l, rc);
}

/* Is this a custody ledger? Empty database: 1 (may initialise). */
static int check_format(struct cust_ledger *l, int *empty)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(l->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*empty = sqlite3_column_int(s, 0) == 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return cust_ledger_sqlerr(l, rc);
	if (*empty)
		return 0;
	rc = sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = 'format'"
				" UNION ALL SELECT value FROM meta WHERE key = 'schema'",
				-1, &s, NULL);
	if (rc != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0) ?: "", CUST_LEDGER_FORMAT) ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0) ?: "", CUST_LEDGER_SCHEMA))
		r = -EBADF;
	sqlite3_finalize(s);
	if (r)
		cust_ledger_seterr(l, "%s: not a custody ledger (foreign SQLite "
				   "database or unsupported schema)", l->path);
	return r;
}

static int setup(struct cust_ledger *l, unsigned flags)
{
	int empty = 0, r, i;

	sqlite3_busy_timeout(l->db, 10000);
	sqlite3_extended_result_codes(l->db, 1);
	if ((r = check_format(l, &empty)))
		return r;
	if (empty && !(flags & CUST_LEDGER_CREATE)) {
		cust_ledger_seterr(l, "%s: not a custody ledger (empty database)", l->path);
		return -EBADF;
	}
	if (!l->rdonly) {
		if ((r = exec(l, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			      " PRAGMA foreign_keys = ON;")))
			return r;
		if (empty && (r = exec(l, "BEGIN IMMEDIATE")) == 0) {
			/* another process may have created it meanwhile */
			if ((r = check_format(l, &empty)) == 0 && empty)
				r = exec(l, schema_sql);
			if (r == 0)
				r = exec(l, "COMMIT");
			else
				sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
			if (r)
				return r;
		}
		for (i = 0; i < ST_COUNT; i++) {
			int rc = sqlite3_prepare_v3(l->db, stmt_sql[i], -1,
						    SQLITE_PREPARE_PERSISTENT,
						    &l->st[i], NULL);
			if (rc != SQLITE_OK)
				return cust_ledger_sqlerr(l, rc);
		}
	} else {
		exec(l, "PRAGMA query_only = ON");
	}
	return 0;
}

int cust_ledger_open(const char *path, unsigned flags,
		     struct cust_ledger **out, char *err, size_t errlen)
{
	struct cust_ledger *l;
	struct stat sb;
	int r, fd, oflags;

	if (!path || !*path || !out)
		return -EINVAL;
	if (stat(path, &sb) != 0) {
		r = -errno;
		if (r != -ENOENT || !(flags & CUST_LEDGER_CREATE) ||
		    (flags & CUST_LEDGER_RDONLY)) {
			if (err)
				snprintf(err, errlen, "%s: %s", path, strerror(-r));
			return r;
		}
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			r = -errno;
			if (err)
				snprintf(err, errlen, "%s: cannot create: %s", path, strerror(-r));
			return r;
		}
		if (fd >= 0)
			close(fd);
	} else if (!S_ISREG(sb.st_mode)) {
		if (err)
			snprintf(err, errlen, "%s: not a regular file", path);
		return -EBADF;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	l->rdonly = !!(flags & CUST_LEDGER_RDONLY);
	oflags = (l->rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		 SQLITE_OPEN_NOMUTEX;
	r = sqlite3_open_v2(path, &l->db, oflags, NULL);
	if (r != SQLITE_OK) {
		r = l->db ? cust_ledger_sqlerr(l, r) : -ENOMEM;
	} else {
		r = setup(l, flags);
	}
	if (r < 0) {
		if (err)
			snprintf(err, errlen, "%s", l->err[0] ? l->err : strerror(-r));
		cust_ledger_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void cust_ledger_close(struct cust_ledger *l)
{
	int i;

	if (!l)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(l->st[i]);
	sqlite3_close_v2(l->db);
	free(l->path);
	free(l);
}

int cust_ledger_begin(struct cust_ledger *l)
{
	if (l->rdonly)
		return -EROFS;
	return exec(l, "BEGIN IMMEDIATE");
}

int cust_ledger_commit(struct cust_ledger *l)
{
	return exec(l, "COMMIT");
}

void cust_ledger_rollback(struct cust_ledger *l)
{
	if (!sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

static int step_done(struct cust_ledger *l, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

static int load_tree(struct cust_ledger *l, struct merkle_frontier *f)
{
	sqlite3_stmt *s = l->st[ST_GET_TREE];
	int rc = sqlite3_step(s), r = -EUCLEAN;

	if (rc == SQLITE_ROW)
		r = merkle_frontier_import(f, sqlite3_column_blob(s, 0),
					   (size_t)sqlite3_column_bytes(s, 0));
	else if (rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_reset(s);
	if (r == -EBADMSG || (r && rc == SQLITE_DONE)) {
		cust_ledger_seterr(l, "%s: stored Merkle frontier unreadable", l->path);
		r = -EUCLEAN;
	}
	return r;
}

static int max_seq(struct cust_ledger *l, uint64_t *n)
{
	sqlite3_stmt *s = l->st[ST_MAX_SEQ];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v, int null_if_empty)
{
	if (null_if_empty && !*v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int insert_event(struct cust_ledger *l, const struct cust_event *ev,
			const uint8_t *canon, size_t len, const merkle_hash leaf)
{
	sqlite3_stmt *s = l->st[ST_INS_EVENT];
	int rc = 0;

	rc |= sqlite3_bind_int64(s, 1, (sqlite3_int64)ev->seq);
	rc |= sqlite3_bind_int64(s, 2, ev->time_ns);
	rc |= sqlite3_bind_int(s, 3, (int)ev->clock);
	rc |= bind_text(s, 4, ev->agency_id, 0);
	rc |= sqlite3_bind_int(s, 5, (int)ev->actor_kind);
	rc |= bind_text(s, 6, ev->actor_id, 0);
	rc |= sqlite3_bind_int(s, 7, (int)ev->action);
	rc |= bind_text(s, 8, ev->evidence_id, 1);
	rc |= sqlite3_bind_int(s, 9, (int)ev->outcome);
	rc |= bind_text(s, 10, ev->reason, 0);
	rc |= bind_text(s, 11, ev->case_no, 0);
	rc |= bind_text(s, 12, ev->details, 0);
	rc |= sqlite3_bind_blob(s, 13, canon, (int)len, SQLITE_STATIC);
	rc |= sqlite3_bind_blob(s, 14, leaf, MERKLE_HASH_LEN, SQLITE_STATIC);
	if (rc) {
		sqlite3_reset(s);
		return cust_ledger_sqlerr(l, rc);
	}
	return step_done(l, s);
}

/* Derived evidence record: load, apply, store - same transaction. */
static int update_state(struct cust_ledger *l, const struct cust_event *ev)
{
	struct cust_evstate st;
	sqlite3_stmt *s = l->st[ST_SEL_STATE];
	int rc, r, added = 0;

	memset(&st, 0, sizeof(st));
	sqlite3_bind_text(s, 1, ev->evidence_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, &st);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cust_ledger_sqlerr(l, rc);
	r = cust_evstate_apply(&st, ev, &added);
	if (r == -EXDEV)
		cust_ledger_seterr(l, "event for %s names agency '%s' but the item "
				   "belongs to '%s'", ev->evidence_id, ev->agency_id,
				   st.agency_id);
	if (r)
		return r;
	s = l->st[ST_UPSERT_STATE];
	if (cust_evstate_bind(s, &st)) {
		sqlite3_reset(s);
		return -EIO;
	}
	if ((r = step_done(l, s)))
		return r;
	if (!added)
		return 0;
	s = l->st[ST_INS_CASE];
	sqlite3_bind_text(s, 1, ev->evidence_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ev->case_no, -1, SQLITE_STATIC);
	return step_done(l, s);
}

static int append_locked(struct cust_ledger *l, struct cust_event *evs, size_t n)
{
	struct merkle_frontier f;
	uint8_t canon[CUST_CANON_MAX], fb[MERKLE_FRONTIER_MAX_BYTES];
	merkle_hash leaf;
	uint64_t top = 0;
	size_t i, len;
	int r;

	if ((r = load_tree(l, &f)) || (r = max_seq(l, &top)))
		return r;
	if (top != f.size) {
		cust_ledger_seterr(l, "%s: %llu events but the Merkle frontier holds "
				   "%llu: refusing to append (run custody verify)",
				   l->path, (unsigned long long)top,
				   (unsigned long long)f.size);
		return -EUCLEAN;
	}
	for (i = 0; i < n; i++) {
		evs[i].seq = f.size + 1;
		len = cust_event_encode_fast(&evs[i], canon);
		if ((r = merkle_leaf_hash(canon, len, leaf)) ||
		    (r = merkle_frontier_append(&f, leaf)))
			return r;
		if (evs[i].evidence_id[0] && (r = update_state(l, &evs[i])))
			return r;
		if ((r = insert_event(l, &evs[i], canon, len, leaf)))
			return r;
	}
	if ((r = merkle_frontier_export(&f, fb, sizeof(fb), &len)))
		return r;
	sqlite3_bind_blob(l->st[ST_SET_TREE], 1, fb, (int)len, SQLITE_STATIC);
	return step_done(l, l->st[ST_SET_TREE]);
}

int cust_ledger_append_batch(struct cust_ledger *l, struct cust_event *evs,
			     size_t n)
{
	char why[256];
	size_t i;
	int r, own;

	if (!l || (!evs && n))
		return -EINVAL;
	if (l->rdonly) {
		cust_ledger_seterr(l, "%s: opened read-only", l->path);
		return -EROFS;
	}
	if (n > CUST_LEDGER_MAX_BATCH)
		return -E2BIG;
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		evs[i].seq = 0;
		if ((r = cust_event_validate(&evs[i], why, sizeof(why)))) {
			cust_ledger_seterr(l, "event %zu of batch: %s", i, why);
			return r;
		}
	}
	own = sqlite3_get_autocommit(l->db);
	r = exec(l, own ? "BEGIN IMMEDIATE" : "SAVEPOINT cust_append");
	if (r)
		return r;
	r = append_locked(l, evs, n);
	if (r == 0)
		r = exec(l, own ? "COMMIT" : "RELEASE cust_append");
	if (r) {
		char keep[sizeof(l->err)];
		memcpy(keep, l->err, sizeof(keep));
		if (own)
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		else
			sqlite3_exec(l->db, "ROLLBACK TO cust_append; RELEASE cust_append",
				     NULL, NULL, NULL);
		memcpy(l->err, keep, sizeof(keep));
		for (i = 0; i < n; i++)
			evs[i].seq = 0;
	}
	return r;
}

int cust_ledger_append(struct cust_ledger *l, struct cust_event *ev)
{
	return cust_ledger_append_batch(l, ev, 1);
}

static int prep(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(l->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : cust_ledger_sqlerr(l, rc);
}

int cust_ledger_size(struct cust_ledger *l, uint64_t *n)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT coalesce(max(seq), 0) FROM events", &s)))
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	r = rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r;
}

static int col_text(sqlite3_stmt *s, int i, char *dst, size_t cap, int null_ok)
{
	int t = sqlite3_column_type(s, i);
	const unsigned char *v;
	int n;

	if (t == SQLITE_NULL && null_ok) {
		dst[0] = '\0';
		return 0;
	}
	if (t != SQLITE_TEXT)
		return -EBADMSG;
	v = sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (!v || n < 0 || (size_t)n >= cap || memchr(v, 0, (size_t)n))
		return -EBADMSG;
	memcpy(dst, v, (size_t)n);
	dst[n] = '\0';
	return 0;
}

static int col_int(sqlite3_stmt *s, int i, int64_t *v)
{
	if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
		return -EBADMSG;
	*v = sqlite3_column_int64(s, i);
	return 0;
}

int cust_ledger_row_event(sqlite3_stmt *s, int c, struct cust_event *ev,
			  const char **bad)
{
	int64_t v[7];

#define CHK(x, name) if (x) { if (bad) *bad = name; return -EBADMSG; }
	CHK(col_int(s, c + 0, &v[0]), "seq")
	CHK(col_int(s, c + 1, &v[1]), "time_ns")
	CHK(col_int(s, c + 2, &v[2]), "clock")
	CHK(col_text(s, c + 3, ev->agency_id, sizeof(ev->agency_id), 0), "agency_id")
	CHK(col_int(s, c + 4, &v[3]), "actor_kind")
	CHK(col_text(s, c + 5, ev->actor_id, sizeof(ev->actor_id), 0), "actor_id")
	CHK(col_int(s, c + 6, &v[4]), "action")
	CHK(col_text(s, c + 7, ev->evidence_id, sizeof(ev->evidence_id), 1), "evidence_id")
	CHK(col_int(s, c + 8, &v[5]), "outcome")
	CHK(col_text(s, c + 9, ev->reason, sizeof(ev->reason), 0), "reason")
	CHK(col_text(s, c + 10, ev->case_no, sizeof(ev->case_no), 0), "case_no")
	CHK(col_text(s, c + 11, ev->details, sizeof(ev->details), 0), "details")
	CHK(v[2] < 0 || v[2] > 255, "clock")
	CHK(v[3] < 0 || v[3] > 255, "actor_kind")
	CHK(v[4] < 0 || v[4] > 65535, "action")
	CHK(v[5] < 0 || v[5] > 255, "outcome")
#undef CHK
	ev->seq = (uint64_t)v[0];
	ev->time_ns = v[1];
	ev->clock = (enum cust_clock)v[2];
	ev->actor_kind = (enum cust_actor_kind)v[3];
	ev->action = (enum cust_action)v[4];
	ev->outcome = (enum cust_outcome)v[5];
	return 0;
}

int cust_ledger_foreach(struct cust_ledger *l, const char *evidence_id,
			uint64_t from, uint64_t to, cust_event_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct cust_event ev;
	const char *bad = "?";
	int rc, r;

	r = prep(l, evidence_id ?
		 "SELECT " CUST_EVENT_COLS " FROM events WHERE evidence_id = ?3"
		 " AND seq >= ?1 AND seq <= ?2 ORDER BY seq" :
		 "SELECT " CUST_EVENT_COLS " FROM events WHERE seq >= ?1"
		 " AND seq <= ?2 ORDER BY seq", &s);
	if (r)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(s, 2, to ? (sqlite3_int64)to : INT64_MAX);
	if (evidence_id)
		sqlite3_bind_text(s, 3, evidence_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		if ((r = cust_ledger_row_event(s, 0, &ev, &bad))) {
			cust_ledger_seterr(l, "%s: event row unreadable (column %s)",
					   l->path, bad);
			break;
		}
		if ((r = cb(arg, &ev)))
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r;
}

static int copy_cb(void *arg, const struct cust_event *ev)
{
	*(struct cust_event *)arg = *ev;
	return 1;
}

int cust_ledger_get(struct cust_ledger *l, uint64_t seq, struct cust_event *out)
{
	struct cust_event *tmp = malloc(sizeof(*tmp));
	int r;

	if (!tmp)
		return -ENOMEM;
	r = cust_ledger_foreach(l, NULL, seq, seq, copy_cb, tmp);
	if (r == 1)
		*out = *tmp;
	free(tmp);
	return r == 1 ? 0 : r ? r : -ENOENT;
}

int cust_ledger_item_agency(struct cust_ledger *l, const char *evidence_id,
			    char *buf, size_t cap)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT agency_id FROM evidence WHERE evidence_id = ?1", &s)))
		return r;
	sqlite3_bind_text(s, 1, evidence_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(s, 0);
		r = (a && strlen(a) < cap) ? 0 : -ENOSPC;
		if (!r)
			memcpy(buf, a, strlen(a) + 1);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : cust_ledger_sqlerr(l, rc);
	}
	sqlite3_finalize(s);
	return r;
}

int cust_ledger_frontier(struct cust_ledger *l, struct merkle_frontier *f)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT frontier FROM tree WHERE id = 1", &s)))
		return r;
	rc = sqlite3_step(s);
	r = rc == SQLITE_ROW ? merkle_frontier_import(f, sqlite3_column_blob(s, 0),
			(size_t)sqlite3_column_bytes(s, 0)) :
		rc == SQLITE_DONE ? -EUCLEAN : cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r == -EBADMSG ? -EUCLEAN : r;
}

int cust_ledger_leaf_hashes(void *ledger, uint64_t begin, uint64_t count,
			    merkle_hash *out)
{
	struct cust_ledger *l = ledger;
	sqlite3_stmt *s;
	uint64_t i = 0;
	int rc, r;

	if ((r = prep(l, "SELECT seq, leaf_hash FROM events WHERE seq > ?1 AND"
		      " seq <= ?2 ORDER BY seq", &s)))
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)begin);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(begin + count));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && i < count) {
		if ((uint64_t)sqlite3_column_int64(s, 0) != begin + i + 1 ||
		    sqlite3_column_bytes(s, 1) != MERKLE_HASH_LEN) {
			r = -EUCLEAN;
			break;
		}
		memcpy(out[i++], sqlite3_column_blob(s, 1), MERKLE_HASH_LEN);
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = cust_ledger_sqlerr(l, rc);
	if (!r && i != count)
		r = -EUCLEAN;
	sqlite3_finalize(s);
	return r;
}
