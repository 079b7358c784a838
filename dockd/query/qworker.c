/* qworker.c - the query-service process (qworker.h). */
#define _GNU_SOURCE
#include "qworker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alert.h"
#include "ledger.h"
#include "qconfig.h"
#include "qlaunch.h"
#include "qmsg.h"
#include "qsandbox.h"
#include "qservice.h"
#include "qworker.h"

static volatile sig_atomic_t stop, hup;
static uint8_t body[QMSG_BODY_MAX];	/* one message at a time */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else
		stop = 1;
}

/* Ask dockd and wait for its answer (the channel is request/reply). A
 * broken channel ends the process: dockd is gone or judged us. */
static int ask(uint16_t type, const void *b, uint32_t len, uint16_t *rtype,
	       uint32_t *rlen)
{
	int r = qmsg_send(QWORKER_FD_CHAN, type, b, len);

	if (r == 0)
		r = qmsg_recv(QWORKER_FD_CHAN, body, sizeof(body), rtype, rlen);
	if (r < 0) {
		fprintf(stderr, "dockd query service: channel to dockd: %s\n", strerror(-r));
		_exit(1);
	}
	return 0;
}

/* cust_ledger_set_forward(): the events go to the custodian, which
 * appends them durably and answers with their seqs. */
static int fwd_append(void *ctx, struct cust_event *evs, size_t n)
{
	uint64_t seqs[QMSG_MAX_EVENTS];
	uint16_t t;
	uint32_t len;
	size_t blen;
	int r;

	(void)ctx;
	if (n > QMSG_MAX_EVENTS)
		return -E2BIG;
	r = qmsg_encode_append(evs, n, body, sizeof(body), &blen);
	if (r)
		return r;
	ask(QM_APPEND, body, (uint32_t)blen, &t, &len);
	if (t == QM_FAILED && len == 4) {
		uint32_t e = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 |
			     (uint32_t)body[2] << 8 | body[3];
		return e > 0 && e < 4096 ? -(int)e : -EIO;
	}
	if (t != QM_APPENDED || qmsg_decode_appended(body, len, seqs, n) < 0)
		return -EPROTO;
	for (size_t i = 0; i < n; i++)
		evs[i].seq = seqs[i];
	return 0;
}

static json_t *fwd_status(void *ctx)
{
	uint16_t t;
	uint32_t len;
	json_t *o;

	(void)ctx;
	ask(QM_STATUS, NULL, 0, &t, &len);
	if (t != QM_STATUS_REPLY || len == 0)
		return NULL;
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static void fwd_publish(void *ctx)
{
	uint16_t t;
	uint32_t len;

	(void)ctx;
	ask(QM_PUBLISH, NULL, 0, &t, &len);
}

/* alert_runner_set_forward(): dockd raises the alert (the query process
 * may not spawn its command). */
static int fwd_alert(void *ctx, const struct alert *a)
{
	static uint8_t ab[QMSG_ALERT_MAX];
	uint16_t t;
	uint32_t len;
	size_t blen;
	int r = qmsg_encode_alert(a, ab, sizeof(ab), &blen);

	(void)ctx;
	if (r)
		return r;
	ask(QM_ALERT, ab, (uint32_t)blen, &t, &len);
	return t == QM_ALERTED ? 0 : -EPROTO;
}

static int passed_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < QWORKER_FD_MIN_PASSED || v > 65535 ||
	    fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}

/* Move the passed descriptors to 3 and 4, close everything else above 2:
 * nothing of dockd's (its ledger writer, key or log files) stays open. */
static int place_fds(const char *lfd, const char *cfd)
{
	int l = passed_fd(lfd), c = passed_fd(cfd);

	if (l < 0 || c < 0 || l == c)
		return -EBADF;
	if (dup2(l, QWORKER_FD_LISTEN) < 0 || dup2(c, QWORKER_FD_CHAN) < 0)
		return -errno;
	if (syscall(SYS_close_range, QWORKER_FD_CHAN + 1, ~0U, 0) < 0)
		return -errno;
	return 0;
}

static int lock_down(void)
{
	struct rlimit no = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &no) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

#ifdef LINK_ATTACK_TESTS
/* Test build only: ask for an append the query service never writes. */
static void forge(struct cust_ledger *l)
{
	const char *name = getenv("QUERY_ATTACK_ARG");
	enum cust_action a;
	struct cust_event ev;
	int r;

	if (!name || !name[0])
		name = "destroyed";
	if (cust_action_parse(name, &a) < 0 ||
	    cust_event_init(&ev, "forged", CUST_ACTOR_CLERK, "attacker", a, "", CUST_OUTCOME_OK))
		return;
	r = cust_ledger_append(l, &ev);
	fprintf(stderr, "dockd query service: QUERY_ATTACK forge %s: %s\n", name,
		r ? strerror(-r) : "appended");
}
#endif

static void reload(struct qservice *svc, const char *config)
{
	struct qconfig qc;
	char err[300] = "";

	/* [alert] is dockd's to re-read: it runs the command (fwd_alert) */
	if (qconfig_load(config, &qc, err, sizeof(err)) == 0) {
		qservice_set_retention(svc, &qc.retention);
		fprintf(stderr, "dockd query service: reload: [retention] re-read\n");
	} else {
		fprintf(stderr, "dockd query service: reload: %s\n", err);
	}
}

int qworker_main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct qconfig qc;
	struct qservice_config qsc;
	struct cust_ledger *l = NULL;
	struct qservice *svc = NULL;
	static int launch_fd = -1;	/* qlaunch_request's context */
	pid_t launch_pid = 0;
	char err[1600] = "", shm[4200] = "";
	int r;

	if (argc != 7 || place_fds(argv[5], argv[6]) < 0) {
		fprintf(stderr, "dockd query service: bad arguments or descriptors from dockd\n");
		_exit(3);
	}
	sigemptyset(&sa.sa_mask);
	/* dockd blocks these for its signalfd; the mask survives exec */
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = lock_down();
	if (r == 0)
		r = qconfig_load(argv[2], &qc, err, sizeof(err));
	if (r == 0)
		r = qconfig_service(&qc, argv[3], &qsc);
	/* the export-package launcher: forked before the ledger is open and
	 * before the lock-down, which leaves this process no fork or exec */
	if (r == 0 && qsc.custody_bin && qsc.custody_bin[0] == '/')
		r = qlaunch_start(qsc.custody_bin, argv[2], qsc.socket_path, &launch_fd,
				  &launch_pid);
#ifdef LINK_ATTACK_TESTS
	qattack_arm();	/* unlinks its file: before the lock-down */
#endif
	if (r == 0)
		r = cust_ledger_open(argv[4], CUST_LEDGER_RDONLY, &l, err, sizeof(err));
	if (r == 0) {
		cust_ledger_set_forward(l, fwd_append, NULL);
		qsc.listen_fd = QWORKER_FD_LISTEN;
		qsc.config_path = argv[2];	/* for export-package (qpackage.h) */
		r = qservice_open(&qsc, l, &svc);
	}
	if (r == 0) {
		/* alerts and packages leave the process; then landlock and
		 * the filter (landlock's calls are not on its list) */
		char *real = realpath(argv[4], NULL);
		int abi = 0, shm_fd;

		qservice_set_alert_forward(svc, fwd_alert, NULL);
		if (launch_pid > 0)
			qservice_set_package_launcher(svc, qlaunch_request, &launch_fd);
		if (real)
			snprintf(shm, sizeof(shm), "%s-shm", real);
		/* found through /proc/self/fd, which landlock then closes */
		shm_fd = shm[0] ? qsandbox_find_fd(shm) : -1;
		r = qsandbox_landlock(argv[2], real, &abi);
		free(real);
		if (r < 0) {
			snprintf(err, sizeof(err), "landlock: %s", strerror(-r));
		} else {
			if (abi == 0)
				fprintf(stderr, "dockd query service: no landlock in this "
					"kernel: it can read what dockd's uid reads (the "
					"seccomp filter still applies)\n");
			r = qsandbox_seccomp(shm_fd);
			if (r < 0)
				snprintf(err, sizeof(err), "seccomp filter: %s", strerror(-r));
		}
	}
	if (r < 0) {
		fprintf(stderr, "dockd query service: cannot start: %s\n",
			err[0] ? err : strerror(-r));
		if (launch_pid > 0)
			kill(launch_pid, SIGKILL);
		cust_ledger_close(l);
		_exit(1);
	}
	qservice_set_status_fn(svc, fwd_status, NULL);
	qservice_set_publish(svc, fwd_publish, NULL);
#ifdef LINK_ATTACK_TESTS
	if (getenv("QUERY_ATTACK") && !strcmp(getenv("QUERY_ATTACK"), "forge"))
		forge(l);
	qattack();
#endif
	while (!stop) {
		struct pollfd p[2] = { { .fd = qservice_fd(svc), .events = POLLIN },
				       { .fd = QWORKER_FD_CHAN, .events = 0 } };

		if (hup) {
			hup = 0;
			reload(svc, argv[2]);
		}
		/* POLLHUP on the channel (always reported): dockd is gone */
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents & (POLLHUP | POLLERR))
			break;
		if ((p[0].revents & POLLIN) && qservice_handle(svc) < 0)
			break;
	}
	qservice_close(svc);
	cust_ledger_close(l);
	_exit(stop ? 0 : 1);
}
