/* linkio.c - framed linkmsg I/O (see linkio.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "linkio.h"

static int send_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int linkio_send(int fd, const struct linkmsg *m)
{
	uint8_t buf[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];
	struct iovec iov;
	size_t n = 0;
	int r;

	if (!m)
		return -EINVAL;
	r = linkmsg_encode(m, buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	iov.iov_base = buf;
	iov.iov_len = n;
	return send_all(fd, &iov, 1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With a deadline: try the read first and poll only when nothing is
 * there (a poll before every recv was a system call per read for
 * nothing while bytes stream in: 14 polls per MiB ingested). */
static int recv_exact(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, deadline >= 0 ? MSG_DONTWAIT : 0);
		int64_t left;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr;

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (deadline < 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -errno;
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		pr = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int linkio_recv(int fd, uint8_t *buf, int timeout_ms, struct linkmsg *m)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint8_t hdr[LINKMSG_HDR_LEN];
	struct linkmsg_hdr h;
	int r = recv_exact(fd, hdr, sizeof(hdr), deadline);

	if (r == 0)
		r = linkmsg_hdr_decode(hdr, &h);
	if (r == 0 && h.length)
		r = recv_exact(fd, buf, h.length, deadline);
	if (r == 0)
		r = linkmsg_decode(&h, buf, m);
	return r;
}
