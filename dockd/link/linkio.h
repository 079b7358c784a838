/* linkio.h - framed linkmsg I/O on a stream socket (both ends of the
 * daemon <-> camera-link worker channel; format in protocol/linkmsg.h).
 *
 * Results: 0, -ETIMEDOUT (nothing within timeout_ms; -1 waits forever),
 * -ECONNRESET (the peer closed or died), -EPROTO (a malformed message:
 * bad header, over its cap, fields that do not decode), other -errno.
 * A failed call leaves the stream out of step: close it.
 */
#ifndef DOCKD_LINKIO_H
#define DOCKD_LINKIO_H

#include <stddef.h>
#include <stdint.h>

#include "linkmsg.h"

int linkio_send(int fd, const struct linkmsg *m);

/* Receive one message into m; buf (LINKMSG_SMALL_MAX bytes) holds its
 * payload while it is decoded. */
int linkio_recv(int fd, uint8_t *buf, int timeout_ms, struct linkmsg *m);

#endif
