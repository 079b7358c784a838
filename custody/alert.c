/* alert: WARNING log line + optional alert command. See alert.h. */
#include "alert.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIELD_MAX 256	/* each value is cut to this in logs and env */

/* Copy s into buf, replacing control characters and quotes so a value
 * chosen by a client cannot forge a log line or break the quoting. */
static const char *clean(const char *s, char *buf, size_t cap)
{
	size_t i = 0;

	if (!s || !*s)
		return "-";
	for (; s[i] && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

int alert_config_check(const struct alert_config *cfg)
{
	if (!cfg || !cfg->command || !cfg->command[0])
		return 0;
	if (cfg->command[0] != '/' || strlen(cfg->command) >= 4096)
		return -EINVAL;
	if (cfg->timeout_ms > ALERT_MAX_TIMEOUT_MS)
		return -EINVAL;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* 0 if the command exited 0; else log how it ended and -EIO. */
static int report(int status, const char *cmd)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "custody alert: command %s failed (%s %d)\n", cmd,
		WIFEXITED(status) ? "exit" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -EIO;
}

/* Wait for pid at most timeout_ms; kill it after that. Returns 0 if it
 * exited 0, -ECHILD-ish negatives otherwise. */
static int reap(pid_t pid, int timeout_ms, const char *cmd)
{
	long deadline = now_ms() + timeout_ms;
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int status = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "custody alert: waitpid %s: %s\n", cmd,
				strerror(errno));
			return -errno;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			fprintf(stderr, "custody alert: command %s killed "
				"after %d ms\n", cmd, timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&nap, NULL);
	}
	return report(status, cmd);
}

struct alert_text {
	char kind[FIELD_MAX], user[FIELD_MAX], agency[FIELD_MAX];
	char op[FIELD_MAX], target[FIELD_MAX], detail[FIELD_MAX];
	const char *k, *u, *ag, *o, *t, *d;
	char uid[24], when[32];
};

static void render(const struct alert *a, struct alert_text *x)
{
	time_t now = time(NULL);
	struct tm tm;

	x->k = clean(a->kind, x->kind, sizeof(x->kind));
	x->u = clean(a->user, x->user, sizeof(x->user));
	x->ag = clean(a->agency, x->agency, sizeof(x->agency));
	x->o = clean(a->op, x->op, sizeof(x->op));
	x->t = clean(a->target, x->target, sizeof(x->target));
	x->d = clean(a->detail, x->detail, sizeof(x->detail));
	snprintf(x->uid, sizeof(x->uid), "%ld", a->uid);
	if (gmtime_r(&now, &tm))
		strftime(x->when, sizeof(x->when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(x->when, sizeof(x->when), "-");
}

/* Start command with the alert in its environment; *pid on success. */
static int spawn_command(const char *command, const struct alert_text *x,
			 const char *summary, pid_t *pid)
{
	char env[9][FIELD_MAX + 32];
	char *envp[10], *argv[4];
	posix_spawn_file_actions_t fa;
	int rc;

	snprintf(env[0], sizeof(env[0]), "CUSTODY_ALERT_KIND=%s", x->k);
	snprintf(env[1], sizeof(env[1]), "CUSTODY_ALERT_USER=%s", x->u);
	snprintf(env[2], sizeof(env[2]), "CUSTODY_ALERT_UID=%s", x->uid);
	snprintf(env[3], sizeof(env[3]), "CUSTODY_ALERT_AGENCY=%s", x->ag);
	snprintf(env[4], sizeof(env[4]), "CUSTODY_ALERT_OP=%s", x->o);
	snprintf(env[5], sizeof(env[5]), "CUSTODY_ALERT_TARGET=%s", x->t);
	snprintf(env[6], sizeof(env[6]), "CUSTODY_ALERT_DETAIL=%s", x->d);
	snprintf(env[7], sizeof(env[7]), "CUSTODY_ALERT_TIME=%s", x->when);
	snprintf(env[8], sizeof(env[8]), "PATH=/usr/bin:/bin");
	for (int i = 0; i < 9; i++)
		envp[i] = env[i];
	envp[9] = NULL;
	argv[0] = (char *)command;
	argv[1] = (char *)x->k;
	argv[2] = (char *)summary;
	argv[3] = NULL;

	rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn(pid, command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		fprintf(stderr, "custody alert: cannot run %s: %s\n",
			command, strerror(rc));
		return -rc;
	}
	return 0;
}

static int timeout_of(const struct alert_config *cfg)
{
	int t = cfg->timeout_ms > 0 ? cfg->timeout_ms : ALERT_DEFAULT_TIMEOUT_MS;

	return t > ALERT_MAX_TIMEOUT_MS ? ALERT_MAX_TIMEOUT_MS : t;
}

/* The WARNING line; fills x and summary for the command. */
static void log_alert(const struct alert *a, struct alert_text *x,
		      char *summary, size_t cap)
{
	const char *prefix;

	render(a, x);
	snprintf(summary, cap,
		 "kind=%s user=%s uid=%s agency=%s op=%s target=%s "
		 "detail=\"%s\"", x->k, x->u, x->uid, x->ag, x->o, x->t, x->d);
	/* "<4>" = LOG_WARNING for journald's stream parser. */
	prefix = getenv("JOURNAL_STREAM") ? "<4>" : "";
	fprintf(stderr, "%sWARNING custody alert: %s\n", prefix, summary);
	fflush(stderr);
}

#define SUMMARY_MAX (8 * FIELD_MAX)

int alert_raise(const struct alert_config *cfg, const struct alert *a)
{
	struct alert_text x;
	char summary[SUMMARY_MAX];
	pid_t pid;
	int rc;

	if (!a)
		return -EINVAL;
	log_alert(a, &x, summary, sizeof(summary));
	if (!cfg || !cfg->command || !cfg->command[0])
		return 0;
	if (alert_config_check(cfg) < 0) {
		fprintf(stderr, "custody alert: alert command must be an "
			"absolute path, not run\n");
		return -EINVAL;
	}
	rc = spawn_command(cfg->command, &x, summary, &pid);
	return rc ? rc : reap(pid, timeout_of(cfg), cfg->command);
}

/* ---- asynchronous alerts ------------------------------------------------ */

struct alert_child {
	pid_t pid;
	long deadline;		/* monotonic ms; SIGKILL after this */
	int killed;
};

struct alert_runner {
	char command[ALERT_COMMAND_MAX];	/* "" = log only */
	int timeout_ms;
	int max;
	int n;				/* kids[0..n) are running */
	unsigned long skipped;
	struct alert_child kids[ALERT_MAX_RUNNING];
	alert_forward_fn fwd;		/* set: no command ever runs here */
	void *fwd_ctx;
};

void alert_runner_set_forward(struct alert_runner *r, alert_forward_fn fn, void *ctx)
{
	if (!r)
		return;
	r->fwd = fn;
	r->fwd_ctx = ctx;
}

int alert_runner_set_config(struct alert_runner *r,
			    const struct alert_config *cfg)
{
	if (!r || alert_config_check(cfg) < 0)
		return -EINVAL;
	if (cfg && cfg->command && strlen(cfg->command) >= sizeof(r->command))
		return -EINVAL;
	snprintf(r->command, sizeof(r->command), "%s",
		 cfg && cfg->command ? cfg->command : "");
	r->timeout_ms = cfg ? timeout_of(cfg) : ALERT_DEFAULT_TIMEOUT_MS;
	return 0;
}

int alert_runner_new(const struct alert_config *cfg, int max_running,
		     struct alert_runner **out)
{
	struct alert_runner *r;

	if (!out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (alert_runner_set_config(r, cfg) < 0) {
		free(r);
		return -EINVAL;
	}
	r->max = max_running > 0 ? max_running : ALERT_DEFAULT_MAX_RUNNING;
	if (r->max > ALERT_MAX_RUNNING)
		r->max = ALERT_MAX_RUNNING;
	*out = r;
	return 0;
}

/* Forget kids[i] (order does not matter). */
static void drop_child(struct alert_runner *r, int i)
{
	r->kids[i] = r->kids[--r->n];
}

void alert_runner_reap(struct alert_runner *r)
{
	long now = now_ms();

	for (int i = 0; r && i < r->n;) {
		struct alert_child *k = &r->kids[i];
		int status = 0;
		pid_t p = waitpid(k->pid, &status, WNOHANG);

		if (p == k->pid) {
			if (!k->killed)
				(void)report(status, r->command);
			drop_child(r, i);
			continue;
		}
		if (p < 0 && errno == ECHILD) {	/* reaped elsewhere (SIG_IGN) */
			drop_child(r, i);
			continue;
		}
		if (p == 0 && !k->killed && now >= k->deadline) {
			kill(k->pid, SIGKILL);	/* collected on a later call */
			k->killed = 1;
			fprintf(stderr, "custody alert: command %s killed after "
				"%d ms\n", r->command, r->timeout_ms);
		}
		i++;
	}
}

int alert_raise_async(struct alert_runner *r, const struct alert *a)
{
	struct alert_text x;
	char summary[SUMMARY_MAX];
	pid_t pid;
	int rc;

	if (!a)
		return -EINVAL;
	if (r && r->fwd) {
		/* the receiver logs it; here only when it could not take it */
		rc = r->fwd(r->fwd_ctx, a);
		if (rc)
			log_alert(a, &x, summary, sizeof(summary));
		return rc;
	}
	log_alert(a, &x, summary, sizeof(summary));
	if (!r || !r->command[0])
		return 0;
	alert_runner_reap(r);
	if (r->n >= r->max) {
		r->skipped++;
		fprintf(stderr, "custody alert: command %s skipped: %d alert "
			"commands still running (limit)\n", r->command, r->n);
		return -EBUSY;
	}
	rc = spawn_command(r->command, &x, summary, &pid);
	if (rc)
		return rc;
	r->kids[r->n].pid = pid;
	r->kids[r->n].deadline = now_ms() + r->timeout_ms;
	r->kids[r->n].killed = 0;
	r->n++;
	return 0;
}

int alert_runner_running(const struct alert_runner *r)
{
	return r ? r->n : 0;
}

unsigned long alert_runner_skipped(const struct alert_runner *r)
{
	return r ? r->skipped : 0;
}

void alert_runner_free(struct alert_runner *r)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	long give_up = now_ms() + 1000;

	if (!r)
		return;
	/* Each child is killed at its own deadline by reap; one second more
	 * bounds the wait for one that does not die (it then stays a zombie
	 * until we exit - better than hanging the shutdown). */
	for (int i = 0; i < r->n; i++)
		if (r->kids[i].deadline + 1000 > give_up)
			give_up = r->kids[i].deadline + 1000;
	for (;;) {
		alert_runner_reap(r);
		if (r->n == 0 || now_ms() >= give_up)
			break;
		nanosleep(&nap, NULL);
	}
	free(r);
}
