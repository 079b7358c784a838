/* custody-console: the clerks' web console (docs/console.md).
 *
 *   custody-console --config FILE
 *
 * Reads [console] (and [query] socket) from the dock's INI file, serves
 * HTTPS (tls.h) and talks to the query service as the console account
 * (svc.h). Stops on SIGINT/SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "qconfig.h"
#include "session.h"
#include "tls.h"
#include "version.h"

#define PATH_MAX_ 512

struct ccfg {
	char listen[128];
	char cert[PATH_MAX_], key[PATH_MAX_], totp_file[PATH_MAX_];
	char pam_service[64];
	long lockout_failures, lockout_seconds, session_idle_seconds;
	char err[256];
};

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int text(char *dst, size_t cap, const char *v)
{
	if (!*v || strlen(v) >= cap)
		return -1;
	snprintf(dst, cap, "%s", v);
	return 0;
}

static int number(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static int on_line(void *arg, const char *section, const char *name,
		   const char *v)
{
	struct ccfg *c = arg;
	const char *bad = NULL;

	if (strcmp(section, "console"))
		return 1;
	if (!strcmp(name, "listen"))
		bad = text(c->listen, sizeof(c->listen), v) ? "HOST:PORT" : NULL;
	else if (!strcmp(name, "cert"))
		bad = v[0] != '/' || text(c->cert, sizeof(c->cert), v) ?
		      "an absolute path" : NULL;
	else if (!strcmp(name, "key"))
		bad = v[0] != '/' || text(c->key, sizeof(c->key), v) ?
		      "an absolute path" : NULL;
	else if (!strcmp(name, "totp_file"))
		bad = v[0] != '/' || text(c->totp_file, sizeof(c->totp_file), v) ?
		      "an absolute path" : NULL;
	else if (!strcmp(name, "pam_service"))
		bad = text(c->pam_service, sizeof(c->pam_service), v) ||
		      strchr(v, '/') ? "a PAM service name" : NULL;
	else if (!strcmp(name, "custody"))	/* moved (docs/console.md) */
		bad = "in [query]: the query service runs the exporter now";
	else if (!strcmp(name, "lockout_failures"))
		bad = number(v, 1, 100, &c->lockout_failures) ? "1..100" : NULL;
	else if (!strcmp(name, "lockout_seconds"))
		bad = number(v, 1, 86400, &c->lockout_seconds) ? "1..86400" : NULL;
	else if (!strcmp(name, "session_idle_seconds"))
		bad = number(v, 60, 86400, &c->session_idle_seconds) ? "60..86400" : NULL;
	else
		bad = "a known key (listen, cert, key, totp_file, pam_service, "
		      "lockout_failures, lockout_seconds, session_idle_seconds)";
	if (bad) {
		snprintf(c->err, sizeof(c->err), "[console] %s = %s: must be %s",
			 name, v, bad);
		return 0;
	}
	return 1;
}

static int load(const char *path, struct ccfg *c, struct qconfig *qc)
{
	char err[512];
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->pam_service, sizeof(c->pam_service), "evidence-console");
	c->lockout_failures = 5;
	c->lockout_seconds = 900;
	c->session_idle_seconds = 900;
	if (qconfig_load(path, qc, err, sizeof(err)) < 0) {
		fprintf(stderr, "custody-console: %s\n", err);
		return -1;
	}
	rc = ini_parse(path, on_line, c);
	if (rc) {
		fprintf(stderr, "custody-console: %s: %s\n", path,
			c->err[0] ? c->err : rc < 0 ? strerror(errno) :
			"syntax error");
		return -1;
	}
	if (!qc->socket[0] || !c->listen[0] || !c->cert[0] || !c->key[0] ||
	    !c->totp_file[0]) {
		fprintf(stderr, "custody-console: %s: needs [query] socket and "
			"[console] listen, cert, key, totp_file "
			"(docs/console.md)\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct qconfig qc;
	static struct ccfg c;
	struct console_cfg cc;
	struct tls_server *tls = NULL;
	struct MHD_Daemon *mhd;
	struct sigaction sa;
	char err[512];

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("custody-console %s\n", EVIDENCE_DOCK_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: custody-console --config FILE\n"
		       "The clerks' web console (HTTPS); see docs/console.md.\n");
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--config")) {
		fprintf(stderr, "usage: custody-console --config FILE\n");
		return 2;
	}
	if (load(argv[2], &c, &qc))
		return 2;
	if (auth_init()) {
		fprintf(stderr, "custody-console: liboath did not start\n");
		return 2;
	}
	sess_setup((int)c.session_idle_seconds, (int)c.lockout_failures,
		   (int)c.lockout_seconds);
	memset(&cc, 0, sizeof(cc));
	cc.svc.socket = qc.socket;
	cc.pam_service = c.pam_service;
	cc.totp_file = c.totp_file;
	signal(SIGPIPE, SIG_IGN);
	mhd = http_start(&cc);
	if (!mhd) {
		fprintf(stderr, "custody-console: libmicrohttpd did not start\n");
		return 2;
	}
	if (tls_open(c.listen, c.cert, c.key, mhd, &tls, err, sizeof(err))) {
		fprintf(stderr, "custody-console: %s\n", err);
		MHD_stop_daemon(mhd);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "custody-console: ready on https port %d (service %s)\n",
		tls_port(tls), qc.socket);
	tls_run(tls, &stop_flag);
	sse_stop();
	tls_close(tls);
	MHD_stop_daemon(mhd);
	return 0;
}
