/* volfm_exe.c - main() of dockd's fusermount (volfm.h): the mount half of
 * libfuse 2's fusermount protocol, for exfat-fuse in the volume
 * supervisor's user namespace. Built on its own (Makefile: this file
 * alone, no library), so it is kept out of libdockd.a.
 *
 * Its input is libfuse's argv and environment, which a driver already
 * compromised by a hostile volume could choose: every length is capped,
 * every option is matched against an allow-list, and nothing it does is
 * beyond what that driver could do itself with mount(2) (see volfm.h);
 * the checks keep the honest path narrow, they are not a boundary. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "volfm.h"

#define KEEP_MAX 128 /* default_permissions + max_read=999999999, twice over */

static int refuse(const char *why)
{
	fprintf(stderr, "dockd fusermount: %s\n", why);
	return 1;
}

static int is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(s, word, len);
}

static int starts(const char *s, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && !memcmp(s, pre, n);
}

/* Asked for by libfuse or exfat-fuse, and not given: the mount flags are
 * forced (ro,nosuid,nodev,noexec), fuseblk is never mounted (blkdev,
 * blksize=), the source is fixed (fsname=, subtype=), there is no mtab
 * (user=), only the owner may enter (allow_other, allow_root), the
 * supervisor made the mount point (nonempty); large_read is obsolete. */
static const char *const dropped[] = {
	"ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "async", "sync",
	"dirsync", "atime", "noatime", "blkdev", "allow_other", "allow_root", "nonempty",
	"large_read", NULL
};
static const char *const dropped_prefix[] = { "blksize=", "fsname=", "subtype=", "user=", NULL };

/* max_read=1..9 digits: the kernel reads it as a u32 */
static int is_max_read(const char *s, size_t len)
{
	size_t n = strlen("max_read=");

	if (!starts(s, len, "max_read=") || len == n || len - n > 9)
		return 0;
	for (size_t i = n; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The refused option, printable characters only, at most 64 of them. */
static void show_refused(const char *s, size_t len)
{
	char out[65];
	size_t n = len < 64 ? len : 64;

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
	fprintf(stderr, "dockd fusermount: option '%s' refused (not on the allow-list)\n", out);
}

/* The options of opts that are passed on, each as ",name[=value]", into
 * keep (cap bytes). 0, or -EINVAL after saying which option was refused. */
static int filter(const char *opts, char *keep, size_t cap)
{
	size_t used = 0;

	keep[0] = '\0';
	for (const char *s = opts; *s;) {
		size_t len = 0;
		int ok = 0;

		/* a backslash escapes the next character (libfuse escapes
		 * commas in fsname=) */
		while (s[len] && s[len] != ',')
			len += s[len] == '\\' && s[len + 1] ? 2 : 1;
		for (int i = 0; !ok && dropped[i]; i++)
			ok = is(s, len, dropped[i]);
		for (int i = 0; !ok && dropped_prefix[i]; i++)
			ok = starts(s, len, dropped_prefix[i]);
		if (!ok && (is(s, len, "default_permissions") || is_max_read(s, len))) {
			if (used + len + 2 > cap)
				return -EINVAL;
			keep[used++] = ',';
			memcpy(keep + used, s, len);
			used += len;
			keep[used] = '\0';
			ok = 1;
		}
		if (!ok && len > 0) {
			show_refused(s, len);
			return -EINVAL;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* _FUSE_COMMFD: 1..4 digits naming an open socket past stdio. */
static int comm_fd(const char *v)
{
	struct stat st;
	int fd = 0;
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		fd = fd * 10 + (v[i] - '0');
	}
	if (fd < 3 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -EINVAL;
	return fd;
}

/* fusermount's reply: one byte of data, the descriptor as SCM_RIGHTS. */
static int send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr m;
	struct cmsghdr *h;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	const char *want = getenv(VOLFM_MNT_ENV);
	char keep[KEEP_MAX], data[KEEP_MAX + 96];
	struct stat st;
	int sock, dir, fd, n;

	if (argc != 5 || strcmp(argv[1], "-o") || strcmp(argv[3], "--"))
		return refuse("only libfuse's mount request is served (fusermount -o OPTIONS -- "
			      "MOUNTPOINT); unmounting is the volume supervisor's job");
	if (!want || strcmp(argv[4], want))
		return refuse("the mount point is not the one the volume supervisor made");
	if ((sock = comm_fd(getenv("_FUSE_COMMFD"))) < 0)
		return refuse("_FUSE_COMMFD does not name a socket (run by libfuse only)");
	if (strlen(argv[2]) > VOLFM_OPTS_MAX || filter(argv[2], keep, sizeof(keep)) < 0)
		return refuse("options refused; nothing mounted");
	dir = open(argv[4], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || fstat(dir, &st) < 0 || st.st_uid != getuid())
		return refuse("the mount point is not a directory of ours");
	close(dir);
	if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0) {
		perror("dockd fusermount: /dev/fuse");
		return 1;
	}
	n = snprintf(data, sizeof(data), "fd=%d,rootmode=%o,user_id=%u,group_id=%u%s", fd,
		     (unsigned)S_IFDIR, (unsigned)getuid(), (unsigned)getgid(), keep);
	if (n < 0 || (size_t)n >= sizeof(data))
		return refuse("mount data too long");
	if (mount("dockd-vol", argv[4], "fuse", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  data) < 0) {
		fprintf(stderr, "dockd fusermount: mount type fuse on %s: %s\n", argv[4],
			strerror(errno));
		return 1;
	}
	if (send_fd(sock, fd) < 0) {
		(void)umount2(argv[4], MNT_DETACH);
		return refuse("could not hand the descriptor back to libfuse; unmounted");
	}
	return 0;
}
