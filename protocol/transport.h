/* transport.h - a byte stream between dock and camera.
 *
 * The protocol layer (frame.h, session.h) never knows whether bytes travel
 * over USB bulk endpoints or a Unix socket. A transport is a reliable,
 * ordered byte stream with timeouts and an explicit "the device went away"
 * error. Two implementations exist on the dock side:
 *
 *   transport_usb.h   libusb, vendor interface (class 0xFF), bulk IN/OUT
 *   transport_sock.h  a connected Unix stream socket (or any stream fd)
 *
 * Return values (all functions): 0 on success, or a negative errno:
 *   -ETIMEDOUT   nothing (more) arrived / could be sent within timeout_ms
 *   -ENODEV      the device was detached (USB unplug) - a clean, expected
 *                event: the caller saves its offset and resumes next docking
 *   -ECONNRESET  the peer closed the stream (socket EOF)
 *   -EIO         any other transport failure
 * Out-parameters are untouched on failure.
 *
 * Ownership: transport_close() releases everything the transport owns and
 * frees the struct itself. A transport is used by one thread at a time.
 */
#ifndef DOCK_TRANSPORT_H
#define DOCK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

struct transport;

struct transport_ops {
	/* Send all len bytes, or fail. One call carries one whole protocol
	 * frame, so message-based links (USB) may map it to one transfer. */
	int (*send)(struct transport *t, const void *buf, size_t len, int timeout_ms);
	/* Receive between 1 and cap bytes into buf; *got is set on success. */
	int (*recv)(struct transport *t, void *buf, size_t cap, size_t *got, int timeout_ms);
	void (*close)(struct transport *t);
	const char *name; /* "usb" or "socket", for logs */
};

struct transport {
	const struct transport_ops *ops;
	void *impl;
	char peer[64]; /* human-readable peer description for logs */
};

static inline int transport_send(struct transport *t, const void *buf, size_t len, int timeout_ms)
{
	return t->ops->send(t, buf, len, timeout_ms);
}

static inline int transport_recv(struct transport *t, void *buf, size_t cap, size_t *got, int timeout_ms)
{
	return t->ops->recv(t, buf, cap, got, timeout_ms);
}

/* Receive exactly len bytes (looping over recv), or fail. */
int transport_recv_exact(struct transport *t, void *buf, size_t len, int timeout_ms);

static inline void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}

#endif
