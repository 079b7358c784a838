/* ingest.h - pull one recording, hash, encrypt and store it durably in
 * one streaming pass (docs/dockd.md, "Pull, encrypt, store: one pass").
 *
 * For a dock_recordings row in state listed, pulling (resume) or
 * quarantined (pull again), ingest_one():
 *   1. starts the partial file (evfile writer to the snapshot's recipients;
 *      the data key kept in memory only, never in a file) or resumes it at
 *      durable_chunks (truncate, re-hash the plaintext prefix) when this
 *      process still holds its key; without it (dockd restarted) the pull
 *      starts again from byte 0, recorded as ingest_restarted;
 *   2. streams session_read() into a sink that feeds the evfile writer
 *      (streaming mode) while hashq.h updates the SHA-256 on another
 *      thread; every sync_interval_mb: fdatasync (in the ctverify thread,
 *      while the pull goes on), which then records durable_chunks itself;
 *      checks free space (min_free_mb) there too;
 *      on a stop the sync is done in place; after a local write error the
 *      rest of the current READ is drained (the link stays in step);
 *   3. checks size and SHA-256 against the signed manifest entry - a
 *      mismatch moves the partial file to quarantine and writes
 *      integrity_failed + quarantined (the camera keeps the recording);
 *   4. finishes the writer, fsyncs, takes the ciphertext's length and
 *      SHA-256 as written (dwrite.h hashes it on its way to the file);
 *      with release_policy = local also re-reads it past the page cache
 *      (ctverify.h: each durable stretch is read back while the pull goes
 *      on, so only the last one is left) and requires the same hash; links
 *      it to its write-once vault name, fsyncs the directories, writes the
 *      stored_local transaction, then wipes the key from memory.
 * With an s3:// target the writer also takes each S3 part's digests
 * (partsum.h) and leaves them next to the vault file.
 * Memory: one evfile piece (64 KiB), three SHA-256 contexts, the writer's
 * block ring (dwrite.h), the hash copy ring for the first camera
 * (hashq.h) and, with release_policy = local, the re-read buffer
 * (ctverify.h); nothing grows with size.
 *
 * Code: ingest.c (the pull: sink, syncs, checks, quarantine, the vault
 * link), ingest_open.c (step 1: a fresh or resumed partial file,
 * ingest_restarted), ingest_files.c (paths, directories, the sweep),
 * ingest_keys.c (data keys in memory); ingest_int.h between them.
 *
 * Results: 0 stored_local; -EBADMSG quarantined (recorded); -ECANCELED
 * the daemon is stopping (progress saved); a local storage error (-ENOSPC,
 * -EIO, ...) with *disk set; any other value is the session's error (the
 * link is gone or out of step). Every early stop after ingest_started
 * also writes ingest_interrupted.
 */
#ifndef DOCKD_INGEST_H
#define DOCKD_INGEST_H

#include <stdbool.h>

#include "daemon.h"
#include "dockdb.h"
#include "linkc.h"

#include <jansson.h>

int ingest_one(struct dockd *d, const struct dock_snap *snap, struct link *s, int slot,
	       struct dock_rec *rec, bool *disk);

/* Where a recording's bytes come from: a protocol camera's link
 * (ingest_one) or a USB mass-storage volume (dockd/volume/volsess.c). */
struct ingest_src {
	void *ctx;
	/* [off, off + len) of rec to fn in order; -PROTO_E_MISMATCH when the
	 * source holds fewer or more bytes than rec->size (quarantined). */
	int (*read)(void *ctx, const struct dock_rec *rec, uint64_t off, uint64_t len,
		    session_sink_fn fn, void *fctx);
	/* The source's standing error (0 while in step); NULL: none. */
	int (*error)(void *ctx);
	/* The enrolled key that verified rec's signed manifest entry, for the
	 * ingested event; NULL: an UNSIGNED source (rec has no signature,
	 * dockdb_unsigned()), which needs confirm and volume. */
	const uint8_t *device_key;
	/* Unsigned: once every byte was read, hashed (sha, the plaintext's
	 * SHA-256) and encrypted, read the source again past the page cache
	 * and compare. 0: the same bytes; -ESTALE: they differ (quarantined:
	 * integrity_failed + quarantined, never ingested); another error stops
	 * the pull (ingest_interrupted). */
	int (*confirm)(void *ctx, const struct dock_rec *rec, const uint8_t sha[32]);
	/* Unsigned: the facts the ingested event carries as "volume"
	 * (borrowed; docs/custody-ledger.md, "Unsigned sources"). */
	json_t *volume;
};

/* ingest_one() from any source; the same steps, results and events. For
 * an unsigned source step 3 is confirm() instead of the manifest check,
 * and the ingested event says "source": "unsigned" with the "volume"
 * facts instead of the signed manifest entry. */
int ingest_one_src(struct dockd *d, const struct dock_snap *snap, const struct ingest_src *src,
		   int slot, struct dock_rec *rec, bool *disk);

/* At start: remove every data key file an older dockd left under
 * vault/.partial (zeros written, then unlinked: on SSDs, journals and
 * snapshots that erases nothing, which is why keys are no longer written
 * at all), and the partial file of each row no longer pulling. Partial
 * files of rows still pulling stay until their camera docks again: with
 * no key in memory that pull restarts from byte 0 (ingest_restarted). */
void ingest_sweep(struct dockd *d, const struct dock_config *c);

/* At exit: wipe every data key held in memory. */
void ingest_keys_clear(void);

/* true when vault_dir and state_dir (the ledger's) each have at least
 * min_free_mb free. */
bool ingest_space_ok(const struct dock_snap *snap);

/* The first of vault_dir, state_dir with less than min_free_mb free, or
 * NULL when both have enough (or min_free_mb is 0). */
const char *ingest_space_short(const struct dock_snap *snap);

/* Paths of a recording's files (docs/dockd.md, "Identities and names"). */
int ingest_vault_path(const struct dock_config *c, const char *serial, const char *rid,
		      char *buf, size_t cap);

#endif
