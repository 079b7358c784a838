/* client.c - the dock side under test, and test key material.
 *
 *   usb_harness client echo [--rounds N] [--via libusb]
 *       raw transport check against `harness --echo`: frames of awkward
 *       sizes (1, 511, 512 -> ZLP, 1 MiB ...) come back byte-identical; a
 *       recv timeout leaves the stream usable; prints BENCH usb_echo_MBps.
 *   usb_harness client stall
 *       against `harness --stall-out`: a send that the camera never takes
 *       gives -ETIMEDOUT within its timeout; close() still returns.
 *   usb_harness client pull --keys DIR --cam-pub FILE --rec ID --out FILE
 *       authenticate, list, pull_to_file(); prints BENCH usb_pull_MBps.
 *
 * Both first wait for the camera's udev "add" via protocol/hotplug (every
 * add is printed as "ADD serial=..."), then open it with
 * transport_usb_open_devnode() (or, with --via libusb, from libusb's device
 * list with transport_usb_open_device()). A detach anywhere (-ENODEV) prints
 * "DETACH", waits for hotplug's "REMOVE serial=..." and exits UT_DETACH.
 *
 *   usb_harness keys DIR
 *       DIR/agency.pub, DIR/dock.key, DIR/dock.cert (fresh keys).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dockcert.h"
#include "edsig.h"
#include "hotplug.h"
#include "pull.h"
#include "session.h"
#include "transport_usb.h"
#include "usbtest.h"

#define WAIT_MS 20000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Tell the harness our monitor is live. */
static void signal_ready(void)
{
	const char *s = getenv(UT_READY_ENV);
	int fd = s ? atoi(s) : -1;

	if (fd >= 0) {
		if (write(fd, "R", 1) != 1)
			perror("client: ready pipe");
		close(fd);
	}
}

/* Next hotplug event of the wanted kind within timeout_ms. */
static int wait_event(struct hotplug *h, enum hotplug_action want, struct hotplug_event *ev,
		      int timeout_ms)
{
	double end = now_s() + timeout_ms / 1000.0;

	for (;;) {
		struct pollfd p = { .fd = hotplug_fd(h), .events = POLLIN };
		struct hotplug_event e;
		int left = (int)((end - now_s()) * 1000);

		while (hotplug_next(h, &e) == 0) {
			printf("%s serial=%s vid=%04x pid=%04x devnode=%s\n",
			       e.action == HOTPLUG_ADD ? "ADD" : "REMOVE", e.serial, e.vid, e.pid,
			       e.devnode);
			fflush(stdout);
			if (e.action == want) {
				*ev = e;
				return 0;
			}
		}
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

static int detached(struct hotplug *h)
{
	struct hotplug_event ev;

	printf("DETACH\n");
	fflush(stdout);
	if (wait_event(h, HOTPLUG_REMOVE, &ev, WAIT_MS) < 0)
		printf("no REMOVE event\n");
	return UT_DETACH;
}

/* transport_usb_open_device() path: find the device in a libusb context
 * by the bus/address in its devnode. libusb's own device list may lag
 * behind udev's "add" (see docs/protocol.md, section 11 "USB mapping"), hence the retries. */
static libusb_context *g_ctx;

static int open_via_libusb(const char *devnode, struct transport **t)
{
	unsigned bus, addr;
	int r = -ENODEV;

	if (sscanf(devnode, "/dev/bus/usb/%u/%u", &bus, &addr) != 2)
		return -EINVAL;
	if (libusb_init(&g_ctx) < 0)
		return -EIO;
	for (int tries = 0; tries < 200 && r == -ENODEV; tries++) {
		libusb_device **list;
		ssize_t n = libusb_get_device_list(g_ctx, &list);

		for (ssize_t i = 0; i < n; i++)
			if (libusb_get_bus_number(list[i]) == bus &&
			    libusb_get_device_address(list[i]) == addr)
				r = transport_usb_open_device(g_ctx, list[i], t);
		if (n >= 0)
			libusb_free_device_list(list, 1);
		if (r == -ENODEV)
			usleep(10000);
	}
	return r;
}

static int open_camera(struct hotplug **h, struct transport **t, bool via_libusb)
{
	struct hotplug_event ev;
	int r = hotplug_open(NULL, h);

	if (r < 0) {
		fprintf(stderr, "client: hotplug_open: %s\n", strerror(-r));
		return r;
	}
	signal_ready();
	r = wait_event(*h, HOTPLUG_ADD, &ev, WAIT_MS);
	if (r < 0) {
		fprintf(stderr, "client: no camera: %s\n", strerror(-r));
		return r;
	}
	r = via_libusb ? open_via_libusb(ev.devnode, t) : transport_usb_open_devnode(ev.devnode, t);
	if (r < 0)
		fprintf(stderr, "client: open %s: %s\n", ev.devnode, strerror(-r));
	return r;
}

/* ---- echo ----------------------------------------------------------------*/

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
}

static int echo_one(struct transport *t, uint8_t *tx, uint8_t *rx, size_t n, unsigned seed)
{
	int r;

	fill(tx, n, seed);
	r = transport_send(t, tx, n, 5000);
	if (r == 0)
		r = transport_recv_exact(t, rx, n, 5000);
	if (r == 0 && memcmp(tx, rx, n) != 0) {
		fprintf(stderr, "client: echo of %zu bytes differs\n", n);
		return -EBADMSG;
	}
	return r;
}

/* recv with timeout 0 never blocks but must still collect completed
 * transfers: poll until the echo of one small frame is back. */
static int zero_timeout_poll(struct transport *t, uint8_t *tx, uint8_t *rx)
{
	size_t have = 0, got;
	double end = now_s() + 10;
	int r;

	fill(tx, 300, 7);
	r = transport_send(t, tx, 300, 5000);
	while (r == 0 && have < 300) {
		r = transport_recv(t, rx + have, 300 - have, &got, 0);
		if (r == 0)
			have += got;
		else if (r == -ETIMEDOUT && now_s() < end)
			r = 0;
	}
	return r == 0 && memcmp(tx, rx, 300) != 0 ? -EBADMSG : r;
}

static int echo_mode(struct hotplug *h, struct transport *t, int rounds)
{
	static const size_t sizes[] = { 1, 100, 511, 512, 513, 1024, 65536, 65537,
					PROTO_MAX_DATA, PROTO_MAX_FRAME };
	uint8_t *tx = malloc(PROTO_MAX_FRAME), *rx = malloc(PROTO_MAX_FRAME);
	size_t got;
	double t0, secs;
	int r = -ENOMEM;

	if (!tx || !rx)
		goto out;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = echo_one(t, tx, rx, sizes[i], (unsigned)i);
		printf("%s echo %zu bytes\n", r == 0 ? "ok" : "FAIL", sizes[i]);
		if (r < 0)
			goto out;
	}
	r = transport_recv(t, rx, 16, &got, 200);
	printf("%s idle recv times out (%d)\n", r == -ETIMEDOUT ? "ok" : "FAIL", r);
	if (r != -ETIMEDOUT)
		goto out;
	r = echo_one(t, tx, rx, 4096, 99);
	printf("%s stream usable after timeout\n", r == 0 ? "ok" : "FAIL");
	if (r < 0)
		goto out;
	r = zero_timeout_poll(t, tx, rx);
	printf("%s zero-timeout recv polls completions (%d)\n", r == 0 ? "ok" : "FAIL", r);
	if (r < 0)
		goto out;
	t0 = now_s();
	for (int i = 0; i < rounds && r == 0; i++)
		r = echo_one(t, tx, rx, PROTO_MAX_DATA, (unsigned)i);
	secs = now_s() - t0;
	if (r == 0 && rounds > 0)
		printf("BENCH usb_echo_MBps %.1f MB/s\n", rounds * (double)PROTO_MAX_DATA / secs / 1e6);
out:
	free(tx);
	free(rx);
	if (r == -ENODEV)
		return detached(h);
	return r == 0 ? UT_OK : UT_FAIL;
}

static int stall_mode(struct transport *t)
{
	uint8_t frame[100] = { 0 };
	int r = transport_send(t, frame, sizeof(frame), 300);

	printf("%s stalled send gives -ETIMEDOUT (%d)\n", r == -ETIMEDOUT ? "ok" : "FAIL", r);
	return r == -ETIMEDOUT ? UT_OK : UT_FAIL;
}

/* ---- pull ------------------------------------------------------------------*/

struct pull_ctx {
	uint8_t cam_pub[PROTO_PUBKEY_LEN];
	const char *rec;
	struct proto_manifest_entry entry;
	bool found;
};

static int enrol(void *ctx, const struct proto_identity *id)
{
	struct pull_ctx *p = ctx;

	return memcmp(id->pubkey, p->cam_pub, PROTO_PUBKEY_LEN) == 0 ? 0 : -PROTO_E_UNENROLLED;
}

static int on_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct pull_ctx *p = ctx;

	if (verdict == 0 && strcmp(e->recording_id, p->rec) == 0) {
		p->entry = *e;
		p->found = true;
	}
	return 0;
}

static int load_keys(const char *dir, const char *cam_pub, struct edsig_key **dock,
		     struct proto_dock_cert *cert, struct pull_ctx *p)
{
	char path[4096];
	struct edsig_key *cam = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/dock.key", dir);
	r = edsig_load_private(path, dock);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/dock.cert", dir);
	r = dockcert_load(path, cert);
	if (r == 0)
		r = edsig_load_public(cam_pub, &cam);
	if (r == 0)
		r = edsig_public_raw(cam, p->cam_pub);
	edsig_key_free(cam);
	return r;
}

static int pull_mode(struct hotplug *h, struct transport *t, int argc, char **argv)
{
	const char *keys = opt(argc, argv, "--keys"), *cam_pub = opt(argc, argv, "--cam-pub");
	const char *out = opt(argc, argv, "--out");
	struct pull_ctx p = { .rec = opt(argc, argv, "--rec") };
	struct session_cfg cfg = { .enrol = enrol, .enrol_ctx = &p };
	struct proto_dock_cert cert;
	struct edsig_key *dock = NULL;
	struct session *s = NULL;
	uint64_t done = 0;
	double t0;
	int r = -EINVAL;

	if (!keys || !cam_pub || !out || !p.rec)
		goto out;
	r = load_keys(keys, cam_pub, &dock, &cert, &p);
	if (r < 0)
		goto out;
	cfg.dock_key = dock;
	cfg.cert = &cert;
	r = session_open(t, &cfg, &s);
	if (r == 0)
		r = session_list(s, on_entry, &p);
	if (r == 0 && !p.found)
		r = -PROTO_E_NOT_FOUND;
	if (r < 0)
		goto out;
	t0 = now_s();
	r = pull_to_file(s, &p.entry, out, &done);
	printf("PULL %s bytes=%llu\n", r == 0 ? "ok" : proto_strerror(r), (unsigned long long)done);
	if (r == 0)
		printf("BENCH usb_pull_MBps %.1f MB/s\n", (double)done / (now_s() - t0) / 1e6);
out:
	if (r < 0)
		fprintf(stderr, "client: pull: %s\n", proto_strerror(r));
	session_close(s);
	edsig_key_free(dock);
	if (r == -ENODEV)
		return detached(h);
	return r == 0 ? UT_OK : UT_FAIL;
}

int client_main(int argc, char **argv)
{
	struct hotplug *h = NULL;
	struct transport *t = NULL;
	int rc = UT_FAIL, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 1 || (strcmp(argv[0], "echo") && strcmp(argv[0], "pull") &&
			  strcmp(argv[0], "stall"))) {
		fprintf(stderr, "usage: usb_harness client (echo [--rounds N] | stall | pull --keys DIR"
				" --cam-pub FILE --rec ID --out FILE)\n");
		return UT_FAIL;
	}
	r = open_camera(&h, &t, opt(argc, argv, "--via") && !strcmp(opt(argc, argv, "--via"), "libusb"));
	if (r == -ENODEV)
		rc = detached(h);
	else if (r == 0 && strcmp(argv[0], "echo") == 0)
		rc = echo_mode(h, t, opt(argc, argv, "--rounds") ? atoi(opt(argc, argv, "--rounds")) : 16);
	else if (r == 0 && strcmp(argv[0], "stall") == 0)
		rc = stall_mode(t);
	else if (r == 0)
		rc = pull_mode(h, t, argc, argv);
	transport_close(t);
	if (g_ctx)
		libusb_exit(g_ctx); /* after the transport: it used this context */
	hotplug_close(h);
	return rc;
}

int keys_main(int argc, char **argv)
{
	struct edsig_key *agency = NULL, *dock = NULL;
	struct proto_dock_cert cert;
	char path[4096];
	int64_t now = (int64_t)time(NULL);
	int r;

	if (argc != 1)
		return UT_FAIL;
	r = edsig_generate(&agency);
	if (r == 0)
		r = edsig_generate(&dock);
	if (r == 0)
		r = dockcert_issue(agency, "AGENCY-TEST", "DOCK-USB-1", dock, now - 3600,
				   now + 86400, &cert);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/agency.pub", argv[0]);
		r = edsig_save_public(agency, path);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/dock.key", argv[0]);
		r = edsig_save_private(dock, path);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/dock.cert", argv[0]);
		r = dockcert_save(&cert, path);
	}
	if (r < 0)
		fprintf(stderr, "keys: %s\n", edsig_strerror(r));
	edsig_key_free(agency);
	edsig_key_free(dock);
	return r == 0 ? UT_OK : UT_FAIL;
}
