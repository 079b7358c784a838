/* test_usb_desc.c - which USB devices/interfaces the dock accepts:
 * hotplug_descriptors_have_iface() on raw (hostile) descriptor bytes and
 * transport_usb_find_iface() on parsed libusb descriptors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hotplug.h"
#include "transport_usb.h"

/* device + config + interface + 2 endpoints, as in sysfs "descriptors" */
static size_t camera_desc(uint8_t *d, uint8_t cls, uint8_t sub, uint8_t proto, uint8_t neps)
{
	static const uint8_t dev[18] = { 18, 1, 0, 2, 0, 0, 0, 64, 0x09, 0x12, 0x01, 0, 0, 1, 1, 2, 3, 1 };
	static const uint8_t cfg[9] = { 9, 2, 32, 0, 1, 1, 0, 0x80, 50 };
	static const uint8_t eps[14] = { 7, 5, 0x01, 2, 0, 2, 0, 7, 5, 0x81, 2, 0, 2, 0 };
	const uint8_t itf[9] = { 9, 4, 0, 0, neps, cls, sub, proto, 0 };

	memcpy(d, dev, 18);
	memcpy(d + 18, cfg, 9);
	memcpy(d + 27, itf, 9);
	memcpy(d + 36, eps, 14);
	return 50;
}

static void raw_accepts_camera(void **state)
{
	uint8_t d[64];
	size_t n = camera_desc(d, 0xff, 0x42, 0x01, 2);

	assert_true(hotplug_descriptors_have_iface(d, n));
	/* endpoints cut off: the interface descriptor itself is whole */
	assert_true(hotplug_descriptors_have_iface(d, 36));
}

static void raw_rejects_others(void **state)
{
	uint8_t d[64];

	assert_false(hotplug_descriptors_have_iface(d, camera_desc(d, 0x08, 0x06, 0x50, 2)));
	assert_false(hotplug_descriptors_have_iface(d, camera_desc(d, 0xff, 0x43, 0x01, 2)));
	assert_false(hotplug_descriptors_have_iface(d, camera_desc(d, 0xff, 0x42, 0x02, 2)));
	assert_false(hotplug_descriptors_have_iface(d, camera_desc(d, 0xff, 0x42, 0x01, 3)));
	assert_false(hotplug_descriptors_have_iface(d, 0));
	camera_desc(d, 0xff, 0x42, 0x01, 2);
	assert_false(hotplug_descriptors_have_iface(d, 35)); /* interface truncated */
}

static void raw_malformed_lengths(void **state)
{
	uint8_t d[64];
	size_t n = camera_desc(d, 0xff, 0x42, 0x01, 2);

	d[18] = 0; /* bLength 0 would loop forever if trusted */
	assert_false(hotplug_descriptors_have_iface(d, n));
	n = camera_desc(d, 0xff, 0x42, 0x01, 2);
	d[18] = 200; /* runs past the end */
	assert_false(hotplug_descriptors_have_iface(d, n));
	n = camera_desc(d, 0xff, 0x42, 0x01, 2);
	d[27] = 5; /* an "interface" too short to hold class fields */
	assert_false(hotplug_descriptors_have_iface(d, n));
	d[0] = 1;
	assert_false(hotplug_descriptors_have_iface(d, 1));
}

/* ---- transport_usb_find_iface ------------------------------------------*/

static struct libusb_endpoint_descriptor ep(uint8_t addr, uint8_t type, uint16_t mps)
{
	struct libusb_endpoint_descriptor e = { .bLength = 7, .bDescriptorType = 5,
						.bEndpointAddress = addr, .bmAttributes = type,
						.wMaxPacketSize = mps };
	return e;
}

struct fixture {
	struct libusb_endpoint_descriptor eps[3];
	struct libusb_interface_descriptor alts[2];
	struct libusb_interface itf;
	struct libusb_config_descriptor cfg;
};

static void build(struct fixture *f, uint8_t neps)
{
	memset(f, 0, sizeof(*f));
	f->eps[0] = ep(0x02, LIBUSB_TRANSFER_TYPE_BULK, 512);
	f->eps[1] = ep(0x83, LIBUSB_TRANSFER_TYPE_BULK, 512);
	f->eps[2] = ep(0x84, LIBUSB_TRANSFER_TYPE_INTERRUPT, 8);
	f->alts[0] = (struct libusb_interface_descriptor){
		.bInterfaceNumber = 2, .bNumEndpoints = neps, .bInterfaceClass = 0xff,
		.bInterfaceSubClass = 0x42, .bInterfaceProtocol = 0x01, .endpoint = f->eps };
	f->itf.altsetting = f->alts;
	f->itf.num_altsetting = 1;
	f->cfg.bNumInterfaces = 1;
	f->cfg.interface = &f->itf;
}

static void find_accepts_camera(void **state)
{
	struct fixture f;
	struct tusb_iface got;

	build(&f, 2);
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), 0);
	assert_int_equal(got.number, 2);
	assert_int_equal(got.ep_out, 0x02);
	assert_int_equal(got.ep_in, 0x83);
	assert_int_equal(got.in_maxpacket, 512);
	assert_int_equal(got.out_maxpacket, 512);
}

static void find_rejects(void **state)
{
	struct fixture f;
	struct tusb_iface got = { .number = 77 };

	build(&f, 3); /* an extra interrupt endpoint */
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	build(&f, 1);
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	build(&f, 2);
	f.eps[1] = ep(0x03, LIBUSB_TRANSFER_TYPE_BULK, 512); /* two OUT */
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	build(&f, 2);
	f.eps[0].bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT;
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	build(&f, 2);
	f.eps[0].wMaxPacketSize = 0;
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	build(&f, 2);
	f.alts[0].bInterfaceSubClass = 0x00;
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), -ENOENT);
	assert_int_equal(transport_usb_find_iface(NULL, &got), -ENOENT);
	assert_int_equal(got.number, 77); /* untouched on failure */
}

static void find_uses_matching_altsetting(void **state)
{
	struct fixture f;
	struct tusb_iface got;

	build(&f, 2);
	f.alts[1] = f.alts[0];
	f.alts[1].bAlternateSetting = 1;
	f.alts[0].bInterfaceClass = 0x08;
	f.itf.num_altsetting = 2;
	assert_int_equal(transport_usb_find_iface(&f.cfg, &got), 0);
	assert_int_equal(got.altsetting, 1);
}

static void errno_mapping(void **state)
{
	assert_int_equal(transport_usb_errno(LIBUSB_ERROR_NO_DEVICE), -ENODEV);
	assert_int_equal(transport_usb_errno(LIBUSB_ERROR_TIMEOUT), -ETIMEDOUT);
	assert_int_equal(transport_usb_errno(LIBUSB_ERROR_PIPE), -EIO);
	assert_int_equal(transport_usb_errno(LIBUSB_ERROR_BUSY), -EBUSY);
	assert_int_equal(transport_usb_errno(LIBUSB_SUCCESS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_accepts_camera),
		cmocka_unit_test(raw_rejects_others),
		cmocka_unit_test(raw_malformed_lengths),
		cmocka_unit_test(find_accepts_camera),
		cmocka_unit_test(find_rejects),
		cmocka_unit_test(find_uses_matching_altsetting),
		cmocka_unit_test(errno_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
