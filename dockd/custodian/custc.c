/* custc.c - dockd's side of the custodian process (see custc.h). */
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

#include <openssl/crypto.h>

#include "chanspawn.h"
#include "config.h"
#include "custc.h"
#include "custmsg.h"
#include "log.h"

extern char **environ;

#define READY_TIMEOUT_MS 30000 /* keys (a PKCS#11 token), first-start ledger read */
#define CALL_TIMEOUT_MS 60000  /* a checkpoint after many events; a slow token */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000

struct custc {
	pthread_mutex_t mu;
	char exe[PATH_MAX];
	char config[DOCK_CONFIG_PATH_MAX];
	custc_notify_fn notify;
	void *ctx;
	custc_died_fn died;
	void *died_ctx;
	/* under mu */
	pid_t pid;
	int ctl;
	unsigned starts, backoff_ms;
	int64_t next_try_ms, started_ms;
	uint8_t dock_pub[EDSIG_PUBKEY_LEN], ckpt_pub[EDSIG_PUBKEY_LEN];
	bool have_ckpt;
	struct custmsg q, a; /* the request and answer in flight (big) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fork + exec `exe --custodian CONFIG CTL`, as store_remote.c does: the
 * child only clears close-on-exec on its end and closes the rest. */
static int spawn_locked(struct custc *c, char *err, size_t errlen)
{
	char *argv[] = { "dockd-custodian", "--custodian", c->config, "CHAN", NULL };
	int ctl, r, st;
	pid_t pid;

	r = chanspawn(c->exe, argv, 3, &ctl, &pid);
	if (r < 0)
		return r;
	r = custmsg_recv(ctl, READY_TIMEOUT_MS, &c->a);
	if (r == 0 && c->a.type != CM_READY)
		r = -EPROTO;
	if (r == 0 && c->a.rc < 0) {
		r = c->a.rc;
		snprintf(err, errlen, "%s", c->a.text[0] ? c->a.text : strerror(-r));
	} else if (r < 0) {
		snprintf(err, errlen, "custodian did not start: %s", strerror(-r));
		r = -EIO;
	} else if (c->starts > 0 &&
		   (memcmp(c->dock_pub, c->a.dock_pub, sizeof(c->dock_pub)) ||
		    c->have_ckpt != (bool)c->a.have_ckpt ||
		    memcmp(c->ckpt_pub, c->a.ckpt_pub, sizeof(c->ckpt_pub)))) {
		snprintf(err, errlen, "restarted custodian presents other keys than at start "
			 "(restart dockd after a key change)");
		r = -EKEYREJECTED;
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		close(ctl);
		return r;
	}
	memcpy(c->dock_pub, c->a.dock_pub, sizeof(c->dock_pub));
	memcpy(c->ckpt_pub, c->a.ckpt_pub, sizeof(c->ckpt_pub));
	c->have_ckpt = c->a.have_ckpt;
	c->pid = pid;
	c->ctl = ctl;
	c->started_ms = now_ms();
	if (c->starts++ > 0)
		log_warning("custodian restarted (pid %d, start %u)", (int)pid, c->starts);
	else
		log_info("custodian started (pid %d)", (int)pid);
	return 0;
}

static void died_locked(struct custc *c, const char *what, int st)
{
	if (c->died)
		c->died(c->died_ctx, what, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	else if (c->notify)
		c->notify(c->ctx, "custodian", what);
}

/* The custodian is gone or misbehaved: make sure it is dead, reap it,
 * say so, schedule the next start. */
static void lost_locked(struct custc *c, const char *why)
{
	char what[200];
	int st = 0;
	int64_t now = now_ms();

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	snprintf(what, sizeof(what), "custodian (pid %d) %s: %s %d", (int)c->pid, why,
		 WIFSIGNALED(st) ? "killed by signal" : "exit status",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	close(c->ctl);
	c->ctl = -1;
	c->pid = 0;
	if (now - c->started_ms >= STABLE_MS || !c->backoff_ms)
		c->backoff_ms = BACKOFF_MIN_MS;
	else if ((c->backoff_ms *= 2) > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	c->next_try_ms = now + c->backoff_ms;
	log_error("%s; restarting it in %u ms (no signature until then: cameras keep their "
		  "recordings)", what, c->backoff_ms);
	died_locked(c, what, st);
}

static int ensure_locked(struct custc *c)
{
	char err[CUSTMSG_TEXT_MAX + 64] = "";
	int st, r;

	if (c->pid > 0 && waitpid(c->pid, &st, WNOHANG) == c->pid) {
		char what[160];

		/* died between requests: reaped here */
		snprintf(what, sizeof(what), "custodian (pid %d) died: %s %d", (int)c->pid,
			 WIFSIGNALED(st) ? "signal" : "exit status",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		close(c->ctl);
		c->ctl = -1;
		c->pid = 0;
		c->backoff_ms = BACKOFF_MIN_MS;
		c->next_try_ms = now_ms() + c->backoff_ms;
		log_error("%s; restarting it (no signature until then: cameras keep their "
			  "recordings)", what);
		died_locked(c, what, st);
	}
	if (c->pid > 0)
		return 0;
	if (now_ms() < c->next_try_ms)
		return -EIO;
	r = spawn_locked(c, err, sizeof(err));
	if (r < 0) {
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (c->backoff_ms > BACKOFF_MAX_MS)
			c->backoff_ms = BACKOFF_MAX_MS;
		c->next_try_ms = now_ms() + c->backoff_ms;
		log_error("custodian: %s", err);
		return -EIO;
	}
	return 0;
}

/* c->q -> c->a (CM_RESULT). 0 or -EIO; the request's own result is c->a.rc. */
static int call_locked(struct custc *c)
{
	int r = ensure_locked(c);

	if (r < 0)
		return r;
	r = custmsg_send(c->ctl, &c->q);
	if (r == 0)
		r = custmsg_recv(c->ctl, CALL_TIMEOUT_MS, &c->a);
	if (r == 0 && c->a.type != CM_RESULT)
		r = -EPROTO;
	if (r < 0) {
		lost_locked(c, r == -ECONNRESET ? "died during a request"
			       : r == -ETIMEDOUT ? "did not answer in time"
						 : "broke the channel protocol");
		return -EIO;
	}
	return 0;
}

int custc_start(const char *exe, const char *config, custc_notify_fn notify, void *ctx,
		struct custc **out, char *err, size_t errlen)
{
	struct custc *c;
	int r;

	if (!config || !out)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (exe) {
		snprintf(c->exe, sizeof(c->exe), "%s", exe);
	} else {
		ssize_t n = readlink("/proc/self/exe", c->exe, sizeof(c->exe) - 1);

		if (n <= 0) {
			r = n < 0 ? -errno : -ENOENT;
			snprintf(err, errlen, "custodian: /proc/self/exe: %s", strerror(-r));
			free(c);
			return r;
		}
		c->exe[n] = '\0';
	}
	if (c->exe[0] != '/' || strlen(config) >= sizeof(c->config)) {
		snprintf(err, errlen, "custodian: the program must be an absolute path");
		free(c);
		return -EINVAL;
	}
	snprintf(c->config, sizeof(c->config), "%s", config);
	pthread_mutex_init(&c->mu, NULL);
	c->notify = notify;
	c->ctx = ctx;
	c->ctl = -1;
	pthread_mutex_lock(&c->mu);
	r = spawn_locked(c, err, errlen);
	pthread_mutex_unlock(&c->mu);
	if (r < 0) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void custc_on_death(struct custc *c, custc_died_fn died, void *ctx)
{
	pthread_mutex_lock(&c->mu);
	c->died = died;
	c->died_ctx = ctx;
	pthread_mutex_unlock(&c->mu);
}

void custc_stop(struct custc *c)
{
	int st;

	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->pid > 0) {
		close(c->ctl); /* end of the channel: it exits at once */
		for (int i = 0; i < 100 && waitpid(c->pid, &st, WNOHANG) == 0; i++)
			usleep(20 * 1000);
		if (waitpid(c->pid, &st, WNOHANG) == 0) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_destroy(&c->mu);
	OPENSSL_cleanse(&c->a, sizeof(c->a));
	free(c);
}

void custc_keys(const struct custc *c, uint8_t dock_pub[EDSIG_PUBKEY_LEN], bool *have_ckpt,
		uint8_t ckpt_pub[EDSIG_PUBKEY_LEN])
{
	memcpy(dock_pub, c->dock_pub, EDSIG_PUBKEY_LEN);
	*have_ckpt = c->have_ckpt;
	memcpy(ckpt_pub, c->ckpt_pub, EDSIG_PUBKEY_LEN);
}

static int auth_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[EDSIG_SIG_LEN])
{
	struct custc *c = ctx;
	int r;

	if (len > CUSTMSG_BLOB_MAX)
		return -EINVAL;
	pthread_mutex_lock(&c->mu);
	memset(&c->q, 0, sizeof(c->q));
	c->q.type = CM_AUTH;
	memcpy(c->q.blob, msg, len);
	c->q.blob_len = (uint16_t)len;
	r = call_locked(c);
	if (r == 0)
		r = c->a.rc;
	if (r == 0)
		memcpy(sig, c->a.sig, EDSIG_SIG_LEN);
	pthread_mutex_unlock(&c->mu);
	return r;
}

int custc_auth_key(struct custc *c, struct edsig_key **out)
{
	return edsig_from_signer(c->dock_pub, auth_sign, NULL, c, out);
}

int custc_receipt(struct custc *c, const char *serial, struct proto_receipt *rc, char *why,
		  size_t whylen)
{
	int r;

	if (!c || !serial || !rc || strlen(serial) > PROTO_ID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&c->mu);
	memset(&c->q, 0, sizeof(c->q));
	c->q.type = CM_RECEIPT;
	snprintf(c->q.serial, sizeof(c->q.serial), "%s", serial);
	snprintf(c->q.recording, sizeof(c->q.recording), "%s", rc->recording_id);
	memcpy(c->q.sha256, rc->sha256, sizeof(c->q.sha256));
	snprintf(c->q.location, sizeof(c->q.location), "%s", rc->location);
	c->q.issued = rc->issued_utc;
	r = call_locked(c);
	if (r == 0)
		r = c->a.rc;
	if (r == -EPERM && why)
		snprintf(why, whylen, "%s", c->a.text);
	if (r == 0) {
		snprintf(rc->dock_id, sizeof(rc->dock_id), "%s", c->a.dock_id);
		rc->issued_utc = c->a.issued;
		memcpy(rc->sig, c->a.sig, sizeof(rc->sig));
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

int custc_checkpoint(struct custc *c, uint64_t *size, char **note, size_t *len, char *why,
		     size_t whylen)
{
	char *copy = NULL;
	int r;

	pthread_mutex_lock(&c->mu);
	memset(&c->q, 0, sizeof(c->q));
	c->q.type = CM_CKPT;
	r = call_locked(c);
	if (r == 0)
		r = c->a.rc;
	if (r < 0 && why)
		snprintf(why, whylen, "%s", c->a.text);
	if (r == 0 && !(copy = malloc((size_t)c->a.blob_len + 1)))
		r = -ENOMEM;
	if (r == 0) {
		memcpy(copy, c->a.blob, c->a.blob_len);
		copy[c->a.blob_len] = '\0';
		*note = copy;
		*len = c->a.blob_len;
		*size = c->a.size;
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* A new custodian reads the configuration file: the running one cannot
 * read a replaced file (its landlock rule names the file it was given at
 * start, an inode, and an editor, `sed -i` or a package upgrade writes a
 * new one and renames it into place), so it would keep the old release
 * policy. The new one must present the same keys (spawn_locked). Not a
 * death: nothing is recorded; a request meanwhile waits on the mutex. */
void custc_reload(struct custc *c)
{
	int st;

	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->pid > 0) {
		close(c->ctl); /* end of the channel: it exits at once */
		c->ctl = -1;
		for (int i = 0; i < 100 && waitpid(c->pid, &st, WNOHANG) == 0; i++)
			usleep(20 * 1000);
		if (waitpid(c->pid, &st, WNOHANG) == 0) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
		c->pid = 0;
		log_info("custodian stopped for the reload: a new one reads the configuration");
	}
	c->next_try_ms = 0;
	(void)ensure_locked(c);
	pthread_mutex_unlock(&c->mu);
}

void custc_tick(struct custc *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	(void)ensure_locked(c);
	pthread_mutex_unlock(&c->mu);
}

pid_t custc_pid(struct custc *c)
{
	pid_t p;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	p = c->pid > 0 ? c->pid : 0;
	pthread_mutex_unlock(&c->mu);
	return p;
}
