/* hotplug.h - notice supported cameras arriving and leaving (libudev).
 *
 * One hotplug handle = one udev monitor (subsystem "usb", devtype
 * "usb_device") plus a table of the cameras currently present. Usage:
 *
 *   struct hotplug *h;
 *   hotplug_open(NULL, &h);            // default match, see below
 *   // now tell whoever plugs devices that we are listening
 *   for (;;) {
 *       while (hotplug_next(h, &ev) == 0)  // drains; then -EAGAIN
 *           ev.action == HOTPLUG_ADD ? start(ev.devnode, ev.serial) : stop(ev.serial);
 *       poll({hotplug_fd(h), POLLIN}) ...
 *   }
 *   hotplug_close(h);
 *
 * Drain BEFORE the first poll: the cameras found by hotplug_open's listing
 * are queued in the handle, and nothing makes the fd readable for them.
 *
 * Ordering: hotplug_open() enables the monitor FIRST and only then lists the
 * cameras already present, so a camera plugged in between is never missed;
 * the table suppresses the duplicate "add". Cameras found by the listing
 * come out of hotplug_next() first, as HOTPLUG_ADD events.
 *
 * A device is supported when ALL of these hold (deny by default):
 *   - its idVendor:idProduct is in match->ids;
 *   - its descriptors contain the vendor interface (class 0xFF, subclass
 *     0x42, protocol 0x01 - see transport_usb.h);
 *   - its serial string is a valid protocol id ([A-Za-z0-9._:-], 1..64):
 *     cameras are identified by serial, never by bus/address, which the
 *     kernel reuses.
 * A "remove" is reported only for a device an "add" was reported for (sysfs
 * attributes are gone by then; the table remembers them).
 *
 * Lost events: the netlink receive buffer is raised to HOTPLUG_RCVBUF; if
 * the kernel still drops events (ENOBUFS), the handle re-lists present
 * devices and synthesises the adds and removes it missed.
 *
 * Errors: 0 or -errno. Not thread-safe; one thread per handle.
 */
#ifndef DOCK_HOTPLUG_H
#define DOCK_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define HOTPLUG_MAX_DEVICES 32 /* cameras present at once per handle */
#define HOTPLUG_MAX_IDS 16
#define HOTPLUG_RCVBUF (4 * 1024 * 1024)

/* pid.codes test VID:PID, the default supported id until config says more. */
#define HOTPLUG_TEST_VID 0x1209
#define HOTPLUG_TEST_PID 0x0001

struct hotplug_id {
	uint16_t vid, pid;
};

struct hotplug_match {
	struct hotplug_id ids[HOTPLUG_MAX_IDS];
	size_t n_ids; /* 0 matches nothing */
};

enum hotplug_action { HOTPLUG_ADD = 1, HOTPLUG_REMOVE = 2 };

struct hotplug_event {
	enum hotplug_action action;
	char devnode[128];  /* "/dev/bus/usb/001/003"; for transport_usb_open_devnode */
	char syspath[256];  /* "/sys/devices/..." */
	char serial[PROTO_ID_MAX + 1];
	uint16_t vid, pid;
};

struct hotplug;

/* Start listening, then list present devices. match NULL = the test id
 * only. -ENOMEM, or -errno from libudev. */
int hotplug_open(const struct hotplug_match *match, struct hotplug **out);

/* The fd to poll() for POLLIN. Stays the same for the handle's lifetime. */
int hotplug_fd(const struct hotplug *h);

/* Next event, without blocking: 0 and *ev filled, or -EAGAIN when nothing
 * is pending. Unsupported devices are skipped silently. */
int hotplug_next(struct hotplug *h, struct hotplug_event *ev);

void hotplug_close(struct hotplug *h);

/* true when raw USB descriptors (device descriptor followed by
 * configuration descriptors, the sysfs "descriptors" file) contain the
 * vendor interface. Bounded parse of untrusted bytes; exposed for tests. */
bool hotplug_descriptors_have_iface(const uint8_t *d, size_t len);

#endif
