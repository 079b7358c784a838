/* storage.c - storage worker threads (see storage.h): picking work, the
 * threads, the status table, the API. One upload and its outcome:
 * storage_upload.c. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckptup.h"
#include "dockdb.h"
#include "log.h"
#include "release.h"
#include "space.h"
#include "storage.h"
#include "storage_int.h"

#define RECHECK_S 30        /* wake up now and then even without a kick */
#define WINDOW_RECHECK_S 60 /* outside the windows: look at the clock again */

/* ---- status -------------------------------------------------------------- */

/* Under sw->mu. */
void storage_publish_state(struct storage_worker *sw)
{
	const char *state = "idle";
	int64_t retry = 0, now = mono_s();
	bool busy = false, parked = false;

	for (unsigned i = 0; i < sw->n_th; i++)
		busy |= sw->claimed[i] != 0;
	for (size_t i = 0; i < sw->n_fails; i++)
		parked |= sw->fails[i].until > now;
	if (sw->failing) {
		state = sw->permanent ? "blocked" : "failing";
		retry = (int64_t)time(NULL) + (sw->pause_until > now ? sw->pause_until - now : 0);
	} else if (busy) {
		state = "uploading";
	} else if (sw->outside) {
		state = "outside-window";
	} else if (parked) {
		state = "item-blocked"; /* the target works; an item is refused (last_error) */
	}
	status_storage(sw->d->status, sw->target, state, sw->n_th, sw->last_error,
		       sw->fail_since, retry);
}

static void refresh_queue(void *ctx)
{
	struct dockd *d = ctx;
	struct dock_snap *s = dockd_snap_get(d);
	uint64_t q = 0, rel = 0, qb = 0;

	(void)dockdb_count(d->w, NULL, DREC_BIT(DREC_STORED_LOCAL), &q);
	(void)dockdb_count(d->w, NULL, release_mask(&s->cfg), &rel);
	if (dockdb_sum_size(d->w, DREC_BIT(DREC_STORED_LOCAL), &qb) == 0)
		status_queue_bytes(d->status, qb);
	{
		uint64_t vf, vt, sf, stt;

		if (space_free(s->cfg.vault_dir, &vf, &vt) == 0 &&
		    space_free(s->cfg.state_dir, &sf, &stt) == 0)
			status_space(d->status, vf, vt, sf, stt);
	}
	dockd_snap_put(d, s);
	status_queue(d->status, q, rel);
}

void storage_status_attach(struct dockd *d)
{
	status_set_refresh(d->status, refresh_queue, d);
}

/* ---- picking work ------------------------------------------------------------ */

/* Under sw->mu: nothing to do now; sleep until kicked, stopped or secs. */
static void wait_for(struct storage_worker *sw, int64_t secs)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs > 0 ? secs : 1;
	sw->pending = false;
	sw->n_waiting++;
	storage_publish_state(sw);
	(void)pthread_cond_timedwait(&sw->cv, &sw->mu, &until);
	sw->n_waiting--;
}

static bool stopping(struct storage_worker *sw)
{
	return sw->stop || atomic_load(&sw->d->stop);
}

/* Under sw->mu: a checkpoint to upload? */
static bool pick_ckpt(struct storage_worker *sw, const struct dock_config *c, struct task *t)
{
	if (!c->upload_checkpoints || sw->ckpt_busy || sw->ckpt_blocked ||
	    mono_s() < sw->ckpt_retry)
		return false;
	if (ckptup_newest(sw->d->w, sw->ckpt_done, &t->ckpt_size, &t->note, &t->note_len) < 0)
		return false;
	t->kind = T_CKPT;
	sw->ckpt_busy = true;
	return true;
}

/* Under sw->mu: inside the windows? If not, log it once per closed spell. */
static bool window_open(struct storage_worker *sw, const struct dock_config *c, unsigned *wait)
{
	time_t now = time(NULL);
	struct tm tm;
	uint64_t q = 0;

	localtime_r(&now, &tm);
	if (dock_config_upload_window(c, (unsigned)(tm.tm_hour * 60 + tm.tm_min), wait)) {
		sw->outside = false;
		return true;
	}
	if (!sw->outside) {
		(void)dockdb_count(sw->d->w, NULL, DREC_BIT(DREC_STORED_LOCAL), &q);
		log_info("storage: outside [storage] upload_windows: %" PRIu64 " recording(s) queued;"
			 " the next window opens in %u min", q, *wait);
	}
	sw->outside = true;
	return false;
}

/* Under sw->mu: the next stored_local row for thread idx. */
static int pick_rec(struct storage_worker *sw, unsigned idx, const struct dock_config *c,
		    struct task *t)
{
	int64_t skip[SW_MAX + SW_FAILS_MAX], now = mono_s();
	size_t n = 0;
	int r;

	for (unsigned i = 0; i < sw->n_th; i++)
		if (sw->claimed[i])
			skip[n++] = sw->claimed[i];
	for (size_t i = 0; i < sw->n_fails; i++)
		if (sw->fails[i].until > now)
			skip[n++] = sw->fails[i].rowid;
	if (n > 64)
		n = 64; /* dockdb's cap; a row beyond it is only tried early */
	r = dockdb_next_upload(sw->d->w, c->priority, c->n_priority, skip, n, &t->rec, &t->rowid);
	if (r < 0)
		return r;
	t->kind = T_REC;
	t->quiet = storage_fail_find(sw, t->rowid) != NULL;
	sw->claimed[idx] = t->rowid;
	storage_publish_state(sw);
	return 0;
}

/* Block until thread idx has a task (0) or must stop (-ECANCELED). */
static int next_task(struct storage_worker *sw, unsigned idx, struct task *t)
{
	int r = -ECANCELED;

	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&sw->mu);
	while (!stopping(sw)) {
		struct dock_snap *s;
		unsigned wait = 0;
		int64_t now = mono_s();
		bool open;

		if (sw->failing && now < sw->pause_until) {
			wait_for(sw, sw->pause_until - now);
			continue;
		}
		/* Evidence first: a checkpoint (only the newest of those
		 * waiting) goes when no recording is ready to go up. */
		s = dockd_snap_get(sw->d);
		open = window_open(sw, &s->cfg, &wait);
		if ((open && pick_rec(sw, idx, &s->cfg, t) == 0) || pick_ckpt(sw, &s->cfg, t)) {
			dockd_snap_put(sw->d, s);
			r = 0;
			break;
		}
		dockd_snap_put(sw->d, s);
		r = -ECANCELED;
		if (!open)
			wait_for(sw, wait * 60 < WINDOW_RECHECK_S ? (int64_t)wait * 60 : WINDOW_RECHECK_S);
		else
			wait_for(sw, RECHECK_S);
	}
	pthread_mutex_unlock(&sw->mu);
	return r;
}

static void *worker(void *arg)
{
	struct sw_thread *th = arg;
	struct storage_worker *sw = th->sw;
	struct task t;

	/* Reach the target (s3://: bucket, Object Lock, orphan sweep) from
	 * here, never from start-up: a hung server must not hold the camera
	 * socket closed. A failure is retried by every put/verify. */
	if (th->idx == 0)
		(void)store_prepare(sw->d->store);
	while (next_task(sw, th->idx, &t) == 0) {
		if (t.kind == T_CKPT) {
			struct dock_snap *s = dockd_snap_get(sw->d);
			int r = ckptup_put(sw->d->store, s->cfg.dock_id, t.ckpt_size, t.note,
					   t.note_len);

			dockd_snap_put(sw->d, s);
			storage_ckpt_finish(sw, &t, r);
			free(t.note);
		} else {
			storage_rec_finish(sw, th->idx, &t, storage_rec_put(sw, &t));
		}
		dockd_touch(sw->d);
	}
	return NULL;
}

/* ---- API ---------------------------------------------------------------------- */

static void on_checkpoint(void *arg)
{
	storage_kick(arg);
}

int storage_start(struct dockd *d, struct storage_worker **out)
{
	struct storage_worker *sw = calloc(1, sizeof(*sw));
	struct dock_snap *s = dockd_snap_get(d);
	int r = 0;

	if (!sw) {
		dockd_snap_put(d, s);
		return -ENOMEM;
	}
	sw->d = d;
	sw->backoff_s = 1;
	sw->pending = true;
	sw->n_th = s->cfg.parallel_uploads >= 1 && s->cfg.parallel_uploads <= SW_MAX
			   ? s->cfg.parallel_uploads : 1;
	snprintf(sw->target, sizeof(sw->target), "%s", s->cfg.storage_target);
	snprintf(sw->ckpt_file, sizeof(sw->ckpt_file), "%s/checkpoints-uploaded",
		 s->cfg.state_dir);
	dockd_snap_put(d, s);
	sw->ckpt_done = ckptup_load(sw->ckpt_file);
	ledgerw_lock(d->w);
	r = dockdb_upload_schema(ledgerw_ledger(d->w));
	ledgerw_unlock(d->w);
	if (r < 0) {
		free(sw);
		return r;
	}
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	storage_publish_state(sw);
	pthread_mutex_lock(&sw->mu); /* threads wait until all exist (n_th is final) */
	for (unsigned i = 0; i < sw->n_th && r == 0; i++) {
		sw->th[i].sw = sw;
		sw->th[i].idx = i;
		r = -pthread_create(&sw->th[i].th, NULL, worker, &sw->th[i]);
		if (r < 0)
			sw->n_th = i;
	}
	pthread_mutex_unlock(&sw->mu);
	if (r < 0 && sw->n_th == 0) {
		pthread_mutex_destroy(&sw->mu);
		pthread_cond_destroy(&sw->cv);
		free(sw);
		return r;
	}
	log_info("storage: %u upload worker(s) for %s", sw->n_th, sw->target);
	ledgerw_set_checkpoint_hook(d->w, on_checkpoint, sw);
	*out = sw;
	return 0;
}

void storage_kick(struct storage_worker *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->pending = true;
	pthread_cond_broadcast(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

void storage_reload(struct storage_worker *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	if (sw->failing || sw->n_fails || sw->ckpt_blocked)
		log_info("storage: SIGHUP: retrying failed uploads now");
	sw->failing = sw->permanent = false;
	sw->pause_until = 0;
	sw->backoff_s = 1;
	sw->alerted = 0;
	sw->fail_since = 0;
	sw->last_error[0] = '\0';
	sw->n_fails = 0;
	sw->ckpt_blocked = false;
	sw->ckpt_retry = 0;
	sw->outside = false;
	sw->pending = true;
	storage_publish_state(sw);
	pthread_cond_broadcast(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

void storage_stop(struct storage_worker *sw)
{
	uint64_t q = 0;

	if (!sw)
		return;
	ledgerw_set_checkpoint_hook(sw->d->w, NULL, NULL);
	pthread_mutex_lock(&sw->mu);
	sw->stop = true;
	pthread_cond_broadcast(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	for (unsigned i = 0; i < sw->n_th; i++)
		pthread_join(sw->th[i].th, NULL);
	if (dockdb_count(sw->d->w, NULL, DREC_BIT(DREC_STORED_LOCAL), &q) == 0 && q)
		log_info("storage: %" PRIu64 " recording(s) stay queued for upload (stored_local;"
			 " taken up again at the next start)", q);
	pthread_mutex_destroy(&sw->mu);
	pthread_cond_destroy(&sw->cv);
	free(sw);
}

bool storage_idle(struct storage_worker *sw, bool *failing)
{
	int64_t now = mono_s();
	bool idle, parked = false;

	pthread_mutex_lock(&sw->mu);
	for (size_t i = 0; i < sw->n_fails; i++)
		parked |= sw->fails[i].until > now;
	idle = sw->failing || (sw->n_waiting == sw->n_th && !sw->pending);
	*failing = sw->failing || parked;
	pthread_mutex_unlock(&sw->mu);
	return idle;
}
