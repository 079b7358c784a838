/*
 * serve.c - `custody serve`: the query service standalone (dockd embeds
 * the same qservice code later).
 *
 *   custody --config FILE serve [--socket PATH] [--socket-mode OCTAL]
 *                               [--alert-command PATH]
 *
 * Runs as the service account that owns the ledger file; the socket
 * settings and the alert command come from [query]/[alert] of the config
 * file (qconfig.h), the options override them. Stops on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "qcmd.h"
#include "qservice.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* [query]/[alert] from the config file, if any. */
int cmd_qconfig(struct cmd_ctx *ctx, struct qconfig *qc)
{
	char err[768];

	qconfig_init(qc);
	if (!ctx->have_config || !ctx->cfg.file[0])
		return 0;
	if (qconfig_load(ctx->cfg.file, qc, err, sizeof(err)) < 0) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	return 0;
}

struct serve_pub {
	struct cust_ledger *ledger;
	struct cust_signer signer;
};

/* Before each reply: a checkpoint covering the request's audit event. */
static void serve_publish(void *arg)
{
	struct serve_pub *p = arg;
	char err[768];

	if (cust_checkpoint_write(p->ledger, &p->signer, NULL, err, sizeof(err)))
		cmd_err("serve: checkpoint not written: %s", err);
}

static int parse_opts(int argc, char **argv, struct qconfig *qc)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		long m;

		if (!v) {
			cmd_err("serve: option '%s' needs a value", o);
			return CMD_ERROR;
		}
		if (!strcmp(o, "--socket") && v[0] == '/' &&
		    strlen(v) < sizeof(qc->socket)) {
			snprintf(qc->socket, sizeof(qc->socket), "%s", v);
		} else if (!strcmp(o, "--socket-mode")) {
			errno = 0;
			m = strtol(v, &end, 8);
			if (errno || *end || m < 0 || m > 0777) {
				cmd_err("serve: bad --socket-mode '%s'", v);
				return CMD_ERROR;
			}
			qc->socket_mode = (mode_t)m;
		} else if (!strcmp(o, "--alert-command") && v[0] == '/' &&
			   strlen(v) < sizeof(qc->alert_command)) {
			snprintf(qc->alert_command, sizeof(qc->alert_command),
				 "%s", v);
		} else {
			cmd_err("serve: bad option '%s' (usage: serve [--socket "
				"ABS_PATH] [--socket-mode OCTAL] "
				"[--alert-command ABS_PATH])", o);
			return CMD_ERROR;
		}
		i++;
	}
	return 0;
}

int cmd_serve(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct qservice_config sc;
	struct qservice *svc = NULL;
	struct qconfig qc;
	struct sigaction sa;
	struct serve_pub pub;
	bool have_signer = false;
	char err[768];
	int rc;

	if ((rc = cmd_qconfig(ctx, &qc)) || (rc = parse_opts(argc, argv, &qc)))
		return rc;
	if (!qc.socket[0]) {
		cmd_err("serve: no socket: set [query] socket or --socket");
		return CMD_ERROR;
	}
	/* Events of callers without an agency (strangers) go to the dock's
	 * own agency; "local" as cmd_audit() does when none is set. */
	if (qconfig_service(&qc, cmd_agency(ctx) ? cmd_agency(ctx) : "local",
			    &sc) < 0) {
		cmd_err("serve: unknown socket_group '%s'", qc.socket_group);
		return CMD_ERROR;
	}
	/* export-package runs `custody --config THIS export ...` */
	sc.config_path = ctx->have_config && ctx->cfg.file[0] ? ctx->cfg.file : NULL;
	if ((rc = cmd_open_ledger(ctx, false)))
		return rc;
	rc = qservice_open(&sc, ctx->ledger, &svc);
	if (rc < 0) {
		cmd_err("serve: cannot serve on %s: %s", qc.socket,
			rc == -EROFS ? "the ledger is not writable by this "
			"account (every query must be recorded)" :
			strerror(-rc));
		return CMD_ERROR;
	}
	memset(&pub, 0, sizeof(pub));
	pub.ledger = ctx->ledger;
	if (!ctx->cfg.checkpoint_key[0])
		snprintf(err, sizeof(err), "no [ledger] checkpoint_key configured");
	else if (cmd_signer_load(ctx, &pub.signer, err, sizeof(err)) == 0)
		have_signer = true;
	if (have_signer) {
		qservice_set_publish(svc, serve_publish, &pub);
		qservice_set_proof_signer(svc, &pub.signer);
	}
	else
		cmd_err("serve: cannot sign checkpoints (%s): the audit events of "
			"queries stay in the unsigned tail of the ledger until dockd "
			"or `custody checkpoint` signs one", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "custody: serving %s on %s\n",
		cust_ledger_path(ctx->ledger), qc.socket);
	rc = qservice_run(svc, &stop_flag);
	qservice_close(svc);
	if (have_signer)
		cust_signer_free(&pub.signer);
	if (rc < 0) {
		cmd_err("serve: %s", strerror(-rc));
		return CMD_ERROR;
	}
	return 0;
}
