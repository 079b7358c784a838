/* purge_worker.c - the purge worker thread and the start-up
 * reconciliation of interrupted purges (see purge.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ingact.h"
#include "ingest.h"
#include "lcprio.h"
#include "log.h"
#include "purge.h"
#include "purge_int.h"

struct purge_worker {
	struct dockd *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kicked, stop;
};

/* ---- start-up reconciliation -------------------------------------------- */

/* Items of this dock whose local copy the ledger says is gone (purged)
 * or held (local_copy = 1, stored_local or later), in rowid order. */
static int reconcile_batch(struct dockd *d, int64_t after, struct cand *out, int *local)
{
	static const char sql[] =
		"SELECT r.evidence_id, r.serial, r.recording_id, e.local_copy, r.rowid,"
		" (SELECT v.details FROM events v WHERE v.evidence_id = r.evidence_id"
		"   AND v.action = ?1 AND v.outcome = ?2 ORDER BY v.seq DESC LIMIT 1)"
		" FROM dock_recordings r JOIN evidence e ON e.evidence_id = r.evidence_id"
		" WHERE r.state IN ('stored_local', 'storage_verified', 'released')"
		" AND r.rowid > ?3 ORDER BY r.rowid LIMIT ?4";
	sqlite3_stmt *s = NULL;
	int n = 0, rc;

	ledgerw_lock(d->w);
	rc = sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(d->w)), sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(s, 1, CUST_A_LOCAL_PURGED);
		sqlite3_bind_int(s, 2, CUST_OUTCOME_OK);
		sqlite3_bind_int64(s, 3, after);
		sqlite3_bind_int(s, 4, BATCH);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < BATCH) {
			struct cand *c = &out[n];
			const char *dj = (const char *)sqlite3_column_text(s, 5);
			json_t *j = dj ? json_loads(dj, 0, NULL) : NULL;

			memset(c, 0, sizeof(*c));
			purge_col_text(s, 0, c->evid, sizeof(c->evid));
			purge_col_text(s, 1, c->serial, sizeof(c->serial));
			purge_col_text(s, 2, c->rid, sizeof(c->rid));
			local[n] = sqlite3_column_int(s, 3);
			c->rowid = sqlite3_column_int64(s, 4);
			/* the hash the purge event names: what may be removed */
			snprintf(c->ct_sha, sizeof(c->ct_sha), "%s",
				 json_string_value(json_object_get(j, "ct_sha256")) ?: "");
			json_decref(j);
			n++;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		n = -EIO;
	sqlite3_finalize(s);
	ledgerw_unlock(d->w);
	return n;
}

int purge_reconcile(struct dockd *d, const struct dock_snap *snap)
{
	struct cand *cs = calloc(BATCH, sizeof(*cs));
	int local[BATCH];
	int64_t after = 0;
	unsigned finished = 0, missing = 0;
	int n = 0;

	if (!cs)
		return -ENOMEM;
	while ((n = reconcile_batch(d, after, cs, local)) > 0) {
		for (int i = 0; i < n; i++) {
			const struct cand *c = &cs[i];
			char path[PATH_MAX], hex[65];
			struct stat st;
			uint64_t size;

			after = c->rowid;
			if (ingest_vault_path(&snap->cfg, c->serial, c->rid, path, sizeof(path)) < 0)
				continue;
			if (lstat(path, &st) < 0 && errno == ENOENT) {
				if (local[i] && purge_first_alert(c->evid)) {
					missing++;
					dockd_alert(d, "integrity", c->evid, "vault copy %s missing,"
						    " but the ledger has no local_purged for it", path);
				}
				continue;
			}
			if (local[i])
				continue;
			if (!c->ct_sha[0])
				continue; /* gone without a local_purged of ours (destroyed) */
			/* a purge event whose file remains: a crash between the
			 * event and the unlink. Remove it only if it is the copy
			 * the event describes. */
			if (purge_hash_path(path, hex, &size) == 0 && !strcasecmp(hex, c->ct_sha)) {
				int r = purge_unlink_durable(path);

				if (r == 0)
					finished++;
				log_warning("%s: local_purged recorded before a crash, file still"
					    " there: %s", c->evid, r == 0 ? "removed now" : strerror(-r));
			} else if (purge_first_alert(c->evid)) {
				dockd_alert(d, "integrity", c->evid, "%s: a file is at the vault name of"
					    " a purged copy, but not the copy the local_purged event"
					    " names: left in place", path);
			}
		}
		if (n < BATCH)
			break;
	}
	free(cs);
	if (finished || missing)
		log_info("purge: start-up check finished %u interrupted purge(s), found %u missing"
			 " vault cop%s", finished, missing, missing == 1 ? "y" : "ies");
	return n < 0 ? n : 0;
}

/* ---- the worker --------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *purge_thread(void *arg)
{
	struct purge_worker *pw = arg;
	struct dockd *d = pw->d;
	int64_t next = 0; /* a pass at start */
	int64_t deferred = 0; /* since when a due keep-window pass waits for ingest */

	lcprio_background("purge");
	for (;;) {
		struct dock_snap *snap = dockd_snap_get(d);
		bool kicked, low;
		struct purge_stats st;
		struct timespec until;

		pthread_mutex_lock(&pw->mu);
		kicked = pw->kicked;
		pw->kicked = false;
		pthread_mutex_unlock(&pw->mu);
		low = purge_vault_below(&snap->cfg, &snap->cfg.purge_low, 0);
		if (kicked || low || mono_ms() >= next) {
			/* space first: a kick (a pull short of space) or low_free
			 * never waits for ingest, nor queues behind it on the disk */
			int64_t max = (int64_t)snap->cfg.purge_max_defer_s * 1000;
			bool urgent = kicked || low;
			bool yield = !urgent && max > 0 && !(deferred && mono_ms() - deferred >= max);

			if (!urgent && !yield && deferred)
				log_warning("purge: keep-window pass waited %u s for ingest"
					    " (purge_max_defer_s): runs now", snap->cfg.purge_max_defer_s);
			if (urgent)
				lcprio_io(false);
			if (yield && ingact_busy(d)) {	/* not even the candidates query */
				memset(&st, 0, sizeof(st));
				st.deferred = 1;
			} else {
				(void)purge_run_yielding(d, snap, yield, &st);
			}
			if (urgent)
				lcprio_io(true);
			if (st.deferred && !urgent) {
				if (!deferred) {
					deferred = mono_ms();
					log_info("purge: keep-window pass deferred: a camera is being"
						 " ingested");
				}
			} else {
				if (deferred && !st.deferred)
					log_info("purge: deferred keep-window pass done (%u cop%s)",
						 st.purged, st.purged == 1 ? "y" : "ies");
				deferred = st.deferred ? deferred : 0;
				next = mono_ms() + (int64_t)snap->cfg.purge_interval_s * 1000;
			}
			if (st.purged)
				dockd_touch(d);
		}
		dockd_snap_put(d, snap);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECK_MS / 1000;
		pthread_mutex_lock(&pw->mu);
		while (!pw->stop && !pw->kicked &&
		       pthread_cond_timedwait(&pw->cv, &pw->mu, &until) != ETIMEDOUT)
			;
		if (pw->stop) {
			pthread_mutex_unlock(&pw->mu);
			break;
		}
		pthread_mutex_unlock(&pw->mu);
	}
	return NULL;
}

int purge_start(struct dockd *d, struct purge_worker **out)
{
	struct purge_worker *pw;
	struct dock_snap *snap = dockd_snap_get(d);
	int r;

	r = purge_reconcile(d, snap);
	dockd_snap_put(d, snap);
	if (r < 0)
		log_error("purge: start-up check failed: %s", strerror(-r));
	pw = calloc(1, sizeof(*pw));
	if (!pw)
		return -ENOMEM;
	pw->d = d;
	pthread_mutex_init(&pw->mu, NULL);
	pthread_cond_init(&pw->cv, NULL);
	r = -pthread_create(&pw->th, NULL, purge_thread, pw);
	if (r < 0) {
		pthread_cond_destroy(&pw->cv);
		pthread_mutex_destroy(&pw->mu);
		free(pw);
		return r;
	}
	*out = pw;
	return 0;
}

void purge_kick(struct purge_worker *pw)
{
	if (!pw)
		return;
	pthread_mutex_lock(&pw->mu);
	pw->kicked = true;
	pthread_cond_signal(&pw->cv);
	pthread_mutex_unlock(&pw->mu);
}

void purge_stop(struct purge_worker *pw)
{
	if (!pw)
		return;
	pthread_mutex_lock(&pw->mu);
	pw->stop = true;
	pthread_cond_signal(&pw->cv);
	pthread_mutex_unlock(&pw->mu);
	pthread_join(pw->th, NULL);
	pthread_cond_destroy(&pw->cv);
	pthread_mutex_destroy(&pw->mu);
	free(pw);
}
