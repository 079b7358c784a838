/* chanspawn.c - fork + exec a helper process with a SEQPACKET channel
 * (chanspawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chanspawn.h"

extern char **environ;

int chanspawn(const char *exe, char *const argv[], int chan_argi, int *chan, pid_t *pid)
{
	char *args[CHANSPAWN_ARGS_MAX];
	char chs[16];
	int sv[2], ch, n = 0, r;
	pid_t p;

	while (n < CHANSPAWN_ARGS_MAX && argv[n])
		n++;
	if (!exe || n >= CHANSPAWN_ARGS_MAX || chan_argi < 1 || chan_argi >= n)
		return -EINVAL;
	for (int i = 0; i <= n; i++)
		args[i] = argv[i];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ch = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
	close(sv[1]);
	if (ch < 0) {
		r = -errno;
		close(sv[0]);
		return r;
	}
	snprintf(chs, sizeof(chs), "%d", ch);
	args[chan_argi] = chs;
	p = fork();
	if (p == 0) {
		/* async-signal-safe only */
		if (fcntl(ch, F_SETFD, 0) < 0)
			_exit(126);
		if (ch > 3)
			syscall(SYS_close_range, 3U, (unsigned)ch - 1, 0);
		syscall(SYS_close_range, (unsigned)ch + 1, ~0U, 0);
		execve(exe, args, environ);
		_exit(127);
	}
	r = p < 0 ? -errno : 0;
	close(ch);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	*chan = sv[0];
	*pid = p;
	return 0;
}

int chanspawn_parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || end == s || v < 3 || v > 65535 ? -1 : (int)v;
}
