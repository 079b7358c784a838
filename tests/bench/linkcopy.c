/* linkcopy.c - a model of the camera-link path's copies (tests/bench/linkcopy.sh;
 * docs/architecture.md, "Messages between dockd and a worker").
 *
 *   linkcopy MODE MIB
 *
 * Three processes: a "camera" writes MIB 1 MiB frames into a stream
 * socketpair; a "worker" receives each frame; the "daemon" (this process)
 * gets the bytes into a private 256 KiB buffer, piece by piece:
 *   0 socket: the worker sends 8-byte header + 256 KiB pieces over a second
 *     socketpair (linkmsg version 2's DATA), the daemon receives them;
 *   1 frame ring (built: dockd/link/linkring.h): the worker receives the
 *     frame straight into a shared memfd mapping, sends its length, waits
 *     for the daemon's 1-byte ack;
 *     the daemon copies the frame out piece by piece, then acks;
 *   2 copy ring: the worker receives into private memory and copies the
 *     frame into one of two shared slots (waiting for an ack when both are
 *     in use); the daemon copies out and acks.
 * Prints "worker W daemon D" in CPU seconds (user + sys) per GiB. No frame
 * parsing, CRC or hashing: only the transfer the split adds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME (1u << 20)
#define PIECE (256u * 1024u)

static double cpu_s(int who)
{
	struct rusage u;

	getrusage(who, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* As linkio.c: try the read, poll only when nothing is there. */
static int rx(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

static int tx(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const uint8_t *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void camera(int fd, unsigned frames)
{
	uint8_t *b = malloc(FRAME);

	if (!b)
		_exit(1);
	memset(b, 0x5a, FRAME);
	for (unsigned i = 0; i < frames; i++)
		if (tx(fd, b, FRAME) < 0)
			_exit(1);
	_exit(0);
}

static void worker(int mode, int cam, int ch, uint8_t *ring, unsigned frames, int report)
{
	uint8_t *fb = malloc(FRAME), ack;
	unsigned outstanding = 0;
	uint64_t h;
	double w;

	if (!fb)
		_exit(1);
	memset(fb, 0, FRAME);
	for (unsigned k = 0; k < frames; k++) {
		if (mode == 0) {
			if (rx(cam, fb, FRAME) < 0)
				_exit(1);
			for (uint32_t o = 0; o < FRAME; o += PIECE) {
				h = o;
				if (tx(ch, &h, sizeof(h)) < 0 || tx(ch, fb + o, PIECE) < 0)
					_exit(1);
			}
		} else if (mode == 1) {
			h = FRAME;
			if (rx(cam, ring, FRAME) < 0 || tx(ch, &h, sizeof(h)) < 0 ||
			    rx(ch, &ack, 1) < 0)
				_exit(1);
		} else {
			if (rx(cam, fb, FRAME) < 0)
				_exit(1);
			if (outstanding == 2) {
				if (rx(ch, &ack, 1) < 0)
					_exit(1);
				outstanding--;
			}
			h = k % 2;
			memcpy(ring + h * FRAME, fb, FRAME);
			if (tx(ch, &h, sizeof(h)) < 0)
				_exit(1);
			outstanding++;
		}
	}
	for (; outstanding > 0; outstanding--) /* the daemon acks every slot */
		if (rx(ch, &ack, 1) < 0)
			_exit(1);
	w = cpu_s(RUSAGE_SELF);
	if (write(report, &w, sizeof(w)) != (ssize_t)sizeof(w))
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	int mode = argc == 3 ? atoi(argv[1]) : -1, cam[2], ch[2], rep[2], mfd;
	unsigned frames = argc == 3 ? (unsigned)atoi(argv[2]) : 0;
	uint8_t *ring, *priv = malloc(PIECE), ack = 1;
	volatile uint8_t sink = 0;
	double w = 0, d;
	pid_t cp, wp;

	if (mode < 0 || mode > 2 || frames == 0 || frames > 65536 || !priv) {
		fputs("usage: linkcopy 0|1|2 MIB\n", stderr);
		return 2;
	}
	memset(priv, 0, PIECE);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cam) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, ch) < 0 || pipe(rep) < 0)
		return 1;
	mfd = memfd_create("linkcopy", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 2 * FRAME) < 0)
		return 1;
	ring = mmap(NULL, 2 * FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (ring == MAP_FAILED)
		return 1;
	cp = fork();
	if (cp == 0)
		camera(cam[1], frames);
	wp = fork();
	if (wp == 0)
		worker(mode, cam[0], ch[1], ring, frames, rep[1]);
	if (cp < 0 || wp < 0)
		return 1;
	for (unsigned k = 0; k < frames; k++) {
		uint64_t h;

		if (mode == 0) {
			for (uint32_t o = 0; o < FRAME; o += PIECE) {
				if (rx(ch[0], &h, sizeof(h)) < 0 || rx(ch[0], priv, PIECE) < 0)
					return 1;
				sink ^= priv[7];
			}
			continue;
		}
		if (rx(ch[0], &h, sizeof(h)) < 0)
			return 1;
		for (uint32_t o = 0; o < FRAME; o += PIECE) {
			memcpy(priv, ring + (mode == 1 ? 0 : (h & 1) * FRAME) + o, PIECE);
			sink ^= priv[7];
		}
		if (tx(ch[0], &ack, 1) < 0)
			return 1;
	}
	d = cpu_s(RUSAGE_SELF);
	if (read(rep[0], &w, sizeof(w)) != (ssize_t)sizeof(w))
		return 1;
	waitpid(wp, NULL, 0);
	waitpid(cp, NULL, 0);
	printf("worker %.3f daemon %.3f\n", w * 1024.0 / frames, d * 1024.0 / frames);
	(void)sink; /* read, so the copies out are not optimised away */
	return 0;
}
