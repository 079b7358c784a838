/* usbemu.h - an emulated camera USB device for umockdev testbeds.
 *
 * The device is what a real camera looks like to the dock: VID:PID
 * 1209:0001, serial string, one vendor interface (0xFF/0x42/0x01) with bulk
 * OUT 0x01 and bulk IN 0x81 (512-byte packets, high speed). Its usbfs
 * ioctls are served on umockdev's worker thread; a bridge thread moves the
 * bytes of bulk URBs to and from a stream socket whose other end speaks
 * the camera side of the protocol (camsim, or an echo loop):
 *
 *   bulk OUT URB bytes    -> written to the socket, URB completes when written
 *   bytes read from socket -> the oldest pending bulk IN URB completes with them
 *
 * usbemu_unplug() emulates a yank: pending URBs complete with -ENODEV,
 * later ioctls fail with ENODEV, and udev sees "remove".
 */
#ifndef USBEMU_H
#define USBEMU_H

#include <stdbool.h>
#include <stdint.h>
#include <umockdev.h>

/* Camera 0's place on the bus; camera i > 0 sits at port 1-(5+i), device
 * number 10+i (the decoys take 1-2 and 1-3). */
#define USBEMU_SYSPATH "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
#define USBEMU_DEVNODE "/dev/bus/usb/001/003"
#define USBEMU_MAX_CAMERAS 16

struct usbemu;

struct usbemu_cfg {
	int sock;             /* camera end of the stream; owned by the caller */
	const char *serial;   /* iSerialNumber / sysfs serial */
	uint64_t hold_after;  /* stop completing IN URBs after this many bytes (0: never) */
	bool stall_out;       /* never complete bulk OUT URBs (camera stops reading) */
	unsigned index;       /* 0..USBEMU_MAX_CAMERAS-1: place on the bus (see above) */
};

/* Attach the ioctl handler and start the bridge thread. The device is not
 * visible until usbemu_plug(). */
int usbemu_start(UMockdevTestbed *tb, const struct usbemu_cfg *cfg, struct usbemu **out);

/* Add the device to the testbed (udev "add"). */
int usbemu_plug(struct usbemu *e);

/* Add two devices the dock must ignore (no ioctl emulation): the vendor
 * interface under a foreign VID:PID (serial "DECOY-VID"), and the test
 * VID:PID with only a mass-storage interface (serial "DECOY-IFACE"). */
int usbemu_plug_decoys(UMockdevTestbed *tb);

/* Wait until at least n bytes went to the host through bulk IN, or
 * timeout_ms passed. 0 or -ETIMEDOUT. */
int usbemu_wait_in_bytes(struct usbemu *e, uint64_t n, int timeout_ms);

/* Yank the cable (see above). */
void usbemu_unplug(struct usbemu *e);

/* The device node this emulation serves ("/dev/bus/usb/001/NNN"). */
const char *usbemu_devnode(const struct usbemu *e);

struct usbemu_counts {
	uint64_t in_bytes, out_bytes, in_urbs;
	/* bulk OUT URBs whose length is a multiple of 512 with / without the
	 * ZERO_PACKET flag, and other URBs carrying it needlessly */
	uint64_t zlp_ok, zlp_missing, zlp_spurious;
};

/* What moved so far. */
void usbemu_counts(struct usbemu *e, struct usbemu_counts *c);

/* Stop the bridge thread and free everything (the testbed stays). */
void usbemu_stop(struct usbemu *e);

#endif
