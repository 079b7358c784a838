/* ctverify.h - read a partial evidence file back from the device while it
 * is still being written, and hash it.
 *
 * The ingest (ingest.c) writes ciphertext strictly append-only (the evfile
 * format never rewrites a byte) and makes it durable at sync points. Before
 * a recording may be called stored, its ciphertext must be read back past
 * the page cache and its SHA-256 and length recorded. Doing that only after
 * the pull costs a second full pass over the file; instead, after each sync
 * point the ingest reports "bytes [0, n) are durable" and a thread of this
 * module reads the new stretch back - with O_DIRECT where the filesystem
 * allows, otherwise after dropping the (clean, synced) pages with
 * POSIX_FADV_DONTNEED - and feeds it to SHA-256. Only bytes already durable
 * are read, and each byte exactly once, in order, so the result is the
 * same as one re-read of the finished file; the final call only has the
 * stretch since the last sync point left.
 *
 *	struct ctverify *v;
 *	ctverify_start(part_path, true, &v);    // after the file exists
 *	...write, fdatasync...; ctverify_durable(v, bytes_synced);
 *	...finish, fsync...;    ctverify_finish(v, &len, sha);
 *	ctverify_free(v);                       // always (joins the thread)
 *
 * With reread false the module only runs the background syncs
 * (ctverify_sync_async): no buffer, nothing is read, ctverify_durable()
 * does nothing and ctverify_finish() fails with -EINVAL.
 *
 * Memory: one read buffer (1 MiB for the first verifier of the process,
 * 128 KiB for the others) and one SHA-256 context. If no thread can
 * be started, everything is read in ctverify_finish() instead (same result).
 * Functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_CTVERIFY_H
#define DOCKD_CTVERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct ctverify;

/* Open path (read-only, its own descriptor) and start the thread. */
int ctverify_start(const char *path, bool reread, struct ctverify **out);

/* Bytes [0, n) of the file are durable (fdatasync returned): they may be
 * read back. Never blocks on I/O. Smaller n than before is ignored. */
void ctverify_durable(struct ctverify *v, uint64_t n);

/* Sync in the background instead of the caller: the thread fdatasyncs the
 * file (every byte written so far, through any descriptor), then treats
 * [0, n) as durable (as ctverify_durable) and records `mark` (the caller's
 * progress figure, e.g. chunks) as synced. Never blocks on I/O; a request
 * not yet started is replaced by a newer one. Without a thread it syncs
 * right here. */
void ctverify_sync_async(struct ctverify *v, uint64_t n, uint64_t mark);

/* Call fn(ctx, mark) after each background sync that completed, on the
 * thread that did it (the caller's own thread when there is none), with no
 * lock of this module held: to record progress without the caller waiting
 * for it. Set it before the first ctverify_sync_async(); ctverify_free()
 * waits for a call under way. */
void ctverify_on_synced(struct ctverify *v, void (*fn)(void *ctx, uint64_t mark), void *ctx);

/* *mark: the mark of the last background sync that completed (0 before
 * the first); or the error of a failed one (then sticky). */
int ctverify_synced(struct ctverify *v, uint64_t *mark);

/* The whole file is durable (fsync returned) and will not change: read the
 * rest up to end of file, then give the total length read and its SHA-256
 * (the first read error, if any, instead). Call once. */
int ctverify_finish(struct ctverify *v, uint64_t *len, uint8_t sha256[32]);

/* Stop the thread (at most one block read later), close, free. NULL ok. */
void ctverify_free(struct ctverify *v);

#endif
