/* qattack.c - a "compromised" query service, for the TEST build only
 * (build/tests/dockd_attack; tests/integration/dockd_query_sandbox.sh).
 * Compiled without -DLINK_ATTACK_TESTS this file is empty, so bin/dockd
 * carries none of it. The actions every helper's attacker has (exec,
 * ptrace, ledger, keyfile, jit) and its logging are dockd/core/attack.h's.
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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "alert.h"
#include "attack.h"
#include "qmsg.h"
#include "qworker.h"

static bool armed;

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
	armed = attack_armed("QUERY_ATTACK");
}

/* ask dockd, over the channel, to raise an alert of kind "custodian" */
static void alert_kind(void)
{
	static uint8_t b[QMSG_BODY_MAX];
	struct alert al = { .kind = "custodian", .uid = -1, .detail = "custodian died (forged)" };
	uint16_t t = 0;
	uint32_t len;
	size_t blen;

	if (qmsg_encode_alert(&al, b, sizeof(b), &blen) == 0 &&
	    qmsg_send(QWORKER_FD_CHAN, QM_ALERT, b, (uint32_t)blen) == 0 &&
	    qmsg_recv(QWORKER_FD_CHAN, b, sizeof(b), &t, &len) == 0)
		attack_say("QUERY_ATTACK", t == QM_FAILED ? "alert refused" : "alert taken",
			   "custodian");
}

/* open path for reading; the refusal with its errno (landlock's: EACCES) */
static void read_one(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char what[PATH_MAX + 40];

	snprintf(what, sizeof(what), "%s%s%s", path, fd >= 0 ? "" : ": ",
		 fd >= 0 ? "" : strerror(errno));
	attack_say("QUERY_ATTACK", fd >= 0 ? "opened" : "not opened:", what);
	if (fd >= 0)
		close(fd);
}

void qattack(void)
{
	struct attack a;

	if (!armed || attack_get("QUERY_ATTACK", &a) < 0)
		return;
	attack_say(a.var, "trying", a.name);
	if (!strcmp(a.name, "ptrace")) {
		/* SEIZE does not stop dockd if it succeeds (no filter) */
		pid_t pid = !strcmp(a.arg, "dockd") ? getppid() : (pid_t)atoi(a.arg);

		(void)ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	} else if (!strcmp(a.name, "walwrite")) {
		int fd = find_fd(a.arg);

		/* a write of nothing: no harm done when it is not stopped */
		attack_say(a.var, fd >= 0 ? "found the -wal descriptor" : "no -wal descriptor",
			   a.arg);
		(void)!pwrite(fd, "", 0, 0);
	} else if (!strcmp(a.name, "connect")) {
		attack_connect(a.var, a.arg);
	} else if (!strcmp(a.name, "alertkind")) {
		alert_kind();
	} else if (!strcmp(a.name, "read")) {
		read_one(a.arg);
	} else {
		(void)attack_common(&a);
	}
	attack_say(a.var, "done:", "the attempt returned");
}
#endif
