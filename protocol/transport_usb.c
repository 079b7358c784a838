/* transport_usb.c - libusb bulk transport; see transport_usb.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "transport_usb.h"

/* How long close() waits for cancelled transfers to come back. Past this
 * the stack is broken; the transfers are leaked rather than freed under
 * libusb's feet. */
#define CLOSE_WAIT_MS 5000
/* Grace on top of a send's own libusb timeout before we cancel it. */
#define SEND_GRACE_MS 2000

enum in_state { IN_IDLE, IN_BUSY, IN_DONE };

struct usb_in {
	struct libusb_transfer *xfer;
	unsigned char *buf;
	int state;  /* enum in_state */
	int done;   /* completion flag for libusb_handle_events_*_completed */
	int status; /* libusb_transfer_status, valid when IN_DONE */
	size_t len, pos;
};

struct usb_t {
	struct transport t;
	libusb_context *ctx;
	bool own_ctx;
	int fd; /* wrapped usbfs fd we opened, or -1 */
	libusb_device_handle *h;
	struct tusb_iface ifc;
	bool claimed;
	bool zlp_native; /* usbfs supports USBFS_URB_ZERO_PACKET */
	struct usb_in in[TUSB_IN_FLIGHT];
	unsigned n_in; /* transfers in the ring (fewer when usbfs memory is short) */
	unsigned head; /* next IN transfer whose bytes the caller gets */
	struct libusb_transfer *out;
	int out_done;
	bool out_busy;
	int dead; /* sticky error: -ENODEV or -EIO, 0 while healthy */
};

static const struct transport_ops usb_ops;

int transport_usb_errno(int e)
{
	switch (e) {
	case LIBUSB_SUCCESS: return 0;
	case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
	case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
	case LIBUSB_ERROR_ACCESS: return -EACCES;
	case LIBUSB_ERROR_NOT_FOUND: return -ENOENT;
	case LIBUSB_ERROR_BUSY: return -EBUSY;
	case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
	case LIBUSB_ERROR_INTERRUPTED: return -EINTR;
	case LIBUSB_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
	default: return e > 0 ? 0 : -EIO;
	}
}

static int status_errno(int status)
{
	switch (status) {
	case LIBUSB_TRANSFER_COMPLETED: return 0;
	case LIBUSB_TRANSFER_TIMED_OUT: return -ETIMEDOUT;
	case LIBUSB_TRANSFER_NO_DEVICE: return -ENODEV;
	default: return -EIO; /* ERROR, STALL, OVERFLOW, CANCELLED */
	}
}

#define FOREVER INT64_MAX

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run libusb's event loop until *flag is set or the deadline passes. The
 * first round always runs (without blocking if the deadline is already
 * past), so a zero timeout still collects completed transfers. */
static int pump(struct usb_t *u, int *flag, int64_t deadline)
{
	bool first = true;

	while (!*flag) {
		int64_t left = deadline - now_ms();
		struct timeval tv;
		int r;

		if (left <= 0 && !first)
			return -ETIMEDOUT;
		if (left < 0)
			left = 0;
		first = false;
		if (deadline == FOREVER || left > 60000)
			left = 60000; /* wake up now and then; loop re-checks */
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		r = libusb_handle_events_timeout_completed(u->ctx, &tv, flag);
		if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT)
			return transport_usb_errno(r);
	}
	return 0;
}

static int set_dead(struct usb_t *u, int err)
{
	if (err != -ENODEV)
		err = -EIO;
	if (!u->dead)
		u->dead = err;
	return u->dead;
}

/* ---- IN: a ring of always-queued transfers -------------------------------*/

static void LIBUSB_CALL in_cb(struct libusb_transfer *x)
{
	struct usb_in *in = x->user_data;

	in->status = x->status;
	in->len = x->actual_length > 0 ? (size_t)x->actual_length : 0;
	in->pos = 0;
	in->state = IN_DONE;
	in->done = 1;
}

static int in_submit(struct usb_t *u, struct usb_in *in)
{
	int r;

	libusb_fill_bulk_transfer(in->xfer, u->h, u->ifc.ep_in, in->buf, (int)TUSB_IN_BUF,
				  in_cb, in, 0 /* no timeout: see header */);
	in->done = 0;
	in->len = in->pos = 0;
	r = libusb_submit_transfer(in->xfer);
	if (r < 0) {
		in->state = IN_IDLE;
		return transport_usb_errno(r);
	}
	in->state = IN_BUSY;
	return 0;
}

/* The head transfer is used up: requeue it at the back of the ring. */
static void in_recycle(struct usb_t *u, struct usb_in *in)
{
	int r = in_submit(u, in);

	if (r < 0)
		set_dead(u, r); /* the bytes still queued ahead are handed out first */
	u->head = (u->head + 1) % u->n_in;
}

static int usb_recv(struct transport *t, void *buf, size_t cap, size_t *got, int timeout_ms)
{
	struct usb_t *u = t->impl;
	int64_t deadline = timeout_ms < 0 ? FOREVER : now_ms() + timeout_ms;

	if (cap == 0)
		return -EINVAL;
	for (;;) {
		struct usb_in *in = &u->in[u->head];
		int r;

		if (in->state == IN_DONE) {
			if (in->status != LIBUSB_TRANSFER_COMPLETED)
				return set_dead(u, status_errno(in->status));
			if (in->pos < in->len) {
				size_t n = in->len - in->pos < cap ? in->len - in->pos : cap;

				memcpy(buf, in->buf + in->pos, n);
				in->pos += n;
				if (in->pos == in->len)
					in_recycle(u, in);
				*got = n;
				return 0;
			}
			in_recycle(u, in); /* zero-length packet: nothing to hand out */
			continue;
		}
		if (u->dead)
			return u->dead;
		r = pump(u, &in->done, deadline);
		if (r == -ETIMEDOUT)
			return r;
		if (r < 0)
			return set_dead(u, r);
	}
}

/* ---- OUT: one frame, one transfer ---------------------------------------*/

static void LIBUSB_CALL out_cb(struct libusb_transfer *x)
{
	struct usb_t *u = x->user_data;

	u->out_done = 1;
}

/* One bulk OUT transfer; waits for it. *sent = bytes that went out. */
static int out_once(struct usb_t *u, const void *buf, size_t len, bool zlp, int timeout_ms,
		    size_t *sent)
{
	int r;

	/* libusb never writes an OUT buffer; its API just is not const. */
	libusb_fill_bulk_transfer(u->out, u->h, u->ifc.ep_out, (unsigned char *)(uintptr_t)buf,
				  (int)len, out_cb, u, timeout_ms < 0 ? 0u : (unsigned)timeout_ms);
	u->out->flags = zlp ? LIBUSB_TRANSFER_ADD_ZERO_PACKET : 0;
	u->out_done = 0;
	r = libusb_submit_transfer(u->out);
	if (r < 0)
		return r == LIBUSB_ERROR_NOT_SUPPORTED ? -EOPNOTSUPP : transport_usb_errno(r);
	u->out_busy = true;
	r = pump(u, &u->out_done, timeout_ms < 0 ? FOREVER : now_ms() + timeout_ms + SEND_GRACE_MS);
	if (r < 0) {
		/* libusb's own timeout should have fired; force it. */
		libusb_cancel_transfer(u->out);
		if (pump(u, &u->out_done, now_ms() + CLOSE_WAIT_MS) < 0)
			return -EIO; /* still busy: close() deals with it */
	}
	u->out_busy = false;
	*sent = u->out->actual_length > 0 ? (size_t)u->out->actual_length : 0;
	return status_errno(u->out->status);
}

static int usb_send(struct transport *t, const void *buf, size_t len, int timeout_ms)
{
	struct usb_t *u = t->impl;
	bool zlp;
	size_t sent = 0, zsent = 0;
	int r;

	if (u->dead)
		return u->dead;
	if (len == 0 || len > PROTO_MAX_FRAME)
		return -EINVAL;
	if (timeout_ms == 0)
		timeout_ms = 1; /* libusb reads 0 as "no timeout" */
	zlp = len % u->ifc.out_maxpacket == 0;
	r = out_once(u, buf, len, zlp && u->zlp_native, timeout_ms, &sent);
	if (r == -EOPNOTSUPP && zlp && u->zlp_native) {
		/* Old kernel without USBDEVFS_URB_ZERO_PACKET: send the ZLP as
		 * a transfer of its own. */
		u->zlp_native = false;
		r = out_once(u, buf, len, false, timeout_ms, &sent);
	}
	if (r == 0 && zlp && !u->zlp_native)
		r = out_once(u, buf, 0, false, timeout_ms, &zsent);
	if (r == 0 && sent == len)
		return 0;
	if (r == -ETIMEDOUT && sent == 0)
		return r; /* nothing left: frame boundaries intact */
	set_dead(u, r == -ENODEV ? r : -EIO); /* half a frame went out */
	return r == -ETIMEDOUT ? r : u->dead;
}

/* ---- open/close ---------------------------------------------------------*/

int transport_usb_find_iface(const struct libusb_config_descriptor *cfg, struct tusb_iface *out)
{
	for (int i = 0; cfg && i < cfg->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		for (int a = 0; a < itf->num_altsetting; a++) {
			const struct libusb_interface_descriptor *d = &itf->altsetting[a];
			struct tusb_iface f = { .number = d->bInterfaceNumber,
						.altsetting = d->bAlternateSetting };

			if (d->bInterfaceClass != TUSB_IFACE_CLASS ||
			    d->bInterfaceSubClass != TUSB_IFACE_SUBCLASS ||
			    d->bInterfaceProtocol != TUSB_IFACE_PROTOCOL || d->bNumEndpoints != 2)
				continue;
			for (int e = 0; e < 2; e++) {
				const struct libusb_endpoint_descriptor *ep = &d->endpoint[e];
				uint16_t mps = ep->wMaxPacketSize & 0x7ff;

				if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK || mps == 0)
					continue;
				if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
					f.ep_in = ep->bEndpointAddress;
					f.in_maxpacket = mps;
				} else {
					f.ep_out = ep->bEndpointAddress;
					f.out_maxpacket = mps;
				}
			}
			if (f.ep_in && f.ep_out) {
				*out = f;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int setup(struct usb_t *u)
{
	struct libusb_config_descriptor *cfg = NULL;
	int r;

	r = libusb_get_active_config_descriptor(libusb_get_device(u->h), &cfg);
	if (r < 0)
		return transport_usb_errno(r);
	r = transport_usb_find_iface(cfg, &u->ifc);
	libusb_free_config_descriptor(cfg);
	if (r < 0)
		return r;
	(void)libusb_set_auto_detach_kernel_driver(u->h, 1); /* unsupported: no driver to detach */
	r = libusb_claim_interface(u->h, u->ifc.number);
	if (r < 0)
		return transport_usb_errno(r);
	u->claimed = true;
	if (u->ifc.altsetting) {
		r = libusb_set_interface_alt_setting(u->h, u->ifc.number, u->ifc.altsetting);
		if (r < 0)
			return transport_usb_errno(r);
	}
	u->out = libusb_alloc_transfer(0);
	if (!u->out)
		return -ENOMEM;
	for (int i = 0; i < TUSB_IN_FLIGHT; i++) {
		u->in[i].xfer = libusb_alloc_transfer(0);
		u->in[i].buf = malloc(TUSB_IN_BUF);
		if (!u->in[i].xfer || !u->in[i].buf)
			return -ENOMEM;
	}
	/* Queue every IN transfer now: the camera never waits for us. usbfs
	 * caps the memory of all its URBs (usbfs_memory_mb, 16 MiB by
	 * default, shared by every device): on -ENOMEM run with fewer. */
	for (int i = 0; i < TUSB_IN_FLIGHT; i++) {
		r = in_submit(u, &u->in[i]);
		if (r == -ENOMEM && i > 0)
			break;
		if (r < 0)
			return r;
		u->n_in++;
	}
	return 0;
}

static bool any_busy(const struct usb_t *u)
{
	if (u->out_busy && !u->out_done)
		return true;
	for (int i = 0; i < TUSB_IN_FLIGHT; i++)
		if (u->in[i].state == IN_BUSY)
			return true;
	return false;
}

/* Cancel what is in flight and wait for libusb to give it back. false when
 * something never came back (then it must not be freed). */
static bool drain(struct usb_t *u)
{
	int64_t deadline = now_ms() + CLOSE_WAIT_MS;

	if (u->out_busy && !u->out_done)
		libusb_cancel_transfer(u->out);
	for (int i = 0; i < TUSB_IN_FLIGHT; i++)
		if (u->in[i].state == IN_BUSY)
			libusb_cancel_transfer(u->in[i].xfer);
	while (any_busy(u) && now_ms() < deadline) {
		struct timeval tv = { 0, 100 * 1000 };
		int r = libusb_handle_events_timeout(u->ctx, &tv);

		if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT)
			break;
	}
	return !any_busy(u);
}

static void usb_destroy(struct usb_t *u)
{
	if (u->h && !drain(u)) {
		/* Freeing now would let libusb write into freed memory later. */
		fprintf(stderr, "transport_usb: %s: transfers did not complete; leaking them\n",
			u->t.peer);
		return;
	}
	for (int i = 0; i < TUSB_IN_FLIGHT; i++) {
		libusb_free_transfer(u->in[i].xfer);
		free(u->in[i].buf);
	}
	libusb_free_transfer(u->out);
	if (u->claimed)
		(void)libusb_release_interface(u->h, u->ifc.number); /* fails once unplugged */
	if (u->h)
		libusb_close(u->h);
	if (u->fd >= 0)
		close(u->fd);
	if (u->own_ctx && u->ctx)
		libusb_exit(u->ctx);
	free(u);
}

static void usb_close(struct transport *t)
{
	usb_destroy(t->impl);
}

static struct usb_t *usb_new(void)
{
	struct usb_t *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->t.ops = &usb_ops;
	u->t.impl = u;
	u->fd = -1;
	u->zlp_native = true;
	return u;
}

int transport_usb_open_devnode(const char *devnode, struct transport **out)
{
	struct usb_t *u = usb_new();
	int r;

	if (!u)
		return -ENOMEM;
	snprintf(u->t.peer, sizeof(u->t.peer), "usb %s", devnode);
	u->fd = open(devnode, O_RDWR | O_CLOEXEC);
	if (u->fd < 0) {
		/* The node vanishing between udev's "add" and here is an unplug. */
		r = (errno == ENOENT || errno == ENXIO || errno == ENODEV) ? -ENODEV : -errno;
		goto fail;
	}
	r = libusb_init(&u->ctx);
	if (r < 0) {
		u->ctx = NULL;
		r = transport_usb_errno(r);
		goto fail;
	}
	u->own_ctx = true;
	r = libusb_wrap_sys_device(u->ctx, (intptr_t)u->fd, &u->h);
	if (r < 0) {
		u->h = NULL;
		r = transport_usb_errno(r);
		goto fail;
	}
	r = setup(u);
	if (r < 0)
		goto fail;
	*out = &u->t;
	return 0;
fail:
	usb_destroy(u);
	return r;
}

int transport_usb_open_device(libusb_context *ctx, libusb_device *dev, struct transport **out)
{
	struct usb_t *u = usb_new();
	int r;

	if (!u)
		return -ENOMEM;
	snprintf(u->t.peer, sizeof(u->t.peer), "usb bus %u addr %u",
		 libusb_get_bus_number(dev), libusb_get_device_address(dev));
	u->ctx = ctx;
	r = libusb_open(dev, &u->h);
	if (r < 0) {
		u->h = NULL;
		r = transport_usb_errno(r);
		goto fail;
	}
	r = setup(u);
	if (r < 0)
		goto fail;
	*out = &u->t;
	return 0;
fail:
	usb_destroy(u);
	return r;
}

static const struct transport_ops usb_ops = {
	.send = usb_send,
	.recv = usb_recv,
	.close = usb_close,
	.name = "usb",
};
