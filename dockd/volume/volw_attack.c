/* volw_attack.c - a "compromised" volume reader worker, for the TEST build
 * only (make's build/tests/dockd_attack; tests/integration/msc_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it.
 *
 * $VOL_ATTACK picks what a worker taken over by a hostile volume (or a
 * hostile driver) would try once it is locked down; $VOL_ATTACK_ARG is
 * its target. Each attempt prints "VOL_ATTACK: trying A" and, if the
 * kernel refused it without killing the worker, "VOL_ATTACK: denied A
 * errno N" (or "VOL_ATTACK: DONE A" if it worked) on fd 2:
 *   read PATH      open a dock file by absolute path (landlock: EACCES)
 *   escape         open the volume root's parent, ".." (landlock: EACCES)
 *   write          create a file on the volume (landlock: EACCES)
 *   net            open a socket (seccomp kills, SIGSYS)
 *   exec PATH      execve (seccomp kills)
 *   outside PATH   list PATH as a recording although the profile does
 *                  not match it (the daemon re-checks: kills the worker)
 *   overrun        send DATA past the end of a read (the daemon kills)
 *   flip-uncached PATH  a file whose path contains PATH gives other bytes
 *                  on its second read past the page cache (a card that
 *                  returns what it did not hold, a file rewritten between
 *                  the reads: the dock must not count it as ingested)
 *   slow PATH      DATA of such a file 50 ms per piece (a pull long enough
 *                  for a test to kill dockd in the middle of it)
 */
#ifdef LINK_ATTACK_TESTS
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "volmsg.h"
#include "volw.h"

static void say(const char *verb, const char *what, int err)
{
	char line[160];
	int n = err >= 0 ? snprintf(line, sizeof(line), "VOL_ATTACK: %s %s errno %d\n", verb, what, err)
			 : snprintf(line, sizeof(line), "VOL_ATTACK: %s %s\n", verb, what);

	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

const char *volw_attack_name(void)
{
	return getenv("VOL_ATTACK");
}

/* Each piece of DATA before it is sent (volw.c). */
void volw_attack_data(const char *path, int uncached, uint8_t *data, size_t n)
{
	const char *a = getenv("VOL_ATTACK"), *arg = getenv("VOL_ATTACK_ARG");
	struct timespec ts = { 0, 50 * 1000000L };

	if (!a || !arg || !*arg || !strstr(path, arg) || !n)
		return;
	if (!strcmp(a, "flip-uncached") && uncached)
		data[n / 2] ^= 0x01;
	else if (!strcmp(a, "slow"))
		nanosleep(&ts, NULL);
}

/* After the lockdown, before the first listing. */
void volw_attack_early(void)
{
	const char *a = getenv("VOL_ATTACK"), *arg = getenv("VOL_ATTACK_ARG");
	int fd = -1;

	if (!a)
		return;
	if (!arg)
		arg = "";
	if (!strcmp(a, "outside") || !strcmp(a, "overrun"))
		return; /* at their moment, in volw.c */
	say("trying", a, -1);
	if (!strcmp(a, "read"))
		fd = open(arg, O_RDONLY);
	else if (!strcmp(a, "escape"))
		fd = openat(VOLW_FD_ROOT, "..", O_RDONLY | O_DIRECTORY);
	else if (!strcmp(a, "write"))
		fd = openat(VOLW_FD_ROOT, "PLANTED.MP4", O_WRONLY | O_CREAT | O_EXCL, 0600);
	else if (!strcmp(a, "net"))
		fd = socket(AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(a, "exec")) {
		char *argv[] = { (char *)arg, NULL }, *envp[] = { NULL };
		fd = execve(arg, argv, envp);
	}
	if (fd < 0) {
		say("denied", a, errno);
	} else {
		say("DONE", a, -1);
		close(fd);
	}
}
#endif
