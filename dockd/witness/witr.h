/* witr.h - dockd's side of the witness client process (witw.h; messages
 * in witmsg.h; docs/architecture.md, "The witness client").
 *
 * dockd's witness thread (dockd/custodian/witnessc.h) builds each
 * add-checkpoint request from its ledger and hands it here; the process,
 * not dockd, talks to the witness. One caller at a time (the witness
 * thread, then witnessc_stop()'s last round after it joined).
 *
 * The process is started by witr_open() (fork, exec of the absolute path
 * exe as `dockd --witness-client CONFIG CTL`, SOCK_SEQPACKET socketpair)
 * and must say WM_READY with as many witnesses as dockd configured. When
 * it dies, breaks the protocol (a record witmsg_decode() refuses, an
 * answer to another request) or does not answer within timeout_s + 5 s,
 * it is killed and reaped, the cause is logged and passed to the notify
 * hook (the daemon raises a "witness-client" alert), and the next call
 * (or witr_tick()) starts another once the restart delay passed (0.5 s,
 * doubling to 30 s while it keeps dying within a minute).
 *
 * Results: 0 or -errno.
 */
#ifndef DOCKD_WITR_H
#define DOCKD_WITR_H

#include <stddef.h>
#include <sys/types.h>

struct witr;
typedef void (*witr_notify_fn)(void *ctx, const char *what);

/* Start the process; its WM_READY's error, or why it did not start, in
 * err. n: witnesses in dockd's configuration (the process must agree). */
int witr_open(const char *exe, const char *config, unsigned n, unsigned timeout_s,
	      witr_notify_fn notify, void *ctx, struct witr **out, char *err, size_t errlen);

/* POST body[0..len) to witness idx. On 0: *status the HTTP status (0: no
 * answer), text (cap bytes, NUL-terminated) the verified cosignature lines
 * (200) or the answer / transport error. -EIO: the process was lost or is
 * being restarted (text says why); the witness was not asked. */
int witr_post(struct witr *w, unsigned idx, const char *body, size_t len, long *status,
	      char *text, size_t cap);

/* Between requests: reap a process that died (logged, notified) and start
 * another when its restart delay passed. */
void witr_tick(struct witr *w);

/* The running process's pid (0: none). */
pid_t witr_pid(const struct witr *w);

/* Close the channel (the process exits), reap it (killed after 5 s).
 * NULL is fine. */
void witr_close(struct witr *w);

#endif
