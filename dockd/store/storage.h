/* storage.h - the storage workers: move stored_local recordings and the
 * custody checkpoints to the storage target (docs/dockd.md, "Storage").
 *
 * [storage] parallel_uploads threads (fixed at start). Each takes the next
 * stored_local row no other thread is uploading - categories in
 * upload_priority order first, then the rest; oldest recording first
 * within a category (dockdb_next_upload) - writes upload_started
 * {object_key, target, attempt}, store_put()s the vault file under
 * "<agency>/<serial>/<recording>.bcde" with the item's tags and Object
 * Lock settings, store_verify()s the copy against the ciphertext size and
 * SHA-256 of the stored_local transaction, then writes uploaded +
 * storage_verified in one transaction (dockdb.h). put is idempotent, so a
 * crash anywhere in between only repeats work; the queue is the
 * stored_local rows themselves, so it survives restarts.
 *
 * Outside [storage] upload_windows no new upload starts (one in progress
 * finishes its object). Checkpoints ([storage] upload_checkpoints) go up
 * as write-once objects "checkpoints/<dock id>/<tree size>.txt" as soon
 * as they are written (ledgerw checkpoint hook), windows or not; the last
 * tree size uploaded is kept in <state_dir>/checkpoints-uploaded.
 *
 * Evidence first: a thread takes a checkpoint only when no recording is
 * ready, and only the newest checkpoint waiting (ckptup_newest).
 *
 * Failures: a transient one (target unreachable, full, mismatch) raises
 * one alert per episode and pauses new uploads with backoff (1 s doubling
 * to 8 s). A permanent one (-EACCES, -ENXIO, -ETIME, -ENOTSUP, -EDQUOT,
 * -ENOSYS: the
 * target refuses) writes `uploaded` outcome failed {error, object_key}
 * once per item and episode, raises one alert, and pauses uploads for 5
 * minutes or until storage_reload() (SIGHUP) - never a tight loop.
 * -EEXIST (a different object holds the key) parks only that item the
 * same way. Retries inside an episode write no new upload_started.
 * storage_kick() wakes the workers (after a new stored_local row).
 *
 * Code: storage.c (picking work, the threads, status, this API),
 * storage_upload.c (one upload and what its outcome does).
 */
#ifndef DOCKD_STORAGE_H
#define DOCKD_STORAGE_H

#include <stdbool.h>

#include "daemon.h"

int storage_start(struct dockd *d, struct storage_worker **out);
void storage_kick(struct storage_worker *sw);
/* SIGHUP: end failure pauses and parked items, re-read windows and
 * priorities now. NULL is fine. */
void storage_reload(struct storage_worker *sw);
/* Ask to stop (each thread after its current object), join, log what
 * stays queued. NULL is fine. */
void storage_stop(struct storage_worker *sw);
/* true when there is nothing the workers could do now: no stored_local
 * row they may take, outside the upload windows, or the target is failing
 * (backing off). *failing: the target fails or an item is parked. */
bool storage_idle(struct storage_worker *sw, bool *failing);

/* Make `custody status` read its queue counts (stored_local rows,
 * release_pending per release_policy) from the database each time it is
 * asked, with or without a storage target. Call once after d->status and
 * d->w exist, from the main thread. */
void storage_status_attach(struct dockd *d);

#endif
