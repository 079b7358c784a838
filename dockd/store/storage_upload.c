/* storage_upload.c - one upload of the storage workers (storage.h): a
 * recording put, verified and recorded storage_verified, or a checkpoint;
 * then what its outcome does: the failure episode (backoff, pause, parked
 * items), the `uploaded` failed event and the alerts. */
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
#include "storage.h"
#include "storage_int.h"

#define PERM_PAUSE_S 300    /* after a permanent failure */
#define BACKOFF_MAX_S 8     /* transient: 1, 2, 4, 8, 8, ... s between probes */

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

/* ---- checkpoints ----------------------------------------------------------- */

void storage_ckpt_finish(struct storage_worker *sw, const struct task *t, int r)
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

int storage_rec_put(struct storage_worker *sw, struct task *t)
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

struct fail_ent *storage_fail_find(struct storage_worker *sw, int64_t rowid)
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
	struct fail_ent *fe = storage_fail_find(sw, t->rowid);
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

void storage_rec_finish(struct storage_worker *sw, unsigned idx, const struct task *t, int r)
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
	storage_publish_state(sw);
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
