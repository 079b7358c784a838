/* hotplug.c - libudev monitor + listing of supported cameras; see hotplug.h. */
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotplug.h"

#define DESC_MAX 16384        /* bytes of sysfs "descriptors" we look at */
#define RECV_TRIES 64         /* monitor messages examined per hotplug_next */
#define PENDING_MAX (2 * HOTPLUG_MAX_DEVICES)

/* Vendor interface; kept equal to transport_usb.h's TUSB_IFACE_* (not
 * included: hotplug must not pull in libusb). */
#define IFACE_CLASS 0xFF
#define IFACE_SUBCLASS 0x42
#define IFACE_PROTOCOL 0x01

struct hp_dev {
	bool used, seen;
	struct hotplug_event info; /* as reported in the "add" */
};

struct hotplug {
	struct udev *udev;
	struct udev_monitor *mon;
	struct hotplug_match match;
	struct hp_dev devs[HOTPLUG_MAX_DEVICES];
	struct hotplug_event pending[PENDING_MAX]; /* ring */
	size_t p_head, p_n;
};

bool hotplug_descriptors_have_iface(const uint8_t *d, size_t len)
{
	size_t off = 0;

	while (len - off >= 2) {
		uint8_t blen = d[off], type = d[off + 1];

		if (blen < 2 || blen > len - off)
			return false; /* malformed: stop, deny */
		if (type == 4 /* INTERFACE */ && blen >= 9 && d[off + 4] == 2 &&
		    d[off + 5] == IFACE_CLASS && d[off + 6] == IFACE_SUBCLASS &&
		    d[off + 7] == IFACE_PROTOCOL)
			return true;
		off += blen;
	}
	return false;
}

/* "1209" -> 0x1209; exactly 4 hex digits (sysfs may append a newline). */
static int parse_id(const char *s, uint16_t *out)
{
	unsigned v = 0;

	if (!s)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned x;

		if (c >= '0' && c <= '9')
			x = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v * 16 + x;
	}
	if (s[4] != '\0' && s[4] != '\n')
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static bool id_listed(const struct hotplug_match *m, uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; i < m->n_ids && i < HOTPLUG_MAX_IDS; i++)
		if (m->ids[i].vid == vid && m->ids[i].pid == pid)
			return true;
	return false;
}

/* Binary sysfs attribute: libudev's sysattr API stops at the first NUL. */
static bool has_vendor_iface(const char *syspath)
{
	char path[512];
	uint8_t *buf;
	size_t len = 0;
	bool found = false;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/descriptors", syspath) >= sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf = malloc(DESC_MAX);
	if (buf) {
		ssize_t n;

		while (len < DESC_MAX && (n = read(fd, buf + len, DESC_MAX - len)) > 0)
			len += (size_t)n;
		found = hotplug_descriptors_have_iface(buf, len);
		free(buf);
	}
	close(fd);
	return found;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Fill *ev for a supported camera; -ENOENT for anything else. */
static int examine(const struct hotplug *h, struct udev_device *d, struct hotplug_event *ev)
{
	struct hotplug_event e = { .action = HOTPLUG_ADD };
	const char *devtype = udev_device_get_devtype(d);
	const char *serial = udev_device_get_sysattr_value(d, "serial");
	char sn[PROTO_ID_MAX + 2];
	size_t n;

	if (!devtype || strcmp(devtype, "usb_device") != 0)
		return -ENOENT;
	if (parse_id(udev_device_get_sysattr_value(d, "idVendor"), &e.vid) < 0 ||
	    parse_id(udev_device_get_sysattr_value(d, "idProduct"), &e.pid) < 0 ||
	    !id_listed(&h->match, e.vid, e.pid))
		return -ENOENT;
	if (copy_str(e.devnode, sizeof(e.devnode), udev_device_get_devnode(d)) < 0 ||
	    copy_str(e.syspath, sizeof(e.syspath), udev_device_get_syspath(d)) < 0)
		return -ENOENT;
	if (copy_str(sn, sizeof(sn), serial) < 0)
		return -ENOENT;
	n = strlen(sn);
	if (n && sn[n - 1] == '\n') /* umockdev keeps the newline of sysfs text */
		sn[n - 1] = '\0';
	if (!proto_id_valid(sn))
		return -ENOENT;
	memcpy(e.serial, sn, strlen(sn) + 1);
	if (!has_vendor_iface(e.syspath))
		return -ENOENT;
	*ev = e;
	return 0;
}

static struct hp_dev *find_dev(struct hotplug *h, const char *syspath)
{
	for (int i = 0; i < HOTPLUG_MAX_DEVICES; i++)
		if (h->devs[i].used && strcmp(h->devs[i].info.syspath, syspath) == 0)
			return &h->devs[i];
	return NULL;
}

static struct hp_dev *add_dev(struct hotplug *h, const struct hotplug_event *ev)
{
	for (int i = 0; i < HOTPLUG_MAX_DEVICES; i++) {
		if (!h->devs[i].used) {
			h->devs[i].used = true;
			h->devs[i].seen = true;
			h->devs[i].info = *ev;
			return &h->devs[i];
		}
	}
	fprintf(stderr, "hotplug: more than %d cameras; ignoring %s\n", HOTPLUG_MAX_DEVICES,
		ev->serial);
	return NULL;
}

static void push(struct hotplug *h, const struct hotplug_event *ev)
{
	if (h->p_n == PENDING_MAX)
		return; /* cannot happen: at most one add or remove per slot */
	h->pending[(h->p_head + h->p_n) % PENDING_MAX] = *ev;
	h->p_n++;
}

/* List present devices; queue adds for new cameras and removes for known
 * ones that are gone (after lost events). */
static int resync(struct hotplug *h)
{
	struct udev_enumerate *en = udev_enumerate_new(h->udev);
	struct udev_list_entry *le;
	int r;

	if (!en)
		return -ENOMEM;
	r = udev_enumerate_add_match_subsystem(en, "usb");
	if (r >= 0)
		r = udev_enumerate_add_match_property(en, "DEVTYPE", "usb_device");
	if (r >= 0)
		r = udev_enumerate_scan_devices(en);
	if (r < 0)
		goto out;
	for (int i = 0; i < HOTPLUG_MAX_DEVICES; i++)
		h->devs[i].seen = false;
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		struct udev_device *d = udev_device_new_from_syspath(h->udev, udev_list_entry_get_name(le));
		struct hotplug_event ev;
		struct hp_dev *known;

		if (!d)
			continue;
		if (examine(h, d, &ev) == 0) {
			known = find_dev(h, ev.syspath);
			if (known)
				known->seen = true;
			else if (add_dev(h, &ev))
				push(h, &ev);
		}
		udev_device_unref(d);
	}
	for (int i = 0; i < HOTPLUG_MAX_DEVICES; i++) {
		if (h->devs[i].used && !h->devs[i].seen) {
			h->devs[i].info.action = HOTPLUG_REMOVE;
			push(h, &h->devs[i].info);
			h->devs[i].used = false;
		}
	}
	r = 0;
out:
	udev_enumerate_unref(en);
	return r;
}

int hotplug_open(const struct hotplug_match *match, struct hotplug **out)
{
	struct hotplug *h = calloc(1, sizeof(*h));
	int r = -ENOMEM;

	if (!h)
		return -ENOMEM;
	if (match) {
		h->match = *match;
	} else {
		h->match.ids[0] = (struct hotplug_id){ HOTPLUG_TEST_VID, HOTPLUG_TEST_PID };
		h->match.n_ids = 1;
	}
	h->udev = udev_new();
	if (!h->udev)
		goto fail;
	h->mon = udev_monitor_new_from_netlink(h->udev, "udev");
	if (!h->mon)
		goto fail;
	/* Best effort: without the privilege to raise it we resync on ENOBUFS. */
	(void)udev_monitor_set_receive_buffer_size(h->mon, HOTPLUG_RCVBUF);
	r = udev_monitor_filter_add_match_subsystem_devtype(h->mon, "usb", "usb_device");
	if (r >= 0)
		r = udev_monitor_enable_receiving(h->mon);
	if (r < 0)
		goto fail;
	/* Listing only after the monitor is live: nothing falls in between. */
	r = resync(h);
	if (r < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	hotplug_close(h);
	return r < 0 ? r : -ENOMEM;
}

int hotplug_fd(const struct hotplug *h)
{
	return udev_monitor_get_fd(h->mon);
}

/* One monitor message: 0 and *ev when it is reportable, -ENOENT if not. */
static int on_uevent(struct hotplug *h, struct udev_device *d, struct hotplug_event *ev)
{
	const char *action = udev_device_get_action(d);
	const char *syspath = udev_device_get_syspath(d);
	struct hp_dev *known = syspath ? find_dev(h, syspath) : NULL;

	if (!action)
		return -ENOENT;
	if (strcmp(action, "add") == 0) {
		if (known || examine(h, d, ev) < 0 || !add_dev(h, ev))
			return -ENOENT; /* duplicate, unsupported or table full */
		return 0;
	}
	if (strcmp(action, "remove") == 0 && known) {
		*ev = known->info;
		ev->action = HOTPLUG_REMOVE;
		known->used = false;
		return 0;
	}
	return -ENOENT;
}

int hotplug_next(struct hotplug *h, struct hotplug_event *ev)
{
	for (int tries = 0; tries < RECV_TRIES; tries++) {
		struct udev_device *d;
		struct hotplug_event tmp;
		int r;

		if (h->p_n) {
			*ev = h->pending[h->p_head];
			h->p_head = (h->p_head + 1) % PENDING_MAX;
			h->p_n--;
			return 0;
		}
		errno = 0;
		d = udev_monitor_receive_device(h->mon);
		if (!d) {
			if (errno == ENOBUFS) {
				fprintf(stderr, "hotplug: uevents lost; re-listing devices\n");
				(void)resync(h);
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			continue; /* malformed message: skip it */
		}
		r = on_uevent(h, d, &tmp);
		udev_device_unref(d);
		if (r == 0) {
			*ev = tmp;
			return 0;
		}
	}
	return -EAGAIN; /* more may be pending; poll says so */
}

void hotplug_close(struct hotplug *h)
{
	if (!h)
		return;
	if (h->mon)
		udev_monitor_unref(h->mon);
	if (h->udev)
		udev_unref(h->udev);
	free(h);
}
