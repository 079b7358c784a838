/* qlaunch.c - the export-package launcher (qlaunch.h). */
#define _GNU_SOURCE
#include "qlaunch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LAUNCH_FD 3		/* its end, in the launcher */
#define REPLY_TIMEOUT_S 5	/* a fork takes milliseconds */

static const size_t field_max[4] = { 64, 128, 512, 128 };

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int qlaunch_encode(const struct qpackage_job *job, uint8_t *buf, size_t cap, size_t *len)
{
	const char *f[4] = { job->user, job->item, job->reason, job->case_no };
	size_t off = 2;

	if (cap < QLAUNCH_REQ_MAX)
		return -EINVAL;
	buf[0] = 'L';
	buf[1] = QLAUNCH_VERSION;
	for (int i = 0; i < 4; i++) {
		size_t n = f[i] ? strlen(f[i]) : 0;

		if (n > field_max[i])
			return -E2BIG;
		buf[off] = (uint8_t)(n >> 8);
		buf[off + 1] = (uint8_t)n;
		memcpy(buf + off + 2, f[i] ? f[i] : "", n);
		off += 2 + n;
	}
	*len = off;
	return 0;
}

int qlaunch_decode(const uint8_t *p, size_t len, struct qpackage_job *job, char *strs,
		   size_t cap)
{
	const char *f[4];
	size_t off = 2, at = 0;

	if (cap < QLAUNCH_REQ_MAX)
		return -EINVAL;
	if (len < 2 || len > QLAUNCH_REQ_MAX || p[0] != 'L' || p[1] != QLAUNCH_VERSION)
		return -EPROTO;
	for (int i = 0; i < 4; i++) {
		size_t n;

		if (len - off < 2)
			return -EPROTO;
		n = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (n > field_max[i] || n > len - off || (n == 0 && i < 3))
			return -EPROTO;
		for (size_t k = 0; k < n; k++)
			if (p[off + k] < 0x20 || p[off + k] == 0x7f)
				return -EPROTO;
		memcpy(strs + at, p + off, n);
		strs[at + n] = 0;
		f[i] = n ? strs + at : NULL;
		at += n + 1;
		off += n;
	}
	/* never an option to the exporter */
	if (off != len || f[1][0] == '-')
		return -EPROTO;
	job->user = f[0];
	job->item = f[1];
	job->reason = f[2];
	job->case_no = f[3];
	return 0;
}

static void put_reply(int fd, int rc)
{
	uint8_t b[4] = { (uint8_t)((uint32_t)rc >> 24), (uint8_t)((uint32_t)rc >> 16),
			 (uint8_t)((uint32_t)rc >> 8), (uint8_t)rc };

	(void)send(fd, b, sizeof(b), MSG_NOSIGNAL);
}

/* One request: its datagram and exactly one descriptor. */
static int serve_one(int fd, struct qpackage_pool *pool, struct qpackage_job *fixed)
{
	uint8_t buf[QLAUNCH_REQ_MAX + 1];
	static char strs[QLAUNCH_REQ_MAX];
	union {
		char b[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct qpackage_job job = *fixed;
	int conn = -1, nfd = 0, rc;
	ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;	/* the query process is gone */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfd++ == 0)
				conn = x;
			else
				close(x);
		}
	}
	rc = nfd != 1 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	     qlaunch_decode(buf, (size_t)n, &job, strs, sizeof(strs)) < 0 ? -EPROTO : 0;
	if (rc == 0)
		rc = qpackage_spawn(pool, &job, conn, now_ms());
	if (conn >= 0)
		close(conn);	/* the handler has its own */
	if (rc == -EPROTO)
		fprintf(stderr, "dockd query service: package launcher: malformed request "
			"refused\n");
	put_reply(fd, rc);
	return 0;
}

static void launcher(int fd, struct qpackage_job *fixed)
{
	struct qpackage_pool pool;
	struct rlimit no = { 0, 0 };

	memset(&pool, 0, sizeof(pool));
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (dup2(fd, LAUNCH_FD) < 0 || syscall(SYS_close_range, LAUNCH_FD + 1, ~0U, 0) < 0 ||
	    setrlimit(RLIMIT_CORE, &no) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(1);
	if (getppid() == 1)
		_exit(0);	/* the query process died before PDEATHSIG */
	for (;;) {
		struct pollfd p = { .fd = LAUNCH_FD, .events = POLLIN };
		int r = poll(&p, 1, 1000);

		qpackage_reap(&pool, now_ms());
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p.revents & POLLIN) && serve_one(LAUNCH_FD, &pool, fixed) < 0)
			break;
		if (r > 0 && !(p.revents & POLLIN) && (p.revents & (POLLHUP | POLLERR)))
			break;
	}
	/* running handlers go on (each bounds its exporter); their console
	 * connections are theirs */
	_exit(0);
}

int qlaunch_start(const char *custody_bin, const char *config_path,
		  const char *socket_path, int *fd, pid_t *pid)
{
	struct qpackage_job fixed = { custody_bin, config_path, socket_path,
				      NULL, NULL, NULL, NULL };
	struct timeval tv = { REPLY_TIMEOUT_S, 0 };
	int sv[2];
	pid_t p;

	if (!custody_bin || !config_path || !socket_path)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p = fork();
	if (p < 0) {
		int e = -errno;

		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (p == 0)
		launcher(sv[1], &fixed);
	close(sv[1]);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*fd = sv[0];
	*pid = p;
	return 0;
}

int qlaunch_request(void *ctx, const struct qpackage_job *job, int conn_fd)
{
	int fd = *(int *)ctx;
	uint8_t buf[QLAUNCH_REQ_MAX], rb[8];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c;
	size_t len;
	ssize_t n;
	int r = qlaunch_encode(job, buf, sizeof(buf), &len);

	if (r)
		return r;
	if (fd < 0)
		return -ENOTCONN;
	iov.iov_len = len;
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &conn_fd, sizeof(int));
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		do
			n = recv(fd, rb, sizeof(rb), 0);
		while (n < 0 && errno == EINTR);
		if (n == 4)
			goto answered;
	}
	/* a late answer would be taken for the next one's: no more */
	close(fd);
	*(int *)ctx = -1;
	return -EIO;
answered:
	r = (int)((uint32_t)rb[0] << 24 | (uint32_t)rb[1] << 16 | (uint32_t)rb[2] << 8 | rb[3]);
	return r <= 0 && r > -4096 ? r : -EIO;
}
