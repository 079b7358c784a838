#ifndef CUSTODY_QSERVICE_H
#define CUSTODY_QSERVICE_H
/*
 * qservice: the custody query service on a local Unix stream socket.
 *
 * Clerks never read the ledger file (it is 0600, owned by the service
 * account); they connect to this socket. The kernel tells us who they
 * are (SO_PEERCRED uid at connect time) - the socket file mode only
 * decides who may connect at all, never who someone is.
 *
 * One connection = one request: the client sends ONE line (a JSON object,
 * at most QREQ_MAX bytes, '\n'-terminated or ended by shutdown(SHUT_WR)),
 * gets ONE line back (a JSON object, see qrequest.h) and the service
 * closes. Policy, audit events and alerts are in qrequest.c.
 *
 * Event loop: non-blocking, edge-free epoll set (the listener, up to
 * max_clients connections, a timerfd for deadlines) behind ONE pollable
 * descriptor, so a host daemon can embed it in its own poll loop:
 *
 *     struct qservice *svc;
 *     qservice_open(&cfg, ledger, &svc);
 *     ... poll() on qservice_fd(svc) among your fds; when readable:
 *     qservice_handle(svc);
 *     ...
 *     qservice_close(svc);
 *
 * qservice_handle() never blocks on a client: each connection has a
 * deadline (client_timeout_ms for the whole exchange); a silent or slow
 * client is cut off (and recorded) while others are served. A request
 * over QREQ_MAX bytes gets a "too-large" reply. Handling a request runs
 * its ledger queries synchronously. Alert commands run asynchronously
 * (alert.h runner): started without waiting, collected with waitpid
 * WNOHANG on the service's own pids in qservice_handle() (the timerfd
 * ticks while any runs, so they are collected and, when overdue, killed
 * even if no client comes), at most max_alerts at once - beyond that the
 * command is skipped and a line says so; the WARNING line and the ledger
 * event are always written.
 *
 * Embedding (dockd):
 *   - qservice_set_lock(): the host's camera threads append events to the
 *     same struct cust_ledger under the host's mutex; the service then
 *     takes that lock around every use of the ledger and ONLY then -
 *     never while waiting on or writing to a socket, never while calling
 *     the status function or starting an alert command.
 *   - qservice_set_status_fn(): answers {"op":"status"} (any role of the
 *     home agency; recorded as a ledger_read event before the answer).
 *   - Everything else runs in the thread that calls qservice_handle();
 *     the service itself is not thread-safe (one owner thread).
 *
 * Code: qservice.c (event loop, connections, open/close, setters),
 * qlisten.c (qservice_listen/qservice_unlisten: the socket file).
 */

#include <sys/types.h>

#include <jansson.h>

#include "alert.h"
#include "qpackage.h"
#include "ledger.h"

#define QSERVICE_DEFAULT_TIMEOUT_MS 5000
#define QSERVICE_DEFAULT_MAX_CLIENTS 32
#define QSERVICE_MAX_CLIENTS 1024
#define QSERVICE_REPLY_MAX (16u << 20)	/* largest reply (bytes) */

struct qservice_config {
	const char *socket_path;	/* required, < 108 bytes */
	mode_t socket_mode;		/* e.g. 0666, or 0660 with group */
	gid_t socket_gid;		/* (gid_t)-1: leave the group */
	int client_timeout_ms;		/* <= 0: default */
	int max_clients;		/* <= 0: default */
	struct alert_config alert;	/* command string is copied */
	int max_alerts;			/* alert commands running at once;
					 * <= 0: ALERT_DEFAULT_MAX_RUNNING */
	const char *home_agency;	/* agency for events of strangers, and
					 * whose status "status" reports;
					 * borrowed: must outlive svc */
	const char *console_account;	/* OS account of the web console
					 * (may send on_behalf and
					 * console-event, docs/console.md);
					 * NULL: none; copied */
	const struct cust_retention *retention;	/* [retention]; copied;
					 * NULL: defaults (retention.h) */
	const char *custody_bin;	/* the exporter run for export-package
					 * (qpackage.h); NULL: the op is off;
					 * copied */
	const char *config_path;	/* given to it as --config; copied */
	int listen_fd;			/* > 0: serve this listening socket
					 * (made by qservice_listen() in the
					 * host, inherited); the socket_* fields
					 * are then ignored and the file is
					 * never removed here. 0: create it */
};

/* The listening socket, made apart from the service when the service
 * runs in a process of its own (dockd keeps the socket file, its mode
 * and group; the query process inherits the descriptor, listen_fd). */
struct qservice_listener {
	int fd;
	dev_t dev;	/* the socket file, to remove only our own */
	ino_t ino;
};

/* Create the socket file of cfg (socket_path, socket_mode, socket_gid;
 * an existing socket file there is replaced, any other file: -EEXIST)
 * and listen; fd is non-blocking and close-on-exec. */
int qservice_listen(const struct qservice_config *cfg, struct qservice_listener *out);
/* Remove the socket file if it is still the one made by
 * qservice_listen(), close the descriptor (fd -1 afterwards). */
void qservice_unlisten(struct qservice_listener *l, const char *path);

struct qservice;
struct cust_retention;

/* Create the socket (an existing socket file at the path is replaced;
 * any other file there is an error -EEXIST), chmod/chown it, listen.
 * ledger must be writable (every query appends an event): -EROFS,
 * unless its appends are forwarded (cust_ledger_set_forward(), ledger.h):
 * the query service in its own process (dockd/query/) reads a read-only
 * handle and every event it records - the same struct it would append -
 * goes to the custodian, which appends it and answers with the seq; a
 * request is answered only after that reply (recorded before the
 * answer holds across the split). */
int qservice_open(const struct qservice_config *cfg,
		  struct cust_ledger *ledger, struct qservice **out);

/* One descriptor to poll for POLLIN; stays the same for svc's life. */
int qservice_fd(const struct qservice *svc);

/* Do all work that is ready now (accept, read, answer, write, expire)
 * without blocking. 0, or a negative errno on a failure of the service
 * itself (not of a client). */
int qservice_handle(struct qservice *svc);

/* Standalone loop (`custody serve`): poll + handle until *stop becomes
 * non-zero (set it from a signal handler). 0 or negative errno. */
int qservice_run(struct qservice *svc, volatile int *stop);

/* Answer {"op":"status"} with fn(ctx): a new reference to a JSON object
 * (docs/dockd.md "Status"), or NULL on failure ("status unavailable: the
 * dock did not answer"). fn is called from qservice_handle() WITHOUT the
 * ledger lock held, so it may take the host's locks itself. fn NULL
 * (the default): the reply is the error "unsupported", message "status
 * unavailable: no dock in this service". */
void qservice_set_status_fn(struct qservice *svc, json_t *(*fn)(void *ctx),
			    void *ctx);

/* No unprotected tail: fn(ctx) signs and publishes a checkpoint covering
 * the ledger as it is (custody/publish.h); it is called after each request
 * (or rejected connection) has written its audit event and BEFORE its
 * reply is sent, WITHOUT the ledger lock held (fn takes the host's lock
 * itself). fn reports its own failures; the reply is sent anyway (the
 * event is durable and the next checkpoint covers it). NULL (the
 * default): no checkpoint is written here. */
void qservice_set_publish(struct qservice *svc, void (*fn)(void *ctx), void *ctx);

/* The signer of the host's checkpoints (kept by the caller, used with the
 * ledger lock held): the "proof" op's files then carry events_claim, the
 * log key's statement that they list all of the item's events up to the
 * checkpoint. NULL (the default): proofs without it. */
struct cust_signer;
void qservice_set_proof_signer(struct qservice *svc, const struct cust_signer *s);

/* Take lock(ctx) / unlock(ctx) around every use of the ledger (identity
 * lookup, queries, audit events, user changes); one request may take it
 * more than once. Both NULL (the default): no locking. Only one of them
 * NULL: treated as both NULL. Set it before the ledger is shared. */
void qservice_set_lock(struct qservice *svc, void (*lock)(void *ctx),
		       void (*unlock)(void *ctx), void *ctx);

/* Replace the alert command/timeout (configuration reload); the string is
 * copied. 0 or -EINVAL (unchanged). */
int qservice_set_alert(struct qservice *svc, const struct alert_config *cfg);

/* Hand the service's alerts to fn instead of running the alert command
 * here (alert_runner_set_forward): dockd's locked-down query process. */
void qservice_set_alert_forward(struct qservice *svc, alert_forward_fn fn, void *ctx);

/* Hand export-package requests to fn (qpackage.h, qpackage_launch_fn)
 * instead of forking their handlers here. */
void qservice_set_package_launcher(struct qservice *svc, qpackage_launch_fn fn, void *ctx);

/* Replace the [retention] table (configuration reload; copied, under the
 * ledger lock when one is set). NULL: the defaults of retention.h. */
void qservice_set_retention(struct qservice *svc, const struct cust_retention *r);

/* Alert commands started and not yet collected (tests, diagnostics). */
int qservice_alerts_running(const struct qservice *svc);

/* Close every connection, wait for running alert commands (each at most
 * until its timeout, then killed), remove the socket file, free (NULL is
 * fine). The ledger is not closed. */
void qservice_close(struct qservice *svc);

#endif
