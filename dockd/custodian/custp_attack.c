/* custp_attack.c - a "compromised" custodian, for the TEST build only
 * (build/tests/dockd_attack, whose custodian is itself run as
 * `dockd_attack --custodian`; tests/integration/dockd_custodian_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it. The actions every helper's attacker has (exec,
 * ptrace, ledger, keyfile, jit) and its logging are dockd/core/attack.h's.
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
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"
#include "custp_sandbox.h"

static bool armed;

void custp_attack_arm(void)
{
	armed = attack_armed("CUST_ATTACK");
}

void custp_attack(void)
{
	char res[64] = "the attempt returned";
	struct attack a;

	if (!armed || attack_get("CUST_ATTACK", &a) < 0)
		return;
	armed = false;
	attack_say(a.var, "trying", a.name);
	if (!strcmp(a.name, "net")) {
		attack_connect(a.var, a.arg);
	} else if (!strcmp(a.name, "read")) {
		int fd = open(a.arg, O_RDONLY);

		snprintf(res, sizeof(res), "read open: %s", fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0)
			close(fd);
	} else {
		(void)attack_common(&a);
	}
	attack_say(a.var, "done:", res);
}
#endif
