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
 *   net            connect to 127.0.0.1:9 (socket: seccomp kills)
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <errno.h>

#include "attack.h"
#include "linkio.h"
#include "linkw.h"

/* fd 2 is the daemon's log: the test greps for this line */
static void say(const char *verb, const char *what)
{
	attack_say("LINK_ATTACK", verb, what);
}

void linkw_attack(int chan)
{
	char path[512];
	struct linkmsg m;
	struct attack a;

	/* ring_*: those act on DATA: linkw_attack_data */
	if (attack_get("LINK_ATTACK", &a) < 0 || !strncmp(a.name, "ring_", 5))
		return;
	say("trying", a.name);
	memset(&m, 0, sizeof(m));
	if (!strcmp(a.name, "keyfile")) {
		(void)open(a.arg, O_RDONLY);
	} else if (!strcmp(a.name, "vault")) {
		snprintf(path, sizeof(path), "%s/planted", a.arg);
		(void)open(path, O_WRONLY | O_CREAT, 0600);
	} else if (!strcmp(a.name, "net")) {
		attack_connect(a.var, "9");
	} else if (!strcmp(a.name, "receipt")) {
		m.type = LM_RELEASE;
		snprintf(m.u.release.recording_id, sizeof(m.u.release.recording_id), "%s", a.arg);
		snprintf(m.u.release.dock_id, sizeof(m.u.release.dock_id), "x");
		(void)linkio_send(chan, &m);
	} else if (!strcmp(a.name, "forge")) {
		m.type = LM_ENTRY;
		m.u.entry.e.size = 1;
		snprintf(m.u.entry.e.recording_id, sizeof(m.u.entry.e.recording_id), "%s", a.arg);
		(void)linkio_send(chan, &m);
	} else {
		(void)attack_common(&a); /* ledger, ptrace */
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
