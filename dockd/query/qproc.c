/* qproc.c - dockd's side of the query-service process (qproc.h). */
#define _GNU_SOURCE
#include "qproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "daemon.h"
#include "ledgerw.h"
#include "log.h"
#include "procdied.h"
#include "qconfig.h"
#include "qmsg.h"
#include "qworker.h"
#include "status.h"

extern char **environ;

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 60000		/* ran this long: the next backoff is the minimum */
#define CHAN_TIMEOUT_S 2	/* a started message must be complete by then */

struct qproc {
	struct dockd *d;
	struct qservice_listener l;
	char path[108];
	char agency[CUST_AGENCY_MAX + 1];
	char exe[4096];
	pid_t pid;
	int chan;
	long started_ms, restart_ms;
	int backoff_ms;
	uint8_t buf[QMSG_BODY_MAX];
	struct cust_event evs[QMSG_MAX_EVENTS];
	struct alert_runner *alerts;	/* the query service's alerts (QM_ALERT) */
	char astrs[6 * (QMSG_ALERT_FIELD_MAX + 1)];
};

/* The alert command for the query service's alerts: [alert] command (as
 * when the query process ran it itself), else dockd's [dock]
 * alert_command. */
static void alert_config(struct qproc *q, const struct qconfig *qc)
{
	struct dock_snap *s = dockd_snap_get(q->d);
	struct alert_config ac = { .command = qc->alert_command[0] ? qc->alert_command :
					      s->cfg.alert_command[0] ? s->cfg.alert_command : NULL,
				   .timeout_ms = qc->alert_timeout_ms };

	if (alert_runner_set_config(q->alerts, &ac) < 0)
		log_error("query service alerts: alert command %s refused (not an absolute "
			  "path): alerts are logged only", ac.command);
	dockd_snap_put(q->d, s);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int spawn(struct qproc *q)
{
	char lfs[16], chs[16];
	char *argv[] = { "dockd-query", "--query-service", q->d->config_path, q->agency,
			 (char *)cust_ledger_path(ledgerw_ledger(q->d->w)), lfs, chs, NULL };
	struct timeval tv = { CHAN_TIMEOUT_S, 0 };
	int sv[2], lf, ch, lo, hi, e;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* above 16, close-on-exec until the child clears it: no camera's
	 * link worker inherits them */
	lf = fcntl(q->l.fd, F_DUPFD_CLOEXEC, QWORKER_FD_MIN_PASSED);
	ch = fcntl(sv[1], F_DUPFD_CLOEXEC, QWORKER_FD_MIN_PASSED);
	close(sv[1]);
	if (lf < 0 || ch < 0) {
		e = -errno;
		goto fail;
	}
	/* a child that starts a message and stalls cannot hold the main loop */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(lfs, sizeof(lfs), "%d", lf);
	snprintf(chs, sizeof(chs), "%d", ch);
	lo = lf < ch ? lf : ch;
	hi = lf < ch ? ch : lf;
	pid = fork();
	if (pid == 0) {
		/* async-signal-safe only; fds are moved after exec (qworker.h) */
		if (fcntl(lf, F_SETFD, 0) < 0 || fcntl(ch, F_SETFD, 0) < 0)
			_exit(126);
		if (lo > 3)
			syscall(SYS_close_range, 3U, (unsigned)lo - 1, 0);
		if (hi > lo + 1)
			syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0);
		syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0);
		/* forked from the main thread: dockd gone, the service goes */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the environment stays: the alert command runs from here */
		execve(q->exe, argv, environ);
		_exit(127);
	}
	e = pid < 0 ? -errno : 0;
	close(lf);
	close(ch);
	if (e < 0) {
		close(sv[0]);
		return e;
	}
	q->pid = pid;
	q->chan = sv[0];
	q->started_ms = now_ms();
	log_info("custody query service started as process %d", (int)pid);
	return 0;
fail:
	if (lf >= 0)
		close(lf);
	if (ch >= 0)
		close(ch);
	close(sv[0]);
	return e;
}

/* Kill (if alive) and reap; the wait status. */
static int reap(struct qproc *q, int grace_ms)
{
	int st = 0;

	if (q->pid <= 0)
		return 0;
	for (int waited = 0; waited <= grace_ms; waited += 10) {
		pid_t p = waitpid(q->pid, &st, WNOHANG);

		if (p == q->pid || (p < 0 && errno != EINTR)) {
			q->pid = 0;
			return st;
		}
		if (waited + 10 <= grace_ms)
			poll(NULL, 0, 10);
	}
	kill(q->pid, SIGKILL);
	while (waitpid(q->pid, &st, 0) < 0 && errno == EINTR)
		;
	q->pid = 0;
	return st;
}

/* The process died or broke the channel: record, schedule a restart. */
static void lost(struct qproc *q, const char *why)
{
	char how[64] = "", what[300];
	long ran = now_ms() - q->started_ms;
	pid_t pid = q->pid;
	int st;

	if (q->chan >= 0)
		close(q->chan);
	q->chan = -1;
	st = reap(q, 2000);
	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), ", killed by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		snprintf(how, sizeof(how), ", exit status %d", WEXITSTATUS(st));
	q->backoff_ms = ran >= STABLE_MS || q->backoff_ms == 0 ? BACKOFF_MIN_MS :
			q->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : q->backoff_ms * 2;
	q->restart_ms = now_ms() + q->backoff_ms;
	log_error("custody query service stopped (%s%s): restarting in %d ms", why, how,
		  q->backoff_ms);
	snprintf(what, sizeof(what), "custody query service (pid %d) stopped (%s%s); "
		 "restarting in %d ms, cameras keep docking", (int)pid, why, how, q->backoff_ms);
	custodian_process_died(q->d, "query-service", what, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void reply_failed(struct qproc *q, int err)
{
	uint8_t b[4] = { (uint8_t)(err >> 24), (uint8_t)(err >> 16), (uint8_t)(err >> 8),
			 (uint8_t)err };

	if (qmsg_send(q->chan, QM_FAILED, b, 4) < 0)
		lost(q, "channel write failed");
}

/* Append the query service's events, if every one is of its kind. */
static void do_append(struct qproc *q, uint32_t len)
{
	uint64_t seqs[QMSG_MAX_EVENTS];
	uint8_t out[2 + 8 * QMSG_MAX_EVENTS];
	size_t n = 0, olen;
	int r;

	if (qmsg_decode_append(q->buf, len, q->evs, QMSG_MAX_EVENTS, &n) < 0) {
		lost(q, "malformed append");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct cust_event *ev = &q->evs[i];
		const char *an = cust_action_name(ev->action);

		if (ev->actor_kind != CUST_ACTOR_CLERK ||
		    !qmsg_action_allowed((int)ev->action, (int)ev->outcome)) {
			log_error("query service asked to append %s (%s, actor %s): refused, not an "
				  "event the query service writes", an ? an : "?",
				  cust_outcome_name(ev->outcome) ? cust_outcome_name(ev->outcome) : "?",
				  ev->actor_id);
			dockd_alert(q->d, "query-service", an, "the query service asked to append "
				    "%s by %s: refused (not an event it writes)", an ? an : "?",
				    ev->actor_id);
			reply_failed(q, EPERM);
			return;
		}
		/* the custodian's clock, not the requester's */
		cust_clock_now(&ev->time_ns, &ev->clock);
		ev->seq = 0;
	}
	ledgerw_lock(q->d->w);
	r = cust_ledger_append_batch(ledgerw_ledger(q->d->w), q->evs, n);
	ledgerw_unlock(q->d->w);
	if (r < 0) {
		log_error("ledger: query service events not recorded: %s", strerror(-r));
		reply_failed(q, -r);
		return;
	}
	for (size_t i = 0; i < n; i++)
		seqs[i] = q->evs[i].seq;
	if (qmsg_encode_appended(seqs, n, out, sizeof(out), &olen) < 0 ||
	    qmsg_send(q->chan, QM_APPENDED, out, (uint32_t)olen) < 0)
		lost(q, "channel write failed");
}

static void do_status(struct qproc *q)
{
	json_t *o = status_json(q->d->status);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;

	json_decref(o);
	if (n > QMSG_STATUS_MAX)
		n = 0;		/* unavailable rather than cut */
	if (qmsg_send(q->chan, QM_STATUS_REPLY, s, (uint32_t)n) < 0)
		lost(q, "channel write failed");
	free(s);
}

/* An alert the query service raised: dockd logs it and runs the command
 * (the query process may not spawn anything). */
static void do_alert(struct qproc *q, uint32_t len)
{
	struct alert a;

	if (qmsg_decode_alert(q->buf, len, &a, q->astrs, sizeof(q->astrs)) < 0) {
		lost(q, "malformed alert");
		return;
	}
	if (!qmsg_alert_kind_allowed(a.kind)) {
		log_error("query service asked to raise an alert of kind %s: refused, not one "
			  "it raises", a.kind ? a.kind : "-");
		dockd_alert(q->d, "query-service", NULL, "the query service asked to raise an "
			    "alert of kind %s: refused", a.kind ? a.kind : "-");
		reply_failed(q, EPERM);
		return;
	}
	(void)alert_raise_async(q->alerts, &a);
	if (qmsg_send(q->chan, QM_ALERTED, NULL, 0) < 0)
		lost(q, "channel write failed");
}

void qproc_handle(struct qproc *q)
{
	uint16_t t;
	uint32_t len;
	int r;

	if (!q || q->chan < 0)
		return;
	r = qmsg_recv(q->chan, q->buf, sizeof(q->buf), &t, &len);
	if (r < 0) {
		lost(q, r == -ECONNRESET ? "process ended" : r == -ETIMEDOUT ?
		     "incomplete message" : "malformed message");
		return;
	}
	switch (t) {
	case QM_APPEND:
		do_append(q, len);
		break;
	case QM_STATUS:
		do_status(q);
		break;
	case QM_ALERT:
		do_alert(q, len);
		break;
	case QM_PUBLISH:
		(void)ledgerw_checkpoint(q->d->w);
		if (qmsg_send(q->chan, QM_PUBLISHED, NULL, 0) < 0)
			lost(q, "channel write failed");
		break;
	default:		/* dockd's own reply types */
		lost(q, "unexpected message type");
	}
}

int qproc_fd(const struct qproc *q)
{
	return q ? q->chan : -1;
}

pid_t qproc_pid(const struct qproc *q)
{
	return q ? q->pid : 0;
}

void qproc_tick(struct qproc *q)
{
	int r;

	if (q)
		alert_runner_reap(q->alerts);
	if (!q || q->pid > 0 || now_ms() < q->restart_ms)
		return;
	r = spawn(q);
	if (r < 0) {
		q->restart_ms = now_ms() + BACKOFF_MAX_MS;
		log_error("custody query service: cannot start: %s", strerror(-r));
	}
}

void qproc_reload(struct qproc *q)
{
	struct qconfig qc;
	char err[300] = "";

	if (q && qconfig_load(q->d->config_path, &qc, err, sizeof(err)) == 0)
		alert_config(q, &qc);
	else if (q)
		log_error("query service alerts: reload: %s", err);
	if (!q || q->pid <= 0)
		return;
	/* A new process reads the configuration file: the running one cannot
	 * read a replaced file (its landlock rule names the file it opened, an
	 * inode; an editor, `sed -i` or a package upgrade renames a new one
	 * into place). Not a death: nothing recorded. Clients queue on the
	 * listening socket, which dockd holds, until the new one accepts; a
	 * request the old one was serving fails and is asked again. */
	kill(q->pid, SIGTERM);
	close(q->chan);
	q->chan = -1;
	(void)reap(q, 2000);
	log_info("custody query service stopped for the reload: a new one reads the configuration");
	if (spawn(q) < 0) {
		q->restart_ms = now_ms() + BACKOFF_MIN_MS;
		log_error("custody query service: cannot start after the reload: retrying");
	}
}

int qproc_start(struct dockd *d, const struct qservice_config *qsc, const char *agency,
		struct qproc **out)
{
	struct qproc *q = calloc(1, sizeof(*q));
	ssize_t n;
	int r;

	if (!q)
		return -ENOMEM;
	q->d = d;
	q->chan = -1;
	q->l.fd = -1;
	n = readlink("/proc/self/exe", q->exe, sizeof(q->exe) - 1);
	if (n <= 0 || strlen(qsc->socket_path) >= sizeof(q->path) ||
	    strlen(agency) >= sizeof(q->agency)) {
		free(q);
		return n <= 0 ? -ENOENT : -ENAMETOOLONG;
	}
	q->exe[n] = '\0';
	r = alert_runner_new(NULL, qsc->max_alerts, &q->alerts);
	if (r < 0) {
		free(q);
		return r;
	}
	{
		struct qconfig qc = { .alert_timeout_ms = qsc->alert.timeout_ms };

		snprintf(qc.alert_command, sizeof(qc.alert_command), "%s",
			 qsc->alert.command ? qsc->alert.command : "");
		alert_config(q, &qc);
	}
	snprintf(q->path, sizeof(q->path), "%s", qsc->socket_path);
	snprintf(q->agency, sizeof(q->agency), "%s", agency);
	r = qservice_listen(qsc, &q->l);
	if (r < 0) {
		alert_runner_free(q->alerts);
		free(q);
		return r;
	}
	qproc_tick(q);
	*out = q;
	return 0;
}

void qproc_stop(struct qproc *q)
{
	if (!q)
		return;
	if (q->pid > 0)
		kill(q->pid, SIGTERM);
	/* a request waiting on dockd now fails (channel closed): no hang */
	if (q->chan >= 0)
		close(q->chan);
	(void)reap(q, 2000);
	qservice_unlisten(&q->l, q->path);
	alert_runner_free(q->alerts);	/* bounded: alert.h */
	free(q);
}
