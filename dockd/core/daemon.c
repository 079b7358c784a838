/* daemon.c - dockd's process and main loop (see daemon.h): configuration
 * snapshots, alerts, the poll loop, reload, idle exit, shutdown. The state
 * opened at start is daemon_start.c's (daemon_int.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agencykey.h"
#include "alert.h"
#include "camera.h"
#include "daemon.h"
#include "daemon_int.h"
#include "fixity.h"
#include "witnessc.h"
#include "custc.h"
#include "hotplug.h"
#include "mscwatch.h"
#include "ingest.h"
#include "log.h"
#include "purge.h"
#include "qconfig.h"
#include "qproc.h"
#include "qservice.h"
#include "destroy.h"
#include "holdsync.h"
#include "startmsg.h"
#include "statelock.h"
#include "storage.h"
#include "volkern.h"
#include "volsess.h"
#include "transport_sock.h"

#define TICK_MS 200

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void dockd_touch(struct dockd *d)
{
	atomic_store(&d->last_activity_ns, mono_ns());
}

static void snap_free(struct dock_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_recipients; i++)
		EVP_PKEY_free(s->recipients[i]);
	dock_config_free(&s->cfg);
	free(s);
}

/* Load the configuration and the agency public keys into a new snapshot. */
static int snap_load(const char *path, struct dock_snap **out)
{
	struct dock_snap *s = calloc(1, sizeof(*s));
	char err[1200]; /* a refusal names two paths, a key id and the fix */
	int r;

	if (!s)
		return -ENOMEM;
	r = dock_config_load(path, &s->cfg, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		free(s);
		return r;
	}
	for (size_t i = 0; i < s->cfg.n_recipients; i++) {
		r = agencykey_load_public(s->cfg.recipients[i], &s->recipients[i]);
		if (r < 0) {
			(void)startmsg_recipient(path, s->cfg.recipients[i], r, err, sizeof(err));
			log_error("%s", err);
			snap_free(s);
			return -EINVAL;
		}
		s->n_recipients++;
	}
	r = recpolicy_load(&s->cfg, s->recipients, s->n_recipients, &s->policy, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		snap_free(s);
		return r;
	}
	s->chunk_log2 = (unsigned)__builtin_ctz(s->cfg.chunk_size);
	s->refs = 1;
	*out = s;
	return 0;
}

struct dock_snap *dockd_snap_get(struct dockd *d)
{
	struct dock_snap *s;

	pthread_mutex_lock(&d->snap_mu);
	s = d->snap;
	s->refs++;
	pthread_mutex_unlock(&d->snap_mu);
	return s;
}

void dockd_snap_put(struct dockd *d, struct dock_snap *s)
{
	bool last;

	pthread_mutex_lock(&d->snap_mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&d->snap_mu);
	if (last)
		snap_free(s);
}

void dockd_alert(struct dockd *d, const char *kind, const char *target, const char *fmt, ...)
{
	struct dock_snap *s = dockd_snap_get(d);
	struct alert_config ac = { .command = s->cfg.alert_command, .timeout_ms = 0 };
	struct alert a = { .kind = kind, .uid = -1, .agency = s->cfg.agency_id, .op = "dockd",
			   .target = target };
	char detail[300], line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	a.detail = detail;
	snprintf(line, sizeof(line), "%s %s: %s", kind, target ? target : "-", detail);
	status_alert(d->status, line);
	(void)alert_raise(&ac, &a);
	dockd_snap_put(d, s);
}

struct loop {
	struct dockd *d;
	int sfd, lfd, tfd;
	char sock_path[DOCK_CONFIG_PATH_MAX];
	struct hotplug *hp;
	struct mscwatch *mw; /* [dock] usb_storage: mass-storage cameras */
	struct qproc *qp;	/* the query service, a process (qproc.h) */
	struct qconfig qc;
	unsigned ticks;
};

static int open_query(struct loop *lp, const struct dock_config *c)
{
	struct qservice_config qsc;
	char err[300] = "";
	int r;

	r = qconfig_load(lp->d->config_path, &lp->qc, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err[0] ? err : strerror(-r));
		return r;
	}
	if (!lp->qc.socket[0]) {
		log_info("no [query] socket: custody query service not started");
		return 0;
	}
	r = qconfig_service(&lp->qc, c->agency_id, &qsc);
	if (r == 0)
		r = qproc_start(lp->d, &qsc, c->agency_id, &lp->qp);
	if (r < 0) {
		char why[1600];

		(void)startmsg_query(lp->d->config_path, lp->qc.socket, lp->qc.socket_group, r,
				     why, sizeof(why));
		log_error("%s", why);
		return r;
	}
	return 0;
}

static int open_loop(struct loop *lp, const struct dock_config *c)
{
	struct itimerspec its = { { 0, TICK_MS * 1000000L }, { 0, TICK_MS * 1000000L } };
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	lp->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	lp->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (lp->sfd < 0 || lp->tfd < 0 || timerfd_settime(lp->tfd, 0, &its, NULL) < 0)
		return -errno;
	if (c->camera_socket[0]) {
		r = transport_sock_listen(c->camera_socket, &lp->lfd);
		if (r < 0) {
			log_error("[dock] camera_socket %s: %s", c->camera_socket, strerror(-r));
			return r;
		}
		snprintf(lp->sock_path, sizeof(lp->sock_path), "%s", c->camera_socket);
	}
	if (c->usb) {
		struct hotplug_match m = { .n_ids = c->n_usb_ids };

		for (size_t i = 0; i < c->n_usb_ids && i < HOTPLUG_MAX_IDS; i++)
			m.ids[i] = (struct hotplug_id){ c->usb_ids[i].vid, c->usb_ids[i].pid };
		r = hotplug_open(&m, &lp->hp);
		if (r < 0)
			log_warning("USB hot-plug monitor unavailable (%s): USB cameras not detected",
				    strerror(-r));
	}
	if (c->usb_storage && (r = mscwatch_start(lp->d, &lp->mw)) < 0)
		log_warning("mass-storage monitor unavailable (%s): USB mass-storage cameras not "
			    "detected", strerror(-r));
	return open_query(lp, c);
}

static void close_loop(struct loop *lp)
{
	if (lp->lfd >= 0)
		transport_sock_listen_close(lp->lfd, lp->sock_path);
	lp->lfd = -1;
	hotplug_close(lp->hp);
	lp->hp = NULL;
	mscwatch_stop(lp->mw);
	lp->mw = NULL;
	qproc_stop(lp->qp);
	lp->qp = NULL;
	if (lp->sfd >= 0)
		close(lp->sfd);
	if (lp->tfd >= 0)
		close(lp->tfd);
	lp->sfd = lp->tfd = -1;
}

static void reload(struct loop *lp)
{
	struct dockd *d = lp->d;
	struct dock_snap *ns = NULL, *old;

	log_info("SIGHUP: reloading %s", d->config_path);
	if (snap_load(d->config_path, &ns) < 0) {
		log_error("reload failed: keeping the running configuration");
		dockd_alert(d, "config", NULL, "SIGHUP: %s refused, the running configuration stays "
			    "(see the log)", d->config_path);
		return;
	}
	pthread_mutex_lock(&d->snap_mu);
	old = d->snap;
	if (strcmp(old->cfg.camera_socket, ns->cfg.camera_socket) ||
	    strcmp(old->cfg.vault_dir, ns->cfg.vault_dir) ||
	    strcmp(old->cfg.state_dir, ns->cfg.state_dir) ||
	    strcmp(old->cfg.storage_target, ns->cfg.storage_target) ||
	    strcmp(old->cfg.dock_id, ns->cfg.dock_id) || strcmp(old->cfg.agency_id, ns->cfg.agency_id) ||
	    old->cfg.volume_kernel != ns->cfg.volume_kernel)
		log_warning("reload: socket, directories, storage target, ids and volume_driver "
			    "change only at restart");
	/* Keep the values that need a restart as they are. */
	memcpy(ns->cfg.camera_socket, old->cfg.camera_socket, sizeof(ns->cfg.camera_socket));
	memcpy(ns->cfg.vault_dir, old->cfg.vault_dir, sizeof(ns->cfg.vault_dir));
	memcpy(ns->cfg.state_dir, old->cfg.state_dir, sizeof(ns->cfg.state_dir));
	memcpy(ns->cfg.storage_target, old->cfg.storage_target, sizeof(ns->cfg.storage_target));
	memcpy(ns->cfg.dock_id, old->cfg.dock_id, sizeof(ns->cfg.dock_id));
	memcpy(ns->cfg.agency_id, old->cfg.agency_id, sizeof(ns->cfg.agency_id));
	ns->cfg.volume_kernel = old->cfg.volume_kernel;
	d->snap = ns;
	pthread_mutex_unlock(&d->snap_mu);
	dockd_snap_put(d, old);
	log_set_level(ns->cfg.log_level);
	storage_reload(d->storage); /* windows, priorities; retry failed uploads now */
	qproc_reload(lp->qp);	/* it re-reads [alert] and [retention] */
	custc_reload(d->cust);	/* it re-reads the release policy */
	(void)dockd_record_config(d, true);
	log_info("configuration reloaded (applies to new pulls)");
}

static void accept_cameras(struct loop *lp)
{
	for (;;) {
		struct transport *t = NULL;
		int r = transport_sock_accept(lp->lfd, 0, &t);

		if (r < 0)
			return;
		dockd_touch(lp->d);
		(void)camera_spawn(lp->d, t, NULL);
	}
}

static void hotplug_events(struct loop *lp)
{
	struct hotplug_event ev;

	while (hotplug_next(lp->hp, &ev) == 0) {
		dockd_touch(lp->d);
		if (ev.action == HOTPLUG_ADD) {
			log_info("USB camera %s at %s", ev.serial, ev.devnode);
			(void)camera_spawn(lp->d, NULL, ev.devnode);
		} else {
			log_info("USB camera %s unplugged", ev.serial);
		}
	}
}

/* true when --exit-when-idle may exit now; *rc = the exit status. */
static bool idle_now(struct loop *lp, uint32_t grace_ms, int *rc)
{
	struct dockd *d = lp->d;
	bool failing = false;

	if (atomic_load(&d->busy))
		return false;
	if (d->storage && !storage_idle(d->storage, &failing))
		return false;
	if (mono_ns() - atomic_load(&d->last_activity_ns) < (int64_t)grace_ms * 1000000)
		return false;
	if (lp->lfd >= 0) {
		struct pollfd p = { .fd = lp->lfd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0)
			return false;
	}
	*rc = failing ? 1 : 0;
	if (failing)
		log_error("exiting while the storage target fails: stored_local items remain queued");
	return true;
}

static void tick(struct loop *lp)
{
	uint64_t exp;
	struct dockd *d = lp->d;

	(void)!read(lp->tfd, &exp, sizeof(exp));
	qproc_tick(lp->qp);	/* restart a stopped query service */
	custc_tick(d->cust);	/* restart a stopped custodian */
	if (++lp->ticks % 5 == 0) {
		(void)ledgerw_tick(d->w);
		holdsync_tick(d);	/* S3 legal holds follow the ledger */
		destroy_tick(d);	/* approved destructions (destroy.h) */
	}
	if (lp->ticks % 25 == 0)
		sd_notifyf(0, "STATUS=%u camera(s) docked", status_cam_count(d->status));
}

/* Returns -1 to keep running, else the exit status. */
static int handle_signal(struct loop *lp)
{
	struct signalfd_siginfo si;

	while (read(lp->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sd_notify(0, "RELOADING=1");
			reload(lp);
			sd_notify(0, "READY=1");
		} else {
			log_info("signal %u: finishing current chunks and stopping", si.ssi_signo);
			return 0;
		}
	}
	return -1;
}

static int main_loop(struct loop *lp)
{
	struct dockd *d = lp->d;
	int rc = -1;

	/* Cameras already plugged in when we started were found by
	 * hotplug_open's listing and wait in its queue: no uevent will make
	 * the monitor fd readable for them, so drain before the first poll. */
	if (lp->hp)
		hotplug_events(lp);
	while (rc < 0) {
		struct pollfd p[5] = {
			{ .fd = lp->sfd, .events = POLLIN }, { .fd = lp->tfd, .events = POLLIN },
			{ .fd = lp->lfd, .events = POLLIN },
			{ .fd = lp->hp ? hotplug_fd(lp->hp) : -1, .events = POLLIN },
			{ .fd = qproc_fd(lp->qp), .events = POLLIN },
		};

		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		if (p[0].revents)
			rc = handle_signal(lp);
		if (p[2].revents & POLLIN)
			accept_cameras(lp);
		if (p[3].revents & POLLIN)
			hotplug_events(lp);
		if (p[4].revents)
			qproc_handle(lp->qp);
		if (p[1].revents & POLLIN) {
			struct dock_snap *s = dockd_snap_get(d);
			uint32_t grace = s->cfg.idle_grace_ms;

			dockd_snap_put(d, s);
			tick(lp);
			if (d->exit_when_idle && rc < 0 && idle_now(lp, grace, &rc))
				log_info("idle: exiting (--exit-when-idle)");
		}
	}
	return rc;
}

/* Stop accepting, let every camera thread reach a chunk boundary and
 * persist, stop the storage worker, write a final checkpoint. */
static void shutdown_all(struct loop *lp)
{
	struct dockd *d = lp->d;

	sd_notify(0, "STOPPING=1");
	atomic_store(&d->stop, true);
	mscwatch_stop(lp->mw); /* no new mass-storage session from here on */
	lp->mw = NULL;
	if (lp->lfd >= 0)
		transport_sock_listen_close(lp->lfd, lp->sock_path);
	lp->lfd = -1;
	while (atomic_load(&d->busy)) {
		struct pollfd p = { .fd = qproc_fd(lp->qp), .events = POLLIN };

		if (poll(&p, 1, 20) > 0)
			qproc_handle(lp->qp);
	}
	fixity_stop(d->fixity);
	d->fixity = NULL;
	purge_stop(d->purge);
	d->purge = NULL;
	storage_stop(d->storage);
	d->storage = NULL;
	(void)ledgerw_checkpoint(d->w);
}

static void free_dockd(struct dockd *d)
{
	fixity_stop(d->fixity);
	purge_stop(d->purge);
	storage_stop(d->storage);
	store_close(d->store);
	witnessc_stop(d->witnessc); /* after the final checkpoint */
	ledgerw_close(d->w);
	edsig_key_free(d->dock_key); /* the custodian's signer: before it stops */
	d->dock_key = NULL;
	custc_stop(d->cust);
	ingest_keys_clear(); /* partial pulls' data keys: gone with the process */
	status_free(d->status);
	if (d->snap)
		dockd_snap_put(d, d->snap);
	pthread_mutex_destroy(&d->snap_mu);
	free(d);
}

int dockd_run(const char *config_path, bool exit_when_idle)
{
	struct dockd *d = calloc(1, sizeof(*d));
	struct loop lp = { .sfd = -1, .lfd = -1, .tfd = -1 };
	char lerr[DOCK_CONFIG_PATH_MAX + 600];
	sigset_t set;
	int rc = 1, lock_fd = -1;

	if (!d)
		return 1;
	pthread_mutex_init(&d->snap_mu, NULL);
	snprintf(d->config_path, sizeof(d->config_path), "%s", config_path);
	d->exit_when_idle = exit_when_idle;
	dockd_touch(d);
	lp.d = d;
	/* Block the signals before any thread exists, so only signalfd sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (snap_load(config_path, &d->snap) < 0) {
		rc = 2;
		goto out;
	}
	log_set_level(d->snap->cfg.log_level);
	/* [dock] volume_driver = kernel needs root: refused here, never a fallback */
	if (volk_configure(d->snap->cfg.volume_kernel, lerr, sizeof(lerr)) < 0) {
		log_error("%s: %s", config_path, lerr);
		rc = 2;
		goto out;
	}
	/* one dockd per state: before any socket, sweep or ledger (statelock.h) */
	if (statelock_take(d->snap->cfg.state_dir, config_path, &lock_fd, lerr,
			   sizeof(lerr)) < 0) {
		log_error("%s", lerr);
		goto out;
	}
	if (dockd_load_identity(d, &d->snap->cfg) < 0 || dockd_open_state(d, &d->snap->cfg) < 0)
		goto out;
	dockd_alert_custody_cert(d);
	if (d->store && storage_start(d, &d->storage) < 0)
		goto out;
	if (purge_start(d, &d->purge) < 0)
		goto out;
	if (witnessc_start(d, config_path, &d->snap->cfg, &d->witnessc) < 0)
		goto out;
	if (fixity_start(d, &d->fixity) < 0)
		goto out;
	storage_status_attach(d); /* queue counts in `custody status`, always fresh */
	/* the configuration in force is a ledger fact before any camera docks */
	if (dockd_record_config(d, false) < 0) {
		atomic_store(&d->stop, true);
		goto out;
	}
	if (open_loop(&lp, &d->snap->cfg) < 0) {
		atomic_store(&d->stop, true);
		goto out;
	}
	sd_notify(0, "READY=1\nSTATUS=waiting for cameras");
	log_info("dockd %s (agency %s) ready", d->snap->cfg.dock_id, d->snap->cfg.agency_id);
	volsess_start_queued(d); /* `dockd volume-ingest` */
	rc = main_loop(&lp);
	shutdown_all(&lp);
	log_info("stopped");
out:
	atomic_store(&d->stop, true);
	close_loop(&lp);
	free_dockd(d);
	if (lock_fd >= 0)
		close(lock_fd); /* last: the sockets are gone */
	return rc;
}
