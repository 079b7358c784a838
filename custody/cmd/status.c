/*
 * status.c - `custody status`: what the dock is doing now (docked cameras,
 * per-recording progress, queues, recent alerts), asked from dockd through
 * the query service ({"op":"status"}; any role of the dock's agency).
 *
 *   custody [--config FILE] status [--socket PATH] [--json]
 *                                  [--watch SECONDS]
 *
 * Text: the table of qstatus.h. --json: the status object (indented,
 * keys sorted). --watch N: ask again every N seconds (1..3600) until
 * interrupted; the screen is cleared between views only when stdout is a
 * terminal (a pipe or file gets the views one after another). A failed
 * exchange during --watch is reported and retried at the next turn (dockd
 * may be restarting); a refusal ends it. Exit status as `custody remote`:
 * 0 answered, 1 denied, 2 other errors; 0 when --watch is interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agencyrec.h"
#include "qclient.h"
#include "qcmd.h"
#include "query.h"

#define WATCH_MAX_S 3600

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct sargs {
	const char *socket;
	int as_json;
	long watch;		/* seconds, 0 = once */
};

static int parse(int argc, char **argv, struct sargs *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(o, "--json")) {
			a->as_json = 1;
			continue;
		}
		if (!strcmp(o, "--utc")) {
			cust_time_style(1);
			continue;
		}
		if (!v || (strcmp(o, "--socket") && strcmp(o, "--watch"))) {
			cmd_err("usage: custody status [--socket PATH] [--json] [--utc] "
				"[--watch SECONDS]");
			return CMD_ERROR;
		}
		i++;
		if (!strcmp(o, "--socket")) {
			a->socket = v;
			continue;
		}
		errno = 0;
		a->watch = strtol(v, &end, 10);
		if (errno || end == v || *end || a->watch < 1 ||
		    a->watch > WATCH_MAX_S) {
			cmd_err("status: --watch must be 1..%d seconds",
				WATCH_MAX_S);
			return CMD_ERROR;
		}
	}
	return 0;
}

/* The agency custody certificate of [ledger] custody_cert, read locally
 * (it is not secret): a WARNING line when it expired, expires within
 * CUST_CERT_WARN_DAYS or does not verify. Text: stdout; --json: stderr. */
static void cert_line(const struct cust_config *cfg, int as_json)
{
	struct cust_trust_status st;
	char err[600], until[AGN_TIME_LEN + 1] = "?";
	FILE *f = as_json ? stderr : stdout;
	int r = cust_trust_cert_status(cfg, (int64_t)time(NULL), &st, err, sizeof(err));

	if (r == -ENOENT)
		return;
	if (r) {
		fprintf(f, "WARNING custody certificate: %s\n", err);
		return;
	}
	agn_time_format(st.cert.not_after, until);
	if (st.days_left < 0)
		fprintf(f, "WARNING custody certificate of %s EXPIRED %s: renew it\n",
			st.cert.dock, until);
	else if (st.days_left < CUST_CERT_WARN_DAYS)
		fprintf(f, "WARNING custody certificate of %s expires %s (%lld day(s)): "
			"renew it\n", st.cert.dock, until, (long long)st.days_left);
	else if (!as_json)
		fprintf(f, "custody certificate of %s valid until %s\n", st.cert.dock, until);
}

static const struct cust_config *status_cfg;

/* One exchange, printed; the exit status of cmd_qcall(). */
static int show(const char *socket, int as_json, int clear)
{
	json_t *req = json_pack("{s:s}", "op", "status");
	int rc;

	if (!req)
		return CMD_ERROR;
	if (clear)
		fputs("\033[H\033[2J", stdout);
	rc = cmd_qcall(socket, req, "status", as_json);
	json_decref(req);
	if (status_cfg)
		cert_line(status_cfg, as_json);
	fflush(stdout);
	return rc;
}

static int watch(const char *socket, int as_json, long every)
{
	struct sigaction sa;
	int tty = isatty(STDOUT_FILENO), rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;	/* no SA_RESTART: wake the sleep */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!interrupted) {
		struct timespec left = { every, 0 };

		rc = show(socket, as_json, tty);
		if (rc == CMD_FINDINGS)		/* denied: asking again won't help */
			return rc;
		if (!as_json && !interrupted)
			printf("\n(every %ld s; Ctrl-C to stop)\n", every);
		if (fflush(stdout) == EOF || ferror(stdout))
			return CMD_ERROR;	/* reader gone (pipe closed) */
		while (!interrupted && nanosleep(&left, &left) < 0 &&
		       errno == EINTR)
			;
	}
	return CMD_OK;
}

int cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct sargs a = { NULL, 0, 0 };
	struct qconfig qc;
	int rc;

	if ((rc = parse(argc, argv, &a)) || (rc = cmd_qconfig(ctx, &qc)))
		return rc;
	if (!a.socket && qc.socket[0])
		a.socket = qc.socket;
	if (!a.socket && !ctx->have_config)
		a.socket = CMD_DEFAULT_SOCKET; /* a clerk cannot read the 0640 config */
	if (!a.socket) {
		cmd_err("status: no query service socket: set [query] socket "
			"in the config file or give --socket PATH");
		return CMD_ERROR;
	}
	signal(SIGPIPE, SIG_IGN);
	status_cfg = &ctx->cfg;
	return a.watch ? watch(a.socket, a.as_json, a.watch) :
			 show(a.socket, a.as_json, 0);
}
