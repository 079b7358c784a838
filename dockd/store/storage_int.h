/* storage_int.h - shared by storage.c (the worker threads: picking work,
 * status, the API) and storage_upload.c (one upload and the failure
 * episode its outcome opens or ends). Not an API: storage.h. */
#ifndef DOCKD_STORAGE_INT_H
#define DOCKD_STORAGE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "dockdb.h"

#define SW_MAX 16
#define SW_FAILS_MAX 64     /* items remembered as failing in this episode */

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

static inline int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Under sw->mu: publish the workers' state in the status table. */
void storage_publish_state(struct storage_worker *sw);
/* Under sw->mu: the failure remembered for rowid in this episode, or NULL. */
struct fail_ent *storage_fail_find(struct storage_worker *sw, int64_t rowid);
/* Upload, verify and record the recording t (storage_verified): 0 or -errno. */
int storage_rec_put(struct storage_worker *sw, struct task *t);
/* After thread idx's upload of t returned r: end or extend the failure
 * episode, write `uploaded` failed and raise alerts as storage.h says. */
void storage_rec_finish(struct storage_worker *sw, unsigned idx, const struct task *t, int r);
/* After a checkpoint upload of t returned r. */
void storage_ckpt_finish(struct storage_worker *sw, const struct task *t, int r);

#endif
