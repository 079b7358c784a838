/* custodian.h - dockd's records of what the custodian decides
 * (docs/architecture.md): whether a release receipt may be signed (asked
 * of the custodian process, custc.h, which holds the dock key), and the
 * record of a camera-link worker that broke its contract (dockd holds the
 * ledger writer).
 */
#ifndef DOCKD_CUSTODIAN_H
#define DOCKD_CUSTODIAN_H

#include "daemon.h"
#include "wire.h"

/* The receipt gate. Ask the custodian process (custc_receipt) to sign rc
 * (dock_id from its certificate, issued_utc now when 0). It signs only
 * when ITS OWN read of the ledger -- the item's events replayed with
 * cust_evstate_apply, not the dock_recordings row -- shows the item
 * serial/rc->recording_id in the state the release policy demands
 * ("verified"; with release_policy = local also "stored", "uploading",
 * "uploaded") with exactly rc->sha256 (custgate.c). On its refusal a
 * receipt_refused event {serial, recording_id, sha256, why} is recorded
 * here, an alert raised, and -EPERM returned. Other -errno: no custodian
 * now (-EIO) or the ledger could not be read (nothing signed either). */
int custodian_sign_receipt(struct dockd *d, const struct dock_snap *snap, const char *serial,
			   struct proto_receipt *rc);

/* Record link_worker_killed {serial, why, signal} (an audit event, outcome
 * denied) and raise a "link-worker" alert. serial may be "" (before HELLO);
 * sig is the signal that ended the worker, 0 if it exited. */
void custodian_worker_killed(struct dockd *d, const char *serial, const char *why, int sig);

#endif
