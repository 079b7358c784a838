/* linkspawn.h - start a camera-link worker (linkw.h) for linkc.c.
 *
 * linkspawn() forks and execs the worker program exe (an absolute path:
 * link_init_exe, linkc.h) with environment envp as
 * `dockd-linkw DEV CHAN RING`: the camera's stream devfd, one end of a
 * new socketpair (the channel) and the ring's memfd ringfd (linkring.h),
 * each passed as a copy above LINKW_FD_MIN_PASSED that only this child
 * inherits; every other descriptor is closed in the child, which is
 * killed if the forking thread ends (PR_SET_PDEATHSIG). The caller's
 * devfd and ringfd stay open. 0 with the worker's pid and the daemon's end
 * of the channel, or -errno (nothing started, nothing left open).
 */
#ifndef DOCKD_LINKSPAWN_H
#define DOCKD_LINKSPAWN_H

#include <sys/types.h>

int linkspawn(const char *exe, char *const envp[], int devfd, int ringfd, pid_t *pid_out,
	      int *chan_out);

#endif
