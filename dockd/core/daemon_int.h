/* daemon_int.h - shared between daemon.c (snapshots, main loop,
 * dockd_run) and daemon_start.c (the state opened at start). Not an API
 * for other modules: use daemon.h. Functions return 0 or -errno (logged). */
#ifndef DOCKD_DAEMON_INT_H
#define DOCKD_DAEMON_INT_H

#include <stdbool.h>

#include "daemon.h"

/* The dock's certificate (c->cert_path) into d->cert; it must name this
 * dock's [dock] id and agency_id. */
int dockd_load_identity(struct dockd *d, const struct dock_config *c);

/* The vault directory, the status view, the ledger writer, the custodian
 * process (its dock key checked against d->cert), the dock tables, the
 * start-up sweep (ingest.h) and the storage target. */
int dockd_open_state(struct dockd *d, const struct dock_config *c);

/* After start: an expired or soon expiring custody certificate is an alert. */
void dockd_alert_custody_cert(struct dockd *d);

/* config_changed and recipient_policy (cfgfacts.h, recpolicy.h) for the
 * configuration in force; on_sighup says why. */
int dockd_record_config(struct dockd *d, bool on_sighup);

#endif
