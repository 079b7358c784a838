/*
 * ledger.c - the SQLite custody ledger: open/create (schema), errors,
 * explicit transactions. Appending is in ledger_append.c, reading in
 * ledger_read.c. Schema and durability rules: docs/custody-ledger.md.
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
#include "ledger_cosig.h"
#include "ledger_int.h"

static const char *const stmt_sql[LST_COUNT] = {
	[LST_INS_EVENT] = "INSERT INTO events(" CUST_EVENT_COLS ", canon, "
		"leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11, ?12, ?13, ?14)",
	[LST_SEL_STATE] = cust_evstate_select_sql,
	[LST_UPSERT_STATE] = cust_evstate_upsert_sql,
	[LST_INS_CASE] = cust_evstate_case_sql,
	[LST_GET_TREE] = "SELECT frontier FROM tree WHERE id = 1",
	[LST_SET_TREE] = "UPDATE tree SET frontier = ?1 WHERE id = 1",
	[LST_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
	[LST_DEL_CASE] = "DELETE FROM evidence_cases WHERE evidence_id = ?1 AND case_no = ?2",
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

int cust_ledger_exec(struct cust_ledger *l, const char *sql)
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
		if ((r = cust_ledger_exec(l, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			      " PRAGMA foreign_keys = ON;")))
			return r;
		if (empty && (r = cust_ledger_exec(l, "BEGIN IMMEDIATE")) == 0) {
			/* another process may have created it meanwhile */
			if ((r = check_format(l, &empty)) == 0 && empty)
				r = cust_ledger_exec(l, schema_sql);
			if (r == 0)
				r = cust_ledger_exec(l, "COMMIT");
			else
				sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
			if (r)
				return r;
		}
		/* witness cosignatures: also added to ledgers made before */
		if ((r = cust_ledger_exec(l, cust_cosig_schema_sql)))
			return r;
		for (i = 0; i < LST_COUNT; i++) {
			int rc = sqlite3_prepare_v3(l->db, stmt_sql[i], -1,
						    SQLITE_PREPARE_PERSISTENT,
						    &l->st[i], NULL);
			if (rc != SQLITE_OK)
				return cust_ledger_sqlerr(l, rc);
		}
	} else {
		cust_ledger_exec(l, "PRAGMA query_only = ON");
	}
	return 0;
}

static int open_db(struct cust_ledger *l, const char *name, int uri, unsigned flags)
{
	int oflags = (l->rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		     SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
	int r = sqlite3_open_v2(name, &l->db, oflags, NULL);

	if (r != SQLITE_OK)
		return l->db ? cust_ledger_sqlerr(l, r) : -ENOMEM;
	return setup(l, flags);
}

/* Can we create files next to path (SQLite's -shm and -wal)? */
static int dir_writable(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash)
		return access(".", W_OK) == 0;
	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return access(n ? dir : "/", W_OK) == 0;
}

/*
 * A read-only copy in a directory we cannot write (a defense expert's,
 * on read-only media): SQLite cannot create the -shm file a WAL database
 * needs, so the plain read-only open fails. Open it as immutable (no
 * locks, no -shm) - but only if no WAL file holds events that the main
 * file lacks: immutable mode ignores the WAL, and silently showing a
 * shorter ledger is worse than refusing. This also keeps immutable mode
 * away from a LIVE ledger we may only read: while any process has it
 * open its -wal file exists and is not empty (SQLite removes it only
 * when the last connection closes).
 */
static int open_immutable(struct cust_ledger *l, const char *path, unsigned flags)
{
	static const char keep[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789/._~-";
	char uri[3 * 4096 + 32], wal[4096 + 8];
	struct stat sb;
	size_t o, i;
	int r;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		cust_ledger_seterr(l, "%s: read-only copy with %lld bytes of write-ahead "
				   "log (%s) in a directory we cannot write: SQLite cannot "
				   "read that log here. Copy the ledger file and its -wal "
				   "file to a writable directory and open the copy",
				   path, (long long)sb.st_size, wal);
		return -EROFS;
	}
	o = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (i = 0; path[i] && o + 4 < sizeof(uri) - 16; i++) {
		if (strchr(keep, path[i]))
			uri[o++] = path[i];
		else
			o += (size_t)snprintf(uri + o, 4, "%%%02X", (unsigned char)path[i]);
	}
	if (path[i])
		return -ENAMETOOLONG;
	snprintf(uri + o, sizeof(uri) - o, "?immutable=1");
	sqlite3_close_v2(l->db);
	l->db = NULL;
	l->err[0] = '\0';
	if ((r = open_db(l, uri, 1, flags)) == 0)
		l->immutable = 1;
	return r;
}

int cust_ledger_open(const char *path, unsigned flags,
		     struct cust_ledger **out, char *err, size_t errlen)
{
	struct cust_ledger *l;
	struct stat sb;
	int r, fd;

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
	r = open_db(l, path, 0, flags);
	/* the errors of a missing -shm that cannot be created */
	if ((r == -EROFS || r == -ENOENT || r == -EACCES) && l->rdonly &&
	    !dir_writable(path))
		r = open_immutable(l, path, flags);
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
	for (i = 0; i < LST_COUNT; i++)
		sqlite3_finalize(l->st[i]);
	sqlite3_close_v2(l->db);
	free(l->path);
	free(l);
}

int cust_ledger_begin(struct cust_ledger *l)
{
	if (l->rdonly)
		return -EROFS;
	return cust_ledger_exec(l, "BEGIN IMMEDIATE");
}

/* A COMMIT that fails (deferred foreign key, disk full, I/O error) may
 * leave the transaction open; every later append would then join that
 * doomed transaction and fail too. Roll it back so the handle stays
 * usable for a long-running process: the caller retries the operation. */
int cust_ledger_commit(struct cust_ledger *l)
{
	char keep[sizeof(l->err)];
	int r = cust_ledger_exec(l, "COMMIT");

	if (r && !sqlite3_get_autocommit(l->db)) {
		memcpy(keep, l->err, sizeof(keep));
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		memcpy(l->err, keep, sizeof(keep));
	}
	return r;
}

void cust_ledger_rollback(struct cust_ledger *l)
{
	if (!sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}
