/* qservice: Unix-socket transport of the query service. See qservice.h;
 * policy and audit are in qrequest.c, the socket file in qlisten.c. */
#define _GNU_SOURCE
#include "qservice.h"
#include "qpackage.h"
#include "qrequest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TAG_LISTEN 0
#define TAG_TIMER 1
#define TAG_CONN0 2
#define TICK_MS 100		/* deadline sweep period while busy */
#define DRAIN_MAX (1u << 20)	/* unread bytes we swallow before close */

enum conn_state { C_FREE = 0, C_READ, C_WRITE };

struct qconn {
	enum conn_state state;
	int fd;
	struct qpeer peer;
	long deadline;
	size_t inlen;
	char in[QREQ_MAX + 1];
	char *out;
	size_t outlen, outoff;
};

struct qservice {
	int lfd, epfd, tfd;
	int timer_armed;
	int timeout_ms;
	int nconns, active;
	struct qconn *conns;
	struct qrequest_ctx rctx;
	struct cust_retention retention;	/* rctx.retention points here */
	void (*publish)(void *ctx);	/* checkpoint before each reply */
	void *publish_ctx;
	struct alert_runner *alerts;
	char *path;
	char console_account[65];	/* copied from the config */
	dev_t sock_dev;
	ino_t sock_ino;
	int inherited;			/* cfg->listen_fd: never unlinked */
	char *custody_bin, *config_path;	/* export-package; NULL: off */
	struct qpackage_pool pkgs;		/* its handlers (qpackage.h) */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int ep_ctl(struct qservice *svc, int op, int fd, uint32_t events,
		  uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(svc->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/* Tick while connections are open or alert commands run (they are
 * collected and, when overdue, killed on the tick); silent otherwise. */
static void timer_update(struct qservice *svc)
{
	struct itimerspec its;
	int want = svc->active > 0 || svc->pkgs.running > 0 ||
		   alert_runner_running(svc->alerts) > 0;

	if (want == svc->timer_armed)
		return;
	memset(&its, 0, sizeof(its));
	if (want) {
		its.it_value.tv_nsec = TICK_MS * 1000000L;
		its.it_interval.tv_nsec = TICK_MS * 1000000L;
	}
	if (timerfd_settime(svc->tfd, 0, &its, NULL) == 0)
		svc->timer_armed = want;
}

/* Swallow what the client still sends so that close() does not reset the
 * connection before it has read our reply (AF_UNIX signals ECONNRESET to
 * the peer when unread data is discarded). Bounded. */
static void drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX &&
	       (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

static void conn_close(struct qservice *svc, struct qconn *c)
{
	if (c->state == C_FREE)
		return;
	drain(c->fd);
	epoll_ctl(svc->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->state = C_FREE;
	c->fd = -1;
	svc->active--;
	timer_update(svc);
}

/* Serialise reply and switch the connection to writing. */
static void conn_reply(struct qservice *svc, struct qconn *c, json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;

	json_decref(reply);
	if (s && n + 1 > QSERVICE_REPLY_MAX) {
		free(s);
		s = strdup("{\"ok\":false,\"error\":\"too-large\",\"message\":"
			   "\"result too large; narrow the query\"}");
		n = s ? strlen(s) : 0;
	}
	if (!s) {
		conn_close(svc, c);
		return;
	}
	/* json_dumps gives exactly n bytes + NUL: turn the NUL into '\n'. */
	s[n] = '\n';
	c->out = s;
	c->outlen = n + 1;
	c->outoff = 0;
	c->state = C_WRITE;
	if (ep_ctl(svc, EPOLL_CTL_MOD, c->fd, EPOLLOUT,
		   TAG_CONN0 + (uint64_t)(c - svc->conns)) < 0)
		conn_close(svc, c);
}

static void conn_write(struct qservice *svc, struct qconn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
				 c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;		/* EPOLLOUT brings us back */
		if (n <= 0)
			break;		/* client gone: nothing more to do */
		c->outoff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(svc, c);
}

/* No unprotected tail: the request's audit event is signed into a
 * checkpoint before the caller sees the answer (qservice.h). */
static void publish(struct qservice *svc)
{
	if (svc->publish)
		svc->publish(svc->publish_ctx);
}

static void conn_reject(struct qservice *svc, struct qconn *c,
			const char *why, const char *msg)
{
	json_t *reply = NULL;

	if (qrequest_reject(&svc->rctx, &c->peer, why, msg, &reply) < 0) {
		conn_close(svc, c);
		return;
	}
	publish(svc);
	conn_reply(svc, c, reply);
}

/* export-package from the console (qpackage.h): a forked handler takes
 * the connection over. 1 if taken (answered or handed off), 0 if the
 * request is not one (qrequest handles it: anything else naming the op
 * is an unknown op there, recorded and refused). */
static int package_request(struct qservice *svc, struct qconn *c, size_t len)
{
	struct qpackage_job job = { svc->custody_bin, svc->config_path, svc->path,
				    NULL, NULL, NULL, NULL };
	int rc;

	if (!svc->custody_bin)
		return 0;
	rc = qpackage_request(&svc->pkgs, &job, svc->console_account, c->peer.uid,
			      c->in, len, c->fd, now_ms());
	if (rc == 0)
		return 0;
	if (rc == -EBUSY)
		conn_reject(svc, c, "busy", "busy: other court packages are being "
			    "built; try again in a minute");
	else if (rc < 0)
		conn_reject(svc, c, "error", "the dock cannot start the exporter");
	else
		conn_close(svc, c);	/* our copy; the handler answers */
	return 1;
}

static void conn_request(struct qservice *svc, struct qconn *c, size_t len)
{
	json_t *reply = NULL;

	c->in[len] = '\0';
	if (package_request(svc, c, len))
		return;
	if (qrequest_handle(&svc->rctx, &c->peer, c->in, len, &reply) < 0) {
		conn_close(svc, c);
		return;
	}
	publish(svc);
	conn_reply(svc, c, reply);
}

static void conn_read(struct qservice *svc, struct qconn *c)
{
	for (;;) {
		char *nl;
		ssize_t n;

		if (c->inlen >= QREQ_MAX) {
			conn_reject(svc, c, "too-large", "request too large "
				    "(limit 8192 bytes)");
			return;
		}
		n = recv(c->fd, c->in + c->inlen, QREQ_MAX - c->inlen,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_close(svc, c);
			return;
		}
		if (n == 0) {		/* end of request without newline */
			if (c->inlen == 0)
				conn_reject(svc, c, "bad-request",
					    "empty request");
			else
				conn_request(svc, c, c->inlen);
			return;
		}
		nl = memchr(c->in + c->inlen, '\n', (size_t)n);
		c->inlen += (size_t)n;
		if (nl) {
			conn_request(svc, c, (size_t)(nl - c->in));
			return;
		}
	}
}

static struct qconn *conn_slot(struct qservice *svc)
{
	for (int i = 0; i < svc->nconns; i++)
		if (svc->conns[i].state == C_FREE)
			return &svc->conns[i];
	return NULL;
}

static int accept_all(struct qservice *svc)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct qconn *c;
		int fd = accept4(svc->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				return 0;	/* retry on the next event */
			return -errno;
		}
		c = conn_slot(svc);
		/* Without a kernel-given identity there is nobody to serve. */
		if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
				     &len) < 0 || len != sizeof(cred)) {
			if (!c)
				fprintf(stderr, "custody qservice: busy, "
					"connection dropped\n");
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct qconn, in));
		c->fd = fd;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
		c->deadline = now_ms() + svc->timeout_ms;
		c->state = C_READ;
		if (ep_ctl(svc, EPOLL_CTL_ADD, fd, EPOLLIN,
			   TAG_CONN0 + (uint64_t)(c - svc->conns)) < 0) {
			close(fd);
			c->state = C_FREE;
			continue;
		}
		svc->active++;
		timer_update(svc);
	}
}

static void expire(struct qservice *svc)
{
	uint64_t ticks;
	long now = now_ms();

	while (read(svc->tfd, &ticks, sizeof(ticks)) > 0)
		;
	for (int i = 0; i < svc->nconns; i++) {
		struct qconn *c = &svc->conns[i];
		if (c->state == C_FREE || now < c->deadline)
			continue;
		if (c->state == C_READ) {
			/* Give the reply one non-blocking chance, then go. */
			conn_reject(svc, c, "timeout", "request timed out");
			if (c->state == C_WRITE)
				conn_write(svc, c);
			conn_close(svc, c);
		} else {
			conn_close(svc, c);
		}
	}
}

int qservice_handle(struct qservice *svc)
{
	struct epoll_event evs[64];
	int n, rc = 0;

	if (!svc)
		return -EINVAL;
	n = epoll_wait(svc->epfd, evs, 64, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	alert_runner_reap(svc->alerts);
	qpackage_reap(&svc->pkgs, now_ms());
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		struct qconn *c;

		if (tag == TAG_LISTEN) {
			rc = accept_all(svc);
			continue;
		}
		if (tag == TAG_TIMER) {
			expire(svc);
			continue;
		}
		c = &svc->conns[tag - TAG_CONN0];
		if (c->state == C_READ)
			conn_read(svc, c);
		else if (c->state == C_WRITE)
			conn_write(svc, c);
	}
	timer_update(svc);	/* alerts may have started or ended */
	return rc;
}

void qservice_set_status_fn(struct qservice *svc, json_t *(*fn)(void *ctx),
			    void *ctx)
{
	if (!svc)
		return;
	svc->rctx.status_fn = fn;
	svc->rctx.status_ctx = fn ? ctx : NULL;
}

void qservice_set_publish(struct qservice *svc, void (*fn)(void *ctx), void *ctx)
{
	if (!svc)
		return;
	svc->publish = fn;
	svc->publish_ctx = fn ? ctx : NULL;
}

void qservice_set_proof_signer(struct qservice *svc, const struct cust_signer *s)
{
	if (svc)
		svc->rctx.proof_signer = s;
}

void qservice_set_lock(struct qservice *svc, void (*lock)(void *ctx),
		       void (*unlock)(void *ctx), void *ctx)
{
	if (!svc)
		return;
	/* Both or neither: half a lock is a bug waiting to deadlock. */
	if (!lock || !unlock)
		lock = unlock = NULL, ctx = NULL;
	svc->rctx.lock = lock;
	svc->rctx.unlock = unlock;
	svc->rctx.lock_ctx = ctx;
}

int qservice_set_alert(struct qservice *svc, const struct alert_config *cfg)
{
	return svc ? alert_runner_set_config(svc->alerts, cfg) : -EINVAL;
}

void qservice_set_retention(struct qservice *svc, const struct cust_retention *r)
{
	if (!svc)
		return;
	if (svc->rctx.lock)
		svc->rctx.lock(svc->rctx.lock_ctx);
	if (r)
		svc->retention = *r;
	else
		cust_retention_init(&svc->retention);
	svc->rctx.retention = &svc->retention;
	if (svc->rctx.unlock)
		svc->rctx.unlock(svc->rctx.lock_ctx);
}

void qservice_set_alert_forward(struct qservice *svc, alert_forward_fn fn, void *ctx)
{
	if (svc)
		alert_runner_set_forward(svc->alerts, fn, ctx);
}

void qservice_set_package_launcher(struct qservice *svc, qpackage_launch_fn fn, void *ctx)
{
	if (svc) {
		svc->pkgs.launch = fn;
		svc->pkgs.launch_ctx = ctx;
	}
}

int qservice_alerts_running(const struct qservice *svc)
{
	return svc ? alert_runner_running(svc->alerts) : 0;
}

int qservice_fd(const struct qservice *svc)
{
	return svc ? svc->epfd : -1;
}

int qservice_run(struct qservice *svc, volatile int *stop)
{
	struct pollfd p = { .fd = qservice_fd(svc), .events = POLLIN };

	while (!*stop) {
		int n = poll(&p, 1, 1000);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			int rc = qservice_handle(svc);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int make_listener(struct qservice *svc, const struct qservice_config *cfg)
{
	struct qservice_listener l;
	int rc, fl;

	if (cfg->listen_fd > 0) {	/* inherited: the host owns the file */
		fl = fcntl(cfg->listen_fd, F_GETFL);
		if (fl < 0 || fcntl(cfg->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		svc->lfd = cfg->listen_fd;
		svc->inherited = 1;
		return 0;
	}
	rc = qservice_listen(cfg, &l);
	if (rc)
		return rc;
	svc->lfd = l.fd;
	svc->sock_dev = l.dev;
	svc->sock_ino = l.ino;
	return 0;
}

int qservice_open(const struct qservice_config *cfg,
		  struct cust_ledger *ledger, struct qservice **out)
{
	struct qservice *svc;
	int rc;

	if (!cfg || !cfg->socket_path || !ledger || !out)
		return -EINVAL;
	if (cust_ledger_readonly(ledger) && !cust_ledger_forwarded(ledger))
		return -EROFS;
	if (alert_config_check(&cfg->alert) < 0 ||
	    (cfg->alert.command &&
	     strlen(cfg->alert.command) >= ALERT_COMMAND_MAX))
		return -EINVAL;
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	svc->lfd = svc->epfd = svc->tfd = -1;
	svc->nconns = cfg->max_clients > 0 ? cfg->max_clients :
		      QSERVICE_DEFAULT_MAX_CLIENTS;
	if (svc->nconns > QSERVICE_MAX_CLIENTS)
		svc->nconns = QSERVICE_MAX_CLIENTS;
	svc->timeout_ms = cfg->client_timeout_ms > 0 ? cfg->client_timeout_ms :
			  QSERVICE_DEFAULT_TIMEOUT_MS;
	svc->conns = calloc((size_t)svc->nconns, sizeof(*svc->conns));
	svc->path = strdup(cfg->socket_path);
	if (!svc->conns || !svc->path) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = alert_runner_new(&cfg->alert, cfg->max_alerts, &svc->alerts);
	if (rc)
		goto fail;
	svc->rctx.ledger = ledger;
	svc->rctx.alerts = svc->alerts;
	svc->rctx.home_agency = cfg->home_agency;
	if (cfg->console_account && cfg->console_account[0]) {
		snprintf(svc->console_account, sizeof(svc->console_account),
			 "%s", cfg->console_account);
		svc->rctx.console_account = svc->console_account;
	}
	if (cfg->custody_bin && cfg->custody_bin[0] == '/' && cfg->config_path &&
	    cfg->config_path[0] &&
	    (!(svc->custody_bin = strdup(cfg->custody_bin)) ||
	     !(svc->config_path = strdup(cfg->config_path)))) {
		rc = -ENOMEM;
		goto fail;
	}
	qservice_set_retention(svc, cfg->retention);
	svc->epfd = epoll_create1(EPOLL_CLOEXEC);
	svc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (svc->epfd < 0 || svc->tfd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = make_listener(svc, cfg);
	if (rc)
		goto fail;
	rc = ep_ctl(svc, EPOLL_CTL_ADD, svc->lfd, EPOLLIN, TAG_LISTEN);
	if (!rc)
		rc = ep_ctl(svc, EPOLL_CTL_ADD, svc->tfd, EPOLLIN, TAG_TIMER);
	if (rc)
		goto fail;
	*out = svc;
	return 0;
fail:
	qservice_close(svc);
	return rc;
}

void qservice_close(struct qservice *svc)
{
	struct stat st;

	if (!svc)
		return;
	for (int i = 0; svc->conns && i < svc->nconns; i++)
		conn_close(svc, &svc->conns[i]);
	if (svc->lfd >= 0) {
		/* Remove the socket only if it is still ours. */
		if (!svc->inherited && svc->path && lstat(svc->path, &st) == 0 &&
		    st.st_dev == svc->sock_dev && st.st_ino == svc->sock_ino)
			unlink(svc->path);
		close(svc->lfd);
	}
	if (svc->epfd >= 0)
		close(svc->epfd);
	if (svc->tfd >= 0)
		close(svc->tfd);
	alert_runner_free(svc->alerts);	/* bounded wait, see alert.h */
	free(svc->conns);
	free(svc->path);
	free(svc->custody_bin);
	free(svc->config_path);
	free(svc);
}
