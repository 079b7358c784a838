/* qattack.c - a "compromised" query service, for the TEST build only
 * (build/tests/dockd_attack; tests/integration/dockd_query_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it.
 *
 * $QUERY_ATTACK picks what a query process taken over (say, by a clerk's
 * hostile request) would try once it is locked down; $QUERY_ATTACK_ARG is
 * its target:
 *   exec           execve("/bin/sh")                    (seccomp kills)
 *   ptrace PID     attach to a process; "dockd": its parent (kills)
 *   ledger PATH    open the ledger for writing          (seccomp kills)
 *   walwrite PATH  write into the ledger's -wal through SQLite's
 *                  read-write descriptor (PATH: the -wal) (seccomp kills)
 *   connect PORT   socket(AF_INET) and connect to 127.0.0.1:PORT (kills)
 *   jit            map anonymous memory executable      (seccomp kills)
 *   alertkind      ask dockd, over the channel, to raise an alert of kind
 *                  "custodian" (refused: FAILED; the process lives on)
 *   read PATH      open a file for reading: the configuration file is
 *                  the control (allowed); a key file or a vault file is
 *                  refused by landlock ("not opened: PATH: Permission
 *                  denied"); either way the process lives on
 * Only the process that finds the file $QUERY_ATTACK_ONCE (and removes it,
 * before its lock-down) attacks: the one dockd starts after the death is
 * an honest one, so the test sees the service come back and answer.
 */
#ifdef LINK_ATTACK_TESTS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alert.h"
#include "qmsg.h"
#include "qworker.h"

static bool armed;

static void say(const char *verb, const char *what)
{
	char line[PATH_MAX + 64];
	int n = snprintf(line, sizeof(line), "QUERY_ATTACK: %s %s\n", verb, what);

	/* fd 2 is the daemon's log: the test greps for this line */
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The descriptor whose link is path, by number: readlink(2) of
 * /proc/self/fd/N is no open (landlock refuses listing the directory,
 * which qsandbox_find_fd() does before the lock-down). */
static int find_fd(const char *path)
{
	char name[64], link[PATH_MAX];

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		n = readlink(name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, path))
			return fd;
	}
	return -1;
}

void qattack_arm(void)
{
	const char *once = getenv("QUERY_ATTACK_ONCE");

	armed = getenv("QUERY_ATTACK") && once && unlink(once) == 0;
}

void qattack(void)
{
	const char *a = getenv("QUERY_ATTACK"), *arg = getenv("QUERY_ATTACK_ARG");

	if (!armed || !a)
		return;
	if (!arg)
		arg = "";
	say("trying", a);
	if (!strcmp(a, "exec")) {
		char *argv[] = { "sh", "-c", "echo QUERY_ATTACK: shell ran", NULL };

		(void)execve("/bin/sh", argv, NULL);
	} else if (!strcmp(a, "ptrace")) {
		/* SEIZE does not stop dockd if it succeeds (no filter) */
		pid_t pid = !strcmp(arg, "dockd") ? getppid() : (pid_t)atoi(arg);

		(void)ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	} else if (!strcmp(a, "ledger")) {
		(void)open(arg, O_RDWR);
	} else if (!strcmp(a, "walwrite")) {
		int fd = find_fd(arg);

		/* a write of nothing: no harm done when it is not stopped */
		say(fd >= 0 ? "found the -wal descriptor" : "no -wal descriptor", arg);
		(void)!pwrite(fd, "", 0, 0);
	} else if (!strcmp(a, "connect")) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons((uint16_t)atoi(arg)) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		(void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	} else if (!strcmp(a, "jit")) {
		(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(a, "alertkind")) {
		static uint8_t b[QMSG_BODY_MAX];
		struct alert al = { .kind = "custodian", .uid = -1,
				    .detail = "custodian died (forged)" };
		uint16_t t = 0;
		uint32_t len;
		size_t blen;

		if (qmsg_encode_alert(&al, b, sizeof(b), &blen) == 0 &&
		    qmsg_send(QWORKER_FD_CHAN, QM_ALERT, b, (uint32_t)blen) == 0 &&
		    qmsg_recv(QWORKER_FD_CHAN, b, sizeof(b), &t, &len) == 0)
			say(t == QM_FAILED ? "alert refused" : "alert taken", "custodian");
	} else if (!strcmp(a, "read")) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);
		char what[PATH_MAX + 40];

		/* the refusal with its errno: landlock's is EACCES */
		snprintf(what, sizeof(what), "%s%s%s", arg, fd >= 0 ? "" : ": ",
			 fd >= 0 ? "" : strerror(errno));
		say(fd >= 0 ? "opened" : "not opened:", what);
		if (fd >= 0)
			close(fd);
	}
	say("done:", "the attempt returned");
}
#endif
