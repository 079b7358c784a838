/* usbemu.c - emulated camera USB device; see usbemu.h.
 *
 * Two threads touch the state, both under e->lock: umockdev's worker thread
 * (ioctl handler) and our bridge thread (socket I/O). URB memory lives in the
 * client (dock) process; umockdev_ioctl_data_resolve() fetches a copy and
 * umockdev syncs changes back when the ioctl completes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "usbemu.h"

#define EP_OUT 0x01
#define EP_IN 0x81
#define MAX_URB_LEN (4u * 1024u * 1024u) /* refuse bigger URBs: bounded memory */
#define USB_SPEED_HIGH_ENUM 3            /* enum usb_device_speed USB_SPEED_HIGH */
#define REQ(x) ((unsigned)(x))

struct urb {
	struct urb *next;
	UMockdevIoctlData *data; /* resolved struct usbdevfs_urb (we hold a ref) */
	unsigned long addr;      /* its address in the client */
	bool in;
	size_t buflen;
	uint8_t *staged; /* OUT: bytes to write; IN: bytes read for the host */
	size_t staged_len, done_len;
	int status;
};

struct fifo {
	struct urb *head, *tail;
};

struct usbemu {
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	struct usbemu_cfg cfg;
	char serial[65];
	char syspath[128], devnode[64];
	unsigned devnum;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t bridge;
	bool bridge_started;
	int wake[2];
	struct fifo in_pending, out_pending, done;
	bool gone, stop, sock_eof;
	uint64_t in_bytes, out_bytes, in_urbs;
	uint64_t zlp_ok, zlp_missing, zlp_spurious; /* OUT URBs and the ZLP rule */
};

/* ---- descriptors --------------------------------------------------------*/

static size_t make_desc(uint8_t *d, uint16_t vid, uint16_t pid, uint8_t cls, uint8_t sub,
			uint8_t proto)
{
	const uint8_t dev[18] = { 18, 1, 0x00, 0x02, 0, 0, 0, 64, vid & 0xff, vid >> 8,
				  pid & 0xff, pid >> 8, 0x00, 0x01, 1, 2, 3, 1 };
	const uint8_t cfg[9] = { 9, 2, 32, 0, 1, 1, 0, 0x80, 50 };
	const uint8_t itf[9] = { 9, 4, 0, 0, 2, cls, sub, proto, 0 };
	const uint8_t out[7] = { 7, 5, EP_OUT, 2, 0x00, 0x02, 0 };
	const uint8_t in[7] = { 7, 5, EP_IN, 2, 0x00, 0x02, 0 };
	size_t n = 0;

	memcpy(d + n, dev, sizeof(dev)), n += sizeof(dev);
	memcpy(d + n, cfg, sizeof(cfg)), n += sizeof(cfg);
	memcpy(d + n, itf, sizeof(itf)), n += sizeof(itf);
	memcpy(d + n, out, sizeof(out)), n += sizeof(out);
	memcpy(d + n, in, sizeof(in)), n += sizeof(in);
	return n;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int add_device(UMockdevTestbed *tb, const char *syspath, unsigned devnum, uint16_t vid,
		      uint16_t pid, uint8_t cls, const char *serial)
{
	uint8_t d[64];
	char h[129], rec[1024];
	size_t n = make_desc(d, vid, pid, cls, cls == 0xff ? 0x42 : 0x06, cls == 0xff ? 0x01 : 0x50);
	GError *err = NULL;

	hex(d, n, h);
	snprintf(rec, sizeof(rec),
		 "P: %s\n"
		 "N: bus/usb/001/%03u=%s\n"
		 "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
		 "E: BUSNUM=001\nE: DEVNUM=%03u\nE: DEVNAME=/dev/bus/usb/001/%03u\n"
		 "A: busnum=1\nA: devnum=%u\nA: speed=480\nA: bConfigurationValue=1\n"
		 "A: idVendor=%04x\nA: idProduct=%04x\nA: serial=%s\n"
		 "H: descriptors=%s\n",
		 syspath + 4 /* without "/sys" */, devnum, h, devnum, devnum, devnum, vid, pid,
		 serial, h);
	if (!umockdev_testbed_add_from_string(tb, rec, &err)) {
		fprintf(stderr, "usbemu: add %s: %s\n", syspath, err ? err->message : "?");
		g_clear_error(&err);
		return -EINVAL;
	}
	return 0;
}

int usbemu_plug_decoys(UMockdevTestbed *tb)
{
	int r = add_device(tb, "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2", 4, 0x1234, 0x5678,
			   0xff, "DECOY-VID");

	if (r == 0)
		r = add_device(tb, "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3", 5, 0x1209, 0x0001,
			       0x08, "DECOY-IFACE");
	return r;
}

int usbemu_plug(struct usbemu *e)
{
	return add_device(e->tb, e->syspath, e->devnum, 0x1209, 0x0001, 0xff, e->serial);
}

/* ---- URB queues ---------------------------------------------------------*/

static void push(struct fifo *f, struct urb *u)
{
	u->next = NULL;
	if (f->tail)
		f->tail->next = u;
	else
		f->head = u;
	f->tail = u;
}

static struct urb *pop(struct fifo *f)
{
	struct urb *u = f->head;

	if (u) {
		f->head = u->next;
		if (!f->head)
			f->tail = NULL;
	}
	return u;
}

static void urb_free(struct urb *u)
{
	if (!u)
		return;
	if (u->data)
		g_object_unref(u->data);
	free(u->staged);
	free(u);
}

static void wake_bridge(struct usbemu *e)
{
	char c = 1;

	if (write(e->wake[1], &c, 1) < 0) {
		/* pipe full: the bridge is awake anyway */
	}
}

/* ---- ioctl handler (umockdev worker thread) -----------------------------*/

static void done_ok(UMockdevIoctlClient *c)
{
	umockdev_ioctl_client_complete(c, 0, 0);
}

static void done_err(UMockdevIoctlClient *c, int err)
{
	umockdev_ioctl_client_complete(c, -1, err);
}

static int put_u32(UMockdevIoctlData *arg, uint32_t v)
{
	UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(v), NULL);

	if (!d)
		return -EFAULT;
	memcpy(d->data, &v, sizeof(v));
	g_object_unref(d);
	return 0;
}

static void ioc_submit(struct usbemu *e, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	UMockdevIoctlData *ud = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
	struct usbdevfs_urb *k;
	struct urb *u;

	if (!ud)
		return done_err(c, EFAULT);
	k = (struct usbdevfs_urb *)ud->data;
	if (k->type != USBDEVFS_URB_TYPE_BULK || (k->endpoint != EP_IN && k->endpoint != EP_OUT) ||
	    k->buffer_length < 0 || (unsigned)k->buffer_length > MAX_URB_LEN) {
		g_object_unref(ud);
		return done_err(c, EINVAL);
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		g_object_unref(ud);
		return done_err(c, ENOMEM);
	}
	u->data = ud; /* our reference */
	u->addr = ud->client_addr;
	u->in = k->endpoint == EP_IN;
	u->buflen = (size_t)k->buffer_length;
	if (!u->in && u->buflen) {
		UMockdevIoctlData *b = umockdev_ioctl_data_resolve(
			ud, offsetof(struct usbdevfs_urb, buffer), u->buflen, NULL);

		u->staged = b ? malloc(u->buflen) : NULL;
		if (!u->staged) {
			if (b)
				g_object_unref(b);
			urb_free(u);
			return done_err(c, b ? ENOMEM : EFAULT);
		}
		memcpy(u->staged, b->data, u->buflen);
		if (u->buflen % 512 == 0)
			*(k->flags & USBDEVFS_URB_ZERO_PACKET ? &e->zlp_ok : &e->zlp_missing) += 1;
		else if (k->flags & USBDEVFS_URB_ZERO_PACKET)
			e->zlp_spurious++;
		u->staged_len = u->buflen;
		g_object_unref(b);
	}
	push(u->in ? &e->in_pending : &e->out_pending, u);
	wake_bridge(e);
	done_ok(c);
}

static void ioc_reap(struct usbemu *e, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	struct urb *u = pop(&e->done);
	struct usbdevfs_urb *k;
	UMockdevIoctlData *ptr;

	if (!u)
		return done_err(c, e->gone ? ENODEV : EAGAIN);
	k = (struct usbdevfs_urb *)u->data->data;
	if (u->in && u->staged_len) {
		UMockdevIoctlData *b = umockdev_ioctl_data_resolve(
			u->data, offsetof(struct usbdevfs_urb, buffer), u->staged_len, NULL);

		if (b) {
			memcpy(b->data, u->staged, u->staged_len);
			g_object_unref(b);
		} else {
			u->status = -EFAULT;
			u->done_len = 0;
		}
	}
	k->status = u->status;
	k->actual_length = (int)u->done_len;
	ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), NULL);
	if (!ptr) {
		urb_free(u);
		return done_err(c, EFAULT);
	}
	umockdev_ioctl_data_set_ptr(ptr, 0, u->data);
	g_object_unref(ptr);
	urb_free(u); /* the reap argument holds its own reference to u->data */
	done_ok(c);
}

/* Take the URB with client address addr out of q; NULL if absent. */
static struct urb *unlink_addr(struct fifo *q, unsigned long addr)
{
	struct urb *prev = NULL;

	for (struct urb *u = q->head; u; prev = u, u = u->next) {
		if (u->addr != addr)
			continue;
		if (prev)
			prev->next = u->next;
		else
			q->head = u->next;
		if (q->tail == u)
			q->tail = prev;
		return u;
	}
	return NULL;
}

static void ioc_discard(struct usbemu *e, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	unsigned long addr;
	struct urb *u;

	memcpy(&addr, arg->data, sizeof(addr));
	u = unlink_addr(&e->in_pending, addr);
	if (!u)
		u = unlink_addr(&e->out_pending, addr);
	if (!u)
		return done_err(c, EINVAL); /* already completed: libusb reaps it */
	u->status = -ENOENT;
	u->done_len = u->in ? 0 : u->done_len;
	u->staged_len = u->in ? 0 : u->staged_len;
	push(&e->done, u);
	done_ok(c);
}

static void ioc_control(UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	UMockdevIoctlData *cd = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ctrltransfer), NULL);
	struct usbdevfs_ctrltransfer *ct;

	if (!cd)
		return done_err(c, EFAULT);
	ct = (struct usbdevfs_ctrltransfer *)cd->data;
	if (ct->bRequestType == 0x80 && ct->bRequest == 0x08 /* GET_CONFIGURATION */ && ct->wLength == 1) {
		UMockdevIoctlData *b = umockdev_ioctl_data_resolve(
			cd, offsetof(struct usbdevfs_ctrltransfer, data), 1, NULL);

		if (b) {
			b->data[0] = 1;
			g_object_unref(b);
			g_object_unref(cd);
			return umockdev_ioctl_client_complete(c, 1, 0);
		}
	}
	g_object_unref(cd);
	done_err(c, EPIPE); /* stall: anything else is not needed by the dock */
}

static gboolean on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer user)
{
	struct usbemu *e = user;
	unsigned req = (unsigned)umockdev_ioctl_client_get_request(c);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);

	pthread_mutex_lock(&e->lock);
	if (e->gone && req != REQ(USBDEVFS_REAPURBNDELAY) && req != REQ(USBDEVFS_REAPURB)) {
		done_err(c, ENODEV);
	} else if (req == REQ(USBDEVFS_GET_CAPABILITIES)) {
		uint32_t caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
				USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_BULK_SCATTER_GATHER |
				USBDEVFS_CAP_REAP_AFTER_DISCONNECT;

		if (put_u32(arg, caps) < 0)
			done_err(c, EFAULT);
		else
			done_ok(c);
	} else if (req == REQ(USBDEVFS_CONNECTINFO)) {
		struct usbdevfs_connectinfo ci = { .devnum = e->devnum, .slow = 0 };
		UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(ci), NULL);

		if (d) {
			memcpy(d->data, &ci, sizeof(ci));
			g_object_unref(d);
			done_ok(c);
		} else {
			done_err(c, EFAULT);
		}
	} else if (req == REQ(USBDEVFS_GET_SPEED)) {
		umockdev_ioctl_client_complete(c, USB_SPEED_HIGH_ENUM, 0);
	} else if (req == REQ(USBDEVFS_CLAIMINTERFACE) ||
		   req == REQ(USBDEVFS_RELEASEINTERFACE) ||
		   req == REQ(USBDEVFS_DISCONNECT_CLAIM) ||
		   req == REQ(USBDEVFS_SETINTERFACE) || req == REQ(USBDEVFS_CLEAR_HALT) ||
		   req == REQ(USBDEVFS_RESETEP) || req == REQ(USBDEVFS_IOCTL)) {
		done_ok(c);
	} else if (req == REQ(USBDEVFS_GETDRIVER)) {
		done_err(c, ENODATA); /* no kernel driver bound */
	} else if (req == REQ(USBDEVFS_SUBMITURB)) {
		ioc_submit(e, c, arg);
	} else if (req == REQ(USBDEVFS_REAPURBNDELAY) || req == REQ(USBDEVFS_REAPURB)) {
		ioc_reap(e, c, arg); /* REAPURB would block: we never do */
	} else if (req == REQ(USBDEVFS_DISCARDURB)) {
		ioc_discard(e, c, arg);
	} else if (req == REQ(USBDEVFS_CONTROL)) {
		ioc_control(c, arg);
	} else {
		fprintf(stderr, "usbemu: unhandled ioctl 0x%x\n", req);
		done_err(c, ENOTTY);
	}
	pthread_mutex_unlock(&e->lock);
	return TRUE;
}

/* ---- bridge thread ------------------------------------------------------*/

/* Under lock: complete the oldest IN URB with what the socket has. */
static void bridge_in(struct usbemu *e)
{
	struct urb *u = e->in_pending.head;
	size_t want = u->buflen;
	ssize_t n;

	if (e->cfg.hold_after && e->in_bytes + want > e->cfg.hold_after)
		want = e->cfg.hold_after - e->in_bytes;
	if (want == 0)
		return;
	u->staged = malloc(want);
	if (!u->staged)
		return;
	n = recv(e->cfg.sock, u->staged, want, MSG_DONTWAIT);
	if (n <= 0) {
		free(u->staged);
		u->staged = NULL;
		if (n == 0)
			e->sock_eof = true; /* camera went quiet; URBs stay pending */
		return;
	}
	u->staged_len = u->done_len = (size_t)n;
	u->status = 0;
	push(&e->done, pop(&e->in_pending));
	e->in_bytes += (uint64_t)n;
	e->in_urbs++;
	pthread_cond_broadcast(&e->cond);
}

/* Under lock: write the oldest OUT URB's bytes; it completes when all went. */
static void bridge_out(struct usbemu *e)
{
	struct urb *u = e->out_pending.head;
	ssize_t n = 0;

	if (u->staged_len > u->done_len)
		n = send(e->cfg.sock, u->staged + u->done_len, u->staged_len - u->done_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return;
	u->done_len += (size_t)n;
	e->out_bytes += (uint64_t)n;
	if (u->done_len == u->staged_len) {
		u->status = 0;
		push(&e->done, pop(&e->out_pending));
	}
}

static bool holding(const struct usbemu *e)
{
	return e->cfg.hold_after && e->in_bytes >= e->cfg.hold_after;
}

static void *bridge_main(void *arg)
{
	struct usbemu *e = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = e->wake[0], .events = POLLIN },
				       { .fd = e->cfg.sock, .events = 0 } };
		char buf[64];

		pthread_mutex_lock(&e->lock);
		if (e->stop) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		if (!e->gone && e->in_pending.head && !e->sock_eof && !holding(e))
			p[1].events |= POLLIN;
		if (!e->gone && e->out_pending.head && !e->cfg.stall_out)
			p[1].events |= POLLOUT;
		pthread_mutex_unlock(&e->lock);
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			if (read(e->wake[0], buf, sizeof(buf)) < 0) {
				/* nothing to drain */
			}
		}
		pthread_mutex_lock(&e->lock);
		if (!e->gone && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && e->in_pending.head &&
		    (p[1].events & POLLIN))
			bridge_in(e);
		if (!e->gone && (p[1].revents & (POLLOUT | POLLERR)) && e->out_pending.head &&
		    (p[1].events & POLLOUT))
			bridge_out(e);
		pthread_mutex_unlock(&e->lock);
	}
	return NULL;
}

/* ---- lifecycle -----------------------------------------------------------*/

int usbemu_start(UMockdevTestbed *tb, const struct usbemu_cfg *cfg, struct usbemu **out)
{
	struct usbemu *e = calloc(1, sizeof(*e));
	GError *err = NULL;

	if (!e)
		return -ENOMEM;
	if (cfg->index >= USBEMU_MAX_CAMERAS) {
		free(e);
		return -EINVAL;
	}
	e->devnum = cfg->index ? 10 + cfg->index : 3;
	if (cfg->index) {
		snprintf(e->syspath, sizeof(e->syspath), "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%u",
			 5 + cfg->index);
		snprintf(e->devnode, sizeof(e->devnode), "/dev/bus/usb/001/%03u", e->devnum);
	} else {
		snprintf(e->syspath, sizeof(e->syspath), "%s", USBEMU_SYSPATH);
		snprintf(e->devnode, sizeof(e->devnode), "%s", USBEMU_DEVNODE);
	}
	e->tb = tb;
	e->cfg = *cfg;
	snprintf(e->serial, sizeof(e->serial), "%s", cfg->serial);
	e->cfg.serial = e->serial;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(e);
		return -errno;
	}
	e->handler = umockdev_ioctl_base_new();
	g_signal_connect(e->handler, "handle-ioctl", G_CALLBACK(on_ioctl), e);
	/* Before the device exists, so the first open after "add" is served. */
	if (!umockdev_testbed_attach_ioctl(tb, e->devnode, e->handler, &err)) {
		fprintf(stderr, "usbemu: attach_ioctl: %s\n", err ? err->message : "?");
		g_clear_error(&err);
		usbemu_stop(e);
		return -EIO;
	}
	if (pthread_create(&e->bridge, NULL, bridge_main, e) != 0) {
		usbemu_stop(e);
		return -EAGAIN;
	}
	e->bridge_started = true;
	*out = e;
	return 0;
}

int usbemu_wait_in_bytes(struct usbemu *e, uint64_t n, int timeout_ms)
{
	struct timespec dl;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&e->lock);
	while (e->in_bytes < n && r == 0)
		r = pthread_cond_timedwait(&e->cond, &e->lock, &dl);
	r = e->in_bytes >= n ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&e->lock);
	return r;
}

void usbemu_unplug(struct usbemu *e)
{
	struct urb *u;

	pthread_mutex_lock(&e->lock);
	e->gone = true;
	/* What was on the wire is lost; every pending URB fails. */
	while ((u = pop(&e->in_pending)) || (u = pop(&e->out_pending))) {
		u->status = -ENODEV;
		u->staged_len = u->in ? 0 : u->staged_len;
		u->done_len = 0;
		push(&e->done, u);
	}
	pthread_mutex_unlock(&e->lock);
	umockdev_testbed_uevent(e->tb, e->syspath, "remove");
	umockdev_testbed_remove_device(e->tb, e->syspath);
}

const char *usbemu_devnode(const struct usbemu *e)
{
	return e->devnode;
}

void usbemu_counts(struct usbemu *e, struct usbemu_counts *c)
{
	pthread_mutex_lock(&e->lock);
	c->in_bytes = e->in_bytes;
	c->out_bytes = e->out_bytes;
	c->in_urbs = e->in_urbs;
	c->zlp_ok = e->zlp_ok;
	c->zlp_missing = e->zlp_missing;
	c->zlp_spurious = e->zlp_spurious;
	pthread_mutex_unlock(&e->lock);
}

void usbemu_stop(struct usbemu *e)
{
	struct urb *u;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_mutex_unlock(&e->lock);
	if (e->bridge_started) {
		wake_bridge(e);
		pthread_join(e->bridge, NULL);
	}
	if (e->handler) {
		umockdev_testbed_detach_ioctl(e->tb, e->devnode, NULL);
		g_object_unref(e->handler);
	}
	while ((u = pop(&e->in_pending)) || (u = pop(&e->out_pending)) || (u = pop(&e->done)))
		urb_free(u);
	close(e->wake[0]);
	close(e->wake[1]);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
