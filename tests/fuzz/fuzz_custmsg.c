/* fuzz_custmsg.c - libFuzzer target for both receiving sides of the
 * custodian's channel (dockd/custodian/custmsg.h): the custodian reads
 * dockd's requests and dockd reads the custodian's answers through the
 * same custmsg_recv() -> custmsg_decode().
 *
 * Each input is one record. It is decoded directly, then sent through a
 * real SOCK_SEQPACKET socketpair and read back with custmsg_recv(). A
 * record that decodes is encoded again: the encoding is canonical, so the
 * bytes must be identical. Any difference, and any result other than 0 /
 * -EPROTO, abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_custmsg/ (one record of each type,
 * written by test_custmsg with CUSTMSG_SEEDS=DIR).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "custmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sv[2] = { -1, -1 };
static uint8_t again[CUSTMSG_MAX];
static struct custmsg m, m2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	int r, r2;

	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	r = custmsg_decode(data, size, &m);
	if (r != 0 && r != -EPROTO)
		abort();
	if (r == 0 && (custmsg_encode(&m, again, sizeof(again), &len) != 0 || len != size ||
		       memcmp(again, data, size)))
		abort();
	if (size == 0 || size > CUSTMSG_MAX + 64)
		return 0;
	if (send(sv[1], data, size, 0) != (ssize_t)size)
		abort();
	r2 = custmsg_recv(sv[0], 1000, &m2);
	if (r2 != 0 && r2 != -EPROTO)
		abort();
	if ((r2 == 0) != (r == 0) || (r2 == 0 && memcmp(&m, &m2, sizeof(m))))
		abort();
	return 0;
}
