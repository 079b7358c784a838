/* custp_attack.c - a "compromised" custodian, for the TEST build only
 * (build/tests/dockd_attack, whose custodian is itself run as
 * `dockd_attack --custodian`; tests/integration/dockd_custodian_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it.
 *
 * $CUST_ATTACK picks what a custodian taken over (say, by a hostile
 * request from a compromised dockd) would try once it is locked down, at
 * the first release-receipt request it is asked for; $CUST_ATTACK_ARG is
 * its target:
 *   net PORT        socket(AF_INET) + connect to 127.0.0.1:PORT (seccomp kills)
 *   exec            execve("/bin/sh")                       (seccomp kills)
 *   ptrace PID      attach to a process ("parent": dockd)   (seccomp kills)
 *   ledger PATH     open the ledger for writing             (seccomp kills)
 *   keyfile PATH    open the dock key for writing           (seccomp kills)
 *   jit             map anonymous memory executable         (seccomp kills)
 *   read PATH       open another file for reading (landlock refuses it,
 *                   EACCES; the custodian goes on: the test's control that
 *                   the landlock rules hold, also with a PKCS#11 key)
 * Only the custodian that finds the file $CUST_ATTACK_ONCE (and removes
 * it, before its lock-down) attacks: the one dockd starts after the death
 * is an honest one.
 */
#ifdef LINK_ATTACK_TESTS
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custp_sandbox.h"

static bool armed;

static void say(const char *verb, const char *what)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "CUST_ATTACK: %s %s\n", verb, what);

	/* fd 2 is the daemon's log: the test greps for this line */
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void custp_attack_arm(void)
{
	const char *once = getenv("CUST_ATTACK_ONCE");

	armed = getenv("CUST_ATTACK") && once && unlink(once) == 0;
}

void custp_attack(void)
{
	const char *a = getenv("CUST_ATTACK"), *arg = getenv("CUST_ATTACK_ARG");
	char res[64] = "the attempt returned";

	if (!armed || !a)
		return;
	armed = false;
	if (!arg)
		arg = "";
	say("trying", a);
	if (!strcmp(a, "net")) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)atoi(arg)) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			say("connected to", arg);
	} else if (!strcmp(a, "exec")) {
		char *argv[] = { "sh", "-c", "echo CUST_ATTACK: shell ran", NULL };

		(void)execve("/bin/sh", argv, NULL);
	} else if (!strcmp(a, "ptrace")) {
		pid_t t = strcmp(arg, "parent") ? (pid_t)atoi(arg) : getppid();

		(void)ptrace(PTRACE_ATTACH, t, NULL, NULL);
	} else if (!strcmp(a, "ledger")) {
		(void)open(arg, O_RDWR);
	} else if (!strcmp(a, "keyfile")) {
		(void)open(arg, O_WRONLY);
	} else if (!strcmp(a, "jit")) {
		(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(a, "read")) {
		int fd = open(arg, O_RDONLY);

		snprintf(res, sizeof(res), "read open: %s", fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	say("done:", res);
}
#endif
