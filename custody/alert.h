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
 *     fatal. The caller blocks for at most timeout_ms (+ a few ms).
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

/* Log and run the command. Returns 0 when everything went through, a
 * negative errno when the command could not be run / failed / timed out
 * (already logged; callers normally ignore it). */
int alert_raise(const struct alert_config *cfg, const struct alert *a);

/* Check a configured command: NULL/"" is fine (no command), otherwise it
 * must be an absolute path. 0 or -EINVAL. */
int alert_config_check(const struct alert_config *cfg);

#endif
