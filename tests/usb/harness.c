/* harness.c - usb_harness entry point and the "harness" role.
 *
 *   usb_harness harness [options] -- CLIENT_ARGV...
 *     --echo                    the camera end echoes every byte back
 *     --camsim PATH --camdir D  the camera end is `PATH serve --dir D --fd 3`
 *     --serial S                USB serial string of that camera (default CAM-USB-1)
 *     --cam SERIAL=DIR          one more camera (camsim state DIR) on its own bus
 *                               port; repeatable, up to USBEMU_MAX_CAMERAS in all
 *     --decoys                  first plug two devices the dock must ignore
 *     --plug-first              plug the cameras before the client starts, so
 *                               they must be found by enumeration, not uevent
 *     --no-ready                the client (e.g. dockd) does not write the ready
 *                               byte: plug --plug-delay MS after starting it
 *     --notify                  the client is a systemd Type=notify service
 *                               (dockd): it gets NOTIFY_SOCKET, and the harness
 *                               plugs once it said READY=1 (dockd says so only
 *                               after its udev monitor is live)
 *     --unplug-after N          yank the first camera's cable once N bytes went
 *                               to the host
 *     --replug-after MS         MS after that unplug, plug it in again with a
 *                               fresh camsim (the next docking)
 *     --term-when-done          once every camsim has exited (each says BYE),
 *                               send SIGTERM to the client
 *     --stall-out               never complete the first camera's bulk OUT
 *     --timeout S               the client must exit within S s (default 60)
 *
 * Sequence: testbed + ioctl handlers; start the client; wait until its udev
 * monitor is live (one byte on the ready pipe, or READY=1 with --notify)
 * unless --no-ready; plug
 * decoys and cameras; optionally unplug (and re-plug) mid-transfer; wait
 * for the client. Exits with the client's exit code, UT_HANG if it had to be
 * killed, UT_SETUP on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usbemu.h"
#include "usbtest.h"

struct hcam {
	char serial[65];
	const char *dir; /* camsim state; NULL for the echo camera */
	int sv[2];       /* [0] usbemu end, [1] camera end */
	pid_t pid;       /* camsim; -1 when none or reaped */
	bool echo_started;
	pthread_t echo;
	struct usbemu *e;
	struct usbemu_counts total; /* from emulations already stopped */
};

struct hopts {
	bool echo, decoys, plug_first, stall_out, no_ready, notify, term_when_done;
	const char *camsim, *camdir, *serial;
	unsigned long long unplug_after;
	int timeout_s, plug_delay_ms, replug_ms;
	char **client_argv;
	struct hcam cams[USBEMU_MAX_CAMERAS];
	int n_cams;
	UMockdevTestbed *tb;
};

static int add_cam(struct hopts *o, const char *serial, size_t serial_len, const char *dir)
{
	struct hcam *c;

	if (o->n_cams >= USBEMU_MAX_CAMERAS || serial_len == 0 || serial_len >= sizeof(c->serial))
		return -EINVAL;
	c = &o->cams[o->n_cams++];
	memcpy(c->serial, serial, serial_len);
	c->serial[serial_len] = '\0';
	c->dir = dir;
	c->sv[0] = c->sv[1] = -1;
	c->pid = -1;
	return 0;
}

static int parse_value(struct hopts *o, const char *a, const char *v)
{
	if (strcmp(a, "--camsim") == 0) {
		o->camsim = v;
	} else if (strcmp(a, "--camdir") == 0) {
		o->camdir = v;
	} else if (strcmp(a, "--serial") == 0) {
		o->serial = v;
	} else if (strcmp(a, "--cam") == 0) {
		const char *eq = strchr(v, '=');

		if (!eq || !eq[1] || add_cam(o, v, (size_t)(eq - v), eq + 1) < 0)
			return -EINVAL;
	} else if (strcmp(a, "--unplug-after") == 0) {
		o->unplug_after = strtoull(v, NULL, 10);
	} else if (strcmp(a, "--replug-after") == 0) {
		o->replug_ms = atoi(v);
	} else if (strcmp(a, "--plug-delay") == 0) {
		o->plug_delay_ms = atoi(v);
	} else if (strcmp(a, "--timeout") == 0) {
		o->timeout_s = atoi(v);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse(int argc, char **argv, struct hopts *o)
{
	o->serial = "CAM-USB-1";
	o->timeout_s = 60;
	o->replug_ms = -1;
	o->plug_delay_ms = 300;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0) {
			o->client_argv = argv + i + 1;
			return i + 1 < argc ? 0 : -EINVAL;
		} else if (strcmp(a, "--echo") == 0) {
			o->echo = true;
		} else if (strcmp(a, "--decoys") == 0) {
			o->decoys = true;
		} else if (strcmp(a, "--plug-first") == 0) {
			o->plug_first = true;
		} else if (strcmp(a, "--stall-out") == 0) {
			o->stall_out = true;
		} else if (strcmp(a, "--no-ready") == 0) {
			o->no_ready = true;
		} else if (strcmp(a, "--notify") == 0) {
			o->notify = true;
		} else if (strcmp(a, "--term-when-done") == 0) {
			o->term_when_done = true;
		} else if (!v || parse_value(o, a, v) < 0) {
			return -EINVAL;
		} else {
			i++;
		}
	}
	return -EINVAL;
}

/* The first camera is the --echo one or --camdir's; --cam ones follow. */
static int finish_cams(struct hopts *o)
{
	int n = o->n_cams;

	if (!o->echo && !o->camdir)
		return n > 0 && o->camsim ? 0 : -EINVAL;
	if (o->echo && (o->camdir || n > 0))
		return -EINVAL; /* the echo camera comes alone */
	if (n >= USBEMU_MAX_CAMERAS || (!o->echo && !o->camsim))
		return -EINVAL;
	memmove(&o->cams[1], &o->cams[0], sizeof(o->cams[0]) * (size_t)n);
	o->n_cams = 0;
	if (add_cam(o, o->serial, strlen(o->serial), o->echo ? NULL : o->camdir) < 0)
		return -EINVAL;
	o->n_cams = n + 1;
	return 0;
}

/* The --echo camera: every byte the host sends comes back. */
static void *echo_main(void *arg)
{
	int fd = *(int *)arg;
	static char buf[256 * 1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w <= 0)
				return NULL;
			off += w;
		}
	}
	return NULL;
}

/* Big socket buffers let one bulk IN URB carry up to a whole 1 MiB DATA
 * frame, as a real camera's transfer would (root may exceed rmem_max). */
static void big_buffers(int fd)
{
	int sz = 4 * 1024 * 1024;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static pid_t spawn_camsim(const char *camsim, const char *dir, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (fd == 3)
			fcntl(fd, F_SETFD, 0);
		else if (dup2(fd, 3) < 0)
			_exit(127);
		execl(camsim, "camsim", "serve", "--dir", dir, "--fd", "3", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Camera end + emulated device for cams[i] (not yet plugged). */
static int cam_open(struct hopts *o, int i, unsigned long long hold_after)
{
	struct hcam *c = &o->cams[i];
	struct usbemu_cfg cfg = { .serial = c->serial, .hold_after = hold_after,
				  .stall_out = i == 0 && o->stall_out, .index = (unsigned)i };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv) < 0)
		return -errno;
	big_buffers(c->sv[0]);
	big_buffers(c->sv[1]);
	if (!c->dir) {
		if (pthread_create(&c->echo, NULL, echo_main, &c->sv[1]) != 0)
			return -EAGAIN;
		c->echo_started = true;
	} else {
		c->pid = spawn_camsim(o->camsim, c->dir, c->sv[1]);
		if (c->pid < 0)
			return -errno;
	}
	cfg.sock = c->sv[0];
	return usbemu_start(o->tb, &cfg, &c->e);
}

static void add_counts(struct usbemu_counts *sum, const struct usbemu_counts *n)
{
	sum->in_bytes += n->in_bytes;
	sum->out_bytes += n->out_bytes;
	sum->in_urbs += n->in_urbs;
	sum->zlp_ok += n->zlp_ok;
	sum->zlp_missing += n->zlp_missing;
	sum->zlp_spurious += n->zlp_spurious;
}

/* Reap cams[i]'s camsim if it exited (or wait for it); true once gone. */
static bool cam_reaped(struct hcam *c, bool block)
{
	int st;

	if (c->pid <= 0)
		return true;
	if (waitpid(c->pid, &st, block ? 0 : WNOHANG) != c->pid)
		return false;
	fprintf(stderr, "harness: camera %s: camsim exit %d\n", c->serial,
		WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	c->pid = -1;
	return true;
}

/* Tear down cams[i]: the camera end sees EOF, its camsim is stopped. */
static void cam_close(struct hcam *c)
{
	struct usbemu_counts n;

	if (c->e) {
		usbemu_counts(c->e, &n);
		add_counts(&c->total, &n);
	}
	if (c->sv[0] >= 0)
		shutdown(c->sv[0], SHUT_RDWR);
	if (c->echo_started) {
		pthread_join(c->echo, NULL);
		c->echo_started = false;
	} else if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		cam_reaped(c, true);
	}
	usbemu_stop(c->e); /* after the bridge's peer is gone: no blocked I/O */
	c->e = NULL;
	for (int k = 0; k < 2; k++)
		if (c->sv[k] >= 0)
			close(c->sv[k]), c->sv[k] = -1;
}

static pid_t spawn_client(char **argv, int ready_w)
{
	char num[16];
	pid_t pid;

	snprintf(num, sizeof(num), "%d", ready_w);
	setenv(UT_READY_ENV, num, 1); /* before fork: setenv is not async-signal-safe */
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static bool wait_ready(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, timeout_ms) == 1 && read(fd, &c, 1) == 1;
}

/* --notify: a datagram socket in the abstract namespace (nothing to clean
 * up), named in NOTIFY_SOCKET for the client to inherit (set before fork). */
static int notify_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	socklen_t len;
	int fd, n;

	n = snprintf(name, sizeof(name), "@usb_harness/%ld", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(name) || (size_t)n >= sizeof(sa.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, name, (size_t)n); /* sun_path[0] = '\0': abstract */
	sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || setenv("NOTIFY_SOCKET", name, 1) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Until a notify message has a READY=1 line (other messages are skipped). */
static bool wait_notify_ready(int fd, int timeout_ms)
{
	struct timespec t0, t;
	char buf[4097];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return false;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, "READY=1", 7) == 0 && (l[7] == '\n' || l[7] == '\0'))
				return true;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* waitpid with a hang guard; UT_HANG after killing a stuck child. With
 * --term-when-done, SIGTERM the client once every camsim has exited. */
static int reap(struct hopts *o, pid_t pid, int timeout_s)
{
	bool termed = false;
	int st;

	for (long i = 0; i < (long)timeout_s * 100; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		bool all_gone = true;

		if (r == pid) {
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			fprintf(stderr, "harness: client killed by signal %d\n", WTERMSIG(st));
			return 128 + WTERMSIG(st);
		}
		for (int k = 0; k < o->n_cams; k++)
			if (o->cams[k].dir && !cam_reaped(&o->cams[k], false))
				all_gone = false;
		if (o->term_when_done && all_gone && !termed) {
			fprintf(stderr, "harness: every camera said goodbye; stopping the client\n");
			kill(pid, SIGTERM);
			termed = true;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "harness: client hung for %d s; killing it\n", timeout_s);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return UT_HANG;
}

static int plug_all(struct hopts *o)
{
	for (int i = 0; i < o->n_cams; i++)
		if (usbemu_plug(o->cams[i].e) < 0)
			return -1;
	return 0;
}

/* Yank the first camera after --unplug-after bytes; maybe plug it in again. */
static int unplug_replug(struct hopts *o)
{
	struct hcam *c = &o->cams[0];

	if (usbemu_wait_in_bytes(c->e, o->unplug_after, o->timeout_s * 1000) < 0) {
		fprintf(stderr, "harness: transfer never reached %llu bytes\n", o->unplug_after);
		return 0;
	}
	fprintf(stderr, "harness: unplugging after %llu bytes\n", o->unplug_after);
	usbemu_unplug(c->e);
	if (o->replug_ms < 0)
		return 0;
	sleep_ms(o->replug_ms);
	cam_close(c);
	if (cam_open(o, 0, 0) < 0 || usbemu_plug(c->e) < 0)
		return -1;
	fprintf(stderr, "harness: plugged %s in again\n", c->serial);
	return 0;
}

static int run(struct hopts *o)
{
	pid_t client = -1;
	int ready[2] = { -1, -1 }, nfd = -1, rc = UT_SETUP;
	struct usbemu_counts n = { 0 };

	for (int i = 0; i < o->n_cams; i++)
		if (cam_open(o, i, i == 0 ? o->unplug_after : 0) < 0)
			goto out;
	if (pipe2(ready, O_CLOEXEC) < 0)
		goto out;
	fcntl(ready[1], F_SETFD, 0); /* the client inherits the write end */
	if (o->notify && (nfd = notify_open()) < 0) {
		fprintf(stderr, "harness: notify socket: %s\n", strerror(-nfd));
		goto out;
	}
	if (o->plug_first && plug_all(o) < 0)
		goto out;
	client = spawn_client(o->client_argv, ready[1]);
	close(ready[1]);
	if (client < 0)
		goto out;
	if (o->no_ready) {
		sleep_ms(o->plug_delay_ms);
	} else if (o->notify ? !wait_notify_ready(nfd, 60000) : !wait_ready(ready[0], 20000)) {
		fprintf(stderr, "harness: client never became ready\n");
		rc = reap(o, client, 1) == UT_HANG ? UT_HANG : UT_FAIL;
		client = -1;
		goto out;
	}
	if ((o->decoys && usbemu_plug_decoys(o->tb) < 0) || (!o->plug_first && plug_all(o) < 0))
		goto out;
	if (o->unplug_after && unplug_replug(o) < 0)
		goto out;
	rc = reap(o, client, o->timeout_s);
	client = -1;
	for (int i = 0; i < o->n_cams; i++) {
		struct usbemu_counts c;

		add_counts(&n, &o->cams[i].total);
		if (o->cams[i].e) {
			usbemu_counts(o->cams[i].e, &c);
			add_counts(&n, &c);
		}
	}
	fprintf(stderr, "harness: client exit %d; bulk in %llu bytes in %llu URBs, out %llu bytes\n",
		rc, (unsigned long long)n.in_bytes, (unsigned long long)n.in_urbs,
		(unsigned long long)n.out_bytes);
	fprintf(stderr, "harness: zlp ok %llu missing %llu spurious %llu\n",
		(unsigned long long)n.zlp_ok, (unsigned long long)n.zlp_missing,
		(unsigned long long)n.zlp_spurious);
out:
	if (client > 0)
		rc = reap(o, client, o->timeout_s);
	if (ready[0] >= 0)
		close(ready[0]);
	if (nfd >= 0)
		close(nfd);
	return rc;
}

int harness_main(int argc, char **argv)
{
	static struct hopts o; /* large; zeroed */
	int rc;

	if (parse(argc, argv, &o) < 0 || finish_cams(&o) < 0) {
		fprintf(stderr, "usage: usb_harness harness (--echo | --camsim PATH (--camdir D"
				" [--serial S] | --cam SERIAL=DIR)...) [--decoys] [--plug-first]"
				" [--no-ready [--plug-delay MS] | --notify] [--unplug-after N [--replug-after MS]]"
				" [--term-when-done] [--stall-out] [--timeout S] -- CLIENT...\n");
		return UT_SETUP;
	}
	o.tb = umockdev_testbed_new();
	/* Only meaningful once a testbed exists (it redirects /sys). */
	if (!umockdev_in_mock_environment()) {
		fprintf(stderr, "harness: run me under umockdev-wrapper\n");
		g_object_unref(o.tb);
		return UT_SETUP;
	}
	rc = run(&o);
	for (int i = 0; i < o.n_cams; i++)
		cam_close(&o.cams[i]);
	g_object_unref(o.tb);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "harness") == 0)
		return harness_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return client_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		return keys_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "msc") == 0)
		return msc_main(argc - 2, argv + 2);
	fprintf(stderr, "usage: usb_harness (harness|client|keys) ...\n");
	return UT_SETUP;
}
