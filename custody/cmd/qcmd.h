/*
 * qcmd.h - helpers shared by the access-control subcommands (serve.c,
 * users.c, remote.c): the [query]/[alert] config and the query-service
 * route of the CLI.
 */
#ifndef CUSTODY_QCMD_H
#define CUSTODY_QCMD_H

#include <jansson.h>

#include "cmd.h"
#include "qconfig.h"

/* The packaged unit's query socket (RuntimeDirectory=evidence-dock), used
 * by `remote` and `status` when neither --socket nor --config is given: a
 * clerk cannot read the 0640 config and should not have to type the path
 * (docs/custody-access.md). */
#define CMD_DEFAULT_SOCKET "/run/evidence-dock/custody.sock"

/* Load [query]/[alert] of the --config file into qc (defaults without a
 * config). 0 or CMD_ERROR (message printed). serve.c */
int cmd_qconfig(struct cmd_ctx *ctx, struct qconfig *qc);

/* Send request to the service at socket, print the reply (text, or JSON
 * with as_json) and return the exit status: 0 ok, 1 denied, 2 error.
 * remote.c */
int cmd_qcall(const char *socket, json_t *request, const char *op,
	      int as_json);

/* cmd_route_remote (remote.c) and cmd_status (status.c) are declared in
 * cmd.h: read.c and main.c call them. */

#endif
