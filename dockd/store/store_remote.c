/* store_remote.c - store.h's ops forwarded to the storage uploader process
 * (storew.h) over its channels (storemsg.h); store_open_split() in
 * store.h.
 *
 * One uploader per target. Each caller thread takes an idle operation
 * channel (or makes one and hands it over with SM_NEWCHAN), sends one
 * request and waits for SM_RESULT, copying SM_PROGRESS into o->progress.
 * When the uploader dies (or breaks the protocol: it is killed), every
 * operation in flight returns -EIO, which the storage worker retries like
 * any network failure (the vault copy stays until verified); the next
 * operation starts a new uploader once the restart delay (0.5 s, doubling
 * to 30 s while it keeps dying within a minute) has passed. Each death is
 * logged and passed to the notify hook (the daemon raises an alert).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
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
#include "storemsg.h"

extern char **environ;

#define RCHAN_IDLE_MAX 64
#define READY_TIMEOUT_MS 30000   /* exec, config, credentials: no network */
#define CANCEL_GRACE_MS 30000    /* after SM_CANCEL, then the uploader is killed */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000          /* alive this long: the next restart is quick again */

struct remote {
	struct store_target t;
	pthread_mutex_t mu;
	char exe[PATH_MAX];
	char config[DOCK_CONFIG_PATH_MAX];
	const atomic_bool *cancel;
	store_notify_fn notify;
	void *notify_ctx;
	/* under mu */
	pid_t pid;              /* 0: none running */
	int ctl;
	unsigned gen;           /* bumped at each start: channels of older ones are dropped */
	bool cancel_sent;
	unsigned starts;
	unsigned backoff_ms;
	int64_t next_try_ms, started_ms;
	struct rchan {
		int fd;
		unsigned gen;
	} idle[RCHAN_IDLE_MAX];
	size_t n_idle;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool cancelled(const struct remote *rm)
{
	return rm->cancel && atomic_load(rm->cancel);
}

/* ---- the uploader process -------------------------------------------------- */

/* fork + exec `dockd --store-worker CONFIG CTL`. The child only clears
 * close-on-exec on its channel end and closes everything else above
 * stderr: no dup2 between fork and exec (a libfiu thread started by
 * pthread_atfork made that fail with EBUSY, linkc.c). The environment is
 * the daemon's (proxy settings, TZ; tests' libfaketime). */
static int spawn_locked(struct remote *rm, char *err, size_t errlen)
{
	char *argv[] = { "dockd-store", "--store-worker", rm->config, "CHAN", NULL };
	struct storemsg *m = calloc(1, sizeof(*m));
	int ctl, fds[STOREMSG_FDS_MAX], n = 0, r, st;
	pid_t pid;

	if (!m)
		return -ENOMEM;
	r = chanspawn(rm->exe, argv, 3, &ctl, &pid);
	if (r < 0) {
		free(m);
		return r;
	}
	r = storemsg_recv(ctl, READY_TIMEOUT_MS, m, fds, &n);
	if (r == 0 && m->type != SM_READY)
		r = -EPROTO;
	if (r == 0 && m->rc < 0) {
		r = m->rc;
		snprintf(err, errlen, "%s", m->text[0] ? m->text : strerror(-r));
	} else if (r < 0) {
		snprintf(err, errlen, "storage uploader did not start: %s", strerror(-r));
		r = -EIO;
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		close(ctl);
		free(m);
		return r;
	}
	free(m);
	rm->pid = pid;
	rm->ctl = ctl;
	rm->gen++;
	rm->starts++;
	rm->cancel_sent = false;
	rm->started_ms = now_ms();
	if (rm->starts > 1)
		log_warning("storage uploader restarted (pid %d, start %u)", (int)pid, rm->starts);
	else
		log_info("storage uploader started (pid %d)", (int)pid);
	return 0;
}

static void drop_idle_locked(struct remote *rm)
{
	for (size_t i = 0; i < rm->n_idle; i++)
		close(rm->idle[i].fd);
	rm->n_idle = 0;
}

/* The uploader of generation gen is gone or misbehaved: make sure it is
 * dead, reap it, say so, and schedule the next start. */
static void lost_locked(struct remote *rm, unsigned gen, const char *why)
{
	char what[200];
	int st = 0;
	int64_t now = now_ms();

	if (gen != rm->gen || rm->pid <= 0)
		return;
	kill(rm->pid, SIGKILL);
	while (waitpid(rm->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		snprintf(what, sizeof(what), "storage uploader (pid %d) %s: killed by signal %d",
			 (int)rm->pid, why, WTERMSIG(st));
	else
		snprintf(what, sizeof(what), "storage uploader (pid %d) %s: exit status %d",
			 (int)rm->pid, why, WEXITSTATUS(st));
	close(rm->ctl);
	rm->ctl = -1;
	rm->pid = 0;
	drop_idle_locked(rm);
	if (now - rm->started_ms >= STABLE_MS || !rm->backoff_ms)
		rm->backoff_ms = BACKOFF_MIN_MS;
	else if ((rm->backoff_ms *= 2) > BACKOFF_MAX_MS)
		rm->backoff_ms = BACKOFF_MAX_MS;
	rm->next_try_ms = now + rm->backoff_ms;
	if (cancelled(rm))
		return; /* stopping: killed by us or by the same signal */
	log_error("%s; restarting it in %u ms (operations in flight are retried)", what,
		  rm->backoff_ms);
	if (rm->notify)
		rm->notify(rm->notify_ctx, what, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A running uploader, started if none is and the restart delay passed. */
static int ensure_locked(struct remote *rm)
{
	char err[STOREMSG_TEXT_MAX + 64] = "";
	int st, r;

	if (rm->pid > 0 && waitpid(rm->pid, &st, WNOHANG) == rm->pid) {
		char what[160];

		/* died between operations: reaped here */
		snprintf(what, sizeof(what), "storage uploader (pid %d) died: %s %d", (int)rm->pid,
			 WIFSIGNALED(st) ? "signal" : "exit status",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		rm->pid = 0;
		close(rm->ctl);
		rm->ctl = -1;
		drop_idle_locked(rm);
		rm->backoff_ms = BACKOFF_MIN_MS;
		rm->next_try_ms = now_ms() + rm->backoff_ms;
		if (!cancelled(rm)) {
			log_error("%s; restarting it", what);
			if (rm->notify)
				rm->notify(rm->notify_ctx, what,
					   WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		}
	}
	if (rm->pid > 0)
		return 0;
	if (now_ms() < rm->next_try_ms)
		return -EIO; /* restarting: the caller retries later */
	r = spawn_locked(rm, err, sizeof(err));
	if (r < 0) {
		rm->backoff_ms = rm->backoff_ms ? rm->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (rm->backoff_ms > BACKOFF_MAX_MS)
			rm->backoff_ms = BACKOFF_MAX_MS;
		rm->next_try_ms = now_ms() + rm->backoff_ms;
		log_error("storage uploader: %s", err);
		return -EIO;
	}
	return 0;
}

/* Tell the uploader to cancel (once), under mu. */
static void send_cancel_locked(struct remote *rm)
{
	struct storemsg m = { .type = SM_CANCEL };

	if (rm->pid > 0 && !rm->cancel_sent) {
		(void)storemsg_send(rm->ctl, &m, NULL, 0);
		rm->cancel_sent = true;
	}
}

static int chan_get(struct remote *rm, struct rchan *out)
{
	struct storemsg m = { .type = SM_NEWCHAN };
	int sv[2], r;

	pthread_mutex_lock(&rm->mu);
	r = ensure_locked(rm);
	if (r == 0 && cancelled(rm))
		send_cancel_locked(rm);
	while (r == 0 && rm->n_idle) {
		struct rchan c = rm->idle[--rm->n_idle];

		if (c.gen == rm->gen) {
			*out = c;
			pthread_mutex_unlock(&rm->mu);
			return 0;
		}
		close(c.fd);
	}
	if (r == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		r = -errno;
	if (r == 0) {
		r = storemsg_send(rm->ctl, &m, &sv[1], 1);
		close(sv[1]);
		if (r < 0) {
			close(sv[0]);
			lost_locked(rm, rm->gen, "did not take a channel");
			r = -EIO;
		} else {
			out->fd = sv[0];
			out->gen = rm->gen;
		}
	}
	pthread_mutex_unlock(&rm->mu);
	return r;
}

static void chan_put(struct remote *rm, struct rchan c)
{
	pthread_mutex_lock(&rm->mu);
	if (c.gen == rm->gen && rm->pid > 0 && rm->n_idle < RCHAN_IDLE_MAX)
		rm->idle[rm->n_idle++] = c;
	else
		close(c.fd);
	pthread_mutex_unlock(&rm->mu);
}

/* One request, its answer in *a (SM_RESULT). 0 or -errno: the operation's
 * own result is a->rc. */
static int call(struct remote *rm, const struct storemsg *q, const int *fds, int nfds,
		_Atomic uint64_t *progress, struct storemsg *a)
{
	int got[STOREMSG_FDS_MAX], n, r;
	int64_t cancel_at = 0;
	struct rchan c;

	r = chan_get(rm, &c);
	if (r < 0)
		return cancelled(rm) ? -ECANCELED : r;
	r = storemsg_send(c.fd, q, fds, nfds);
	while (r == 0) {
		r = storemsg_recv(c.fd, 250, a, got, &n);
		if (r == -ETIMEDOUT) {
			r = 0;
			if (!cancelled(rm))
				continue;
			pthread_mutex_lock(&rm->mu);
			send_cancel_locked(rm);
			pthread_mutex_unlock(&rm->mu);
			if (!cancel_at)
				cancel_at = now_ms();
			else if (now_ms() - cancel_at > CANCEL_GRACE_MS)
				r = -ECANCELED;
			continue;
		}
		if (r == 0 && a->type == SM_PROGRESS) {
			if (progress)
				atomic_store(progress, a->size);
			continue;
		}
		if (r == 0 && a->type == SM_RESULT) {
			chan_put(rm, c);
			return 0;
		}
		if (r == 0)
			r = -EPROTO; /* got no descriptors: the types above carry none */
	}
	close(c.fd);
	pthread_mutex_lock(&rm->mu);
	lost_locked(rm, c.gen, r == -ECONNRESET ? "died during an operation"
			       : r == -ECANCELED ? "did not stop when cancelled"
						 : "broke the channel protocol");
	pthread_mutex_unlock(&rm->mu);
	return cancelled(rm) ? -ECANCELED : -EIO;
}

/* ---- store_ops --------------------------------------------------------------- */

#define RM(t) ((struct remote *)(t)->impl)

static int simple(struct store_target *t, struct storemsg *q, int fd, struct storemsg **ans)
{
	struct storemsg *a = calloc(1, sizeof(*a));
	int r = a ? call(RM(t), q, &fd, storemsg_nfds(q->type, q->flags), NULL, a) : -ENOMEM;

	if (r == 0)
		r = a->rc;
	if (ans && r == 0)
		*ans = a;
	else
		free(a);
	return r;
}

static int copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s ? s : "", n + 1);
	return 0;
}

static int send_put(struct store_target *t, uint8_t type, const char *key, int src_fd,
		    uint64_t size, const struct store_put_opts *o, struct store_info *out)
{
	struct storemsg *q = calloc(1, sizeof(*q)), *a = calloc(1, sizeof(*a));
	int fds[2] = { src_fd, -1 }, r = q && a ? 0 : -ENOMEM, sums = -1;

	if (r == 0 && (!o || !o->sha256))
		r = -EINVAL;
	if (r == 0) {
		q->type = type;
		q->size = size;
		memcpy(q->sha256, o->sha256, 32);
		q->retain_until = (int64_t)o->retain_until;
		q->flags = (o->legal_hold ? SMF_LEGAL_HOLD : 0) | (o->progress ? SMF_PROGRESS : 0);
		r = copy_str(q->key, sizeof(q->key), key);
	}
	if (r == 0)
		r = copy_str(q->category, sizeof(q->category), o->category);
	if (r == 0)
		r = copy_str(q->case_no, sizeof(q->case_no), o->case_no);
	if (r == 0)
		r = copy_str(q->retention, sizeof(q->retention), o->retention_class);
	/* the part digests are a cache: unopenable, the uploader hashes the
	 * vault file instead */
	if (r == 0 && o->part_sums_fd > 0)
		fds[1] = o->part_sums_fd;
	else if (r == 0 && o->part_sums)
		fds[1] = sums = open(o->part_sums, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r == 0 && fds[1] >= 0)
		q->flags |= SMF_SUMS;
	if (r == 0)
		r = call(RM(t), q, fds, storemsg_nfds(q->type, q->flags), o->progress, a);
	if (r == 0)
		r = a->rc;
	if (r == 0 && out)
		*out = a->info;
	if (sums >= 0)
		close(sums);
	free(q);
	free(a);
	return r;
}

static int r_put(struct store_target *t, const char *key, int src_fd, uint64_t size,
		 const struct store_put_opts *o, struct store_info *out)
{
	return send_put(t, SM_PUT, key, src_fd, size, o, out);
}

static int r_replace(struct store_target *t, const char *key, int src_fd, uint64_t size,
		     const struct store_put_opts *o, struct store_info *out)
{
	return send_put(t, SM_REPLACE, key, src_fd, size, o, out);
}

static int r_verify(struct store_target *t, const char *key, uint64_t size, const uint8_t sha[32])
{
	struct storemsg q = { .type = SM_VERIFY, .size = size };

	if (copy_str(q.key, sizeof(q.key), key) < 0)
		return -EINVAL;
	memcpy(q.sha256, sha, 32);
	return simple(t, &q, -1, NULL);
}

static int r_remove(struct store_target *t, const char *key, const char *version_id)
{
	struct storemsg q = { .type = SM_REMOVE };

	if (copy_str(q.key, sizeof(q.key), key) < 0 ||
	    copy_str(q.version, sizeof(q.version), version_id) < 0)
		return -EINVAL;
	return simple(t, &q, -1, NULL);
}

static int r_set_hold(struct store_target *t, const char *key, const char *version_id, bool on)
{
	struct storemsg q = { .type = SM_SET_HOLD, .flags = on ? SMF_HOLD_ON : 0 };

	if (copy_str(q.key, sizeof(q.key), key) < 0 ||
	    copy_str(q.version, sizeof(q.version), version_id) < 0)
		return -EINVAL;
	return simple(t, &q, -1, NULL);
}

static int r_prepare(struct store_target *t)
{
	struct storemsg q = { .type = SM_PREPARE };

	return simple(t, &q, -1, NULL);
}

static int r_hash(struct store_target *t, const char *key, uint8_t sha256[32], uint64_t *len)
{
	struct storemsg q = { .type = SM_HASH }, *a = NULL;
	int r;

	if (copy_str(q.key, sizeof(q.key), key) < 0)
		return -EINVAL;
	r = simple(t, &q, -1, &a);
	if (r == 0) {
		memcpy(sha256, a->sha256, 32);
		*len = a->size;
		free(a);
	}
	return r;
}

static int r_fetch(struct store_target *t, const char *key, const char *version_id, int fd,
		   uint64_t max)
{
	struct storemsg q = { .type = SM_FETCH, .size = max };

	if (copy_str(q.key, sizeof(q.key), key) < 0 ||
	    copy_str(q.version, sizeof(q.version), version_id) < 0)
		return -EINVAL;
	if (version_id && version_id[0])
		q.flags = SMF_VERSION;
	return simple(t, &q, fd, NULL);
}

static void r_close(struct store_target *t)
{
	struct remote *rm = RM(t);
	int st;

	pthread_mutex_lock(&rm->mu);
	drop_idle_locked(rm);
	if (rm->pid > 0) {
		/* end of the control channel: the uploader exits at once */
		close(rm->ctl);
		for (int i = 0; i < 100 && waitpid(rm->pid, &st, WNOHANG) == 0; i++)
			usleep(50 * 1000);
		if (waitpid(rm->pid, &st, WNOHANG) == 0) {
			kill(rm->pid, SIGKILL);
			while (waitpid(rm->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	pthread_mutex_unlock(&rm->mu);
	pthread_mutex_destroy(&rm->mu);
	free(rm);
}

static const struct store_ops remote_s3_ops = {
	.scheme = "s3",
	.put = r_put,
	.verify = r_verify,
	.remove = r_remove,
	.set_hold = r_set_hold,
	.close = r_close,
	.prepare = r_prepare,
	.hash = r_hash,
	.replace = r_replace,
	.fetch = r_fetch,
};

int store_open_split(const struct dock_config *c, const atomic_bool *cancel,
		     store_notify_fn notify, void *notify_ctx, struct store_target **out,
		     char *err, size_t errlen)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (strncmp(c->storage_target, "s3://", 5))
		return store_open(c, cancel, out, err, errlen);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		int r = n < 0 ? -errno : -ENOENT;

		snprintf(err, errlen, "storage uploader: /proc/self/exe: %s", strerror(-r));
		return r;
	}
	exe[n] = '\0';
	return store_open_uploader(exe, c, cancel, notify, notify_ctx, out, err, errlen);
}

int store_open_uploader(const char *exe, const struct dock_config *c, const atomic_bool *cancel,
			store_notify_fn notify, void *notify_ctx, struct store_target **out,
			char *err, size_t errlen)
{
	struct remote *rm;
	int r;

	if (strncmp(c->storage_target, "s3://", 5)) {
		snprintf(err, errlen, "storage uploader: only for an s3:// target");
		return -EINVAL;
	}
	if (!c->path[0]) {
		snprintf(err, errlen, "storage uploader: the configuration has no file name");
		return -EINVAL;
	}
	if (!exe || exe[0] != '/' || strlen(exe) >= PATH_MAX) {
		snprintf(err, errlen, "storage uploader: the program must be an absolute path");
		return -EINVAL;
	}
	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return -ENOMEM;
	snprintf(rm->exe, sizeof(rm->exe), "%s", exe);
	snprintf(rm->config, sizeof(rm->config), "%s", c->path);
	pthread_mutex_init(&rm->mu, NULL);
	rm->cancel = cancel;
	rm->notify = notify;
	rm->notify_ctx = notify_ctx;
	rm->ctl = -1;
	rm->t.ops = &remote_s3_ops;
	rm->t.impl = rm;
	/* started now: a configuration or credentials problem stops the
	 * daemon as it did in-process (no network: the uploader's open sends
	 * no request) */
	pthread_mutex_lock(&rm->mu);
	r = spawn_locked(rm, err, errlen);
	pthread_mutex_unlock(&rm->mu);
	if (r < 0) {
		pthread_mutex_destroy(&rm->mu);
		free(rm);
		return r;
	}
	*out = &rm->t;
	return 0;
}
