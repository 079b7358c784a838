/*
 * ledger_cosig.c - the checkpoint_cosigs table (see ledger_cosig.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cosig.h"
#include "ledger_cosig.h"
#include "ledger_int.h"

const char cust_cosig_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER NOT NULL,"
	" witness TEXT NOT NULL, line TEXT NOT NULL, received_ns INTEGER NOT NULL,"
	" PRIMARY KEY(size, witness));"
	"CREATE TRIGGER IF NOT EXISTS checkpoint_cosigs_no_update BEFORE UPDATE ON"
	" checkpoint_cosigs BEGIN SELECT RAISE(ABORT, 'cosignatures are write-once'); END;"
	"CREATE TRIGGER IF NOT EXISTS checkpoint_cosigs_no_delete BEFORE DELETE ON"
	" checkpoint_cosigs BEGIN SELECT RAISE(ABORT, 'cosignatures are write-once'); END;";

/* "no such table" on a read-only ledger older than the table: empty. */
static int prep(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, s, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if (strstr(sqlite3_errmsg(cust_ledger_db(l)), "no such table"))
		return 1;
	return cust_ledger_sqlerr(l, rc);
}

static int has_checkpoint(struct cust_ledger *l, uint64_t size)
{
	sqlite3_stmt *s;
	int rc = prep(l, "SELECT 1 FROM checkpoints WHERE size = ?1", &s);

	if (rc)
		return rc < 0 ? rc : -ENOENT;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : cust_ledger_sqlerr(l, rc);
}

int cust_cosig_add(struct cust_ledger *l, uint64_t size, const char *witness,
		   const char *line)
{
	sqlite3_stmt *s;
	struct timespec ts;
	size_t len;
	int rc, r;

	if (!l || !witness || !line || !ckpt_name_valid(witness) ||
	    size > INT64_MAX)
		return -EINVAL;
	len = strnlen(line, COSIG_MAX_LINE + 1);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0 || len > COSIG_MAX_LINE || memchr(line, '\n', len))
		return -EINVAL;
	if ((r = has_checkpoint(l, size)))
		return r;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = prep(l, "INSERT INTO checkpoint_cosigs(size, witness, line,"
		      " received_ns) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
		      &s)))
		return r < 0 ? r : -EROFS;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	sqlite3_bind_text(s, 2, witness, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, line, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cust_ledger_sqlerr(l, rc);
	if (sqlite3_changes(cust_ledger_db(l)) == 1)
		return 0;
	/* a row was there: same line is fine, another is kept as first */
	if ((r = prep(l, "SELECT line FROM checkpoint_cosigs WHERE size = ?1"
		      " AND witness = ?2", &s)))
		return r < 0 ? r : -EIO;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	sqlite3_bind_text(s, 2, witness, -1, SQLITE_STATIC);
	r = -EEXIST;
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(s, 0);

		if (old && strlen(old) == len && !memcmp(old, line, len))
			r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

int cust_cosig_each(struct cust_ledger *l, uint64_t size,
		    int (*cb)(void *arg, const char *witness, const char *line),
		    void *arg)
{
	sqlite3_stmt *s;
	int rc, r;

	if (!l || !cb)
		return -EINVAL;
	if ((r = prep(l, "SELECT witness, line FROM checkpoint_cosigs"
		      " WHERE size = ?1 ORDER BY witness", &s)))
		return r < 0 ? r : 0;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *w = (const char *)sqlite3_column_text(s, 0);
		const char *line = (const char *)sqlite3_column_text(s, 1);

		if (w && line && (r = cb(arg, w, line)) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

int cust_cosig_last(struct cust_ledger *l, const char *witness,
		    uint64_t *size)
{
	sqlite3_stmt *s;
	int rc, r;

	if (!l || !witness || !size)
		return -EINVAL;
	if ((r = prep(l, "SELECT coalesce(max(size), 0) FROM checkpoint_cosigs"
		      " WHERE witness = ?1", &s))) {
		if (r == 1)
			*size = 0;
		return r < 0 ? r : 0;
	}
	sqlite3_bind_text(s, 1, witness, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
}

int cust_cosig_last_at(struct cust_ledger *l, const char *witness,
		       uint64_t *size, int64_t *received_ns)
{
	sqlite3_stmt *s;
	int rc, r;

	if (!l || !witness || !size || !received_ns)
		return -EINVAL;
	if ((r = prep(l, "SELECT size, received_ns FROM checkpoint_cosigs"
		      " WHERE witness = ?1 ORDER BY size DESC LIMIT 1", &s))) {
		if (r == 1) {
			*size = 0;
			*received_ns = 0;
		}
		return r < 0 ? r : 0;
	}
	sqlite3_bind_text(s, 1, witness, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*size = (uint64_t)sqlite3_column_int64(s, 0);
		*received_ns = sqlite3_column_int64(s, 1);
	} else if (rc == SQLITE_DONE) {
		*size = 0;
		*received_ns = 0;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int add_line(void *arg, const char *witness, const char *line)
{
	struct buf *b = arg;
	int r = buf_add(b, line, strlen(line));

	return r ? r : buf_add(b, "\n", 1);
}

int cust_cosig_note(struct cust_ledger *l, uint64_t size, char **out,
		    size_t *len)
{
	struct buf b = { 0 };
	sqlite3_stmt *s;
	int rc, r;

	if (!l || !out || !len)
		return -EINVAL;
	if ((r = prep(l, "SELECT note FROM checkpoints WHERE size = ?1", &s)))
		return r < 0 ? r : -ENOENT;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(s, 0);

		r = buf_add(&b, note ? note : "", note ? strlen(note) : 0);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : cust_ledger_sqlerr(l, rc);
	}
	sqlite3_finalize(s);
	if (!r)
		r = cust_cosig_each(l, size, add_line, &b);
	if (r) {
		free(b.p);
		return r;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
