/* powercut_int.h - the power-cut library's internals, shared by
 * powercut.c (what is durable, the cut) and powercut_calls.c (the
 * interposed libc calls). Nothing here is exported from the library
 * (hidden visibility): only the libc names are interposed. See powercut.c.
 */
#ifndef POWERCUT_INT_H
#define POWERCUT_INT_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#pragma GCC visibility push(hidden)

#define MAX_DIRS 8
#define SECTOR 512
#define OLD_CAP (64u << 20) /* old bytes kept per file at most (hard cap) */

struct dev_ev { /* one unsynced data change of a file */
	int trunc;         /* 0: write [off, off+len); 1: truncate to off */
	off_t off;
	size_t len;
	off_t prev_size;   /* the size before */
	unsigned char *old; /* bytes overwritten (or cut away), from off */
	size_t oldlen;
};

struct node { /* a tracked file */
	dev_t dev;
	ino_t ino;
	int fd; /* our own descriptor: the rollback writes through it */
	char *path;
	struct dev_ev *ev;
	size_t nev, cap;
};

enum nop_kind { N_CREATE, N_LINK, N_RENAME, N_UNLINK, N_MKDIR };

struct nop { /* one directory-entry operation not yet durable */
	enum nop_kind kind;
	char *a, *b;        /* paths (b: link/rename target) */
	char *da, *db;      /* their directories */
	char *stash;        /* a hard link to what unlink/rename removed */
	int sa, sb;         /* da / db fsynced since */
};

extern pthread_mutex_t mu; /* every interposed call that changes a tracked file */
extern int active;         /* configured, and not a forked child */
extern char flip[PATH_MAX]; /* POWERCUT_FLIP */

#define REAL(ret, name, ...) extern ret (*real_##name)(__VA_ARGS__)
REAL(ssize_t, write, int, const void *, size_t);
REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
REAL(ssize_t, writev, int, const struct iovec *, int);
REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
REAL(ssize_t, pwritev64, int, const struct iovec *, int, off_t);
REAL(int, ftruncate, int, off_t);
REAL(int, ftruncate64, int, off_t);
REAL(int, fsync, int);
REAL(int, fdatasync, int);
REAL(int, sync_file_range, int, off_t, off_t, unsigned int);
REAL(int, rename, const char *, const char *);
REAL(int, renameat, int, const char *, int, const char *);
REAL(int, link, const char *, const char *);
REAL(int, linkat, int, const char *, int, const char *, int);
REAL(int, unlink, const char *);
REAL(int, unlinkat, int, const char *, int);
REAL(int, mkdir, const char *, mode_t);
REAL(int, open, const char *, int, ...);
REAL(int, open64, const char *, int, ...);
REAL(int, openat, int, const char *, int, ...);
REAL(int, openat64, int, const char *, int, ...);


void resolve(void);
int abs_path(int dirfd, const char *p, char out[PATH_MAX]);
int under_dirs(const char *p);
int fd_path(int fd, char out[PATH_MAX]);
void tick(const char *op, const char *path);
struct node *node_of(int fd, struct stat *st);
void add_ev(struct node *n, int trunc, off_t off, size_t len, off_t size);
void clear_evs(struct node *n);
void add_nop(enum nop_kind k, const char *a, const char *b, char *stash);
char *stash_link(const char *path);
void dir_synced(int fd);

#undef REAL

#pragma GCC visibility pop
#endif
