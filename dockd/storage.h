/* storage.h - the storage worker: moves stored_local recordings to the
 * storage target and records storage_verified.
 *
 * One thread. It takes the oldest stored_local row, opens its vault file,
 * store_put()s it under "<agency>/<serial>/<recording>.bcde", then
 * store_verify()s the copy against the ciphertext size and SHA-256 the
 * stored_local transaction recorded, then writes uploaded +
 * storage_verified in one transaction (dockdb.h). put is idempotent, so a
 * crash anywhere in between only repeats work.
 *
 * A failure (target unreachable, full, mismatch) raises one alert, then
 * the worker retries with backoff (1 s doubling to 60 s); ingest goes on
 * meanwhile (the local vault holds verified copies). storage_kick() wakes
 * it at once (after a new stored_local row).
 */
#ifndef DOCKD_STORAGE_H
#define DOCKD_STORAGE_H

#include <stdbool.h>

#include "daemon.h"

int storage_start(struct dockd *d, struct storage_worker **out);
void storage_kick(struct storage_worker *sw);
/* Ask to stop (after the current object) and join. NULL is fine. */
void storage_stop(struct storage_worker *sw);
/* true when there is nothing it could do now: no stored_local row, or the
 * target is failing (backing off). *failing tells which. */
bool storage_idle(struct storage_worker *sw, bool *failing);

#endif
