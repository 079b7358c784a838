/* upstate.c - durable multipart upload state (upstate.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upstate.h"

struct upstate {
	sqlite3 *db;
	pthread_mutex_t mu;
};

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"PRAGMA foreign_keys=ON;"
	"CREATE TABLE IF NOT EXISTS uploads("
	" key TEXT PRIMARY KEY NOT NULL,"
	" upload_id TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL CHECK(size >= 0),"
	" ct_sha256 BLOB NOT NULL CHECK(length(ct_sha256) = 32),"
	" part_size INTEGER NOT NULL CHECK(part_size > 0),"
	" head_len INTEGER NOT NULL DEFAULT 0 CHECK(head_len >= 0),"
	" created_ns INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS parts("
	" upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,"
	" number INTEGER NOT NULL CHECK(number BETWEEN 1 AND 10000),"
	" size INTEGER NOT NULL CHECK(size >= 0),"
	" etag TEXT NOT NULL,"
	" md5 BLOB NOT NULL CHECK(length(md5) = 16),"
	" sha256 BLOB NOT NULL CHECK(length(sha256) = 32),"
	" PRIMARY KEY(upload_id, number));";

int upstate_open(const char *path, struct upstate **out)
{
	struct upstate *u;
	int fd, r = -EIO;

	/* Create it 0600 ourselves: SQLite would honour the umask. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &u->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(u->db, 10000);
	if (sqlite3_exec(u->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	pthread_mutex_init(&u->mu, NULL);
	*out = u;
	return 0;
fail:
	sqlite3_close(u->db);
	free(u);
	return r;
}

void upstate_close(struct upstate *u)
{
	if (!u)
		return;
	sqlite3_close(u->db);
	pthread_mutex_destroy(&u->mu);
	free(u);
}

static sqlite3_stmt *prep(struct upstate *u, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(u->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* Run a statement that returns no rows. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

int upstate_begin(struct upstate *u, const struct upstate_upload *up)
{
	sqlite3_stmt *st;
	int r = -EIO;

	pthread_mutex_lock(&u->mu);
	st = prep(u, "INSERT INTO uploads(key, upload_id, size, ct_sha256, part_size, head_len,"
		     " created_ns) VALUES(?,?,?,?,?,?,?)");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, up->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, up->upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)up->size);
	sqlite3_bind_blob(st, 4, up->ct_sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)up->part_size);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)up->head_len);
	sqlite3_bind_int64(st, 7, up->created_ns);
	r = step_done(st);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

static int copy_text(char *dst, size_t cap, const unsigned char *s)
{
	size_t n = s ? strlen((const char *)s) : 0;

	if (!s || n >= cap)
		return -EIO;
	memcpy(dst, s, n + 1);
	return 0;
}

static int copy_blob(uint8_t *dst, size_t len, sqlite3_stmt *st, int col)
{
	if ((size_t)sqlite3_column_bytes(st, col) != len)
		return -EIO;
	memcpy(dst, sqlite3_column_blob(st, col), len);
	return 0;
}

#define UPLOAD_COLS "key, upload_id, size, ct_sha256, part_size, head_len, created_ns"

static int row_upload(sqlite3_stmt *st, struct upstate_upload *o)
{
	if (copy_text(o->key, sizeof(o->key), sqlite3_column_text(st, 0)) < 0 ||
	    copy_text(o->upload_id, sizeof(o->upload_id), sqlite3_column_text(st, 1)) < 0 ||
	    copy_blob(o->ct_sha256, 32, st, 3) < 0)
		return -EIO;
	o->size = (uint64_t)sqlite3_column_int64(st, 2);
	o->part_size = (uint64_t)sqlite3_column_int64(st, 4);
	o->head_len = (uint64_t)sqlite3_column_int64(st, 5);
	o->created_ns = sqlite3_column_int64(st, 6);
	return 0;
}

int upstate_get(struct upstate *u, const char *key, struct upstate_upload *out)
{
	struct upstate_upload tmp;
	sqlite3_stmt *st;
	int r = -EIO, rc;

	pthread_mutex_lock(&u->mu);
	st = prep(u, "SELECT " UPLOAD_COLS " FROM uploads WHERE key = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = -ENOENT;
	else if (rc == SQLITE_ROW && row_upload(st, &tmp) == 0) {
		*out = tmp;
		r = 0;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

int upstate_known(struct upstate *u, const char *key, const char *upload_id, bool *known)
{
	sqlite3_stmt *st;
	int r = -EIO, rc;

	pthread_mutex_lock(&u->mu);
	st = prep(u, "SELECT 1 FROM uploads WHERE key = ? AND upload_id = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, upload_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*known = rc == SQLITE_ROW;
		r = 0;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

int upstate_list(struct upstate *u, struct upstate_upload *out, size_t cap, size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0;
	int r = -EIO, rc;

	pthread_mutex_lock(&u->mu);
	st = prep(u, "SELECT " UPLOAD_COLS " FROM uploads ORDER BY created_ns");
	if (!st)
		goto out;
	while (k < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_upload(st, &out[k]) < 0)
			goto out;
		k++;
	}
	*n = k;
	r = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

int upstate_forget(struct upstate *u, const char *key)
{
	sqlite3_stmt *st;
	int r = -EIO;

	pthread_mutex_lock(&u->mu);
	/* parts go with it (ON DELETE CASCADE), in the same implicit transaction */
	st = prep(u, "DELETE FROM uploads WHERE key = ?");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = step_done(st);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

int upstate_part_done(struct upstate *u, const char *upload_id, const struct upstate_part *p)
{
	sqlite3_stmt *st;
	int r = -EIO;

	if (p->number < 1 || p->number > 10000 || strlen(p->etag) == 0)
		return -EINVAL;
	pthread_mutex_lock(&u->mu);
	st = prep(u, "INSERT OR REPLACE INTO parts(upload_id, number, size, etag, md5, sha256)"
		     " VALUES(?,?,?,?,?,?)");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)p->number);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)p->size);
	sqlite3_bind_text(st, 4, p->etag, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, p->md5, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, p->sha256, 32, SQLITE_STATIC);
	r = step_done(st);
	if (r == -EEXIST) /* foreign key: the upload was forgotten meanwhile */
		r = -ENOENT;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}

int upstate_parts(struct upstate *u, const char *upload_id, struct upstate_part *out, size_t cap,
		  size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0;
	int r = -EIO, rc;

	pthread_mutex_lock(&u->mu);
	st = prep(u, "SELECT number, size, etag, md5, sha256 FROM parts WHERE upload_id = ?"
		     " ORDER BY number");
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct upstate_part *p;

		if (k >= cap) {
			r = -E2BIG;
			goto out;
		}
		p = &out[k];
		p->number = (unsigned)sqlite3_column_int(st, 0);
		p->size = (uint64_t)sqlite3_column_int64(st, 1);
		if (copy_text(p->etag, sizeof(p->etag), sqlite3_column_text(st, 2)) < 0 ||
		    copy_blob(p->md5, 16, st, 3) < 0 || copy_blob(p->sha256, 32, st, 4) < 0)
			goto out;
		k++;
	}
	if (rc != SQLITE_DONE)
		goto out;
	*n = k;
	r = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&u->mu);
	return r;
}
