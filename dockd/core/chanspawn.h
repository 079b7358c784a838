/* chanspawn.h - start one of dockd's helper processes (the custodian, the
 * storage uploader, the witness client) with a SEQPACKET channel.
 *
 * Each is dockd's own executable run again with a mode flag and the
 * channel's descriptor number on its command line. The child end of the
 * socketpair is moved to 10 or above (clear of stdio and of descriptors a
 * library may expect), keeps no close-on-exec flag, and every other
 * descriptor above stderr is closed before execve, so the helper starts
 * with nothing of dockd's but its channel, stdio and the environment
 * (proxy settings). Between fork and execve only async-signal-safe calls
 * run: dockd is threaded.
 *
 *	char *argv[] = { "dockd-store", "--store-worker", config, "CHAN", NULL };
 *	int ctl;
 *	pid_t pid;
 *	r = chanspawn(exe, argv, 3, &ctl, &pid);   // argv[3] becomes "<fd>"
 *	... read the helper's READY on ctl; on failure kill and reap pid ...
 *
 * Results: 0 or -errno; *chan and *pid untouched on failure.
 */
#ifndef DOCKD_CHANSPAWN_H
#define DOCKD_CHANSPAWN_H

#include <sys/types.h>

#define CHANSPAWN_ARGS_MAX 8 /* argv entries, the final NULL included */

/* Fork and exec exe with argv (NULL-terminated, at most
 * CHANSPAWN_ARGS_MAX entries with the NULL), argv[chan_argi] (a
 * placeholder, not NULL) replaced by the decimal number of the child's channel descriptor. *chan: dockd's
 * end (close-on-exec), *pid: the child. */
int chanspawn(const char *exe, char *const argv[], int chan_argi, int *chan, pid_t *pid);

/* The helper's side: its channel descriptor from its command line (a
 * decimal number, 3..65535, nothing else); -1 if it is not one. */
int chanspawn_parse_fd(const char *s);

#endif
