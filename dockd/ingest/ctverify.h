/* ctverify.h - read a partial evidence file back from the device while it
 * is still being written, and authenticate it.
 *
 * The ingest (ingest.c) writes ciphertext strictly append-only (the evfile
 * format never rewrites a byte) and makes it durable at sync points. Before
 * a recording may be called stored (release_policy = local), the file must
 * be read back past the page cache and shown to be what was written. Doing
 * that only after the pull costs a second full pass over the file;
 * instead, after each sync point the ingest reports "bytes [0, n) are
 * durable" and a thread of this module reads the new stretch back - with
 * O_DIRECT where the filesystem allows, otherwise after dropping the
 * (clean, synced) pages with POSIX_FADV_DONTNEED - and feeds it to an
 * evfile check (custody/evfile.h, evfile_check_*). Only bytes already
 * durable are read, and each byte exactly once, in order, so the result is
 * the same as one re-read of the finished file; the final call only has
 * the stretch since the last sync point left.
 *
 * What the read-back proves, and why AES-GCM rather than SHA-256.
 * The check holds the file's data key (the ingest still has it in memory
 * while it writes) and the signed plaintext size. It parses the header read
 * back and checks its MAC (a key derived from the data key), so the header
 * - recipient stanzas, ids, chunk size - is the one this process built,
 * and takes HH = SHA-256(header read back). Every chunk read back is then
 * decrypted (AES-256-GCM, the plaintext thrown away) and its tag must
 * verify with the writer's nonce (chunk index, final flag) and AAD (HH;
 * for the final chunk also the plaintext size). Only the holder of the
 * data key can make a chunk that passes, so each chunk on the device is
 * exactly the one this process sealed at that index for that header, and
 * the final chunk at its index with nothing after it fixes the length.
 * A single changed bit anywhere (header, chunk, tag), a missing, reordered
 * or duplicated chunk, a truncation at a chunk boundary or bytes appended
 * all fail, short of forging a 128-bit tag. The old check hashed the bytes
 * read back with SHA-256 and compared with the hash of the bytes handed to
 * write() (dwrite's tap): that proved "the disk holds the bytes written".
 * This proves the same of every byte (each on-disk byte is covered by a tag
 * or the header MAC, and each chunk index is sealed once per file; the one
 * exception, a resume, truncates to the durable chunks first and re-seals
 * the same recording's bytes, byte-identical: docs/evidence-format.md §8),
 * and more: that the file decrypts, with its recipients intact, to the
 * plaintext the writer was given - the plaintext whose SHA-256 matched the
 * camera's signed hash - which the SHA comparison could not see (a fault
 * before the tap, e.g. in encryption, passed it). What it does not do is recompute
 * the ledger's ct_sha256: that stays the tap's hash of the bytes written
 * (the storage stage's fixity and copy checks compare files with it), and
 * it is the hash of this same byte sequence. Cost: one AES-GCM pass (~0.24
 * s/GiB here) instead of one SHA-256 pass (~0.7 s/GiB).
 * The data key is copied into the check at start, wiped as soon as the
 * header's keys are derived; those are wiped when the final chunk
 * verified, on the first failure, and by ctverify_free (which also wipes
 * the read buffer: it held decrypted plaintext).
 *
 *	struct ctverify *v;
 *	ctverify_start(part_path, data_key, pt_len, &v); // after the file exists
 *	...write, fdatasync...; ctverify_durable(v, bytes_synced);
 *	...finish, fsync...;    ctverify_finish(v, &len);
 *	ctverify_free(v);                       // always (joins the thread)
 *
 * With data_key NULL the module only runs the background syncs
 * (ctverify_sync_async): no buffer, nothing is read, ctverify_durable()
 * does nothing and ctverify_finish() fails with -EINVAL.
 *
 * Memory: one read buffer and the check's state (keys, the header while
 * it arrives). The read buffers share CTV_BUDGET alike (below): with n
 * verifiers reading back, each has CTV_BUDGET / m, m the power of two
 * >= n, clamped to [CTV_BUF_MIN, CTV_BUF_MAX] (one or two: 1 MiB, three
 * or four: 512 KiB, five to eight: 256 KiB, more: 128 KiB), and each
 * changes to its share between two reads: sixteen cameras under
 * release_policy = local read back alike, where the first verifier of the
 * process once kept 1 MiB for its whole recording and the others had
 * 128 KiB (fewer, larger reads: the first ran faster). If no thread can be started, everything is read in
 * ctverify_finish() instead (same result).
 * Functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_CTVERIFY_H
#define DOCKD_CTVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctverify;

#define CTV_BUDGET (2u << 20)
#define CTV_BUF_MAX (1024u << 10)
#define CTV_BUF_MIN (128u << 10)

/* The read buffer's size while n verifiers read back (the rule above; n 0
 * counts as 1). */
size_t ctverify_buf_for(unsigned n);

/* v's read buffer size now: right after ctverify_start() (nothing is read
 * before the first ctverify_durable()) or after ctverify_finish(). */
size_t ctverify_buf_size(const struct ctverify *v);

/* Open path (read-only, its own descriptor) and start the thread. With
 * data_key (EVFILE_KEY_LEN bytes, copied: the caller wipes its own copy)
 * the file is read back and authenticated as a file of pt_len plaintext
 * bytes; NULL: background syncs only. */
int ctverify_start(const char *path, const uint8_t *data_key, uint64_t pt_len,
		   struct ctverify **out);

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
 * rest up to end of file; 0 and the total length read when every byte
 * authenticated (see above), -EBADMSG when the file read back is not the
 * one sealed (a changed byte, truncated, extended), or the first read
 * error. Call once. */
int ctverify_finish(struct ctverify *v, uint64_t *len);

/* Stop the thread (at most one block read later), close, free. NULL ok. */
void ctverify_free(struct ctverify *v);

#endif
