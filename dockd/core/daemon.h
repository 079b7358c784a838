/* daemon.h - dockd's process: configuration snapshots, shared handles,
 * the main poll loop (docs/dockd.md, "Threads and limits").
 *
 * Main thread: signalfd (TERM, INT, HUP), the camera socket, the hotplug
 * monitor, the channel to the query-service process (qproc.h), a timerfd (checkpoints,
 * idle detection). One thread per docked camera (camera.h), one storage
 * worker (storage.h).
 *
 * Configuration is held in reference-counted snapshots: a camera session
 * takes one at its start (dockd_snap_get) and keeps it to the end, so a
 * SIGHUP reload applies to new pulls and never changes a pull midway.
 *
 * Code: daemon.c (snapshots, alerts, the main loop, dockd_run),
 * daemon_start.c (the state opened at start, the configuration fact).
 */
#ifndef DOCKD_DAEMON_H
#define DOCKD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "config.h"
#include "recpolicy.h"
#include "edsig.h"
#include "ledgerw.h"
#include "status.h"
#include "store.h"
#include "wire.h"

struct dock_snap {
	int refs; /* under dockd.snap_mu */
	struct dock_config cfg;
	EVP_PKEY *recipients[DOCK_CONFIG_MAX_RECIPIENTS];
	size_t n_recipients;
	struct recpolicy policy; /* the agency-signed policy they match (recpolicy.h) */
	unsigned chunk_log2;
};

struct storage_worker;
struct purge_worker;

struct dockd {
	char config_path[DOCK_CONFIG_PATH_MAX];
	bool exit_when_idle;
	struct ledgerw *w;
	struct status *status;
	struct store_target *store;
	struct custc *cust;	/* the custodian process: holds the keys (custc.h) */
	struct edsig_key *dock_key; /* signs AUTH_DOCK through the custodian only */
	struct proto_dock_cert cert;
	struct storage_worker *storage;
	struct purge_worker *purge; /* local vault purge (purge.h) */
	struct witnessc *witnessc; /* [witness]: checkpoints to cosign (witnessc.h) */
	struct fixity_worker *fixity; /* [fixity]: scheduled audits (fixity.h) */
	atomic_bool stop;         /* SIGTERM: every worker stops at a chunk boundary */
	atomic_uint busy;         /* camera threads alive */
	atomic_llong last_activity_ns; /* CLOCK_MONOTONIC of the last camera/storage work */
	pthread_mutex_t snap_mu;
	struct dock_snap *snap;
	/* ingest activity (ingact.h): the lifecycle jobs yield to it */
	atomic_uint pulling;		/* camera sessions pulling now */
	atomic_llong pull_end_ns;	/* CLOCK_MONOTONIC when the last pull ended */
};

/* Run the daemon with the configuration at path until SIGTERM/SIGINT (or,
 * with exit_when_idle, until idle). Returns the process exit status. */
int dockd_run(const char *config_path, bool exit_when_idle);

/* Current configuration snapshot (a reference; give it back). */
struct dock_snap *dockd_snap_get(struct dockd *d);
void dockd_snap_put(struct dockd *d, struct dock_snap *s);

/* Raise an alert (custody/alert.h): warning log, configured command, and a
 * line in the status view. kind: "device-rejected", "integrity", "disk",
 * "storage", ... target: a serial or evidence id (may be NULL). */
void dockd_alert(struct dockd *d, const char *kind, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Note that work happened now (delays --exit-when-idle). */
void dockd_touch(struct dockd *d);

#endif
