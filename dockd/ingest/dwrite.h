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
 * (by a hash thread of its own, from the same block the writer thread
 * writes; a block is reused only once both are done with it), so the
 * caller learns the SHA-256 of exactly what it wrote without a second pass
 * and without spending its own thread's time on it. The hash has its own
 * thread so that the device writes one block while the next one is
 * hashed: hashing and then writing each group of blocks in series on one
 * thread left the device idle for the hash's time (~0.65 s per GiB here,
 * docs/dockd.md "Ingest cost"). Without that thread the writer thread
 * hashes, as before.
 *
 * Where the file system takes O_DIRECT, the page-aligned part of each
 * block is written with it (and only the unaligned head and tail, around
 * a sync point's flush and at the end, go through the page cache): the
 * copy into the page cache and its writeback cost about 1 s of CPU per GiB
 * on the dock's 2-core machine, more than the SHA-256. O_DIRECT is set on
 * fd only around those writes; between calls fd has the caller's flags.
 * The write-behind above then applies to buffered writes only.
 *
 * Memory: its ring of blocks (see below). Errors: the first write error is
 * returned by every later call. Functions return 0 or -errno.
 */
#ifndef DOCKD_DWRITE_H
#define DOCKD_DWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ring: DWRITE_BUDGET bytes of blocks shared alike by the writers
 * open in the process. With n open, each ring is DWRITE_BUDGET / m bytes,
 * m the power of two >= n (so the sum stays within the budget and the
 * size changes only when n crosses a power of two), clamped to
 * [DWRITE_BLOCKS_MIN x DWRITE_BLOCK_MIN, DWRITE_BLOCKS_MAX x
 * DWRITE_BLOCK_MAX]: blocks of DWRITE_BLOCK_MAX while the ring holds two
 * of them (one camera: 8 x 1 MiB, two: 4 x 1 MiB, three or four:
 * 2 x 1 MiB), else two blocks (five to eight: 2 x 512 KiB, nine to
 * sixteen: 2 x 256 KiB, more: 2 x 128 KiB, the floor). Every writer
 * checks its share at each full block and changes its ring to it (after
 * the blocks queued are written), so writers open at the same time hold
 * the same ring whenever each opened: the first camera docked once kept
 * eight 1 MiB blocks while fifteen others had two of 128 KiB and ran at
 * nearly twice their rate. Why a shared budget rather than small blocks
 * for all: each block costs a wake-up of the writer thread, a pwrite and
 * a virtio request, and sixteen cameras with 2 x 128 KiB each spent more
 * CPU per GiB than with 2 x 256 KiB or 2 x 512 KiB, while 2 x 512 KiB
 * put the total PSS over 64 MiB (tests/bench/dockd.sh part 2; the
 * figures in docs/dockd.md "Memory"). */
#define DWRITE_BUDGET (8u << 20)
#define DWRITE_BLOCK_MAX (1024u << 10)
#define DWRITE_BLOCK_MIN (128u << 10)
#define DWRITE_BLOCKS_MIN 2
#define DWRITE_BLOCKS_MAX 8
/* A lone writer (no other open) is the exception: DWRITE_LONE_BLOCKS x
 * DWRITE_BLOCK_MAX (16 MiB), outside the budget, and it changes to the
 * shared rule at its next block once a second writer opens (as above).
 * Why: the thread writes every block queued in one O_DIRECT pwritev and
 * frees none of them before the whole write returns, so with 8 blocks the
 * caller (the pull thread) often found the ring full: counted during
 * 1 GiB ingests on the loaded 2-core dock, 40-46 waits of 10-15 ms each,
 * 0.43-0.62 s per GiB, against 4-7 waits and 0.03 s with 16 (the writer
 * thread, woken late under load, then takes a bigger group; docs/dockd.md
 * "Ingest pipeline"). Sixteen cameras are not concerned (PSS). */
#define DWRITE_LONE_BLOCKS 16
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

/* The size of w's blocks now, and how many its ring holds. Only between
 * the caller's own calls (the caller changes them). */
size_t dwrite_block_size(const struct dwrite *w);
unsigned dwrite_ring_blocks(const struct dwrite *w);

/* The ring of a writer while `writers` are open (the rule above):
 * block size and count. writers 0 counts as 1. */
void dwrite_ring_for(unsigned writers, size_t *bsize, unsigned *nblk);

/* Wait until every appended byte was written to the file (not synced). */
int dwrite_flush(struct dwrite *w);

/* After dwrite_flush(): the length of the file and the SHA-256 of its
 * bytes as written. Once; -EINVAL without sha256 or with bytes appended
 * since the flush. */
int dwrite_sha256(struct dwrite *w, uint64_t *len, uint8_t sha256[32]);

/* Stop the thread (after its current block), free. NULL ok. */
void dwrite_free(struct dwrite *w);

#endif
