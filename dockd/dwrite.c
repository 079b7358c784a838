/* dwrite.c - append to a file past the page cache (see dwrite.h). */
#define _GNU_SOURCE /* O_DIRECT, sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwrite.h"

#define DW_ALIGN 4096u

static atomic_uint big_users; /* writers holding big blocks */

struct dwrite {
	int fd;  /* the caller's (buffered): tails, and everything without O_DIRECT */
	int dfd; /* ours, O_DIRECT; -1 when the filesystem refuses it */
	uint8_t *blk[2];
	size_t bsize;   /* block size */
	bool big;       /* counted in big_users */
	int cur;        /* the block being filled */
	size_t fill;    /* bytes in blk[cur] */
	uint64_t base;  /* file offset of blk[cur][0] (DW_ALIGN-aligned) */
	pthread_t th;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu: the block handed to the thread */
	int pend;       /* -1: none */
	size_t pend_len;
	uint64_t pend_off;
	bool stop;
	int err;  /* the thread's first error */
	int cerr; /* the caller's first error (caller-only) */
};

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* One full block: O_DIRECT, else buffered plus an early writeback start. */
static int write_block(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off)
{
	if (w->dfd >= 0) {
		int d = pwrite_all(w->dfd, p, len, off);

		if (d != -EINVAL)
			return d;
		close(w->dfd); /* refused after all: go buffered from now on */
		w->dfd = -1;
	}
	int r = pwrite_all(w->fd, p, len, off);

	if (r < 0)
		return r;
	(void)sync_file_range(w->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static void *run(void *arg)
{
	struct dwrite *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		int b, r;

		while (w->pend < 0 && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->pend < 0)
			break; /* stop, nothing queued */
		b = w->pend;
		pthread_mutex_unlock(&w->mu);
		r = write_block(w, w->blk[b], w->pend_len, w->pend_off);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err)
			w->err = r;
		w->pend = -1;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait until the thread holds no block; the first error. */
static int wait_idle(struct dwrite *w)
{
	int r;

	pthread_mutex_lock(&w->mu);
	while (w->pend >= 0)
		pthread_cond_wait(&w->cv, &w->mu);
	r = w->err;
	pthread_mutex_unlock(&w->mu);
	if (r < 0 && !w->cerr)
		w->cerr = r;
	return w->cerr;
}

/* Hand the full current block over and switch to the other one. */
static int submit(struct dwrite *w)
{
	int r = wait_idle(w);

	if (r < 0)
		return r;
	if (!w->threaded) {
		r = write_block(w, w->blk[w->cur], w->fill, w->base);
		if (r < 0)
			return w->cerr = r;
	} else {
		pthread_mutex_lock(&w->mu);
		w->pend = w->cur;
		w->pend_len = w->fill;
		w->pend_off = w->base;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	w->base += w->fill;
	w->cur ^= 1;
	w->fill = 0;
	return 0;
}

int dwrite_open(int fd, const char *path, uint64_t start, struct dwrite **out)
{
	struct dwrite *w = calloc(1, sizeof(*w));
	int r = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->dfd = -1;
	w->pend = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->big = atomic_fetch_add(&big_users, 1) < DWRITE_BIG_USERS;
	if (!w->big)
		atomic_fetch_sub(&big_users, 1);
	w->bsize = w->big ? DWRITE_BLOCK_BIG : DWRITE_BLOCK_SMALL;
	for (int i = 0; i < 2; i++)
		if (posix_memalign((void **)&w->blk[i], DW_ALIGN, w->bsize) != 0) {
			w->blk[i] = NULL;
			goto fail;
		}
	w->base = start & ~(uint64_t)(DW_ALIGN - 1);
	w->fill = (size_t)(start - w->base);
	if (w->fill) { /* the start of a block is in the file already */
		ssize_t n = pread(fd, w->blk[0], w->fill, (off_t)w->base);

		if (n != (ssize_t)w->fill) {
			r = n < 0 ? -errno : -EIO;
			goto fail;
		}
	}
	w->dfd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
	if (w->dfd < 0 && errno != EINVAL) {
		r = -errno;
		goto fail;
	}
	w->threaded = pthread_create(&w->th, NULL, run, w) == 0;
	*out = w;
	return 0;
fail:
	dwrite_free(w);
	return r;
}

int dwrite_append(struct dwrite *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->cerr)
		return w->cerr;
	while (len) {
		size_t n = w->bsize - w->fill;

		if (n > len)
			n = len;
		memcpy(w->blk[w->cur] + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		if (w->fill == w->bsize) {
			int r = submit(w);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

int dwrite_flush(struct dwrite *w)
{
	size_t whole;
	int r;

	if (!w)
		return -EINVAL;
	whole = w->fill & ~(size_t)(DW_ALIGN - 1);
	r = wait_idle(w);

	if (r < 0)
		return r;
	if (whole) /* the thread is idle: write in this one */
		r = write_block(w, w->blk[w->cur], whole, w->base);
	if (r == 0 && w->fill > whole)
		r = pwrite_all(w->fd, w->blk[w->cur] + whole, w->fill - whole, w->base + whole);
	if (r < 0)
		return w->cerr = r;
	/* Keep the tail: the next block write starts at its aligned offset. */
	memmove(w->blk[w->cur], w->blk[w->cur] + whole, w->fill - whole);
	w->base += whole;
	w->fill -= whole;
	return 0;
}

void dwrite_free(struct dwrite *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	if (w->dfd >= 0)
		close(w->dfd);
	free(w->blk[0]);
	free(w->blk[1]);
	if (w->big)
		atomic_fetch_sub(&big_users, 1);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
