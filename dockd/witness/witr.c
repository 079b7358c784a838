/* witr.c - dockd's side of the witness client process (see witr.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chanspawn.h"
#include "log.h"
#include "witmsg.h"
#include "witr.h"

extern char **environ;

#define READY_TIMEOUT_MS 30000	/* exec, configuration, libcurl: no network */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000		/* alive this long: the next restart is quick again */

struct witr {
	char exe[PATH_MAX];
	char config[PATH_MAX];
	unsigned n, timeout_s;
	witr_notify_fn notify;
	void *ctx;
	pid_t pid;		/* 0: none running */
	int ctl;
	uint32_t seq;
	unsigned starts, backoff_ms;
	int64_t next_try_ms, started_ms;
	struct witmsg m;	/* requests and answers (large: not on the stack) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reap(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/* fork + exec `dockd --witness-client CONFIG CTL`, as the storage uploader
 * (store_remote.c): the child only clears close-on-exec on its channel end
 * and closes everything else above stderr; the environment is the
 * daemon's (proxy settings). */
static int spawn(struct witr *w, char *err, size_t errlen)
{
	char *argv[] = { "dockd-witness", "--witness-client", w->config, "CHAN", NULL };
	int ctl, r, st;
	pid_t pid;

	r = chanspawn(w->exe, argv, 3, &ctl, &pid);
	if (r < 0)
		return r;
	r = witmsg_recv(ctl, READY_TIMEOUT_MS, &w->m);
	if (r == 0 && w->m.type != WM_READY)
		r = -EPROTO;
	if (r == 0 && w->m.rc < 0) {
		r = w->m.rc;
		snprintf(err, errlen, "%s", w->m.len ? w->m.data : strerror(-r));
	} else if (r == 0 && w->m.count != w->n) {
		r = -EPROTO;
		snprintf(err, errlen, "witness client process: it read %u witness(es), dockd %u",
			 w->m.count, w->n);
	} else if (r < 0) {
		snprintf(err, errlen, "witness client process did not start: %s", strerror(-r));
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		reap(pid, &st);
		close(ctl);
		return r;
	}
	w->pid = pid;
	w->ctl = ctl;
	w->starts++;
	w->started_ms = now_ms();
	if (w->starts > 1)
		log_warning("witness client process restarted (pid %d, start %u)", (int)pid,
			    w->starts);
	else
		log_info("witness client process started (pid %d)", (int)pid);
	return 0;
}

/* The process is gone or misbehaved: make sure it is dead, reap it, say
 * so, and schedule the next start. dead: already reaped (status st). */
static void lost(struct witr *w, const char *why, bool dead, int st)
{
	char what[240];
	int64_t now = now_ms();

	if (w->pid <= 0)
		return;
	if (!dead) {
		kill(w->pid, SIGKILL);
		reap(w->pid, &st);
	}
	if (WIFSIGNALED(st))
		snprintf(what, sizeof(what), "witness client process (pid %d) %s: killed by "
			 "signal %d", (int)w->pid, why, WTERMSIG(st));
	else
		snprintf(what, sizeof(what), "witness client process (pid %d) %s: exit status %d",
			 (int)w->pid, why, WEXITSTATUS(st));
	close(w->ctl);
	w->ctl = -1;
	w->pid = 0;
	if (now - w->started_ms >= STABLE_MS || !w->backoff_ms)
		w->backoff_ms = BACKOFF_MIN_MS;
	else if ((w->backoff_ms *= 2) > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	w->next_try_ms = now + w->backoff_ms;
	log_error("%s; restarting it in %u ms", what, w->backoff_ms);
	if (w->notify)
		w->notify(w->ctx, what);
}

/* A running process: reap a dead one, start one if the delay passed. */
static int ensure(struct witr *w, char *err, size_t errlen)
{
	int st = 0, r;

	if (w->pid > 0 && waitpid(w->pid, &st, WNOHANG) == w->pid)
		lost(w, "died", true, st);
	if (w->pid > 0)
		return 0;
	if (now_ms() < w->next_try_ms) {
		snprintf(err, errlen, "witness client process restarting");
		return -EIO;
	}
	r = spawn(w, err, errlen);
	if (r < 0) {
		w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (w->backoff_ms > BACKOFF_MAX_MS)
			w->backoff_ms = BACKOFF_MAX_MS;
		w->next_try_ms = now_ms() + w->backoff_ms;
		log_error("witness client process: %s", err);
		return -EIO;
	}
	return 0;
}

void witr_tick(struct witr *w)
{
	char err[WITMSG_TEXT_MAX + 64];

	if (w)
		(void)ensure(w, err, sizeof(err));
}

pid_t witr_pid(const struct witr *w)
{
	return w ? w->pid : 0;
}

int witr_post(struct witr *w, unsigned idx, const char *body, size_t len, long *status,
	      char *text, size_t cap)
{
	char err[WITMSG_TEXT_MAX + 64];
	const char *why;
	int r;

	if (idx >= w->n || !len || len > WITMSG_BODY_MAX || !cap)
		return -EINVAL;
	if (ensure(w, err, sizeof(err)) < 0) {
		snprintf(text, cap, "%s", err);
		return -EIO;
	}
	memset(&w->m, 0, offsetof(struct witmsg, data));
	w->m.type = WM_POST;
	w->m.seq = ++w->seq;
	w->m.witness = (uint8_t)idx;
	w->m.len = len;
	memcpy(w->m.data, body, len);
	w->m.data[len] = '\0';
	r = witmsg_send(w->ctl, &w->m);
	if (r < 0) {
		why = "did not take a request";
		goto lost;
	}
	/* the process's own curl timeouts bound the exchange by timeout_s */
	r = witmsg_recv(w->ctl, (int)(w->timeout_s * 1000 + 5000), &w->m);
	if (r == 0 && (w->m.type != WM_ANSWER || w->m.seq != w->seq || w->m.witness != idx))
		r = -EPROTO;
	if (r < 0) {
		why = r == -ECONNRESET ? "died during a request"
		      : r == -ETIMEDOUT ? "did not answer in time"
					: "broke the channel protocol";
		goto lost;
	}
	*status = w->m.status;
	snprintf(text, cap, "%s", w->m.data);
	return 0;
lost:
	lost(w, why, false, 0);
	snprintf(text, cap, "witness client process %s (%s)", why, strerror(-r));
	return -EIO;
}

int witr_open(const char *exe, const char *config, unsigned n, unsigned timeout_s,
	      witr_notify_fn notify, void *ctx, struct witr **out, char *err, size_t errlen)
{
	struct witr *w;
	int r;

	if (!exe || exe[0] != '/' || strlen(exe) >= PATH_MAX || !config ||
	    strlen(config) >= PATH_MAX || n > WITMSG_WITNESSES) {
		snprintf(err, errlen, "witness client process: the program must be an absolute "
			 "path, at most %d witnesses", WITMSG_WITNESSES);
		return -EINVAL;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	snprintf(w->exe, sizeof(w->exe), "%s", exe);
	snprintf(w->config, sizeof(w->config), "%s", config);
	w->n = n;
	w->timeout_s = timeout_s;
	w->notify = notify;
	w->ctx = ctx;
	w->ctl = -1;
	/* started now: a configuration problem stops the daemon, as it did
	 * with the thread (no network at start: no request is sent) */
	if ((r = spawn(w, err, errlen)) < 0) {
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

void witr_close(struct witr *w)
{
	int st;

	if (!w)
		return;
	if (w->pid > 0) {
		/* end of the channel: the process exits at once */
		close(w->ctl);
		for (int i = 0; i < 100 && waitpid(w->pid, &st, WNOHANG) == 0; i++)
			usleep(50 * 1000);
		if (waitpid(w->pid, &st, WNOHANG) == 0) {
			kill(w->pid, SIGKILL);
			reap(w->pid, &st);
		}
	}
	free(w);
}
