/* linkspawn.c - fork and exec a camera-link worker (see linkspawn.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linkspawn.h"
#include "linkw_sandbox.h"

/* Close every descriptor from 3 up except keep[0] < keep[1] < keep[2],
 * in the child (async-signal-safe). */
static void close_all_but(const int keep[3])
{
	unsigned from = 3;

	for (int i = 0; i < 3; i++) {
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static void sort3(int k[3])
{
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2 - i; j++)
			if (k[j] > k[j + 1]) {
				int t = k[j];

				k[j] = k[j + 1];
				k[j + 1] = t;
			}
}

/* Its descriptors are passed by number on its command line, and the
 * worker moves them to 3 and 4 itself: moving them here, between fork and
 * exec, failed with EBUSY when a pthread_atfork handler had started a
 * thread in the child that was opening a file (fd 3 reserved; libfiu's
 * remote control does that in tests: status 126). */
int linkspawn(const char *exe, char *const envp[], int devfd, int ringfd, pid_t *pid_out,
	      int *chan_out)
{
	char dvs[16], chs[16], rgs[16];
	char *argv[] = { "dockd-linkw", dvs, chs, rgs, NULL };
	int sv[2], n, dv, ch, rg, keep[3];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* all three above 4, close-on-exec until the child clears it: no
	 * other camera's worker inherits them */
	dv = fcntl(devfd, F_DUPFD_CLOEXEC, LINKW_FD_MIN_PASSED);
	ch = fcntl(sv[1], F_DUPFD_CLOEXEC, LINKW_FD_MIN_PASSED);
	rg = fcntl(ringfd, F_DUPFD_CLOEXEC, LINKW_FD_MIN_PASSED);
	close(sv[1]);
	if (dv < 0 || ch < 0 || rg < 0) {
		int e = -errno;

		if (dv >= 0)
			close(dv);
		if (ch >= 0)
			close(ch);
		if (rg >= 0)
			close(rg);
		close(sv[0]);
		return e;
	}
	snprintf(dvs, sizeof(dvs), "%d", dv);
	snprintf(chs, sizeof(chs), "%d", ch);
	snprintf(rgs, sizeof(rgs), "%d", rg);
	keep[0] = dv;
	keep[1] = ch;
	keep[2] = rg;
	sort3(keep);
	pid = fork();
	if (pid == 0) {
		/* async-signal-safe only */
		if (fcntl(dv, F_SETFD, 0) < 0 || fcntl(ch, F_SETFD, 0) < 0 ||
		    fcntl(rg, F_SETFD, 0) < 0)
			_exit(126);
		close_all_but(keep);
		/* if this camera's thread (the forking one) ends, so does the
		 * worker: a killed daemon leaves no orphan holding a camera */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(exe, argv, envp);
		_exit(127);
	}
	n = pid < 0 ? -errno : 0;
	close(dv);
	close(ch);
	close(rg);
	if (n < 0) {
		close(sv[0]);
		return n;
	}
	*pid_out = pid;
	*chan_out = sv[0];
	return 0;
}
