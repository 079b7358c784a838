/* qproc.h - dockd's side of the query-service process (docs/
 * architecture.md, "The query-service process"; the process: qworker.h,
 * the channel: qmsg.h).
 *
 * dockd keeps the listening socket (it creates the socket file with its
 * mode and group, and removes it at exit) and the single ledger writer;
 * the query process inherits the socket and asks dockd, over the channel,
 * to append its events, for the status object and for a checkpoint.
 * dockd appends only events whose action the query service writes
 * (qmsg_action_allowed) from a clerk actor, stamped with dockd's own
 * clock; anything else is refused (QM_FAILED EPERM), logged and alerted.
 * The query process's alerts (QM_ALERT) are raised here: logged and the
 * command of [alert] (else [dock] alert_command) started without waiting,
 * at most [alert] max_running at once (custody/alert.h runner).
 *
 * Lifecycle: if the process dies or breaks the channel, dockd logs it,
 * raises an alert ("query-service") and starts it again after a backoff
 * (1 s, doubling to 60 s; back to 1 s after it ran 60 s). Meanwhile clerks
 * wait in the socket's backlog or time out; cameras dock as ever.
 *
 * All calls from dockd's main thread.
 */
#ifndef DOCKD_QPROC_H
#define DOCKD_QPROC_H

#include <sys/types.h>

#include "qservice.h"

struct dockd;
struct qproc;

/* Make the socket of qsc (qservice_listen) and start the process: 0, or
 * -errno when the socket cannot be made (a failed start is retried). */
int qproc_start(struct dockd *d, const struct qservice_config *qsc, const char *agency,
		struct qproc **out);

/* The channel descriptor to poll for POLLIN (-1 while not running). */
int qproc_fd(const struct qproc *q);

/* Serve one message of the channel (call when qproc_fd is readable). */
void qproc_handle(struct qproc *q);

/* Call periodically: restarts the process when its backoff has passed. */
void qproc_tick(struct qproc *q);

/* SIGHUP: dockd re-reads [alert] for the alerts, and a new query process
 * replaces the running one to read [retention] (the running one's landlock
 * rule cannot follow a replaced configuration file); not recorded as a
 * death. */
void qproc_reload(struct qproc *q);

/* The running process (0: none), for tests and the log. */
pid_t qproc_pid(const struct qproc *q);

/* Stop the process (SIGTERM, then SIGKILL after 2 s), remove the socket,
 * free. NULL is fine. */
void qproc_stop(struct qproc *q);

#endif
