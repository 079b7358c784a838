/* procdied.h - the record of a sandboxed service process that died
 * (docs/architecture.md, "Processes"): the storage uploader and the
 * query-service process. dockd restarts both; this is what it writes
 * before it does.
 */
#ifndef DOCKD_PROCDIED_H
#define DOCKD_PROCDIED_H

struct dockd;

/* Record link_worker_killed (action 57, an audit event, outcome denied)
 * with details {serial: "", process, why, signal} and reason why, and raise
 * an alert of kind process. process: "storage-uploader", "custodian" or
 * "query-service"; why: one line (what happened, how it ended); sig: the
 * signal that ended it (31 SIGSYS: its seccomp filter killed it), 0 if it
 * exited. Thread-safe (the ledger writer has its own lock). A failure to
 * record is logged; the alert is raised anyway. */
void custodian_process_died(struct dockd *d, const char *process, const char *why, int sig);

/* The ledger half of it, shared with custodian_worker_killed(): details
 * {serial (NULL: ""), why, signal} plus process when not NULL (a
 * camera-link worker's event has none). 0 or -errno (logged). */
int procdied_record(struct dockd *d, const char *serial, const char *process, const char *why,
		    int sig);

#endif
