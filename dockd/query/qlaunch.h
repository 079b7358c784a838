/* qlaunch.h - the export-package launcher of the query-service process
 * (docs/architecture.md, "The query-service process").
 *
 * The locked-down query process may not fork or exec (qsandbox.h), but
 * the console's court package is built by the `custody export` binary
 * (custody/qpackage.h). So before the lock-down, and before the ledger is
 * opened, qworker forks this launcher. It keeps only its end of a
 * SOCK_SEQPACKET socketpair (and stdio: the daemon's log), runs with
 * no_new_privs, not dumpable, no core, dies with the query process
 * (PDEATHSIG, and end of file on the pair), and holds from its fork the
 * exporter's binary ([query] custody), --config and --socket: a request
 * cannot name another program or configuration. What it can do: run
 * `custody export ITEM --on-behalf USER --reason R [--case C]` with those,
 * at most QPACKAGE_RUNNING at once, each bounded by QPACKAGE_SECONDS, and
 * hand the package to the console's connection; nothing else. (The
 * exporter still asks the query service for its `exported` event, which
 * applies the console user's roles: the launcher grants nothing.)
 *
 * Request, one datagram (at most QLAUNCH_REQ_MAX bytes), with exactly one
 * descriptor (SCM_RIGHTS: the console's connection):
 *     u8 'L'  u8 QLAUNCH_VERSION
 *     then user, item, reason, case: each u16 length + bytes
 *     (user 1..64, item 1..128 not starting with '-', reason 1..512,
 *      case 0..128 (0: none); no control character, no NUL)
 * Reply, one datagram: i32 big-endian, 0 started, -EBUSY every slot in
 * use, other -errno (the query process then answers the console). A
 * malformed request gets -EPROTO and its descriptor closed.
 */
#ifndef DOCKD_QLAUNCH_H
#define DOCKD_QLAUNCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qpackage.h"

#define QLAUNCH_VERSION 1
#define QLAUNCH_REQ_MAX (2 + 4 * 2 + 64 + 128 + 512 + 128)

/* Fork the launcher for custody_bin / config_path / socket_path (copied
 * into it by the fork). *fd: the query process's end (close-on-exec);
 * *pid: the launcher. 0 or -errno. Call single-threaded, before opening
 * anything the launcher must not hold (its copy of every descriptor but
 * 0-2 and its end is closed at once anyway). */
int qlaunch_start(const char *custody_bin, const char *config_path,
		  const char *socket_path, int *fd, pid_t *pid);

/* qpackage_launch_fn for qservice_set_package_launcher: ctx is a pointer
 * to the int fd of qlaunch_start. */
int qlaunch_request(void *ctx, const struct qpackage_job *job, int conn_fd);

/* The request codec (fuzzed with the channel: tests/fuzz/fuzz_qmsg.c).
 * decode: job's user/item/reason/case_no point into strs (cap >=
 * QLAUNCH_REQ_MAX), custody_bin etc. untouched. -EPROTO malformed. */
int qlaunch_encode(const struct qpackage_job *job, uint8_t *buf, size_t cap, size_t *len);
int qlaunch_decode(const uint8_t *p, size_t len, struct qpackage_job *job, char *strs,
		   size_t cap);

#endif
