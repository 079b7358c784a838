/* holdsync.h - the S3 legal hold of stored copies follows the ledger
 * (issue 12, docs/retention.md "S3 Object Lock").
 *
 * A legal hold is set and released in the ledger by a supervisor through
 * the query service (hold_set / hold_cleared), which cannot reach the
 * bucket. dockd follows: from its main loop, about once a second, it takes
 * the next (up to 16) ok hold_set, hold_cleared, retention_set or retention_extended
 * event after the last one it handled (kept in the ledger database's
 * dock_hold_sync table, so restarts resume), computes the item's wanted
 * S3 legal hold from its record NOW (on while legal_hold is 1 or the
 * retention is indefinite, else off) and, when the item has a copy on an
 * s3:// target, puts it (PutObjectLegalHold on the uploaded version) and
 * records `storage_hold` (38): details on, location, object_key,
 * version_id, event (the seq it follows); outcome failed + error and a
 * `storage-hold` alert when the bucket refuses. Nothing (no event) for
 * file:// targets, buckets without Object Lock, or items without a
 * stored copy.
 */
#ifndef DOCKD_HOLDSYNC_H
#define DOCKD_HOLDSYNC_H

#include "daemon.h"

/* Follow up to 16 waiting ledger events (main thread). */
void holdsync_tick(struct dockd *d);

#endif
