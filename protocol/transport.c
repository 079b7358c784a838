/* transport.c - helpers shared by every transport implementation. */
#include <errno.h>

#include "transport.h"

int transport_recv_exact(struct transport *t, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t got = 0;
		int r = transport_recv(t, p + done, len - done, &got, timeout_ms);

		if (r < 0)
			return r;
		if (got == 0 || got > len - done)
			return -EIO; /* a transport must never report more than asked */
		done += got;
	}
	return 0;
}
