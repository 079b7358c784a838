/* mscplug.c - `usb_harness msc`: emulated USB mass-storage devices for the
 * real daemon (tests/integration/msc_detect.sh). Runs under
 * umockdev-wrapper; the client (dockd, unmodified) is its child:
 *
 *   usb_harness msc --ctl FIFO --status FILE [--plug-first DESC]
 *                   [--timeout S] -- CLIENT...
 *
 * DESC files are umockdev device descriptions (P:/E:/A: records): a USB
 * device, its class-08 interface, the SCSI host/target/device and the
 * block node(s). The client must be a Type=notify service: once it said
 * READY=1 (its udev monitors are live) the harness appends "ready" to the
 * status file, then reads commands from the FIFO, one a line, and appends
 * "done N" (N = commands done so far) or "failed N" after each:
 *   add DESC       plug: add the devices of DESC (each emits "add")
 *   remove SYSPATH unplug: a "remove" uevent for SYSPATH, then remove it
 *                  (give every device of the plug, deepest first)
 *   term           SIGTERM the client
 * Exit status: the client's (UT_HANG when it outlived --timeout). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <umockdev.h>

#include "usbtest.h"

/* "WORD" or "WORD N" on a line of its own. */
static void status(const char *path, const char *word, int n)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return;
	if (n > 0)
		fprintf(f, "%s %d\n", word, n);
	else
		fprintf(f, "%s\n", word);
	fclose(f);
}

static int add_file(UMockdevTestbed *tb, const char *path)
{
	GError *err = NULL;
	gchar *text = NULL;
	int ok;

	if (!g_file_get_contents(path, &text, NULL, &err)) {
		fprintf(stderr, "harness: %s: %s\n", path, err->message);
		g_error_free(err);
		return -1;
	}
	ok = umockdev_testbed_add_from_string(tb, text, &err);
	g_free(text);
	if (!ok) {
		fprintf(stderr, "harness: %s: %s\n", path, err->message);
		g_error_free(err);
		return -1;
	}
	return 0;
}

static int notify_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	int fd, n = snprintf(name, sizeof(name), "@usb_harness_msc/%ld", (long)getpid());

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || n <= 0 || (size_t)n >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, name, (size_t)n);
	sa.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
							  (size_t)n)) < 0 ||
	    setenv("NOTIFY_SOCKET", name, 1) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Drain every pending notify message (dockd sends STATUS= lines all the
 * time: a full socket would block it); 1 if one of them said READY=1. */
static int drain_ready(int nfd)
{
	char buf[4097];
	ssize_t n;
	int ready = 0;

	while ((n = recv(nfd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		for (char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (!strncmp(l, "READY=1", 7) && (l[7] == '\n' || l[7] == '\0'))
				ready = 1;
	}
	return ready;
}

static int command(UMockdevTestbed *tb, char *line, pid_t client)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (!strncmp(line, "add ", 4))
		return add_file(tb, line + 4);
	if (!strncmp(line, "remove ", 7)) {
		umockdev_testbed_uevent(tb, line + 7, "remove");
		umockdev_testbed_remove_device(tb, line + 7);
		return 0;
	}
	if (!strcmp(line, "term"))
		return kill(client, SIGTERM);
	fprintf(stderr, "harness: unknown command '%s'\n", line);
	return -1;
}

static int run(UMockdevTestbed *tb, const char *ctl, const char *st, const char *first,
	       int timeout_s, char **argv)
{
	time_t t0 = time(NULL);
	int nfd = notify_socket(), cfd = -1, ready = 0, done = 0, wst, rc = UT_FAIL;
	char buf[4096];
	size_t have = 0;
	pid_t client;

	if (nfd < 0 || (first && add_file(tb, first) < 0))
		return UT_SETUP;
	/* O_RDWR: the FIFO never reports EOF between the test's writers */
	cfd = open(ctl, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (cfd < 0) {
		fprintf(stderr, "harness: %s: %s\n", ctl, strerror(errno));
		return UT_SETUP;
	}
	client = fork();
	if (client == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = nfd, .events = POLLIN },
				       { .fd = ready ? cfd : -1, .events = POLLIN } };
		pid_t w = waitpid(client, &wst, WNOHANG);

		if (w == client) {
			rc = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
			break;
		}
		if (time(NULL) - t0 > timeout_s) {
			fprintf(stderr, "harness: client still running after %d s: killed\n", timeout_s);
			kill(client, SIGKILL);
			waitpid(client, &wst, 0);
			rc = UT_HANG;
			break;
		}
		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[0].revents && drain_ready(nfd) && !ready) {
			ready = 1;
			status(st, "ready", 0);
		}
		if (p[1].revents & POLLIN) {
			ssize_t n = read(cfd, buf + have, sizeof(buf) - 1 - have);
			char *nl;

			if (n > 0)
				have += (size_t)n;
			buf[have] = '\0';
			while ((nl = strchr(buf, '\n'))) {
				*nl = '\0';
				done++;
				status(st, command(tb, buf, client) < 0 ? "failed" : "done", done);
				have -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, have + 1);
			}
			if (have == sizeof(buf) - 1)
				have = 0; /* a line over 4 KiB: dropped */
		}
	}
	close(cfd);
	close(nfd);
	return rc;
}

int msc_main(int argc, char **argv)
{
	const char *ctl = NULL, *st = NULL, *first = NULL;
	char **client = NULL;
	int timeout_s = 60, rc;
	UMockdevTestbed *tb;

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--")) {
			client = argv + i + 1;
			break;
		}
		if (!v)
			break;
		if (!strcmp(argv[i], "--ctl"))
			ctl = v;
		else if (!strcmp(argv[i], "--status"))
			st = v;
		else if (!strcmp(argv[i], "--plug-first"))
			first = v;
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = atoi(v);
		else
			break;
		i++;
	}
	if (!ctl || !st || !client || !client[0] || timeout_s <= 0) {
		fprintf(stderr, "usage: usb_harness msc --ctl FIFO --status FILE [--plug-first DESC]"
				" [--timeout S] -- CLIENT...\n");
		return UT_SETUP;
	}
	tb = umockdev_testbed_new();
	if (!umockdev_in_mock_environment()) {
		fprintf(stderr, "harness: run me under umockdev-wrapper\n");
		g_object_unref(tb);
		return UT_SETUP;
	}
	rc = run(tb, ctl, st, first, timeout_s, client);
	g_object_unref(tb);
	return rc;
}
