/*
 * custreq.c - a "compromised dockd" for tests/integration/dockd_custodian.sh:
 * it starts the custodian process itself (as dockd does: fork, exec
 * `DOCKD --custodian CONFIG FD`) and sends one request straight on the
 * channel, bypassing every check of dockd's own side.
 *
 *   custreq DOCKD CONFIG receipt SERIAL RECORDING SHA256HEX
 *   custreq DOCKD CONFIG auth CERT        a well-formed AUTH_DOCK tbs
 *   custreq DOCKD CONFIG auth-receipt     a release receipt's tbs, as CM_AUTH
 *   custreq DOCKD CONFIG ckpt
 *
 * Prints "rc=N" (the custodian's answer, 0 or -errno), "why=TEXT", and
 * for a signature "sig=valid" or "sig=invalid" (checked against the
 * dock public key the custodian presented). Exit 0 when the custodian
 * answered, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "custmsg.h"
#include "dockcert.h"
#include "edsig.h"
#include "session.h"
#include "wire.h"

static struct custmsg q, a, ready;

int main(int argc, char **argv)
{
	uint8_t tbs[PROTO_TBS_MAX];
	char fd[16];
	size_t n = 0;
	int sv[2], st, r;
	pid_t pid;

	if (argc < 4) {
		fputs("usage: custreq DOCKD CONFIG receipt|auth|auth-receipt|ckpt ...\n", stderr);
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 1;
	snprintf(fd, sizeof(fd), "%d", sv[1]);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		execl(argv[1], "dockd-custodian", "--custodian", argv[2], fd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if ((r = custmsg_recv(sv[0], 30000, &ready)) < 0 || ready.type != CM_READY) {
		fprintf(stderr, "custreq: no CM_READY: %s\n", strerror(r < 0 ? -r : EPROTO));
		return 1;
	}
	if (ready.rc < 0) {
		fprintf(stderr, "custreq: custodian did not open: %s\n", ready.text);
		return 1;
	}
	if (!strcmp(argv[3], "receipt") && argc == 7) {
		q.type = CM_RECEIPT;
		snprintf(q.serial, sizeof(q.serial), "%s", argv[4]);
		snprintf(q.recording, sizeof(q.recording), "%s", argv[5]);
		if (edsig_unhex(argv[6], q.sha256, 32) < 0)
			return 2;
	} else if (!strcmp(argv[3], "auth") && argc == 5) {
		struct proto_dock_cert c;
		uint8_t cn[PROTO_NONCE_LEN], dn[PROTO_NONCE_LEN];

		memset(cn, 0x11, sizeof(cn));
		memset(dn, 0x22, sizeof(dn));
		if (dockcert_load(argv[4], &c) < 0 ||
		    proto_dock_auth_tbs(cn, dn, "CAM-X", &c, tbs, sizeof(tbs), &n) < 0)
			return 2;
		q.type = CM_AUTH;
	} else if (!strcmp(argv[3], "auth-receipt") && argc == 4) {
		struct proto_receipt rc = { .issued_utc = 1700000000 };

		snprintf(rc.recording_id, sizeof(rc.recording_id), "REC-1");
		snprintf(rc.dock_id, sizeof(rc.dock_id), "DOCK-1");
		if (proto_receipt_tbs(&rc, tbs, sizeof(tbs), &n) < 0)
			return 2;
		q.type = CM_AUTH;
	} else if (!strcmp(argv[3], "ckpt") && argc == 4) {
		q.type = CM_CKPT;
	} else {
		fputs("custreq: bad arguments\n", stderr);
		return 2;
	}
	if (q.type == CM_AUTH) {
		memcpy(q.blob, tbs, n);
		q.blob_len = (uint16_t)n;
	}
	if ((r = custmsg_send(sv[0], &q)) < 0 || (r = custmsg_recv(sv[0], 60000, &a)) < 0 ||
	    a.type != CM_RESULT) {
		fprintf(stderr, "custreq: no answer: %s\n", strerror(r < 0 ? -r : EPROTO));
		return 1;
	}
	printf("rc=%d\nwhy=%s\n", a.rc, a.text);
	if (a.rc == 0 && q.type == CM_AUTH)
		printf("sig=%s\n", edsig_verify_raw(ready.dock_pub, tbs, n, a.sig) == 0 ? "valid"
										     : "invalid");
	if (a.rc == 0 && q.type == CM_CKPT)
		printf("size=%llu\n", (unsigned long long)a.size);
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}
