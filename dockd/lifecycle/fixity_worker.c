/* fixity_worker.c - dockd's scheduled fixity audit (fixity.h): one thread
 * that runs fixity_run() every [fixity] interval_s with the configuration
 * in force (reloads apply from the next run), the daemon's ledger handle
 * and storage target, and dockd_alert() for damaged copies. The thread
 * runs below ingest (lcprio.h) and its runs pause while a camera is
 * pulled (ingact.h; [fixity] max_pause_s, busy_bytes_per_s). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "fixity.h"
#include "ingact.h"
#include "lcprio.h"
#include "ledgerw.h"
#include "log.h"

struct fixity_worker {
	struct dockd *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

static void w_lock(void *arg) { ledgerw_lock(arg); }
static void w_unlock(void *arg) { ledgerw_unlock(arg); }

static bool w_busy(void *arg)
{
	return ingact_busy(arg);
}

static void w_alert(void *arg, const char *target, const char *msg)
{
	dockd_alert(arg, "fixity", target, "%s", msg);
}

/* Wait up to s seconds; true when asked to stop. */
static bool wait_stop(struct fixity_worker *fw, uint32_t s)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&fw->mu);
	while (!fw->stop && pthread_cond_timedwait(&fw->cv, &fw->mu, &until) != ETIMEDOUT)
		;
	stop = fw->stop;
	pthread_mutex_unlock(&fw->mu);
	return stop;
}

static void *run(void *arg)
{
	struct fixity_worker *fw = arg;
	struct dockd *d = fw->d;

	lcprio_background("fixity");
	for (;;) {
		struct dock_snap *s = dockd_snap_get(d);
		uint32_t every = s->cfg.fixity_interval_s;
		int r;

		dockd_snap_put(d, s);	/* not held while waiting: reloads apply */
		if (wait_stop(fw, every ? every : 3600))
			break;
		s = dockd_snap_get(d);
		if (s->cfg.fixity_interval_s) {
			struct fixity_env e = {
				.l = ledgerw_ledger(d->w), .lock = w_lock, .unlock = w_unlock,
				.lock_arg = d->w, .agency = s->cfg.agency_id,
				.actor_id = s->cfg.dock_id, .reason = "scheduled fixity audit",
				.store = d->store, .state_dir = s->cfg.state_dir,
				.items = s->cfg.fixity_items, .bytes_per_s = s->cfg.fixity_bytes_per_s,
				.cancel = &d->stop, .alert = w_alert, .alert_arg = d,
				.busy = w_busy, .busy_arg = d, .max_pause_s = s->cfg.fixity_max_pause_s,
				.busy_bytes_per_s = s->cfg.fixity_busy_bytes_per_s,
			};
			r = fixity_run(&e, NULL);
			if (r < 0)
				log_error("fixity: audit stopped: %s", strerror(-r));
		}
		dockd_snap_put(d, s);
	}
	return NULL;
}

int fixity_start(struct dockd *d, struct fixity_worker **out)
{
	struct fixity_worker *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return -ENOMEM;
	fw->d = d;
	pthread_mutex_init(&fw->mu, NULL);
	pthread_cond_init(&fw->cv, NULL);
	if (pthread_create(&fw->th, NULL, run, fw) != 0) {
		pthread_cond_destroy(&fw->cv);
		pthread_mutex_destroy(&fw->mu);
		free(fw);
		return -EAGAIN;
	}
	*out = fw;
	return 0;
}

void fixity_stop(struct fixity_worker *fw)
{
	if (!fw)
		return;
	pthread_mutex_lock(&fw->mu);
	fw->stop = true;
	pthread_cond_broadcast(&fw->cv);
	pthread_mutex_unlock(&fw->mu);
	pthread_join(fw->th, NULL);
	pthread_cond_destroy(&fw->cv);
	pthread_mutex_destroy(&fw->mu);
	free(fw);
}
