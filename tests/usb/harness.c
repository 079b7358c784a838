/* harness.c - usb_harness entry point and the "harness" role.
 *
 *   usb_harness harness [options] -- CLIENT_ARGV...
 *     --echo                    the camera end echoes every byte back
 *     --camsim PATH --camdir D  the camera end is `PATH serve --dir D --fd 3`
 *     --serial S                USB serial string (default CAM-USB-1)
 *     --decoys                  first plug two devices the dock must ignore
 *     --plug-first              plug the camera before the client starts, so
 *                               it must be found by enumeration, not uevent
 *     --unplug-after N          yank the cable once N bytes went to the host
 *     --stall-out               never complete bulk OUT transfers
 *     --timeout S               the client must exit within S s (default 60)
 *
 * Sequence: testbed + ioctl handler; start the client; wait until its udev
 * monitor is live (one byte on the ready pipe); plug decoys and camera;
 * optionally unplug mid-transfer; wait for the client. Exits with the
 * client's exit code, UT_HANG if it had to be killed, UT_SETUP on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usbemu.h"
#include "usbtest.h"

struct hopts {
	bool echo, decoys, plug_first, stall_out;
	const char *camsim, *camdir, *serial;
	unsigned long long unplug_after;
	int timeout_s;
	char **client_argv;
};

static int parse(int argc, char **argv, struct hopts *o)
{
	o->serial = "CAM-USB-1";
	o->timeout_s = 60;
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
		} else if (!v) {
			return -EINVAL;
		} else if (strcmp(a, "--camsim") == 0) {
			o->camsim = v, i++;
		} else if (strcmp(a, "--camdir") == 0) {
			o->camdir = v, i++;
		} else if (strcmp(a, "--serial") == 0) {
			o->serial = v, i++;
		} else if (strcmp(a, "--unplug-after") == 0) {
			o->unplug_after = strtoull(v, NULL, 10), i++;
		} else if (strcmp(a, "--timeout") == 0) {
			o->timeout_s = atoi(v), i++;
		} else {
			return -EINVAL;
		}
	}
	return -EINVAL;
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

static pid_t spawn_camsim(const struct hopts *o, int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (fd == 3)
			fcntl(fd, F_SETFD, 0);
		else if (dup2(fd, 3) < 0)
			_exit(127);
		execl(o->camsim, "camsim", "serve", "--dir", o->camdir, "--fd", "3", (char *)NULL);
		_exit(127);
	}
	return pid;
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

/* waitpid with a hang guard; UT_HANG after killing a stuck child. */
static int reap(pid_t pid, int timeout_s)
{
	struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
	int st;

	for (long i = 0; i < (long)timeout_s * 100; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			fprintf(stderr, "harness: client killed by signal %d\n", WTERMSIG(st));
			return 128 + WTERMSIG(st);
		}
		nanosleep(&ten_ms, NULL);
	}
	fprintf(stderr, "harness: client hung for %d s; killing it\n", timeout_s);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return UT_HANG;
}

static int run(const struct hopts *o, UMockdevTestbed *tb, int sv[2])
{
	struct usbemu_cfg cfg = { .sock = sv[0], .serial = o->serial,
				  .hold_after = o->unplug_after, .stall_out = o->stall_out };
	struct usbemu *e = NULL;
	pid_t client = -1;
	int ready[2] = { -1, -1 }, rc = UT_SETUP;
	struct usbemu_counts n;

	if (usbemu_start(tb, &cfg, &e) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		goto out;
	fcntl(ready[1], F_SETFD, 0); /* the client inherits the write end */
	if (o->plug_first && usbemu_plug(e) < 0)
		goto out;
	client = spawn_client(o->client_argv, ready[1]);
	close(ready[1]);
	if (client < 0)
		goto out;
	if (!wait_ready(ready[0], 20000)) {
		fprintf(stderr, "harness: client never became ready\n");
		rc = reap(client, 1) == UT_HANG ? UT_HANG : UT_FAIL;
		client = -1;
		goto out;
	}
	if ((o->decoys && usbemu_plug_decoys(tb) < 0) || (!o->plug_first && usbemu_plug(e) < 0))
		goto out;
	if (o->unplug_after) {
		if (usbemu_wait_in_bytes(e, o->unplug_after, o->timeout_s * 1000) == 0) {
			fprintf(stderr, "harness: unplugging after %llu bytes\n", o->unplug_after);
			usbemu_unplug(e);
		} else {
			fprintf(stderr, "harness: transfer never reached %llu bytes\n", o->unplug_after);
		}
	}
	rc = reap(client, o->timeout_s);
	client = -1;
	usbemu_counts(e, &n);
	fprintf(stderr, "harness: client exit %d; bulk in %llu bytes in %llu URBs, out %llu bytes\n",
		rc, (unsigned long long)n.in_bytes, (unsigned long long)n.in_urbs,
		(unsigned long long)n.out_bytes);
	fprintf(stderr, "harness: zlp ok %llu missing %llu spurious %llu\n",
		(unsigned long long)n.zlp_ok, (unsigned long long)n.zlp_missing,
		(unsigned long long)n.zlp_spurious);
out:
	if (client > 0)
		rc = reap(client, o->timeout_s);
	if (ready[0] >= 0)
		close(ready[0]);
	usbemu_stop(e);
	return rc;
}

int harness_main(int argc, char **argv)
{
	struct hopts o = { 0 };
	UMockdevTestbed *tb;
	pthread_t echo;
	pid_t cam = -1;
	int sv[2], rc;

	if (parse(argc, argv, &o) < 0 || (!o.echo && (!o.camsim || !o.camdir))) {
		fprintf(stderr, "usage: usb_harness harness (--echo | --camsim PATH --camdir D)"
				" [--serial S] [--decoys] [--plug-first] [--unplug-after N] [--stall-out]"
				" [--timeout S]"
				" -- CLIENT...\n");
		return UT_SETUP;
	}
	tb = umockdev_testbed_new();
	/* Only meaningful once a testbed exists (it redirects /sys). */
	if (!umockdev_in_mock_environment()) {
		fprintf(stderr, "harness: run me under umockdev-wrapper\n");
		g_object_unref(tb);
		return UT_SETUP;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		g_object_unref(tb);
		return UT_SETUP;
	}
	big_buffers(sv[0]);
	big_buffers(sv[1]);
	if (o.echo)
		pthread_create(&echo, NULL, echo_main, &sv[1]);
	else
		cam = spawn_camsim(&o, sv[1]);
	rc = run(&o, tb, sv);
	shutdown(sv[0], SHUT_RDWR); /* the camera end sees EOF */
	if (o.echo) {
		pthread_join(echo, NULL);
	} else if (cam > 0) {
		int st;

		kill(cam, SIGTERM);
		waitpid(cam, &st, 0);
	}
	close(sv[0]);
	close(sv[1]);
	g_object_unref(tb);
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
	fprintf(stderr, "usage: usb_harness (harness|client|keys) ...\n");
	return UT_SETUP;
}
