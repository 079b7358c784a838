/* usbrelay.c - USB <-> worker byte relay (see usbrelay.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "usbrelay.h"
#include "wire.h"

#define UP_POLL_MS 20      /* a worker frame waits at most this long */
#define UP_BUF (256u * 1024u)
#define OUT_TIMEOUT_MS 10000

struct usbrelay {
	struct transport *t;
	int fd, worker_fd;
	atomic_bool stop;
	pthread_t th;
	uint8_t *frame; /* PROTO_MAX_FRAME */
	uint8_t *up;    /* UP_BUF */
};

static int read_exact(int fd, uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -ECONNRESET;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -ECONNRESET;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One frame from the worker to the camera: one bulk OUT transfer. */
static int down(struct usbrelay *r, bool usb_ok)
{
	struct proto_hdr h;
	int e = read_exact(r->fd, r->frame, PROTO_HDR_LEN);

	if (e == 0 && proto_hdr_decode(r->frame, PROTO_HDR_LEN, &h) < 0)
		e = -EPROTO; /* not a frame: the worker is confused, stop */
	if (e == 0)
		e = read_exact(r->fd, r->frame + PROTO_HDR_LEN, h.length + PROTO_CRC_LEN);
	if (e == 0 && usb_ok)
		(void)transport_send(r->t, r->frame, PROTO_HDR_LEN + h.length + PROTO_CRC_LEN,
				     OUT_TIMEOUT_MS); /* a failure shows up on the IN side */
	return e;
}

static void *relay(void *arg)
{
	struct usbrelay *r = arg;
	bool usb_ok = true;

	while (!atomic_load(&r->stop)) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		size_t got = 0;
		int e;

		if (poll(&p, 1, usb_ok ? 0 : 100) > 0 && down(r, usb_ok) < 0)
			break;
		if (!usb_ok)
			continue;
		e = transport_recv(r->t, r->up, UP_BUF, &got, UP_POLL_MS);
		if (e == -ETIMEDOUT)
			continue;
		if (e == 0 && write_all(r->fd, r->up, got) == 0)
			continue;
		usb_ok = false; /* device gone or link broken: the worker sees EOF */
		shutdown(r->fd, SHUT_WR);
	}
	return NULL;
}

int usbrelay_start(struct transport *t, struct usbrelay **out, int *worker_fd)
{
	struct usbrelay *r = calloc(1, sizeof(*r));
	int sv[2], e;

	if (!r)
		return -ENOMEM;
	r->frame = malloc(PROTO_MAX_FRAME);
	r->up = malloc(UP_BUF);
	if (!r->frame || !r->up) {
		e = -ENOMEM;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		e = -errno;
		goto fail;
	}
	r->t = t;
	r->fd = sv[0];
	r->worker_fd = sv[1];
	e = -pthread_create(&r->th, NULL, relay, r);
	if (e < 0) {
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	*worker_fd = sv[1];
	*out = r;
	return 0;
fail:
	free(r->frame);
	free(r->up);
	free(r);
	return e;
}

void usbrelay_worker_started(struct usbrelay *r)
{
	if (r && r->worker_fd >= 0) {
		close(r->worker_fd);
		r->worker_fd = -1;
	}
}

void usbrelay_stop(struct usbrelay *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	shutdown(r->fd, SHUT_RDWR);
	pthread_join(r->th, NULL);
	close(r->fd);
	usbrelay_worker_started(r);
	free(r->frame);
	free(r->up);
	free(r);
}
