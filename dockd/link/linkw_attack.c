/* linkw_attack.c - a "compromised" camera-link worker, for the TEST build
 * only (make's build/tests/dockd_attack; tests/integration/
 * dockd_link_sandbox.sh). Compiled without -DLINK_ATTACK_TESTS this file
 * is empty, so bin/dockd carries none of it.
 *
 * After the manifest was parsed, $LINK_ATTACK picks what a worker taken
 * over by a hostile camera would try; $LINK_ATTACK_ARG is its target:
 *   keyfile PATH   read the dock key       (open: seccomp kills, SIGSYS)
 *   ledger PATH    open the ledger rw      (open: seccomp kills)
 *   vault DIR      create a file there     (openat: seccomp kills)
 *   net HOST:PORT  connect over TCP        (socket: seccomp kills)
 *   ptrace PID     attach to a process     (ptrace: seccomp kills)
 *   receipt ID     ask the daemon for a release receipt for recording ID
 *                  (not a message the worker may send: the daemon kills it)
 *   forge ID       pass on a manifest entry for ID with a forged
 *                  signature marked valid (the daemon re-verifies: kills)
 */
#ifdef LINK_ATTACK_TESTS
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkio.h"
#include "linkw.h"

static void say(const char *verb, const char *what)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "LINK_ATTACK: %s %s\n", verb, what);

	/* fd 2 is the daemon's log: the test greps for this line. No stdio
	 * (dprintf would fstat: not on the allow-list). */
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void linkw_attack(int chan)
{
	const char *a = getenv("LINK_ATTACK"), *arg = getenv("LINK_ATTACK_ARG");
	char path[512];
	struct linkmsg m;

	if (!a)
		return;
	if (!arg)
		arg = "";
	say("trying", a);
	memset(&m, 0, sizeof(m));
	if (!strcmp(a, "keyfile")) {
		(void)open(arg, O_RDONLY);
	} else if (!strcmp(a, "ledger")) {
		(void)open(arg, O_RDWR);
	} else if (!strcmp(a, "vault")) {
		snprintf(path, sizeof(path), "%s/planted", arg);
		(void)open(path, O_WRONLY | O_CREAT, 0600);
	} else if (!strcmp(a, "net")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		(void)connect(s, (struct sockaddr *)&sa, sizeof(sa));
	} else if (!strcmp(a, "ptrace")) {
		(void)ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), NULL, NULL);
	} else if (!strcmp(a, "receipt")) {
		m.type = LM_RELEASE;
		snprintf(m.u.release.recording_id, sizeof(m.u.release.recording_id), "%s", arg);
		snprintf(m.u.release.dock_id, sizeof(m.u.release.dock_id), "x");
		(void)linkio_send(chan, &m);
	} else if (!strcmp(a, "forge")) {
		m.type = LM_ENTRY;
		m.u.entry.e.size = 1;
		snprintf(m.u.entry.e.recording_id, sizeof(m.u.entry.e.recording_id), "%s", arg);
		(void)linkio_send(chan, &m);
	}
	say("done:", "the attempt returned");
}
#endif
