/* purge.c - local vault purge (see purge.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "edsig.h"
#include "ingact.h"
#include "ingest.h"
#include "log.h"
#include "purge.h"
#include "purge_int.h"
#include "space.h"

static bool low_logged; /* the purge worker's thread only */

#define ALERTED_MAX 64    /* damaged/missing copies alerted once per run of dockd */
#define HASH_BUF (1u << 20)

static pthread_mutex_t alerted_mu = PTHREAD_MUTEX_INITIALIZER;
static char alerted[ALERTED_MAX][DOCKDB_EVIDENCE_MAX + 1];
static unsigned n_alerted;

/* true the first time evid is named here (one alert per copy, not one per pass). */
bool purge_first_alert(const char *evid)
{
	bool first = true;

	pthread_mutex_lock(&alerted_mu);
	for (unsigned i = 0; i < n_alerted && i < ALERTED_MAX && first; i++)
		first = strcmp(alerted[i], evid) != 0;
	if (first)
		snprintf(alerted[n_alerted++ % ALERTED_MAX], sizeof(alerted[0]), "%s", evid);
	pthread_mutex_unlock(&alerted_mu);
	return first;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void purge_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? t : "");
}

/* Verified copies with a local copy, oldest stored_local first, after
 * (after_ns, after_rowid). Returns how many (0..BATCH) or -errno. */
static int candidates(struct dockd *d, int64_t after_ns, int64_t after_rowid, struct cand *out)
{
	static const char sql[] =
		"SELECT * FROM (SELECT r.evidence_id, r.serial, r.recording_id,"
		" coalesce(nullif(e.category, ''), r.category), coalesce(r.ct_size, 0),"
		" coalesce(r.ct_sha256, ''), e.legal_hold,"
		" (SELECT min(v.time_ns) FROM events v WHERE v.evidence_id = r.evidence_id"
		"   AND v.action = ?1 AND v.outcome = ?3) AS sns, r.rowid AS rid,"
		" (SELECT max(v.seq) FROM events v WHERE v.evidence_id = r.evidence_id"
		"   AND v.action = ?2 AND v.outcome = ?3)"
		" FROM dock_recordings r JOIN evidence e ON e.evidence_id = r.evidence_id"
		" WHERE r.state IN ('storage_verified', 'released') AND e.local_copy = 1)"
		" WHERE sns IS NOT NULL AND (sns > ?4 OR (sns = ?4 AND rid > ?5))"
		" ORDER BY sns, rid LIMIT ?6";
	sqlite3_stmt *s = NULL;
	int n = 0, rc;

	ledgerw_lock(d->w);
	rc = sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(d->w)), sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int(s, 1, CUST_A_STORED_LOCAL);
	sqlite3_bind_int(s, 2, CUST_A_STORAGE_VERIFIED);
	sqlite3_bind_int(s, 3, CUST_OUTCOME_OK);
	sqlite3_bind_int64(s, 4, after_ns);
	sqlite3_bind_int64(s, 5, after_rowid);
	sqlite3_bind_int(s, 6, BATCH);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < BATCH) {
		struct cand *c = &out[n++];

		purge_col_text(s, 0, c->evid, sizeof(c->evid));
		purge_col_text(s, 1, c->serial, sizeof(c->serial));
		purge_col_text(s, 2, c->rid, sizeof(c->rid));
		purge_col_text(s, 3, c->category, sizeof(c->category));
		c->ct_size = (uint64_t)sqlite3_column_int64(s, 4);
		purge_col_text(s, 5, c->ct_sha, sizeof(c->ct_sha));
		c->held = sqlite3_column_int(s, 6) != 0;
		c->stored_ns = sqlite3_column_int64(s, 7);
		c->rowid = sqlite3_column_int64(s, 8);
		c->ver_seq = sqlite3_column_type(s, 9) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 9);
	}
out:
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("purge: reading candidates: %s",
			  sqlite3_errmsg(cust_ledger_db(ledgerw_ledger(d->w))));
		n = -EIO;
	}
	sqlite3_finalize(s);
	ledgerw_unlock(d->w);
	return n;
}

/* One event's details (lock held by the caller). */
static json_t *event_details(struct dockd *d, int64_t seq)
{
	sqlite3_stmt *s = NULL;
	json_t *j = NULL;

	if (sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(d->w)),
			       "SELECT details FROM events WHERE seq = ?1", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, seq);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			j = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
	}
	sqlite3_finalize(s);
	return j;
}

/* The storage_verified event's location, if it is on the configured
 * target (the copy the release policy trusts). */
static bool verified_here(struct dockd *d, const struct dock_snap *snap, int64_t seq,
			  char *loc, size_t cap)
{
	const char *t = snap->cfg.storage_target;
	size_t tl = strlen(t);
	json_t *j;
	const char *l;
	bool ok;

	while (tl && t[tl - 1] == '/')
		tl--;
	if (!tl || seq <= 0)
		return false;
	ledgerw_lock(d->w);
	j = event_details(d, seq);
	ledgerw_unlock(d->w);
	l = json_string_value(json_object_get(j, "location"));
	ok = l && !strncmp(l, t, tl) && l[tl] == '/' && strlen(l) < cap;
	if (ok)
		memcpy(loc, l, strlen(l) + 1);
	json_decref(j);
	return ok;
}

/* SHA-256 and size of the file at fd. */
static int hash_fd(int fd, char hex[65], uint64_t *size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(HASH_BUF), md[32];
	uint64_t n = 0;
	int r = -ENOMEM;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto fail;
	for (;;) {
		ssize_t got = read(fd, buf, HASH_BUF);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto fail;
		}
		if (got == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
			r = -EIO;
			goto fail;
		}
		n += (uint64_t)got;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		r = -EIO;
		goto fail;
	}
	edsig_hex(md, 32, hex, 65);
	*size = n;
	r = 0;
fail:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

int purge_hash_path(const char *path, char hex[65], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (r == 0)
		r = hash_fd(fd, hex, size);
	close(fd);
	return r;
}

/* unlink, then fsync the directory so the removal itself is durable. */
int purge_unlink_durable(const char *path)
{
	char dir[PATH_MAX];
	const char *sl = strrchr(path, '/');
	int fd, r = 0;

	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (!sl || (size_t)(sl - path) >= sizeof(dir))
		return 0;
	memcpy(dir, path, (size_t)(sl - path));
	dir[sl - path] = '\0';
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Append local_purged in a transaction that re-reads hold and local copy
 * (a hold set a moment ago wins). -EALREADY: purged meanwhile; -EPERM: held. */
static int record_purge(struct dockd *d, const struct dock_snap *snap, const struct cand *c,
			json_t *det, const char *reason)
{
	struct cust_ledger *l;
	struct cust_event ev;
	sqlite3_stmt *s = NULL;
	int r, held = 0, local = 0;

	r = ledgerw_event(d->w, &ev, CUST_A_LOCAL_PURGED, c->evid, CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (r == 0)
		r = cust_event_set_details(&ev, det);
	if (r < 0)
		return r;
	ledgerw_lock(d->w);
	l = ledgerw_ledger(d->w);
	r = cust_ledger_begin(l);
	if (r < 0) {
		ledgerw_unlock(d->w);
		return r;
	}
	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT legal_hold, local_copy FROM evidence"
			       " WHERE evidence_id = ?1", -1, &s, NULL) != SQLITE_OK) {
		r = -EIO;
	} else {
		sqlite3_bind_text(s, 1, c->evid, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			held = sqlite3_column_int(s, 0);
			local = sqlite3_column_int(s, 1);
		} else {
			r = -ENOENT;
		}
	}
	sqlite3_finalize(s);
	if (r == 0 && !local)
		r = -EALREADY;
	if (r == 0 && held && snap->cfg.keep_held_local)
		r = -EPERM;
	if (r == 0)
		r = cust_ledger_append(l, &ev);
	if (r == 0)
		r = cust_ledger_commit(l);
	if (r < 0)
		cust_ledger_rollback(l);
	ledgerw_unlock(d->w);
	return r;
}

/* Hash, record, unlink one copy. *freed gets its size. */
static int purge_one(struct dockd *d, const struct dock_snap *snap, const struct cand *c,
		     const char *loc, bool low, bool dry_run, FILE *list, struct purge_stats *st)
{
	const struct dock_config *cfg = &snap->cfg;
	char path[PATH_MAX], rel[PATH_MAX], hex[65];
	uint64_t size = 0;
	json_t *det;
	int r;

	if (ingest_vault_path(cfg, c->serial, c->rid, path, sizeof(path)) < 0 ||
	    snprintf(rel, sizeof(rel), "%s/%s/%s.bcde", cfg->agency_id, c->serial, c->rid) >=
		    (int)sizeof(rel))
		return -ENAMETOOLONG;
	r = purge_hash_path(path, hex, &size);
	if (r == -ENOENT) {
		st->missing++;
		if (dry_run && list)
			fprintf(list, "# %s %s: vault copy missing without local_purged\n", c->evid, rel);
		if (!dry_run && purge_first_alert(c->evid))
			dockd_alert(d, "integrity", c->evid, "vault copy %s missing, but the ledger"
				    " has no local_purged for it", rel);
		return r;
	}
	if (r == 0 && (size != c->ct_size || strcasecmp(hex, c->ct_sha)))
		r = -EBADMSG;
	if (r < 0) {
		st->damaged++;
		if (dry_run && list)
			fprintf(list, "# %s %s: not purged: %s\n", c->evid, rel,
				r == -EBADMSG ? "SHA-256/size differ from stored_local" : strerror(-r));
		if (!dry_run && purge_first_alert(c->evid))
			dockd_alert(d, "integrity", c->evid, "vault copy %s not purged: %s", rel,
				    r == -EBADMSG ? "its SHA-256/size differ from stored_local"
						  : strerror(-r));
		return r;
	}
	if (dry_run) {
		if (list)
			fprintf(list, "%s %s %" PRIu64 " %s %s\n", c->evid, rel, size,
				low ? "low_space" : "keep_window", loc);
		st->purged++;
		st->bytes += size;
		return 0;
	}
	det = json_pack("{s:s,s:I,s:s,s:s,s:{s:I,s:s},s:s}", "path", rel, "size",
			(json_int_t)size, "ct_sha256", hex, "why", low ? "low_space" : "keep_window",
			"verified", "seq", (json_int_t)c->ver_seq, "location", loc,
			"category", c->category);
	if (!det)
		return -ENOMEM;
	if (!low)
		json_object_set_new(det, "keep_days",
				    json_integer(dock_config_keep_days(cfg, c->category)));
	r = record_purge(d, snap, c, det, low ? "vault low on space: copy verified in storage"
					      : "local keep window passed: copy verified in storage");
	json_decref(det);
	if (r == -EPERM)
		st->held++;
	else if (r < 0 && r != -EALREADY)
		log_error("%s: local_purged not recorded (%s): copy kept", c->evid, strerror(-r));
	if (r < 0)
		return r;
	/* The event is durable: from here a crash is finished by purge_reconcile. */
	r = purge_unlink_durable(path);
	if (r < 0)
		log_error("%s: local_purged recorded but %s not removed: %s (retried at start)",
			  c->evid, path, strerror(-r));
	else
		log_info("%s: local copy purged (%s, %" PRIu64 " bytes)", c->evid,
			 low ? "low space" : "keep window", size);
	st->purged++;
	st->bytes += size;
	return 0;
}

/* free < want? (want in bytes; false when the check fails) */
bool purge_vault_below(const struct dock_config *cfg, const struct dock_free_mark *m,
			uint64_t extra_freed)
{
	uint64_t fr, tot;

	if (space_free(cfg->vault_dir, &fr, &tot) < 0)
		return false;
	return fr + extra_freed < dock_config_mark_bytes(m, tot);
}

static int pass(struct dockd *d, const struct dock_snap *snap, bool dry_run, FILE *list,
		struct purge_stats *st, bool yield)
{
	const struct dock_config *cfg = &snap->cfg;
	struct cand *cs = calloc(BATCH, sizeof(*cs));
	int64_t now = realtime_ns(), after_ns = -1, after_row = 0;
	/* a dry run frees nothing: count what it would have freed */
	bool low = purge_vault_below(cfg, &cfg->purge_low, 0);
	int n = 0, r = 0;

	memset(st, 0, sizeof(*st));
	if (!cs)
		return -ENOMEM;
	if (low)
		log_debug("vault under low_free: purging verified copies oldest first until high_free");
	while (!atomic_load(&d->stop) && (n = candidates(d, after_ns, after_row, cs)) > 0) {
		for (int i = 0; i < n && !atomic_load(&d->stop); i++) {
			const struct cand *c = &cs[i];
			int32_t keep = dock_config_keep_days(cfg, c->category);
			bool aged = keep >= 0 && now - c->stored_ns >= (int64_t)keep * 86400 * 1000000000LL;
			char loc[STORE_LOCATION_MAX + 1];

			after_ns = c->stored_ns;
			after_row = c->rowid;
			if (low && !purge_vault_below(cfg, &cfg->purge_high, dry_run ? st->bytes : 0))
				low = false;
			if (!aged && !low) {
				st->young++;
				continue;
			}
			if (yield && !low && ingact_busy(d)) {
				/* keep window only: no hurry, ingest first */
				st->deferred = 1;
				goto out;
			}
			if (c->held && cfg->keep_held_local) {
				st->held++;
				continue;
			}
			if (!verified_here(d, snap, c->ver_seq, loc, sizeof(loc)))
				continue; /* verified on an earlier target only: not ours to trust */
			/* one copy's failure (unreadable, damaged, the ledger
			 * refusing its event) leaves that copy and goes on */
			r = purge_one(d, snap, c, loc, !aged, dry_run, list, st);
			if (r == -ENOMEM)
				goto out;
			r = 0;
		}
		if (n < BATCH)
			break;
	}
	if (n < 0)
		r = n;
out:
	free(cs);
	if (st->purged && !dry_run)
		log_info("purge: %u local cop%s purged (%" PRIu64 " bytes); %u held, %u in their"
			 " keep window", st->purged, st->purged == 1 ? "y" : "ies", st->bytes,
			 st->held, st->young);
	/* Not an alert: a pull that pauses for space raises that one; this
	 * says why purging could not help (once per episode). */
	if (!dry_run && st->purged == 0 && purge_vault_below(cfg, &cfg->purge_low, 0)) {
		if (!low_logged)
			log_warning("vault under low_free and nothing more may be purged (%u held, %u"
				    " damaged or missing; the rest not yet verified in storage)",
				    st->held, st->damaged + st->missing);
		low_logged = true;
	} else if (!dry_run) {
		low_logged = false;
	}
	return r;
}

int purge_run(struct dockd *d, const struct dock_snap *snap, bool dry_run, FILE *list,
	      struct purge_stats *st)
{
	return pass(d, snap, dry_run, list, st, false);
}

int purge_run_yielding(struct dockd *d, const struct dock_snap *snap, bool yield,
		       struct purge_stats *st)
{
	return pass(d, snap, false, NULL, st, yield);
}
