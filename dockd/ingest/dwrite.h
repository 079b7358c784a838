/* dwrite.h - append to a file from a second thread, with early writeback.
 *
 * The ingest writes each recording's ciphertext once, sequentially. Here
 * the bytes are gathered into two blocks and a thread writes each full
 * block while the caller fills the other one, so pulling, hashing and
 * encrypting overlap the write. Right after each block the thread starts
 * its writeback (sync_file_range), and once the file is DWRITE_BEHIND
 * bytes further it waits for the older stretch to be on the device and
 * drops it from the page cache: the device always has requests queued
 * (measured here, buffered writes with early writeback beat O_DIRECT with
 * one request in flight by 1.5x), dirty memory stays bounded, and the
 * caller's fdatasync at a sync point has little left to do.
 *
 *	struct dwrite *w;
 *	dwrite_open(fd, start, true, &w);   // fd: the caller's O_RDWR fd
 *	dwrite_append(w, buf, len); ...
 *	dwrite_flush(w);                    // everything appended is in the file
 *	fdatasync(fd);                      // durability stays the caller's
 *	dwrite_sha256(w, &len, sha);        // optional: SHA-256 of the whole file
 *	dwrite_free(w);
 *
 * With sha256 on, the bytes are hashed in file order as they are written
 * (by the writer thread, just before each block goes to the file), so the
 * caller learns the SHA-256 of exactly what it wrote without a second pass
 * and without spending its own thread's time on it.
 *
 * Where the file system takes O_DIRECT, the page-aligned part of each
 * block is written with it (and only the unaligned head and tail, around
 * a sync point's flush and at the end, go through the page cache): the
 * copy into the page cache and its writeback cost about 1 s of CPU per GiB
 * on the dock's 2-core machine, more than the SHA-256. O_DIRECT is set on
 * fd only around those writes; between calls fd has the caller's flags.
 * The write-behind above then applies to buffered writes only.
 *
 * Memory: two blocks (see below). Errors: the first write error is
 * returned by every later call. Functions return 0 or -errno.
 */
#ifndef DOCKD_DWRITE_H
#define DOCKD_DWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Block size: the first DWRITE_BIG_USERS writers of the process get big
 * blocks (fewer, larger writes: a lone camera goes faster), the others
 * small ones (sixteen cameras at once stay within the memory cap). */
#define DWRITE_BLOCK_BIG (1024u << 10)
#define DWRITE_BLOCK_SMALL (128u << 10)
#define DWRITE_BIG_USERS 1
/* Blocks in each writer's ring: the caller only waits when all the others
 * are queued for the thread. */
#define DWRITE_BLOCKS_BIG 8
#define DWRITE_BLOCKS_SMALL 2
#define DWRITE_BLOCKS_MAX 8
/* Written-back-and-dropped lags the write position by at most this. */
#define DWRITE_BEHIND (128u << 20)

struct dwrite;

/* Append at file offset start (bytes before it are already in the file).
 * fd is borrowed. sha256: keep a SHA-256 of the file (the bytes
 * [0, start) are read back through fd and hashed first). */
int dwrite_open(int fd, uint64_t start, bool sha256, struct dwrite **out);

/* With sha256 on: also hand every byte of the file, in file order, to fn
 * (on the thread that hashes it; the bytes before `start` are read back
 * and handed over here first). Call before the first block is handed to
 * the thread (right after dwrite_open() and the first small appends). fn
 * cannot fail the writer: it keeps its own errors. */
int dwrite_set_tap(struct dwrite *w, void (*fn)(void *ctx, const uint8_t *buf, size_t len),
		   void *ctx);

/* Queue len bytes after the previous ones (may wait for the block
 * before to be written). */
int dwrite_append(struct dwrite *w, const void *buf, size_t len);

/* Wait until every appended byte was written to the file (not synced). */
int dwrite_flush(struct dwrite *w);

/* After dwrite_flush(): the length of the file and the SHA-256 of its
 * bytes as written. Once; -EINVAL without sha256 or with bytes appended
 * since the flush. */
int dwrite_sha256(struct dwrite *w, uint64_t *len, uint8_t sha256[32]);

/* Stop the thread (after its current block), free. NULL ok. */
void dwrite_free(struct dwrite *w);

#endif
