/* storew_attack.c - a "compromised" storage uploader, for the TEST build
 * only (build/tests/dockd_attack; tests/integration/dockd_store_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it. The actions every helper's attacker has (exec,
 * ptrace, ledger, keyfile, jit) and its logging are dockd/core/attack.h's.
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
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include "attack.h"
#include "storew.h"

static bool armed;

void storew_attack_arm(void)
{
	armed = attack_armed("STORE_ATTACK");
}

void storew_attack(void)
{
	struct attack a;

	if (!armed || attack_get("STORE_ATTACK", &a) < 0)
		return;
	attack_say(a.var, "trying", a.name);
	if (!attack_common(&a) && !strcmp(a.name, "dlopen"))
		attack_say(a.var, dlopen(a.arg, RTLD_NOW | RTLD_LOCAL) ? "loaded" : "not loaded:",
			   a.arg);
	attack_say(a.var, "done:", "the attempt returned");
}
#endif
