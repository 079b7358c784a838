#ifndef CUSTODY_ALERT_H
#define CUSTODY_ALERT_H
/*
 * alert: raise a security alert (a refused query, an unknown user, ...).
 *
 * Two channels, both best effort - an alert never fails the operation that
 * raised it (the ledger event is the record; the alert is the nudge):
 *
 *  1. a WARNING log line on stderr, one line, of the form
 *       WARNING custody alert: kind=K user=U uid=N agency=A op=O target=T detail="..."
 *     (under systemd, stderr goes to the journal; the line is prefixed with
 *     "<4>" so journald files it at priority warning when JOURNAL_STREAM is
 *     set). Values are sanitised: control characters become '?'.
 *
 *  2. the configured alert command, if any: an absolute path run with
 *     posix_spawn (never through a shell) as
 *       COMMAND KIND SUMMARY
 *     with environment CUSTODY_ALERT_KIND, _USER, _UID, _AGENCY, _OP,
 *     _TARGET, _DETAIL, _TIME (UTC, ISO 8601) and PATH=/usr/bin:/bin
 *     (nothing else is inherited). stdin is /dev/null, stdout/stderr are
 *     ours. It gets timeout_ms to finish; then it is killed (SIGKILL) and
 *     reaped. Spawn failure, non-zero exit, or timeout are logged, never
 *     fatal.
 *
 * Two ways to run the command:
 *   - alert_raise(): synchronous, the caller blocks for at most timeout_ms
 *     (+ a few ms). For one-shot tools.
 *   - an alert runner (alert_runner_new): for services. alert_raise_async()
 *     spawns the command and returns at once; the service calls
 *     alert_runner_reap() from its loop (waitpid WNOHANG on the runner's
 *     own pids only - never waitpid(-1), no SIGCHLD handler, so it can live
 *     inside a daemon that has other children). At most max_running
 *     commands run at once; beyond that the command is skipped and a line
 *     says so (the WARNING line is always written, and the caller's ledger
 *     event is the record anyway). A flood of refusals therefore costs a
 *     bounded number of processes and never delays the caller.
 */

#include <sys/types.h>

#define ALERT_DEFAULT_TIMEOUT_MS 2000
#define ALERT_MAX_TIMEOUT_MS 60000

struct alert_config {
	const char *command;	/* absolute path or NULL/"" = log only */
	int timeout_ms;		/* <= 0: ALERT_DEFAULT_TIMEOUT_MS */
};

/* One alert. Every string may be NULL (rendered as "-"). */
struct alert {
	const char *kind;	/* e.g. "access-denied", "unknown-user" */
	const char *user;
	long uid;		/* -1 when unknown */
	const char *agency;
	const char *op;
	const char *target;
	const char *detail;
};

#define ALERT_DEFAULT_MAX_RUNNING 4
#define ALERT_MAX_RUNNING 16
#define ALERT_COMMAND_MAX 4096	/* bytes of the command path, NUL included */

/* Log and run the command. Returns 0 when everything went through, a
 * negative errno when the command could not be run / failed / timed out
 * (already logged; callers normally ignore it). */
int alert_raise(const struct alert_config *cfg, const struct alert *a);

/* Check a configured command: NULL/"" is fine (no command), otherwise it
 * must be an absolute path. 0 or -EINVAL. */
int alert_config_check(const struct alert_config *cfg);

/* Asynchronous alerts (see above). Not thread-safe: one owner thread. */
struct alert_runner;

/* New runner with a copy of cfg (NULL: log only) and a bound of
 * max_running concurrent commands (<= 0: ALERT_DEFAULT_MAX_RUNNING, capped
 * at ALERT_MAX_RUNNING). 0, -EINVAL (bad cfg) or -ENOMEM. */
int alert_runner_new(const struct alert_config *cfg, int max_running,
		     struct alert_runner **out);

/* Replace the command/timeout (e.g. on a configuration reload); commands
 * already running keep their deadlines. 0 or -EINVAL (r unchanged). */
int alert_runner_set_config(struct alert_runner *r,
			    const struct alert_config *cfg);

/* Hand every alert of r to fn instead (a sandboxed service whose alerts
 * its supervisor raises: dockd's query service, dockd/query/qmsg.h):
 * alert_raise_async then calls fn(ctx, a) and neither logs nor spawns;
 * when fn fails (returns -errno) the WARNING line is written here and
 * fn's error returned, and still nothing is spawned. fn NULL: back to
 * running the command. */
typedef int (*alert_forward_fn)(void *ctx, const struct alert *a);
void alert_runner_set_forward(struct alert_runner *r, alert_forward_fn fn, void *ctx);

/* Log the alert and start the command without waiting for it. 0 when
 * started (or no command configured), -EBUSY when skipped because
 * max_running commands are still running, other negative errno when it
 * could not be started (all logged; callers normally ignore the result).
 * Reaps finished commands first. r NULL: log only. */
int alert_raise_async(struct alert_runner *r, const struct alert *a);

/* Non-blocking: collect finished commands (logging a failure), SIGKILL
 * those past their deadline (collected on a later call). Call it often,
 * e.g. on every turn of the owner's loop. */
void alert_runner_reap(struct alert_runner *r);

/* Commands started and not yet collected (0 for NULL). */
int alert_runner_running(const struct alert_runner *r);

/* Commands skipped because of the bound, since the runner was made. */
unsigned long alert_runner_skipped(const struct alert_runner *r);

/* Wait for running commands until their deadlines, kill the rest, collect
 * them and free r (NULL is fine). Blocks at most timeout_ms + ~1 s. */
void alert_runner_free(struct alert_runner *r);

#endif
