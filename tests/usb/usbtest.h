/* usbtest.h - the usb_harness binary's roles (one binary, three modes).
 *
 *   usb_harness harness ...  emulates the camera's USB device (umockdev) and
 *                            runs the dock-side client as a child
 *   usb_harness client ...   the dock side: hotplug + transport_usb + session,
 *                            i.e. unmodified library code
 *   usb_harness keys DIR     test agency key, dock key and dock certificate
 *
 * Both harness and client must run under umockdev-wrapper (LD_PRELOAD).
 */
#ifndef USBTEST_H
#define USBTEST_H

/* Exit codes shared by harness and client. */
#define UT_OK 0
#define UT_FAIL 1
#define UT_DETACH 3   /* client: the transport reported -ENODEV */
#define UT_SETUP 98   /* harness could not set up the testbed */
#define UT_HANG 99    /* harness: the client did not finish in time */

/* Environment variable naming the fd the client writes one byte to once its
 * udev monitor is live. */
#define UT_READY_ENV "USB_HARNESS_READY_FD"

int harness_main(int argc, char **argv);
int client_main(int argc, char **argv);
int keys_main(int argc, char **argv);
/* emulated USB mass-storage devices around a client (mscplug.c) */
int msc_main(int argc, char **argv);

#endif
