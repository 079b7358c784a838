/*
 * publish.c - checkpoints: sign the ledger's root, store it in the ledger
 * and write it, write-once, to the external directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable_int.h"
#include "keyspec.h"
#include "ledger_int.h"
#include "publish.h"

int cust_signer_load(const struct cust_config *cfg, struct cust_signer *s,
		     char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	if (!cfg->checkpoint_key[0] || !cfg->checkpoint_origin[0]) {
		snprintf(err, errlen, "%s: [ledger] checkpoint_key and checkpoint_origin "
			 "are needed to sign checkpoints", cfg->file[0] ? cfg->file : "config");
		return -EINVAL;
	}
	if (!ckpt_name_valid(cfg->checkpoint_origin)) {
		snprintf(err, errlen, "[ledger] checkpoint_origin: not a valid key name");
		return -EINVAL;
	}
	/* a PEM file or a PKCS#11 URI (keyspec.h) */
	r = keyspec_open(cfg->checkpoint_key, "checkpoint key", &s->key, err, errlen);
	if (r < 0)
		return r;
	snprintf(s->origin, sizeof(s->origin), "%s", cfg->checkpoint_origin);
	snprintf(s->ext_dir, sizeof(s->ext_dir), "%s", cfg->external_checkpoint_dir);
	return 0;
}

void cust_signer_free(struct cust_signer *s)
{
	edkey_free(s->key);
	s->key = NULL;
}

static int same_content(const char *path, const char *note, size_t len)
{
	char *buf = malloc(len + 1);
	FILE *f = fopen(path, "re");
	size_t n = 0;
	int same = 0;

	if (buf && f) {
		n = fread(buf, 1, len + 1, f);
		same = n == len && !memcmp(buf, note, len);
	}
	if (f)
		fclose(f);
	free(buf);
	return same;
}

int cust_ext_write(const char *dir, uint64_t size, const char *note, size_t len)
{
	char path[CUST_CONFIG_PATH_MAX + 64], tmp[CUST_CONFIG_PATH_MAX + 96];
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/checkpoint.%llu", dir,
		     (unsigned long long)size) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.checkpoint.%llu.%ld.tmp", dir,
		     (unsigned long long)size, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0)
		return same_content(path, note, len) ? 0 : -EEXIST;
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = cust_write_all(fd, note, len);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	/* link(), unlike rename(), never replaces an existing file */
	if (!r && link(tmp, path)) {
		r = -errno;
		if (r == -EEXIST && same_content(path, note, len))
			r = 0;
	}
	unlink(tmp);
	if (!r)
		r = cust_fsync_dir(dir);
	return r;
}

static int existing(struct cust_ledger *l, uint64_t size, char **note)
{
	sqlite3_stmt *s;
	int rc;

	*note = NULL;
	rc = sqlite3_prepare_v2(cust_ledger_db(l),
				"SELECT note FROM checkpoints WHERE size = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*note = strdup((const char *)sqlite3_column_text(s, 0) ?: "");
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return *note ? 1 : -ENOMEM;
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

static int store(struct cust_ledger *l, uint64_t size, const char *note)
{
	sqlite3_stmt *s;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = sqlite3_prepare_v2(cust_ledger_db(l), "INSERT INTO checkpoints(size,"
				" note, created_ns) VALUES (?1, ?2, ?3)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	sqlite3_bind_text(s, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

/* In one write transaction: frontier -> signed note -> checkpoints row. */
static int sign_store(struct cust_ledger *l, const struct cust_signer *s,
		      uint64_t *size, char **note)
{
	struct merkle_frontier f;
	struct checkpoint cp;
	char *buf = NULL;
	uint64_t n = 0;
	size_t len;
	int r;

	if ((r = cust_ledger_frontier(l, &f)) || (r = cust_ledger_size(l, &n)))
		return r;
	if (n != f.size) {
		cust_ledger_seterr(l, "%s: Merkle frontier (%llu) does not match the "
				   "event count (%llu)", cust_ledger_path(l),
				   (unsigned long long)f.size, (unsigned long long)n);
		return -EUCLEAN;
	}
	if (n == 0)
		return -ENODATA;
	*size = n;
	if ((r = existing(l, n, note)) != 0)
		return r < 0 ? r : 0;
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", s->origin);
	cp.size = n;
	if ((r = merkle_frontier_root(&f, cp.root)))
		return r;
	if (!(buf = malloc(CKPT_MAX_SIGNED)))
		return -ENOMEM;
	r = checkpoint_format(&cp, s->origin, s->key, buf, CKPT_MAX_SIGNED, &len);
	if (r == 0)
		r = store(l, n, buf);
	if (r)
		free(buf);
	else
		*note = buf;
	return r;
}

/* A crash between the ledger commit and the external write leaves a
 * checkpoint unpublished: every write first publishes any such one.
 * Newest first, down to the first one published: each write publishes
 * all older ones before its own, so older ones are out already (this
 * keeps a write O(1) now that every process that appends signs). */
static int republish(struct cust_ledger *l, const char *dir)
{
	sqlite3_stmt *s;
	char path[CUST_CONFIG_PATH_MAX + 64];
	int rc, r = 0;

	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT size, note FROM checkpoints"
				" ORDER BY size DESC", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	while (!r && sqlite3_step(s) == SQLITE_ROW) {
		unsigned long long n = (unsigned long long)sqlite3_column_int64(s, 0);
		const char *note = (const char *)sqlite3_column_text(s, 1);
		snprintf(path, sizeof(path), "%s/checkpoint.%llu", dir, n);
		if (access(path, F_OK) == 0)
			break;
		if (note)
			r = cust_ext_write(dir, n, note, strlen(note));
	}
	sqlite3_finalize(s);
	return r;
}

int cust_checkpoint_write(struct cust_ledger *l, const struct cust_signer *s,
			  uint64_t *size, char *err, size_t errlen)
{
	char *note = NULL;
	uint64_t n = 0;
	int r;

	if ((r = cust_ledger_begin(l))) {
		snprintf(err, errlen, "%s", cust_ledger_errmsg(l));
		return r;
	}
	r = sign_store(l, s, &n, &note);
	if (r == 0)
		r = cust_ledger_commit(l);
	if (r) {
		cust_ledger_rollback(l);
		if (r == -ENODATA)
			snprintf(err, errlen, "ledger is empty: nothing to sign");
		else
			snprintf(err, errlen, "cannot write checkpoint: %s (%s)",
				 r == -EIO ? "SQLite" : strerror(-r), cust_ledger_errmsg(l));
		free(note);
		return r;
	}
	if (s->ext_dir[0] && !(r = republish(l, s->ext_dir)))
		r = cust_ext_write(s->ext_dir, n, note, strlen(note));
	if (r)
		snprintf(err, errlen, "%s/checkpoint.%llu: cannot publish: %s",
			 s->ext_dir, (unsigned long long)n,
			 r == -EEXIST ? "a different checkpoint of that size exists" :
			 strerror(-r));
	free(note);
	if (!r && size)
		*size = n;
	return r;
}

int cust_checkpoint_store(struct cust_ledger *l, uint64_t size, const char *note,
			  const char *ext_dir, char *err, size_t errlen)
{
	char *old = NULL;
	int r;

	if (!l || !note || size == 0)
		return -EINVAL;
	if ((r = cust_ledger_begin(l))) {
		snprintf(err, errlen, "%s", cust_ledger_errmsg(l));
		return r;
	}
	r = existing(l, size, &old);
	if (r == 1)
		r = strcmp(old, note) ? -EEXIST : 0; /* the same one again: nothing to add */
	else if (r == 0)
		r = store(l, size, note);
	if (r == 0)
		r = cust_ledger_commit(l);
	if (r) {
		cust_ledger_rollback(l);
		snprintf(err, errlen, "cannot store checkpoint %llu: %s (%s)",
			 (unsigned long long)size,
			 r == -EEXIST ? "another note of that size is stored" : strerror(-r),
			 cust_ledger_errmsg(l));
		free(old);
		return r;
	}
	free(old);
	if (ext_dir && ext_dir[0] && !(r = republish(l, ext_dir)))
		r = cust_ext_write(ext_dir, size, note, strlen(note));
	if (r)
		snprintf(err, errlen, "%s/checkpoint.%llu: cannot publish: %s", ext_dir,
			 (unsigned long long)size,
			 r == -EEXIST ? "a different checkpoint of that size exists" : strerror(-r));
	return r;
}

int cust_checkpoint_due(struct cust_ledger *l, uint32_t interval_s, int *due)
{
	sqlite3_stmt *s;
	struct timespec ts;
	uint64_t n = 0, last = 0;
	int64_t at = 0;
	int rc, r;

	if ((r = cust_ledger_size(l, &n)))
		return r;
	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT size, created_ns FROM"
				" checkpoints ORDER BY size DESC LIMIT 1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		last = (uint64_t)sqlite3_column_int64(s, 0);
		at = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cust_ledger_sqlerr(l, rc);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (n <= last)
		*due = 0;	/* nothing new to sign */
	else if (last == 0)
		*due = 1;	/* never signed */
	else
		*due = interval_s && (int64_t)ts.tv_sec - at / 1000000000 >=
			(int64_t)interval_s;
	return 0;
}

int cust_vkeys_load(const char *path, struct ckpt_vkey *keys, size_t *n,
		    char *err, size_t errlen)
{
	char line[CKPT_MAX_VKEY + 8];
	size_t k = 0, len;
	int lineno = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		len = strlen(line);
		if (len && line[len - 1] != '\n' && !feof(f)) {
			r = -E2BIG;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			       line[len - 1] == ' '))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (k == CUST_MAX_VKEYS) {
			r = -E2BIG;
			break;
		}
		if ((r = ckpt_vkey_parse(line, len, &keys[k])))
			break;
		k++;
	}
	fclose(f);
	if (!r && !k)
		r = -ENOKEY;
	if (r) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno,
			 r == -ENOKEY ? "no verifier key in file" :
			 r == -E2BIG ? "line too long or too many keys" :
			 "not a valid verifier key (vkey)");
		return r;
	}
	*n = k;
	return 0;
}
