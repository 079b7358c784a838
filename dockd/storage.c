/* storage.c - storage worker thread (see storage.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dockdb.h"
#include "log.h"
#include "storage.h"

struct storage_worker {
	struct dockd *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, kicked, failing, working;
	unsigned backoff_s;
};

static int object_key(const struct dockd *d, const struct dock_rec *r, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s/%s.bcde", d->cert.agency_id, r->serial, r->recording_id);

	if (n < 0 || (size_t)n >= cap || !store_key_valid(buf))
		return -EINVAL;
	return 0;
}

static int store_one(struct storage_worker *sw, struct dock_rec *rec)
{
	struct dockd *d = sw->d;
	struct store_info info;
	char key[STORE_KEY_MAX + 1];
	int fd, r;

	r = object_key(d, rec, key, sizeof(key));
	if (r < 0)
		return r;
	fd = open(rec->location, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_error("%s: vault file %s: %s", rec->evidence_id, rec->location, strerror(-r));
		return r;
	}
	memset(&info, 0, sizeof(info));
	struct store_put_opts po = { .sha256 = rec->ct_sha256, .category = rec->category };
	r = store_put(d->store, key, fd, rec->ct_size, &po, &info);
	close(fd);
	if (r == 0)
		r = store_verify(d->store, key, rec->ct_size, rec->ct_sha256);
	if (r < 0) {
		log_error("%s: storage target: %s", rec->evidence_id, strerror(-r));
		return r;
	}
	r = dockdb_storage_verified(d->w, rec, key, &info);
	if (r == 0)
		log_info("%s: storage verified at %s", rec->evidence_id, info.location);
	return r;
}

static void update_queue(struct storage_worker *sw)
{
	uint64_t q = 0, rel = 0;
	unsigned rel_mask = DREC_BIT(DREC_STORAGE_VERIFIED);

	(void)dockdb_count(sw->d->w, NULL, DREC_BIT(DREC_STORED_LOCAL), &q);
	(void)dockdb_count(sw->d->w, NULL, rel_mask, &rel);
	status_queue(sw->d->status, q, rel);
}

/* Wait until kicked, stopped or secs passed. Returns false when stopping. */
static bool wait_kick(struct storage_worker *sw, unsigned secs)
{
	struct timespec until;
	bool go;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&sw->mu);
	sw->working = false;
	while (!sw->stop && !sw->kicked)
		if (pthread_cond_timedwait(&sw->cv, &sw->mu, &until) == ETIMEDOUT)
			break;
	sw->kicked = false;
	go = !sw->stop;
	sw->working = go;
	pthread_mutex_unlock(&sw->mu);
	return go;
}

static void *worker(void *arg)
{
	struct storage_worker *sw = arg;
	struct dock_rec rec;
	int64_t cursor = 0;

	while (!atomic_load(&sw->d->stop)) {
		int r = dockdb_next(sw->d->w, NULL, DREC_BIT(DREC_STORED_LOCAL), NULL, 0, &cursor,
				    &rec);

		if (r == -ENOENT) {
			update_queue(sw);
			cursor = 0;
			if (!wait_kick(sw, sw->failing ? sw->backoff_s : 30))
				break;
			continue;
		}
		if (r == 0)
			r = store_one(sw, &rec);
		dockd_touch(sw->d);
		if (r == 0) {
			if (sw->failing)
				log_info("storage target works again");
			sw->failing = false;
			sw->backoff_s = 1;
			update_queue(sw);
			continue;
		}
		if (!sw->failing)
			dockd_alert(sw->d, "storage", rec.evidence_id,
				    "storage target failed: %s; retrying", strerror(-r > 0 && -r < 4096 ? -r : EIO));
		sw->failing = true;
		cursor = 0;
		if (!wait_kick(sw, sw->backoff_s))
			break;
		sw->backoff_s = sw->backoff_s >= 30 ? 60 : sw->backoff_s * 2;
	}
	return NULL;
}

int storage_start(struct dockd *d, struct storage_worker **out)
{
	struct storage_worker *sw = calloc(1, sizeof(*sw));
	int r;

	if (!sw)
		return -ENOMEM;
	sw->d = d;
	sw->backoff_s = 1;
	sw->working = true;
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	r = pthread_create(&sw->th, NULL, worker, sw);
	if (r) {
		pthread_mutex_destroy(&sw->mu);
		pthread_cond_destroy(&sw->cv);
		free(sw);
		return -r;
	}
	*out = sw;
	return 0;
}

void storage_kick(struct storage_worker *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->kicked = true;
	sw->working = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

void storage_stop(struct storage_worker *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->stop = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->th, NULL);
	pthread_mutex_destroy(&sw->mu);
	pthread_cond_destroy(&sw->cv);
	free(sw);
}

bool storage_idle(struct storage_worker *sw, bool *failing)
{
	bool idle;

	pthread_mutex_lock(&sw->mu);
	idle = !sw->working || sw->failing;
	*failing = sw->failing;
	pthread_mutex_unlock(&sw->mu);
	return idle;
}
