/* fuzz_storemsg.c - libFuzzer target for both receiving sides of the
 * storage uploader's channels (dockd/store/storemsg.h): the uploader reads
 * dockd's requests and dockd reads the uploader's answers through the
 * same storemsg_recv() -> storemsg_decode().
 *
 * Each input is one record. It is decoded directly, then sent through a
 * real SOCK_SEQPACKET socketpair and read back with storemsg_recv() (the
 * truncation and descriptor-count checks; no descriptors are sent, so a
 * type that needs one must be refused). A record that decodes is encoded
 * again: the encoding is canonical, so the bytes must be identical. Any
 * difference, and any result other than 0 / -EPROTO, abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_storemsg/ (one record of each type).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "storemsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sv[2] = { -1, -1 };
static uint8_t again[STOREMSG_MAX];
static struct storemsg m, m2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[STOREMSG_FDS_MAX], n = 0, r, r2;
	size_t len = 0;

	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	r = storemsg_decode(data, size, &m);
	if (r != 0 && r != -EPROTO)
		abort();
	if (r == 0) {
		if (storemsg_encode(&m, again, sizeof(again), &len) != 0 || len != size ||
		    memcmp(again, data, size))
			abort();
	}
	if (size == 0 || size > STOREMSG_MAX + 64)
		return 0;
	if (send(sv[1], data, size, 0) != (ssize_t)size)
		abort();
	r2 = storemsg_recv(sv[0], 1000, &m2, fds, &n);
	if (r2 != 0 && r2 != -EPROTO)
		abort();
	/* the same verdict as the direct decode, except that a type needing
	 * a descriptor arrived without one */
	if (r2 == 0 && (r != 0 || n != 0 || storemsg_nfds(m2.type, m2.flags) != 0 ||
			memcmp(&m, &m2, sizeof(m))))
		abort();
	if (r != 0 && r2 == 0)
		abort();
	return 0;
}
