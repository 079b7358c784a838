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
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "custody alert: command %s failed (%s %d)\n", cmd,
		WIFEXITED(status) ? "exit" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -EIO;
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

static int run_command(const struct alert_config *cfg,
		       const struct alert_text *x, const char *summary)
{
	char env[9][FIELD_MAX + 32];
	char *envp[10], *argv[4];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, timeout;

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
	argv[0] = (char *)cfg->command;
	argv[1] = (char *)x->k;
	argv[2] = (char *)summary;
	argv[3] = NULL;

	rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn(&pid, cfg->command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		fprintf(stderr, "custody alert: cannot run %s: %s\n",
			cfg->command, strerror(rc));
		return -rc;
	}
	timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : ALERT_DEFAULT_TIMEOUT_MS;
	if (timeout > ALERT_MAX_TIMEOUT_MS)
		timeout = ALERT_MAX_TIMEOUT_MS;
	return reap(pid, timeout, cfg->command);
}

int alert_raise(const struct alert_config *cfg, const struct alert *a)
{
	struct alert_text x;
	char summary[8 * FIELD_MAX];
	const char *prefix;

	if (!a)
		return -EINVAL;
	render(a, &x);
	snprintf(summary, sizeof(summary),
		 "kind=%s user=%s uid=%s agency=%s op=%s target=%s "
		 "detail=\"%s\"", x.k, x.u, x.uid, x.ag, x.o, x.t, x.d);
	/* "<4>" = LOG_WARNING for journald's stream parser. */
	prefix = getenv("JOURNAL_STREAM") ? "<4>" : "";
	fprintf(stderr, "%sWARNING custody alert: %s\n", prefix, summary);
	fflush(stderr);
	if (!cfg || !cfg->command || !cfg->command[0])
		return 0;
	if (alert_config_check(cfg) < 0) {
		fprintf(stderr, "custody alert: alert command must be an "
			"absolute path, not run\n");
		return -EINVAL;
	}
	return run_command(cfg, &x, summary);
}
