/* destroy.h - dockd carries out approved destructions (issue 12,
 * docs/retention.md "Destruction").
 *
 * The query service (in dockd or `custody serve`) only records the
 * two-person decision: destruction_requested, then destruction_approved by
 * another supervisor. dockd, which holds the storage target's credentials,
 * finds approved destructions in the ledger (custody/destruction.h) from
 * its main loop, about once a second, one item at a time, and:
 *   1. re-checks the record (a hold set, or a retention extended, since
 *      the approval refuses it; an upload still pending for the item too);
 *   2. deletes the storage copy first (file:// unlink, or the S3 version
 *      the dock uploaded), so that a target that refuses (S3 Object Lock
 *      not yet expired: -EACCES) leaves every copy in place;
 *   3. deletes the vault file;
 *   4. records `destroyed` (outcome ok) with what was deleted where and
 *      the hashes; or, when anything was refused or failed, `destroyed`
 *      with outcome failed and the error, and raises a
 *      `destruction-failed` alert. Either ends that approval.
 */
#ifndef DOCKD_DESTROY_H
#define DOCKD_DESTROY_H

#include "daemon.h"

/* Carry out at most one approved destruction (main thread). */
void destroy_tick(struct dockd *d);

#endif
