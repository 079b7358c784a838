#ifndef CUSTODY_QPACKAGE_H
#define CUSTODY_QPACKAGE_H
/*
 * qpackage: op "export-package" of the query service - a court package
 * built by the service for the web console, whose account can read
 * neither the ledger nor the vault (docs/custody-access.md "Court
 * packages for the console", docs/console.md "Court packages").
 *
 * Request (one line, from the console account only, with on_behalf):
 *   {"op":"export-package","on_behalf":USER,"item":ID,"reason":R,
 *    "case":C (optional)}
 * Anything else naming this op (another account, no on_behalf) is not
 * started here: qrequest handles it as an unknown op (recorded, refused).
 *
 * The service forks a handler that owns the connection from then on, so
 * the service's loop keeps serving (the exporter calls back into it). The
 * handler makes a private directory (mkdtemp, 0700, under TMPDIR or /tmp)
 * and runs the exporter - the `custody` binary, [query] custody - as the
 * service's own account:
 *   custody --config CONF export ID --out DIR/court-ID.tar --reason R
 *           [--case C] --socket SOCK --on-behalf USER
 * whose `export` request to the service is the console user's (same
 * roles, agency, deny-by-default; the `exported` event is written before
 * any byte of the package exists). Then it opens the package, removes it
 * and the directory, and replies with ONE line and, on success, the open
 * descriptor (SCM_RIGHTS, sent with the line's first byte):
 *   {"ok":true,"op":"export-package","user":USER,
 *    "result":{"item":ID,"name":"court-ID.tar","size":N}}
 *   {"ok":false,"error":"denied"|"error"|"too-large"|"busy","message":M}
 * A package over QPACKAGE_MAX bytes is not handed out ("too-large"); an
 * exporter still running after QPACKAGE_SECONDS is killed.
 */

#include <sys/types.h>

#include <jansson.h>

#define QPACKAGE_MAX (4ull << 30)	/* largest package handed out */
#define QPACKAGE_SECONDS 1800		/* the exporter's time limit */
#define QPACKAGE_RUNNING 4		/* handlers at once; more: "busy" */

struct qpackage_job {
	const char *custody_bin;	/* the exporter */
	const char *config_path;	/* its --config */
	const char *socket_path;	/* its --socket: this service */
	const char *user;		/* on_behalf */
	const char *item, *reason, *case_no;	/* case_no may be NULL */
};

/* Start a handler elsewhere: 0 when started there (it then owns its own
 * copy of conn_fd), -EBUSY when every slot there is in use, other -errno. */
typedef int (*qpackage_launch_fn)(void *ctx, const struct qpackage_job *job, int conn_fd);

/* The handlers running in one service. launch set (dockd's locked-down
 * query process, which may not fork or exec: dockd/query/qlaunch.h): the
 * requests go to launch(launch_ctx, ...) and no handler runs here. */
struct qpackage_pool {
	pid_t pid[QPACKAGE_RUNNING];	/* 0: free slot */
	long deadline_ms[QPACKAGE_RUNNING];	/* monotonic; then SIGKILL */
	int running;
	qpackage_launch_fn launch;
	void *launch_ctx;
};

/* A request of len bytes (req) on conn_fd from uid: if it is an
 * export-package request from console_account (qpackage_parse), start its
 * handler in a free slot of pool (job's custody_bin, config_path and
 * socket_path given; the rest filled here) and return 1 (the caller then
 * closes its copy of conn_fd; the handler answers). 0: not one (the caller
 * handles the request as usual). -EBUSY: every slot in use; other
 * -errno: the fork failed (the caller answers both). */
int qpackage_request(struct qpackage_pool *pool, struct qpackage_job *job,
		     const char *console_account, uid_t uid, const char *req,
		     size_t len, int conn_fd, long now_ms);

/* Start job's handler for conn_fd in a free slot of pool (qpackage_start):
 * 0, -EBUSY (no free slot) or -errno. The launcher's half of
 * qpackage_request. */
int qpackage_spawn(struct qpackage_pool *pool, const struct qpackage_job *job,
		   int conn_fd, long now_ms);

/* Collect finished handlers (waitpid WNOHANG on the pool's own pids);
 * SIGKILL one a minute past QPACKAGE_SECONDS (it bounds its exporter
 * itself; this is the backstop). */
void qpackage_reap(struct qpackage_pool *pool, long now_ms);

/* 1 if req (a parsed request) is an export-package request with the
 * fields above (strings, one line, item and case at most 128 bytes,
 * reason at most 512), and then job's user/item/reason/case_no point
 * into req; else 0. */
int qpackage_parse(const json_t *req, struct qpackage_job *job);

/* Fork the handler for conn_fd (which the handler then owns; the caller
 * closes its own copy). The handler's pid, or -errno. The caller must be
 * single-threaded (the handler is a fork that runs ordinary code). */
pid_t qpackage_start(const struct qpackage_job *job, int conn_fd);

#endif
