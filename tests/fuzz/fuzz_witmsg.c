/* fuzz_witmsg.c - libFuzzer target for both receiving sides of the witness
 * client process's channel (dockd/witness/witmsg.h): the process reads
 * dockd's WM_POST and dockd reads the process's WM_READY / WM_ANSWER
 * through the same witmsg_recv() -> witmsg_decode().
 *
 * Each input is one record. It is decoded directly, then sent through a
 * real SOCK_SEQPACKET socketpair and read back with witmsg_recv() (the
 * truncation check). A record that decodes is encoded again: the encoding
 * is canonical, so the bytes must be identical, and its text fields must
 * hold no NUL byte (dockd uses them as C strings). Any difference, and any
 * result other than 0 / -EPROTO, abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_witmsg/ (one record of each type).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "witmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sv[2] = { -1, -1 };
static uint8_t again[WITMSG_MAX];
static struct witmsg m, m2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	int r, r2;

	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	memset(&m, 0, sizeof(m));
	r = witmsg_decode(data, size, &m);
	if (r != 0 && r != -EPROTO)
		abort();
	if (r == 0) {
		if (strlen(m.data) != m.len || m.len > WITMSG_BODY_MAX)
			abort();
		if (witmsg_encode(&m, again, sizeof(again), &len) != 0 || len != size ||
		    memcmp(again, data, size))
			abort();
	}
	if (size == 0 || size > WITMSG_MAX + 64)
		return 0;
	if (send(sv[1], data, size, 0) != (ssize_t)size)
		abort();
	memset(&m2, 0, sizeof(m2));
	r2 = witmsg_recv(sv[0], 1000, &m2);
	if (r2 != 0 && r2 != -EPROTO)
		abort();
	/* the same verdict and message as the direct decode */
	if (r2 != r || (r == 0 && memcmp(&m, &m2, sizeof(m))))
		abort();
	return 0;
}
