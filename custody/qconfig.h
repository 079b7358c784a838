#ifndef CUSTODY_QCONFIG_H
#define CUSTODY_QCONFIG_H
/*
 * qconfig: the access-control part of the shared INI file (the file of
 * `custody --config` / dockd). Owns the [query] and [alert] sections and
 * ignores all others ([ledger] is config.h's).
 *
 *   [query]
 *   socket = /run/evidence-dock/custody.sock   query service socket
 *   socket_mode = 0666            octal; who may CONNECT (identity is
 *                                 SO_PEERCRED, not the mode)
 *   socket_group = clerks         optional group of the socket file
 *   client_timeout_ms = 5000      whole exchange per connection
 *   max_clients = 32              concurrent connections
 *   console_account = dock-console  the web console's OS account: the
 *                                 only caller that may act on behalf of
 *                                 a console user (docs/console.md)
 *   custody = /usr/bin/custody    the exporter the service runs to build
 *                                 a console's court package (qpackage.h)
 *
 *   [alert]
 *   command = /usr/local/sbin/dock-alert   absolute path, no shell
 *   timeout_ms = 2000
 *   max_running = 4               alert commands running at once; more
 *                                 are skipped (logged), 1..16
 *
 * Unknown keys, duplicates and bad values in these sections are errors
 * "FILE: [section] key: problem" (-EINVAL).
 *
 * The [retention] table (retention.h, shared with dockd) is loaded too:
 * the service recomputes retention on every metadata edit.
 */

#include <sys/types.h>

#include "qservice.h"
#include "retention.h"

#define QCONFIG_PATH_MAX 512

struct qconfig {
	char socket[108];
	mode_t socket_mode;
	char socket_group[64];
	int client_timeout_ms;
	int max_clients;
	char console_account[65];	/* [query] console_account */
	char custody[QCONFIG_PATH_MAX];	/* [query] custody */
	char alert_command[QCONFIG_PATH_MAX];
	int alert_timeout_ms;
	int alert_max_running;
	struct cust_retention retention;	/* [retention] */
};

/* Defaults: no socket, mode 0666, no group, 5000 ms, 32, no command,
 * 2000 ms, 4, custody /usr/bin/custody. */
void qconfig_init(struct qconfig *c);
/* Load path's [query]/[alert] into c (initialised first). Errors:
 * -EINVAL (message in err), -ENOENT/-EACCES opening. */
int qconfig_load(const char *path, struct qconfig *c, char *err,
		 size_t errlen);
/* Fill a service config (pointers into c; home_agency given). Resolves
 * socket_group to a gid: -ENOENT if no such group. */
int qconfig_service(const struct qconfig *c, const char *home_agency,
		    struct qservice_config *out);

#endif
