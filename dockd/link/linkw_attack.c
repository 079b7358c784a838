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
 * and on the first DATA frame of the read (linkw_attack_data; the shared
 * ring, dockd/link/linkring.h):
 *   ring_oob       a descriptor reaching past the end of the ring (raw
 *                  bytes: the encoder refuses it; the daemon's decoder
 *                  refuses it: kills)
 *   ring_seq       a descriptor with a skipped sequence number (kills)
 *   ring_scribble  change a payload byte in the ring after the session
 *                  checked the frame's CRC, then keep rewriting the whole
 *                  payload while the daemon copies it out (until its
 *                  LM_DATA_ACK is there): the recording's hash fails
 *                  (integrity_failed), nothing released, no crash
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

#include <errno.h>

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

	if (!a || !strncmp(a, "ring_", 5)) /* those act on DATA: linkw_attack_data */
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

int linkw_attack_data(int chan, const struct linkmsg *m, uint8_t *ring)
{
	static int once;
	const char *a = getenv("LINK_ATTACK");
	uint8_t raw[LINKMSG_HDR_LEN + 20];
	struct linkmsg bad = *m;
	uint8_t *p = ring + m->u.data.ring_off;

	if (!a || once || strncmp(a, "ring_", 5) != 0)
		return 0;
	once = 1;
	say("trying", a);
	if (!strcmp(a, "ring_oob")) {
		uint32_t off = LINKMSG_RING_SIZE - 16, len = m->u.data.len > 16 ? m->u.data.len : 17;
		uint64_t v[4] = { m->u.data.offset, off, len, m->u.data.seq };
		size_t w[4] = { 8, 4, 4, 4 }, at = LINKMSG_HDR_LEN;

		memset(raw, 0, sizeof(raw));
		raw[0] = LINKMSG_VERSION;
		raw[1] = LM_DATA;
		raw[4] = 20;
		for (int f = 0; f < 4; f++)
			for (size_t i = 0; i < w[f]; i++)
				raw[at++] = (uint8_t)(v[f] >> (8 * i));
		(void)!write(chan, raw, sizeof(raw));
	} else if (!strcmp(a, "ring_seq")) {
		bad.u.data.seq = m->u.data.seq + 1;
		(void)linkio_send(chan, &bad);
	} else if (!strcmp(a, "ring_scribble")) {
		uint8_t b;

		p[0] ^= 0x5a; /* after the CRC check: the hash must catch it */
		(void)linkio_send(chan, m);
		/* until the daemon's answer is there (peeked, left for the
		 * caller): rewrite the bytes it is copying */
		while (recv(chan, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
		       (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			for (uint32_t i = 0; i < m->u.data.len; i++)
				p[i] = (uint8_t)(p[i] * 7 + 1);
	} else {
		return 0;
	}
	say("done:", "the descriptor was sent");
	return 1;
}
#endif
