/* statelock.h - one dockd per state directory (docs/dockd.md, "Command line").
 *
 * dockd takes an exclusive flock(2) on <state_dir>/dockd.lock before it
 * creates or removes any socket, sweeps the vault or opens the ledger. A
 * second dockd on the same state is refused with a message naming the
 * lock file and the running daemon's pid, and touches nothing: the first
 * daemon's sockets survive. The kernel drops the lock when the process
 * ends (even on kill -9), so a stale file never blocks a restart.
 */
#ifndef DOCKD_STATELOCK_H
#define DOCKD_STATELOCK_H

#include <stddef.h>

#define STATELOCK_NAME "dockd.lock"

/* Take the lock for state_dir; config names the configuration file for
 * the message. On success *fd holds the lock (close it to release; it is
 * close-on-exec). On failure err says which file, why and the fix:
 * -EBUSY another dockd holds it, -ENOENT state_dir is missing, other
 * -errno from open(2). */
int statelock_take(const char *state_dir, const char *config, int *fd, char *err,
		   size_t errlen);

#endif
