/* dwrite.h - append to a file past the page cache, in the background.
 *
 * The ingest writes each recording's ciphertext once, sequentially, and
 * never reads it back through the cache (ctverify.h reads the device).
 * Buffered writes cost a copy into freshly allocated page-cache pages and
 * then a long fdatasync at every sync point; here the bytes are gathered
 * into two aligned blocks and a thread writes each full block with O_DIRECT
 * while the caller fills the other one, so pulling, hashing and encrypting
 * overlap the device write. Where the filesystem refuses O_DIRECT (tmpfs)
 * the thread falls back to plain writes (and starts their writeback).
 *
 *	struct dwrite *w;
 *	dwrite_open(fd, path, start, &w);   // fd: the caller's O_RDWR fd
 *	dwrite_append(w, buf, len); ...
 *	dwrite_flush(w);                    // everything appended is in the file
 *	fdatasync(fd);                      // durability stays the caller's
 *	dwrite_free(w);
 *
 * dwrite_flush() writes the unaligned tail through the caller's ordinary
 * fd; the next full block rewrites that block (same bytes first) through
 * O_DIRECT, which the kernel keeps coherent with the cache.
 * Memory: two blocks (see below). Errors: the first write error is
 * returned by every later call. Functions return 0 or -errno.
 */
#ifndef DOCKD_DWRITE_H
#define DOCKD_DWRITE_H

#include <stddef.h>
#include <stdint.h>

/* Block size: the first DWRITE_BIG_USERS writers of the process get big
 * blocks (fewer, larger device writes: a lone camera goes faster), the
 * others small ones (sixteen cameras at once stay within the memory cap). */
#define DWRITE_BLOCK_BIG (1024u << 10)
#define DWRITE_BLOCK_SMALL (128u << 10)
#define DWRITE_BIG_USERS 1

struct dwrite;

/* Append at file offset start (bytes before it are already in the file;
 * the part of its block below start is read back from fd). fd is
 * borrowed; path is opened again with O_DIRECT for the block writes. */
int dwrite_open(int fd, const char *path, uint64_t start, struct dwrite **out);

/* Queue len bytes after the previous ones (may wait for the block
 * before to be written). */
int dwrite_append(struct dwrite *w, const void *buf, size_t len);

/* Wait until every appended byte was written to the file (not synced). */
int dwrite_flush(struct dwrite *w);

/* Stop the thread (after its current block), close our fd, free. NULL ok. */
void dwrite_free(struct dwrite *w);

#endif
