/* storage.c - storage worker threads (see storage.h). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckptup.h"
#include "dockdb.h"
#include "log.h"
#include "partsum.h"
#include "release.h"
#include "space.h"
#include "storage.h"

#define SW_MAX 16
#define SW_FAILS_MAX 64     /* items remembered as failing in this episode */
#define PERM_PAUSE_S 300    /* after a permanent failure */
#define BACKOFF_MAX_S 8     /* transient: 1, 2, 4, 8, 8, ... s between probes */
#define RECHECK_S 30        /* wake up now and then even without a kick */
#define WINDOW_RECHECK_S 60 /* outside the windows: look at the clock again */

enum task_kind { T_NONE, T_REC, T_CKPT };

struct task {
	enum task_kind kind;
	struct dock_rec rec;
	int64_t rowid;
	bool quiet;   /* a retry inside a failure episode: no new upload_started */
	uint64_t ckpt_size;
	char *note;   /* checkpoint text (T_CKPT) */
	size_t note_len;
};

struct fail_ent {
	int64_t rowid;
	int err;
	int64_t until; /* CLOCK_MONOTONIC s: parked until then (0 = not parked) */
};

struct sw_thread {
	struct storage_worker *sw;
	unsigned idx;
	pthread_t th;
};

struct storage_worker {
	struct dockd *d;
	struct sw_thread th[SW_MAX];
	unsigned n_th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, pending;
	unsigned n_waiting;
	int64_t claimed[SW_MAX]; /* rowid each thread uploads, 0 = none */
	/* target-wide failure episode */
	bool failing, permanent, outside;
	unsigned backoff_s, alerted; /* alerted: 0 none, 1 transient, 2 permanent */
	int64_t pause_until;         /* CLOCK_MONOTONIC s */
	int64_t fail_since;          /* UTC s */
	char last_error[200];
	struct fail_ent fails[SW_FAILS_MAX];
	size_t n_fails;
	/* checkpoints */
	bool ckpt_busy, ckpt_blocked;
	uint64_t ckpt_done;
	int64_t ckpt_retry; /* CLOCK_MONOTONIC s */
	char ckpt_file[DOCK_CONFIG_PATH_MAX + 32];
	char target[DOCK_CONFIG_PATH_MAX];
};

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* What the target's refusal means, for people. */
static const char *error_text(int r)
{
	switch (r) {
	case -EACCES: return "access denied (credentials or bucket policy)";
	case -ENXIO: return "no such bucket";
	case -ETIME: return "request time too skewed: the dock's clock is off";
	case -ENOTSUP: return "Object Lock is not enabled on the bucket";
	case -EEXIST: return "a different object already exists under this key";
	case -EUCLEAN: return "the local vault copy no longer matches its recorded SHA-256";
	case -EDQUOT: return "the storage quota of the user or bucket is exceeded";
	case -ENOSYS: return "the storage target does not implement a request the dock needs";
	default: return strerror(-r > 0 && -r < 4096 ? -r : EIO);
	}
}

/* Retrying cannot help until someone changes something. */
static bool permanent_error(int r)
{
	return r == -EACCES || r == -ENXIO || r == -ETIME || r == -ENOTSUP || r == -EEXIST ||
	       r == -EUCLEAN || r == -EDQUOT || r == -ENOSYS;
}

/* ---- status -------------------------------------------------------------- */

/* Under sw->mu. */
static void publish_state(struct storage_worker *sw)
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

/* ---- checkpoints ----------------------------------------------------------- */

static void ckpt_finish(struct storage_worker *sw, const struct task *t, int r)
{
	bool alert = false;

	pthread_mutex_lock(&sw->mu);
	sw->ckpt_busy = false;
	if (r == 0) {
		sw->ckpt_done = t->ckpt_size;
		ckptup_save(sw->ckpt_file, t->ckpt_size);
	} else if (r == -EEXIST) {
		alert = !sw->ckpt_blocked;
		sw->ckpt_blocked = true; /* until SIGHUP or restart */
	} else {
		sw->ckpt_retry = mono_s() + 60;
	}
	pthread_mutex_unlock(&sw->mu);
	if (alert)
		dockd_alert(sw->d, "storage", NULL,
			    "checkpoint %" PRIu64 ": a different object holds its key on the "
			    "storage target; checkpoint uploads stop until SIGHUP", t->ckpt_size);
}

/* ---- recordings ------------------------------------------------------------ */

static int object_key(const struct dockd *d, const struct dock_rec *r, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s/%s.bcde", d->cert.agency_id, r->serial, r->recording_id);

	if (n < 0 || (size_t)n >= cap || !store_key_valid(buf))
		return -EINVAL;
	return 0;
}

/* Tags and Object Lock from the retention policy: "<days>d" and a
 * retain-until of the recording's end + days (the store time when the
 * camera's end time is implausible); indefinite retention is a legal hold
 * without retain-until. */
static void put_opts(const struct dock_snap *s, const struct dock_rec *rec, char *cls, size_t cap,
		     struct store_put_opts *po)
{
	int32_t days = dock_config_retention_days(&s->cfg, rec->category, NULL);
	/* The ledger's retention_set counts the minimum retention from ingest
	 * (the dock's custody moment). The lock counts from now, the upload,
	 * which comes after ingest: it never ends before the ledger's date,
	 * and it is never already lapsed (which S3 refuses), whatever the
	 * camera's clock said about the recording's end. */
	time_t base = time(NULL);

	po->sha256 = rec->ct_sha256;
	po->category = rec->category;
	po->case_no = "";
	po->legal_hold = days < 0;
	if (days < 0)
		snprintf(cls, cap, "indefinite");
	else
		snprintf(cls, cap, "%dd", (int)days);
	po->retention_class = cls;
	po->retain_until = days < 0 ? 0 : base + (time_t)days * 86400;
}

static int rec_put(struct storage_worker *sw, struct task *t)
{
	struct dockd *d = sw->d;
	struct dock_rec *rec = &t->rec;
	struct store_put_opts po = { 0 };
	struct store_info info;
	struct dock_snap *s;
	char key[STORE_KEY_MAX + 1], cls[24], sums[PATH_MAX];
	int fd, r, slot;

	r = object_key(d, rec, key, sizeof(key));
	if (r < 0)
		return r;
	fd = open(rec->location, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_error("%s: vault file %s: %s", rec->evidence_id, rec->location, strerror(-r));
		return r;
	}
	if (!t->quiet && (r = dockdb_upload_started(d->w, rec, key, sw->target, NULL)) < 0) {
		close(fd);
		return r;
	}
	s = dockd_snap_get(d);
	put_opts(s, rec, cls, sizeof(cls), &po);
	dockd_snap_put(d, s);
	slot = status_upload_begin(d->status, rec->evidence_id, key, rec->ct_size);
	po.progress = status_upload_progress(d->status, slot);
	if (partsum_path(rec->location, sums, sizeof(sums)) == 0)
		po.part_sums = sums; /* the ingest's part digests (dockd/partsum.h) */
	memset(&info, 0, sizeof(info));
	r = store_put(d->store, key, fd, rec->ct_size, &po, &info);
	close(fd);
	if (r == 0 && po.progress)
		atomic_store(po.progress, rec->ct_size); /* targets that do not count */
	if (r == 0)
		r = store_verify(d->store, key, rec->ct_size, rec->ct_sha256);
	status_upload_end(d->status, slot);
	if (r < 0) {
		log_error("%s: storage target: %s", rec->evidence_id, error_text(r));
		return r;
	}
	r = dockdb_storage_verified(d->w, rec, key, &info);
	if (r == 0)
		log_info("%s: storage verified at %s", rec->evidence_id, info.location);
	return r;
}

static struct fail_ent *fail_find(struct storage_worker *sw, int64_t rowid)
{
	for (size_t i = 0; i < sw->n_fails; i++)
		if (sw->fails[i].rowid == rowid)
			return &sw->fails[i];
	return NULL;
}

static void fail_drop(struct storage_worker *sw, int64_t rowid, bool keep_parked)
{
	for (size_t i = 0; i < sw->n_fails;) {
		if ((rowid && sw->fails[i].rowid != rowid) || (keep_parked && sw->fails[i].until)) {
			i++;
			continue;
		}
		sw->fails[i] = sw->fails[--sw->n_fails];
	}
}

/* Under sw->mu: note a failure; returns the alert level to raise (0 none).
 * *event: write `uploaded` failed (a permanent error new for this item in
 * this episode). */
static unsigned rec_failed(struct storage_worker *sw, const struct task *t, int r, bool *event)
{
	struct fail_ent *fe = fail_find(sw, t->rowid);
	bool perm = permanent_error(r);
	unsigned level = perm ? 2 : 1, raise = 0;

	/* no room to remember it: stay silent rather than write every retry */
	*event = perm && fe ? fe->err != r : perm && sw->n_fails < SW_FAILS_MAX;
	if (!fe && sw->n_fails < SW_FAILS_MAX) {
		fe = &sw->fails[sw->n_fails++];
		fe->rowid = t->rowid;
	}
	if (r == -EEXIST || r == -EUCLEAN) { /* this item only: park it, the target works */
		if (fe) {
			raise = fe->err != r ? 2 : 0;
			fe->until = mono_s() + PERM_PAUSE_S;
			fe->err = r;
		}
		snprintf(sw->last_error, sizeof(sw->last_error), "%s: %s", t->rec.evidence_id,
			 error_text(r));
		return raise;
	}
	if (fe)
		fe->err = r;
	if (!sw->failing)
		sw->fail_since = (int64_t)time(NULL);
	sw->failing = true;
	sw->permanent = perm;
	sw->pause_until = mono_s() + (perm ? PERM_PAUSE_S : sw->backoff_s);
	if (!perm)
		sw->backoff_s = sw->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : sw->backoff_s * 2;
	snprintf(sw->last_error, sizeof(sw->last_error), "%s", error_text(r));
	if (level > sw->alerted) {
		raise = level;
		sw->alerted = level;
	}
	return raise;
}

static void rec_finish(struct storage_worker *sw, unsigned idx, const struct task *t, int r)
{
	unsigned raise = 0;
	bool event = false;

	pthread_mutex_lock(&sw->mu);
	sw->claimed[idx] = 0;
	if (r == 0) {
		if (sw->failing)
			log_info("storage target works again");
		sw->failing = sw->permanent = false;
		sw->backoff_s = 1;
		sw->alerted = 0;
		sw->fail_since = 0;
		sw->last_error[0] = '\0';
		fail_drop(sw, 0, true); /* the episode is over; parked items stay parked */
		fail_drop(sw, t->rowid, false);
	} else {
		raise = rec_failed(sw, t, r, &event);
	}
	publish_state(sw);
	pthread_mutex_unlock(&sw->mu);
	if (event) {
		char key[STORE_KEY_MAX + 1];

		if (object_key(sw->d, &t->rec, key, sizeof(key)) == 0)
			(void)dockdb_upload_failed(sw->d->w, &t->rec, key, error_text(r));
	}
	if (raise && r == -EUCLEAN)
		dockd_alert(sw->d, "integrity", t->rec.evidence_id,
			    "%s; not uploaded, the camera is not released (it keeps the recording)",
			    error_text(r));
	else if (raise == 1)
		dockd_alert(sw->d, "storage", t->rec.evidence_id,
			    "storage target failed: %s; retrying with backoff", error_text(r));
	else if (raise == 2)
		dockd_alert(sw->d, "storage", t->rec.evidence_id,
			    "storage target refused the upload: %s; next attempt in %d min or at "
			    "SIGHUP", error_text(r), PERM_PAUSE_S / 60);
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
	publish_state(sw);
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
	t->quiet = fail_find(sw, t->rowid) != NULL;
	sw->claimed[idx] = t->rowid;
	publish_state(sw);
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
			ckpt_finish(sw, &t, r);
			free(t.note);
		} else {
			rec_finish(sw, th->idx, &t, rec_put(sw, &t));
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
	publish_state(sw);
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
	publish_state(sw);
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
