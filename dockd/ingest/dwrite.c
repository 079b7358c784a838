/* dwrite.c - append to a file in the background, early writeback (see
 * dwrite.h). */
#define _GNU_SOURCE /* O_DIRECT, pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dwrite.h"
#include "dwrite_int.h"

static atomic_uint writers; /* writers open (dwrite_open .. dwrite_free) */

/* Hash the bytes of p (at file offset off) not hashed yet. Bytes are never
 * rewritten with other values, so each is hashed once, in file order. */
static int hash_new(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off)
{
	uint64_t skip;

	if (!w->md || off + len <= w->hashed)
		return 0;
	if (off > w->hashed)
		return -EIO; /* a gap: cannot happen with append-only use */
	skip = w->hashed - off;
	if (EVP_DigestUpdate(w->md, p + skip, len - (size_t)skip) != 1)
		return -EIO;
	w->hashed = off + len;
	return 0;
}

/* The same for the tap (bytes are in order and never rewritten). */
static void tap_new(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off)
{
	uint64_t skip;

	if (!w->tap || off + len <= w->tapped || off > w->tapped)
		return;
	skip = w->tapped - off;
	w->tap(w->tap_ctx, p + skip, len - (size_t)skip);
	w->tapped = off + len;
}

/* One block: hash (when hash: not on the hash thread) and tap (when tap),
 * write, and (buffered only) start its writeback. Direct
 * writes leave nothing in the page cache to write back or drop. (Measured
 * earlier on an idle machine: O_DIRECT writes of whole blocks, one at a
 * time, ran at ~500 MB/s on this disk, half the buffered rate; on the
 * loaded 2-core machine the ingest is CPU-bound and the ~1 s CPU per GiB
 * the page cache costs matters more: docs/dockd.md, "Ingest cost".) */
static int write_block(struct dwrite *w, const uint8_t *p, size_t len, uint64_t off, bool hash,
		       bool tap)
{
	int r = hash ? hash_new(w, p, len, off) : 0;

	if (r == 0 && tap)
		tap_new(w, p, len, off);
	if (r == 0)
		r = dw_write_out(w, p, len, off);
	if (r == 0 && !w->direct)
		r = dw_write_behind(w, off, len);
	return r;
}

/* Under mu, after the writer, the hash or the tap thread finished a slot:
 * free the slots all of them are done with. */
static void retire(struct dwrite *w)
{
	unsigned k = w->tap_threaded && w->tq < w->wq ? w->tq : w->wq;

	if (w->hash_threaded && w->hq < k)
		k = w->hq;
	if (!k)
		return;
	w->head = (w->head + k) % w->nblk;
	w->npend -= k;
	w->wq -= k;
	w->hq = w->hash_threaded ? w->hq - k : 0;
	w->tq = w->tap_threaded ? w->tq - k : 0;
	pthread_cond_broadcast(&w->done);
}

/* Direct: the queued blocks ring[b0 .. b0+n) (n >= 2, consecutive in the
 * file, each ending page-aligned: only full blocks are queued) hashed in
 * order here when hash (no hash thread), then written with one O_DIRECT
 * pwritev. One large request lets
 * the block layer keep several pieces of it in flight at once, where one
 * block per write left the device one request at a time (the reason
 * O_DIRECT once ran at half the buffered rate). The first block goes
 * alone if it starts unaligned; anything the single call does not finish
 * (a short write, EINVAL) is written block by block. */
static int write_group(struct dwrite *w, unsigned b0, unsigned n, bool hash, bool tap)
{
	struct iovec iov[DWRITE_LONE_BLOCKS];
	unsigned i0 = 0, k = 0;
	uint64_t off;
	size_t want = 0;
	ssize_t got = 0;
	int r = 0;

	for (unsigned i = 0; i < n && r == 0 && (hash || tap); i++) {
		unsigned b = (b0 + i) % w->nblk;

		if (hash)
			r = hash_new(w, w->blk[b] + w->pend_lead[b], w->pend_len[b], w->pend_off[b]);
		if (r == 0 && tap)
			tap_new(w, w->blk[b] + w->pend_lead[b], w->pend_len[b], w->pend_off[b]);
	}
	if (r == 0 && w->pend_lead[b0]) { /* unaligned start: on its own */
		r = dw_write_out(w, w->blk[b0] + w->pend_lead[b0], w->pend_len[b0], w->pend_off[b0]);
		i0 = 1;
	}
	if (r < 0 || i0 >= n)
		return r;
	off = w->pend_off[(b0 + i0) % w->nblk];
	for (unsigned i = i0; i < n; i++) {
		unsigned b = (b0 + i) % w->nblk;

		iov[k].iov_base = w->blk[b];
		iov[k].iov_len = w->pend_len[b];
		want += w->pend_len[b];
		k++;
	}
	dw_set_dio(w, true);
	if (w->direct && w->dio_on) {
		do
			got = pwritev(w->fd, iov, (int)k, (off_t)off);
		while (got < 0 && errno == EINTR);
		if (got < 0 && errno != EINVAL)
			return -errno;
		if (got == (ssize_t)want)
			return 0;
	}
	/* the rest, block by block (bytes are rewritten with the same values) */
	for (unsigned i = i0; i < n && r == 0; i++) {
		unsigned b = (b0 + i) % w->nblk;

		if (got > 0 && w->pend_off[b] + w->pend_len[b] <= off + (uint64_t)got)
			continue; /* written whole by the pwritev */
		r = dw_write_out(w, w->blk[b], w->pend_len[b], w->pend_off[b]);
	}
	return r;
}

static void *run(void *arg)
{
	struct dwrite *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		unsigned b, n;
		int r;

		while (w->wq == w->npend && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->wq == w->npend)
			break; /* stop, nothing queued */
		b = (w->head + w->wq) % w->nblk;
		n = w->npend - w->wq; /* every block queued now, in file order */
		if (!w->direct)
			n = 1;
		pthread_mutex_unlock(&w->mu);
		/* hash and tap here only when they have no thread of their own */
		if (n > 1)
			r = write_group(w, b, n, !w->hash_threaded,
					!w->tap_threaded && !w->hash_threaded);
		else
			r = write_block(w, w->blk[b] + w->pend_lead[b], w->pend_len[b],
					w->pend_off[b], !w->hash_threaded,
					!w->tap_threaded && !w->hash_threaded);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err)
			w->err = r;
		w->wq += n;
		retire(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The hash thread: the ciphertext SHA-256 of the same blocks in the same
 * order, beside the writer (and the tap, when it has no thread). A block
 * is neither changed nor reused before both are done with it (retire), so
 * the hash covers exactly the bytes written. */
static void *run_hash(void *arg)
{
	struct dwrite *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		unsigned b;
		int r;

		while (w->hq == w->npend && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->hq == w->npend)
			break;
		b = (w->head + w->hq) % w->nblk;
		pthread_mutex_unlock(&w->mu);
		r = hash_new(w, w->blk[b] + w->pend_lead[b], w->pend_len[b], w->pend_off[b]);
		if (r == 0 && !w->tap_threaded)
			tap_new(w, w->blk[b] + w->pend_lead[b], w->pend_len[b], w->pend_off[b]);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err)
			w->err = r;
		w->hq++;
		retire(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The tap's thread: the same blocks in the same order, beside the writer
 * (with the part digests, dockd/partsum.h, the tap costs twice what
 * hashing and writing do). */
static void *run_tap(void *arg)
{
	struct dwrite *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		unsigned b;

		while (w->tq == w->npend && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->tq == w->npend)
			break;
		b = (w->head + w->tq) % w->nblk;
		pthread_mutex_unlock(&w->mu);
		tap_new(w, w->blk[b] + w->pend_lead[b], w->pend_len[b], w->pend_off[b]);
		pthread_mutex_lock(&w->mu);
		w->tq++;
		retire(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait until at most `most` blocks are pending; the first error. */
static int wait_pending(struct dwrite *w, unsigned most)
{
	int r;

	pthread_mutex_lock(&w->mu);
	while (w->npend > most)
		pthread_cond_wait(&w->done, &w->mu);
	r = w->err;
	pthread_mutex_unlock(&w->mu);
	if (r < 0 && !w->cerr)
		w->cerr = r;
	return w->cerr;
}

static int wait_idle(struct dwrite *w)
{
	return wait_pending(w, 0);
}

void dwrite_ring_for(unsigned n, size_t *bsize, unsigned *nblk)
{
	unsigned m = 1;
	size_t ring;

	if (n <= 1) { /* alone: the big ring (dwrite.h) */
		*bsize = DWRITE_BLOCK_MAX;
		*nblk = DWRITE_LONE_BLOCKS;
		return;
	}
	while (m < n && m < (1u << 16))
		m <<= 1;
	ring = DWRITE_BUDGET / m;
	if (ring >= (size_t)DWRITE_BLOCKS_MIN * DWRITE_BLOCK_MAX) {
		*bsize = DWRITE_BLOCK_MAX;
		*nblk = ring / DWRITE_BLOCK_MAX > DWRITE_BLOCKS_MAX ? DWRITE_BLOCKS_MAX
								     : (unsigned)(ring / DWRITE_BLOCK_MAX);
		return;
	}
	*nblk = DWRITE_BLOCKS_MIN;
	*bsize = ring / DWRITE_BLOCKS_MIN & ~(size_t)(DWRITE_ALIGN - 1);
	if (*bsize < DWRITE_BLOCK_MIN)
		*bsize = DWRITE_BLOCK_MIN;
}

/* Allocate nblk blocks of bsize (aligned for O_DIRECT); all or none. */
static int blocks_alloc(uint8_t **blk, unsigned nblk, size_t bsize)
{
	for (unsigned i = 0; i < nblk; i++)
		if (posix_memalign((void **)&blk[i], DWRITE_ALIGN, bsize) != 0) {
			while (i--) {
				free(blk[i]);
				blk[i] = NULL;
			}
			return -ENOMEM;
		}
	return 0;
}

/* The writers open changed w's share (dwrite.h): wait until the thread is
 * done with every block, then change the ring to the share (the new blocks
 * allocated before the old ones are freed: without memory, keep the old
 * ring). The block being filled is empty (called between blocks). */
static int reshape(struct dwrite *w, size_t bsize, unsigned nblk)
{
	uint8_t *nb[DWRITE_LONE_BLOCKS] = { NULL };
	int r;

	if ((r = wait_idle(w)) < 0)
		return r;
	if (blocks_alloc(nb, nblk, bsize) < 0)
		return 0;
	pthread_mutex_lock(&w->mu); /* the threads read blk, nblk, head under it */
	for (unsigned i = 0; i < DWRITE_LONE_BLOCKS; i++) {
		free(w->blk[i]);
		w->blk[i] = nb[i];
	}
	w->nblk = nblk;
	w->bsize = bsize;
	w->head = w->cur = 0; /* nothing pending */
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* Hand the current block over (or write it here) and move to the next
 * free one; waits only when every other block is still queued. */
static int submit(struct dwrite *w)
{
	size_t bsize;
	unsigned nblk;
	int r;

	if (!w->threaded) {
		if ((r = wait_idle(w)) < 0)
			return r;
		r = write_block(w, w->blk[w->cur] + w->lead, w->fill, w->base, true, true);
		if (r < 0)
			return w->cerr = r;
	} else {
		pthread_mutex_lock(&w->mu);
		w->pend_lead[w->cur] = w->lead;
		w->pend_len[w->cur] = w->fill;
		w->pend_off[w->cur] = w->base;
		w->npend++;
		pthread_cond_broadcast(&w->cv); /* the writer and the tap */
		pthread_mutex_unlock(&w->mu);
		w->cur = (w->cur + 1) % w->nblk;
		/* blk[cur] is free once fewer than nblk blocks are pending */
		if ((r = wait_pending(w, w->nblk - 1)) < 0)
			return r;
	}
	w->base += w->fill;
	w->fill = 0;
	w->lead = w->aligned ? (size_t)(w->base % DWRITE_ALIGN) : 0;
	dwrite_ring_for(atomic_load(&writers), &bsize, &nblk);
	if (bsize != w->bsize || nblk != w->nblk)
		return reshape(w, bsize, nblk);
	return 0;
}

/* Hash the bytes [0, end) already in the file (a resumed file), reading
 * them through fd into buf (cap bytes). */
static int hash_prefix(struct dwrite *w, uint8_t *buf, size_t cap, uint64_t end)
{
	while (w->hashed < end) {
		size_t want = end - w->hashed < cap ? (size_t)(end - w->hashed) : cap;
		ssize_t n = pread(w->fd, buf, want, (off_t)w->hashed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (EVP_DigestUpdate(w->md, buf, (size_t)n) != 1)
			return -EIO;
		w->hashed += (uint64_t)n;
	}
	return 0;
}

int dwrite_open(int fd, uint64_t start, bool sha256, struct dwrite **out)
{
	struct dwrite *w;
	int r = -ENOMEM;

	if (fd < 0 || !out)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->done, NULL);
	dwrite_ring_for(atomic_fetch_add(&writers, 1) + 1, &w->bsize, &w->nblk);
	if (blocks_alloc(w->blk, w->nblk, w->bsize) < 0)
		goto fail;
	if (sha256) {
		w->md = EVP_MD_CTX_new();
		if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
			goto fail;
		if ((r = hash_prefix(w, w->blk[0], w->bsize, start)) < 0)
			goto fail;
	}
	w->base = start;
	w->settled = start;
	/* O_DIRECT if the file takes it; it is switched on only around the
	 * writes, so reads through fd (the resume's prefix, the tap's) and
	 * the caller's own use between flushes see the flags it chose */
	w->fl0 = fcntl(fd, F_GETFL);
	if (w->fl0 >= 0 && !(w->fl0 & (O_DIRECT | O_APPEND)) &&
	    fcntl(fd, F_SETFL, w->fl0 | O_DIRECT) == 0) {
		w->direct = w->aligned = fcntl(fd, F_SETFL, w->fl0) == 0;
		w->lead = w->aligned ? (size_t)(start % DWRITE_ALIGN) : 0;
	}
	w->threaded = pthread_create(&w->th, NULL, run, w) == 0;
	if (w->threaded) /* named for top -H and perf (best effort) */
		(void)pthread_setname_np(w->th, "dk-write");
	if (w->threaded && w->md) {
		w->hash_threaded = pthread_create(&w->hth, NULL, run_hash, w) == 0;
		if (w->hash_threaded)
			(void)pthread_setname_np(w->hth, "dk-cthash");
	}
	*out = w;
	return 0;
fail:
	dwrite_free(w);
	return r;
}

int dwrite_set_tap(struct dwrite *w, void (*fn)(void *ctx, const uint8_t *buf, size_t len),
		   void *ctx)
{
	uint64_t off = 0;
	uint8_t *tmp;
	int r = 0;

	/* nothing handed to the thread yet: bytes in the block being filled
	 * are hashed (and tapped) only when it is written */
	if (!w || !fn || !w->md || w->tap || w->npend || w->hashed != w->base)
		return -EINVAL;
	if (w->base && !(tmp = malloc(DWRITE_BLOCK_MIN)))
		return -ENOMEM;
	/* the bytes already in the file (a resumed one), read back once more */
	while (r == 0 && off < w->base) {
		size_t want = w->base - off < DWRITE_BLOCK_MIN ? (size_t)(w->base - off)
								 : DWRITE_BLOCK_MIN;
		ssize_t n = pread(w->fd, tmp, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		fn(ctx, tmp, (size_t)n);
		off += (uint64_t)n;
	}
	if (w->base)
		free(tmp);
	if (r == 0) {
		w->tap = fn;
		w->tap_ctx = ctx;
		w->tapped = w->base;
		/* npend is 0: the tap thread starts level with the writer */
		if (w->threaded)
			w->tap_threaded = pthread_create(&w->tth, NULL, run_tap, w) == 0;
		if (w->tap_threaded)
			(void)pthread_setname_np(w->tth, "dk-parts");
	}
	return r;
}

int dwrite_append(struct dwrite *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!w || (len && !buf))
		return -EINVAL;
	if (w->cerr)
		return w->cerr;
	while (len) {
		size_t n = w->bsize - w->lead - w->fill;

		if (n > len)
			n = len;
		memcpy(w->blk[w->cur] + w->lead + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		if (w->lead + w->fill == w->bsize) {
			int r = submit(w);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

size_t dwrite_block_size(const struct dwrite *w)
{
	return w ? w->bsize : 0;
}

unsigned dwrite_ring_blocks(const struct dwrite *w)
{
	return w ? w->nblk : 0;
}

int dwrite_flush(struct dwrite *w)
{
	int r;

	if (!w)
		return -EINVAL;
	r = wait_idle(w);
	if (r < 0)
		return r;
	if (w->fill) { /* the thread is idle: write the partial block here */
		r = write_block(w, w->blk[w->cur] + w->lead, w->fill, w->base, true, true);
		w->base += w->fill;
		w->fill = 0;
		w->lead = w->aligned ? (size_t)(w->base % DWRITE_ALIGN) : 0;
	}
	dw_set_dio(w, false); /* the caller's flags again until the next block */
	if (r < 0)
		return w->cerr = r;
	return 0;
}

int dwrite_sha256(struct dwrite *w, uint64_t *len, uint8_t sha256[32])
{
	unsigned int n = 0;
	int r;

	if (!w || !w->md || !len || !sha256)
		return -EINVAL;
	if ((r = wait_idle(w)) < 0)
		return r;
	if (w->fill || w->hashed != w->base)
		return -EINVAL; /* not flushed */
	if (EVP_DigestFinal_ex(w->md, sha256, &n) != 1 || n != 32)
		return -EIO;
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	*len = w->hashed;
	return 0;
}

void dwrite_free(struct dwrite *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		if (w->hash_threaded)
			pthread_join(w->hth, NULL);
		if (w->tap_threaded)
			pthread_join(w->tth, NULL);
	}
	dw_set_dio(w, false);
	EVP_MD_CTX_free(w->md);
	for (unsigned i = 0; i < DWRITE_LONE_BLOCKS; i++)
		free(w->blk[i]);
	atomic_fetch_sub(&writers, 1);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
