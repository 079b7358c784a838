/* storew_attack.c - a "compromised" storage uploader, for the TEST build
 * only (build/tests/dockd_attack; tests/integration/dockd_store_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it.
 *
 * $STORE_ATTACK picks what an uploader taken over (say, by a hostile S3
 * endpoint's reply) would try once it is locked down and has answered
 * SM_READY; $STORE_ATTACK_ARG is its target:
 *   exec           execve("/bin/sh")                 (seccomp kills, SIGSYS)
 *   ptrace PID     attach to a process               (seccomp kills)
 *   ledger PATH    open the ledger for writing       (seccomp kills)
 *   keyfile PATH   open the dock key for writing     (seccomp kills)
 *   jit            map anonymous memory executable   (seccomp kills)
 *   dlopen PATH    load a shared library (the control: allowed, as glibc
 *                  loads an NSS module after the lock-down)
 * Only the uploader that finds the file $STORE_ATTACK_ONCE (and removes
 * it, before its lock-down) attacks: the one dockd starts after the death
 * is an honest one, so the test sees the service come back and work.
 */
#ifdef LINK_ATTACK_TESTS
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "storew.h"

static bool armed;

static void say(const char *verb, const char *what)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "STORE_ATTACK: %s %s\n", verb, what);

	/* fd 2 is the daemon's log: the test greps for this line */
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void storew_attack_arm(void)
{
	const char *once = getenv("STORE_ATTACK_ONCE");

	armed = getenv("STORE_ATTACK") && once && unlink(once) == 0;
}

void storew_attack(void)
{
	const char *a = getenv("STORE_ATTACK"), *arg = getenv("STORE_ATTACK_ARG");

	if (!armed || !a)
		return;
	if (!arg)
		arg = "";
	say("trying", a);
	if (!strcmp(a, "exec")) {
		char *argv[] = { "sh", "-c", "echo STORE_ATTACK: shell ran", NULL };

		(void)execve("/bin/sh", argv, NULL);
	} else if (!strcmp(a, "ptrace")) {
		(void)ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), NULL, NULL);
	} else if (!strcmp(a, "ledger")) {
		(void)open(arg, O_RDWR);
	} else if (!strcmp(a, "keyfile")) {
		(void)open(arg, O_WRONLY);
	} else if (!strcmp(a, "jit")) {
		(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(a, "dlopen")) {
		say(dlopen(arg, RTLD_NOW | RTLD_LOCAL) ? "loaded" : "not loaded:", arg);
	}
	say("done:", "the attempt returned");
}
#endif
