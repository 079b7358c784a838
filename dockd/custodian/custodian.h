/* custodian.h - what only the custodian (the dockd process holding the
 * ledger writer and the dock key) decides about a camera-link worker
 * (docs/architecture.md): whether a release receipt may be signed, and
 * the record of a worker that broke its contract.
 */
#ifndef DOCKD_CUSTODIAN_H
#define DOCKD_CUSTODIAN_H

#include "daemon.h"
#include "wire.h"

/* The receipt gate. Sign rc (dock_id from the certificate, issued_utc now
 * when 0) only when the ledger itself -- the item's events replayed with
 * cust_evstate_apply, not the dock_recordings row -- shows the item
 * serial/rc->recording_id in the state the release policy demands
 * ("verified"; with release_policy = local also "stored", "uploading",
 * "uploaded") with exactly rc->sha256. Otherwise nothing is signed: a
 * receipt_refused event {serial, recording_id, sha256, why} is recorded,
 * an alert raised, and -EPERM returned. Other -errno: the ledger could not
 * be read or the signature made (nothing signed either). */
int custodian_sign_receipt(struct dockd *d, const struct dock_snap *snap, const char *serial,
			   struct proto_receipt *rc);

/* Record link_worker_killed {serial, why, signal} (an audit event, outcome
 * denied) and raise a "link-worker" alert. serial may be "" (before HELLO);
 * sig is the signal that ended the worker, 0 if it exited. */
void custodian_worker_killed(struct dockd *d, const char *serial, const char *why, int sig);

#endif
