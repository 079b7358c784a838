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
 * over QREQ_MAX bytes gets a "too-large" reply. Handling a request does
 * run ledger queries and an alert command synchronously (bounded by the
 * alert timeout).
 */

#include <sys/types.h>

#include "alert.h"
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
	struct alert_config alert;
	const char *home_agency;	/* agency for events of strangers */
};

struct qservice;

/* Create the socket (an existing socket file at the path is replaced;
 * any other file there is an error -EEXIST), chmod/chown it, listen.
 * ledger must be writable (every query appends an event): -EROFS. */
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

/* Close every connection, remove the socket file, free (NULL is fine).
 * The ledger is not closed. */
void qservice_close(struct qservice *svc);

#endif
