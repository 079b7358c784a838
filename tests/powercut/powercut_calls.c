/* powercut_calls.c - the libc calls the power-cut library interposes
 * (see powercut.c): each one that changes a tracked file is counted (the
 * cut may fall on it) and recorded, under the one lock. */
#include "powercut_int.h"

/* ---- data calls ------------------------------------------------------- */

struct wargs {
	int fd;
	const void *buf;
	size_t len;
	off_t off;
	const struct iovec *iov;
	int iovcnt;
	int kind;
};

/* POWERCUT_FLIP: a write to a path under it gets one byte changed (a
 * target that damages what it stores). Plain writes only. */
static ssize_t flipped(struct wargs *a, const char *path, ssize_t (*doit)(void *))
{
	unsigned char *copy;
	const void *keep = a->buf;
	ssize_t r;

	if (!flip[0] || a->kind > 2 || !a->len || strncmp(path, flip, strlen(flip)))
		return doit(a);
	if (!(copy = malloc(a->len)))
		return doit(a);
	memcpy(copy, a->buf, a->len);
	copy[a->len / 2] ^= 0x20;
	a->buf = copy;
	r = doit(a);
	a->buf = keep;
	free(copy);
	return r;
}

static ssize_t data_write(int fd, off_t off, int pos, size_t len, const char *op,
			  ssize_t (*doit)(void *), struct wargs *arg)
{
	struct stat st;
	struct node *n;
	ssize_t r;

	if (!active || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return doit(arg);
	pthread_mutex_lock(&mu);
	n = node_of(fd, &st);
	if (!n) {
		pthread_mutex_unlock(&mu);
		return doit(arg);
	}
	tick(op, n->path);
	if (!pos) {
		off = (fcntl(fd, F_GETFL) & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
	}
	add_ev(n, 0, off, len, st.st_size);
	r = flipped(arg, n->path, doit);
	if (r <= 0)
		n->ev[--n->nev].len = 0, free(n->ev[n->nev].old);
	else
		n->ev[n->nev - 1].len = (size_t)r;
	pthread_mutex_unlock(&mu);
	return r;
}


static ssize_t w_do(void *p)
{
	struct wargs *a = p;

	switch (a->kind) {
	case 0: return real_write(a->fd, a->buf, a->len);
	case 1: return real_pwrite(a->fd, a->buf, a->len, a->off);
	case 2: return real_pwrite64(a->fd, a->buf, a->len, a->off);
	case 3: return real_writev(a->fd, a->iov, a->iovcnt);
	case 4: return real_pwritev(a->fd, a->iov, a->iovcnt, a->off);
	default: return real_pwritev64(a->fd, a->iov, a->iovcnt, a->off);
	}
}

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct wargs a = { .fd = fd, .buf = buf, .len = len, .kind = 0 };

	if (!real_write)
		resolve();
	return data_write(fd, 0, 0, len, "write", w_do, &a);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct wargs a = { .fd = fd, .buf = buf, .len = len, .off = off, .kind = 1 };

	if (!real_pwrite)
		resolve();
	return data_write(fd, off, 1, len, "pwrite", w_do, &a);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	struct wargs a = { .fd = fd, .buf = buf, .len = len, .off = off, .kind = 2 };

	if (!real_pwrite64)
		resolve();
	return data_write(fd, off, 1, len, "pwrite", w_do, &a);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct wargs a = { .fd = fd, .iov = iov, .iovcnt = n, .kind = 3 };

	if (!real_writev)
		resolve();
	return data_write(fd, 0, 0, iov_len(iov, n), "writev", w_do, &a);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct wargs a = { .fd = fd, .iov = iov, .iovcnt = n, .off = off, .kind = 4 };

	if (!real_pwritev)
		resolve();
	return data_write(fd, off, 1, iov_len(iov, n), "pwritev", w_do, &a);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	struct wargs a = { .fd = fd, .iov = iov, .iovcnt = n, .off = off, .kind = 5 };

	if (!real_pwritev64)
		resolve();
	return data_write(fd, off, 1, iov_len(iov, n), "pwritev", w_do, &a);
}

static int do_truncate(int fd, off_t len, int (*real)(int, off_t))
{
	struct stat st;
	struct node *n;
	int r;

	if (!active)
		return real(fd, len);
	pthread_mutex_lock(&mu);
	n = node_of(fd, &st);
	if (n) {
		tick("ftruncate", n->path);
		add_ev(n, 1, len, 0, st.st_size);
	}
	r = real(fd, len);
	if (r < 0 && n)
		free(n->ev[--n->nev].old);
	pthread_mutex_unlock(&mu);
	return r;
}

int ftruncate(int fd, off_t len)
{
	if (!real_ftruncate)
		resolve();
	return do_truncate(fd, len, real_ftruncate);
}

int ftruncate64(int fd, off_t len)
{
	if (!real_ftruncate64)
		resolve();
	return do_truncate(fd, len, real_ftruncate64);
}

static int do_sync(int fd, int (*real)(int), const char *op)
{
	struct stat st;
	struct node *n = NULL;
	char p[PATH_MAX];
	int r, dir;

	if (!active || fstat(fd, &st) < 0)
		return real(fd);
	dir = S_ISDIR(st.st_mode);
	pthread_mutex_lock(&mu);
	if (dir) {
		if (fd_path(fd, p) == 0 && under_dirs(p))
			tick(op, p);
		else
			dir = 0; /* untracked directory */
	} else if ((n = node_of(fd, &st))) {
		tick(op, n->path);
	}
	r = real(fd);
	if (r == 0 && n)
		clear_evs(n);
	if (r == 0 && dir)
		dir_synced(fd);
	pthread_mutex_unlock(&mu);
	return r;
}

int fsync(int fd)
{
	if (!real_fsync)
		resolve();
	return do_sync(fd, real_fsync, "fsync");
}

int fdatasync(int fd)
{
	if (!real_fdatasync)
		resolve();
	return do_sync(fd, real_fdatasync, "fdatasync");
}

int sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	struct stat st;

	if (!real_sync_file_range)
		resolve();
	if (active) { /* counted (a cut may land here); makes nothing durable */
		pthread_mutex_lock(&mu);
		struct node *n = node_of(fd, &st);

		if (n)
			tick("sync_file_range", n->path);
		pthread_mutex_unlock(&mu);
	}
	return real_sync_file_range(fd, off, len, flags);
}

/* ---- directory entries ------------------------------------------------ */

static int do_rename(int od, const char *o, int nd, const char *n)
{
	char a[PATH_MAX], b[PATH_MAX];
	char *st = NULL;
	int r;

	if (!active || abs_path(od, o, a) < 0 || abs_path(nd, n, b) < 0 ||
	    (!under_dirs(a) && !under_dirs(b)))
		return real_renameat(od, o, nd, n);
	pthread_mutex_lock(&mu);
	tick("rename", b);
	st = stash_link(b);
	r = real_renameat(od, o, nd, n);
	if (r == 0)
		add_nop(N_RENAME, a, b, st);
	else if (st)
		(void)real_unlink(st), free(st);
	pthread_mutex_unlock(&mu);
	return r;
}

int rename(const char *o, const char *n)
{
	if (!real_renameat)
		resolve();
	return do_rename(AT_FDCWD, o, AT_FDCWD, n);
}

int renameat(int od, const char *o, int nd, const char *n)
{
	if (!real_renameat)
		resolve();
	return do_rename(od, o, nd, n);
}

static int do_link(int od, const char *o, int nd, const char *n, int flags)
{
	char a[PATH_MAX], b[PATH_MAX];
	int r;

	if (!active || abs_path(od, o, a) < 0 || abs_path(nd, n, b) < 0 || !under_dirs(b))
		return real_linkat(od, o, nd, n, flags);
	pthread_mutex_lock(&mu);
	tick("link", b);
	r = real_linkat(od, o, nd, n, flags);
	if (r == 0)
		add_nop(N_LINK, a, b, NULL);
	pthread_mutex_unlock(&mu);
	return r;
}

int link(const char *o, const char *n)
{
	if (!real_linkat)
		resolve();
	return do_link(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int linkat(int od, const char *o, int nd, const char *n, int flags)
{
	if (!real_linkat)
		resolve();
	return do_link(od, o, nd, n, flags);
}

static int do_unlink(int dfd, const char *p, int flags)
{
	char a[PATH_MAX];
	char *st;
	int r;

	if (!active || (flags & AT_REMOVEDIR) || abs_path(dfd, p, a) < 0 || !under_dirs(a))
		return real_unlinkat(dfd, p, flags);
	pthread_mutex_lock(&mu);
	st = stash_link(a);
	if (st || access(a, F_OK) == 0)
		tick("unlink", a);
	r = real_unlinkat(dfd, p, flags);
	if (r == 0)
		add_nop(N_UNLINK, a, NULL, st);
	else if (st)
		(void)real_unlink(st), free(st);
	pthread_mutex_unlock(&mu);
	return r;
}

int unlink(const char *p)
{
	if (!real_unlinkat)
		resolve();
	return do_unlink(AT_FDCWD, p, 0);
}

int unlinkat(int dfd, const char *p, int flags)
{
	if (!real_unlinkat)
		resolve();
	return do_unlink(dfd, p, flags);
}

int mkdir(const char *p, mode_t m)
{
	char a[PATH_MAX];
	int r;

	if (!real_mkdir)
		resolve();
	if (!active || abs_path(AT_FDCWD, p, a) < 0 || !under_dirs(a))
		return real_mkdir(p, m);
	pthread_mutex_lock(&mu);
	if (access(a, F_OK) == 0) { /* EEXIST: nothing changes */
		pthread_mutex_unlock(&mu);
		return real_mkdir(p, m);
	}
	tick("mkdir", a);
	r = real_mkdir(p, m);
	if (r == 0)
		add_nop(N_MKDIR, a, NULL, NULL);
	pthread_mutex_unlock(&mu);
	return r;
}

/* open with O_CREAT (a new name) or O_TRUNC (an unsynced truncation). */
static int do_open(int dfd, const char *p, int flags, mode_t m,
		   int (*real)(int, const char *, int, ...))
{
	char a[PATH_MAX];
	struct stat st;
	int exists, fd;

	if (!active || !(flags & (O_CREAT | O_TRUNC)) || abs_path(dfd, p, a) < 0 ||
	    !under_dirs(a))
		return real(dfd, p, flags, m);
	pthread_mutex_lock(&mu);
	exists = stat(a, &st) == 0;
	if (exists && (flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0) {
		int tfd = real_open(a, O_RDONLY | O_CLOEXEC);
		struct node *n = tfd >= 0 ? node_of(tfd, &st) : NULL;

		if (n) {
			tick("truncate", a);
			add_ev(n, 1, 0, 0, st.st_size);
		}
		if (tfd >= 0)
			close(tfd);
	}
	if (!exists && (flags & O_CREAT))
		tick("create", a);
	fd = real(dfd, p, flags, m);
	if (fd >= 0 && !exists && (flags & O_CREAT))
		add_nop(N_CREATE, a, NULL, NULL);
	pthread_mutex_unlock(&mu);
	return fd;
}

static int at_open(int dfd, const char *p, int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = (mode_t)va_arg(ap, int);
	va_end(ap);
	return real_openat(dfd, p, flags, m);
}

#define MODE_ARG(flags, m)                                                                  \
	do {                                                                                \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                      \
			va_list ap;                                                         \
			va_start(ap, flags);                                                \
			m = (mode_t)va_arg(ap, int);                                        \
			va_end(ap);                                                         \
		}                                                                           \
	} while (0)

int open(const char *p, int flags, ...)
{
	mode_t m = 0;

	if (!real_openat)
		resolve();
	MODE_ARG(flags, m);
	return do_open(AT_FDCWD, p, flags, m, at_open);
}

int open64(const char *p, int flags, ...)
{
	mode_t m = 0;

	if (!real_openat)
		resolve();
	MODE_ARG(flags, m);
	return do_open(AT_FDCWD, p, flags, m, at_open);
}

int openat(int dfd, const char *p, int flags, ...)
{
	mode_t m = 0;

	if (!real_openat)
		resolve();
	MODE_ARG(flags, m);
	return do_open(dfd, p, flags, m, at_open);
}

int openat64(int dfd, const char *p, int flags, ...)
{
	mode_t m = 0;

	if (!real_openat)
		resolve();
	MODE_ARG(flags, m);
	return do_open(dfd, p, flags, m, at_open);
}

/* _FORTIFY_SOURCE's checked variants (no mode argument). */
int __open_2(const char *p, int flags);
int __open64_2(const char *p, int flags);
int __open_2(const char *p, int flags)
{
	if (!real_openat)
		resolve();
	return do_open(AT_FDCWD, p, flags, 0, at_open);
}

int __open64_2(const char *p, int flags)
{
	if (!real_openat)
		resolve();
	return do_open(AT_FDCWD, p, flags, 0, at_open);
}
