/* transport_usb.h - the camera link over USB bulk endpoints (libusb-1.0).
 *
 * The camera exposes one vendor-specific interface:
 *
 *   bInterfaceClass 0xFF, bInterfaceSubClass 0x42, bInterfaceProtocol 0x01
 *   exactly two endpoints: one bulk OUT (dock -> camera), one bulk IN
 *
 * Mapping of the byte stream (docs/protocol.md, section 11 "USB mapping"):
 *
 *   send  one call = one protocol frame = one bulk OUT transfer. When the
 *         length is a multiple of the OUT endpoint's wMaxPacketSize the
 *         transfer ends with a zero-length packet, so the camera always sees
 *         the frame end. timeout_ms bounds the whole transfer.
 *   recv  TUSB_IN_FLIGHT bulk IN transfers of TUSB_IN_BUF bytes each are
 *         always queued, so the camera never waits for the host to ask.
 *         Their bytes are handed out in order, as a stream; a buffer is
 *         resubmitted as soon as the caller has taken all of it. A recv
 *         timeout does NOT cancel anything (cancelling an IN transfer can
 *         lose bytes already on the wire); the transfers stay queued.
 *
 * timeout_ms < 0 waits forever, 0 polls (like transport_sock.h).
 *
 * Errors follow transport.h. Unplug (libusb NO_DEVICE, URB status -ENODEV
 * or -ESHUTDOWN) gives -ENODEV, after every byte received before it was
 * handed out; from then on every send/recv returns -ENODEV at once.
 * Other failures (stall, overflow, a send that timed out half-way, so frame
 * boundaries are lost) give -EIO and are sticky too.
 *
 * libusb contexts: transport_usb_open_devnode() creates a private context
 * per transport, destroyed by transport_close(). A transport is used by one
 * thread, so each camera's events are handled by its own thread without
 * contention. transport_usb_open_device() uses the caller's context, which
 * must outlive the transport.
 *
 * Memory: TUSB_IN_FLIGHT * TUSB_IN_BUF (about 4 MiB) plus the struct, per
 * transport; nothing grows.
 */
#ifndef DOCK_TRANSPORT_USB_H
#define DOCK_TRANSPORT_USB_H

#include <libusb.h>
#include <stdint.h>

#include "transport.h"
#include "wire.h"

#define TUSB_IFACE_CLASS 0xFF
#define TUSB_IFACE_SUBCLASS 0x42
#define TUSB_IFACE_PROTOCOL 0x01

#define TUSB_IN_FLIGHT 4
/* One maximal frame, rounded up to a multiple of 1024 so the buffer is a
 * whole number of packets at every speed (64, 512, 1024 byte packets): a
 * device can then never overflow it in the middle of a packet. */
#define TUSB_IN_BUF (((PROTO_MAX_FRAME) + 1023u) & ~1023u)

/* What transport_usb_find_iface() found. */
struct tusb_iface {
	uint8_t number;      /* bInterfaceNumber */
	uint8_t altsetting;  /* bAlternateSetting */
	uint8_t ep_in;       /* bEndpointAddress, bit 7 set */
	uint8_t ep_out;      /* bEndpointAddress, bit 7 clear */
	uint16_t in_maxpacket;
	uint16_t out_maxpacket;
};

/* Find the vendor interface in a configuration descriptor: the first
 * altsetting with class/subclass/protocol above and exactly one bulk IN and
 * one bulk OUT endpoint (and no other endpoint). 0, or -ENOENT. */
int transport_usb_find_iface(const struct libusb_config_descriptor *cfg, struct tusb_iface *out);

/* Open the camera at a usbfs device node (e.g. udev's DEVNAME,
 * "/dev/bus/usb/001/003"): open(2) it and hand the fd to
 * libusb_wrap_sys_device(), so there is no race with libusb's own device
 * enumeration. Claims the vendor interface (detaching a kernel driver if one
 * is bound). -ENOENT when the device has no vendor interface, -ENODEV when it
 * is gone, -EACCES/-EPERM from open(2), -EBUSY when claimed elsewhere. */
int transport_usb_open_devnode(const char *devnode, struct transport **out);

/* Same for a device from the caller's libusb context ctx. */
int transport_usb_open_device(libusb_context *ctx, libusb_device *dev, struct transport **out);

/* libusb error code -> -errno (LIBUSB_ERROR_NO_DEVICE -> -ENODEV, ...). */
int transport_usb_errno(int libusb_err);

#endif
