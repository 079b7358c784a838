/* transport_sock.c - transport over a connected stream socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "transport_sock.h"

struct sock_impl {
	int fd;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: forever). */
static int remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Wait until fd is ready for events; -ETIMEDOUT when the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, remaining(deadline));

		if (r > 0)
			return 0; /* readable, writable, or HUP/ERR: the I/O call tells */
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -EIO;
	}
}

static int map_errno(int e)
{
	if (e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ESHUTDOWN)
		return -ECONNRESET;
	return e ? -e : -EIO;
}

static int sock_send(struct transport *t, const void *buf, size_t len, int timeout_ms)
{
	struct sock_impl *im = t->impl;
	const uint8_t *p = buf;
	int64_t deadline = deadline_of(timeout_ms);
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(im->fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(im->fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return map_errno(n < 0 ? errno : EIO);
	}
	return 0;
}

static int sock_recv(struct transport *t, void *buf, size_t cap, size_t *got, int timeout_ms)
{
	struct sock_impl *im = t->impl;
	int64_t deadline = deadline_of(timeout_ms);

	if (cap == 0)
		return -EINVAL;
	for (;;) {
		ssize_t n = recv(im->fd, buf, cap, MSG_DONTWAIT);

		if (n > 0) {
			*got = (size_t)n;
			return 0;
		}
		if (n == 0)
			return -ECONNRESET; /* orderly EOF: the camera went away */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(im->fd, POLLIN, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return map_errno(errno);
	}
}

static void sock_close(struct transport *t)
{
	struct sock_impl *im = t->impl;

	if (im) {
		close(im->fd);
		free(im);
	}
	free(t);
}

static const struct transport_ops sock_ops = {
	.send = sock_send,
	.recv = sock_recv,
	.close = sock_close,
	.name = "socket",
};

static int wrap_fd(int fd, const char *peer, struct transport **out)
{
	struct transport *t = calloc(1, sizeof(*t));
	struct sock_impl *im = calloc(1, sizeof(*im));

	if (!t || !im) {
		free(t);
		free(im);
		close(fd);
		return -ENOMEM;
	}
	im->fd = fd;
	t->ops = &sock_ops;
	t->impl = im;
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
	*out = t;
	return 0;
}

int transport_sock_from_fd(int fd, struct transport **out)
{
	int type = 0;
	socklen_t tl = sizeof(type);
	char peer[32];

	if (fd < 0 || !out)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
		close(fd);
		return -ENOTSOCK;
	}
	snprintf(peer, sizeof(peer), "fd %d", fd);
	return wrap_fd(fd, peer, out);
}

static int make_addr(const char *path, struct sockaddr_un *a)
{
	size_t n;

	if (!path)
		return -EINVAL;
	n = strlen(path);
	if (n == 0 || n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, n);
	return 0;
}

int transport_sock_connect(const char *path, struct transport **out)
{
	struct sockaddr_un a;
	char peer[64];
	int fd, r = make_addr(path, &a);

	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	snprintf(peer, sizeof(peer), "unix:%.58s", path);
	return wrap_fd(fd, peer, out);
}

int transport_sock_listen(const char *path, int *lfd_out)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, r = make_addr(path, &a);

	if (r < 0)
		return r;
	if (!lfd_out)
		return -EINVAL;
	/* Replace only a stale socket: never delete a file someone mistyped. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	/* Not listening yet: connect() is refused until the mode is right. */
	if (chmod(path, 0660) < 0)
		goto fail_unlink;
	if (listen(fd, 8) < 0)
		goto fail_unlink;
	*lfd_out = fd;
	return 0;
fail_unlink:
	r = -errno;
	unlink(path);
	close(fd);
	return r;
fail:
	r = -errno;
	close(fd);
	return r;
}

int transport_sock_accept(int lfd, int timeout_ms, struct transport **out)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char peer[64];
	int fd, r;

	if (lfd < 0 || !out)
		return -EINVAL;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(lfd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
	/* Our I/O uses MSG_DONTWAIT; keep the fd itself blocking for others. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		snprintf(peer, sizeof(peer), "unix pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
	else
		snprintf(peer, sizeof(peer), "unix peer");
	return wrap_fd(fd, peer, out);
}

void transport_sock_listen_close(int lfd, const char *path)
{
	if (lfd >= 0)
		close(lfd);
	if (path)
		unlink(path);
}

int transport_sock_fd(const struct transport *t)
{
	if (!t || t->ops != &sock_ops || !t->impl)
		return -EINVAL;
	return ((const struct sock_impl *)t->impl)->fd;
}
