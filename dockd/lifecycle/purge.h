/* purge.h - local vault copies purged once a verified copy is in storage
 * (docs/operations.md "Vault space", docs/custody-ledger.md "local_purged").
 *
 * A vault copy is ELIGIBLE when its item
 *   - has a storage_verified event (outcome ok) whose location is on the
 *     configured [storage] target (dock_recordings state storage_verified
 *     or released), and still a local copy (evidence.local_copy = 1);
 *   - is not under legal hold (evidence.legal_hold, from hold_set /
 *     hold_cleared events) while [vault] keep_held_local is true;
 *   - its file still hashes to the ct_size / ct_sha256 the stored_local
 *     transaction recorded (a damaged copy is alerted, never purged).
 * It is purged
 *   - "keep_window": when its keep window ([vault] keep.<category>, else
 *     keep) has passed since its stored_local event; or
 *   - "low_space": when the vault's free space is under [vault] low_free,
 *     oldest stored_local first, until high_free is free (keep windows
 *     do not protect a copy then: the evidence is safe in storage).
 *
 * Order, and why: the local_purged event is appended (in one transaction
 * that re-checks hold and local copy) BEFORE the file is unlinked and its
 * directory fsynced. A crash between the two leaves an explained state
 * (an event whose file is still there), which purge_reconcile() finishes
 * at the next start after checking the file still has the hash the event
 * names. The other order could leave a missing file with no event: lost
 * evidence without a record. A vault file missing while the ledger says
 * the dock holds it is therefore always a finding: purge_reconcile()
 * alerts it ("integrity").
 *
 * The worker thread runs a pass at start, every [vault] purge_interval_s,
 * whenever the vault falls under low_free (checked every 2 s), and on
 * purge_kick(). Functions return 0 or -errno.
 *
 * Yielding to ingest (docs/retention.md, "Lifecycle jobs yield to
 * ingest"): the worker thread runs below ingest (lcprio.h: nice, I/O
 * class idle). A keep-window pass does not start while a camera is
 * pulled (ingact.h), and one under way stops before its next copy when
 * a pull begins (purge_stats.deferred); the worker tries again every 2 s
 * and runs it once ingest is quiet, or after [vault] purge_max_defer_s
 * of waiting in any case (0 = never waits). Space comes first: a pass
 * for a vault under low_free, or one purge_kick() asked for (a pull
 * short of space), never waits and runs with best-effort I/O.
 */
#ifndef DOCKD_PURGE_H
#define DOCKD_PURGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon.h"

struct purge_worker;

struct purge_stats {
	unsigned purged, held, young, damaged, missing;
	uint64_t bytes;
	unsigned deferred;	/* 1: stopped for ingest, copies left for later */
};

/* purge_reconcile(), then the worker thread. d->w and d->snap must exist. */
int purge_start(struct dockd *d, struct purge_worker **out);
/* Run a pass now (the vault is short of space). NULL is fine. */
void purge_kick(struct purge_worker *pw);
/* Stop after the current item and join. NULL is fine. */
void purge_stop(struct purge_worker *pw);

/* One pass now on the calling thread. dry_run: decide only, writing one
 * line per copy that would be purged to list (may be NULL). */
int purge_run(struct dockd *d, const struct dock_snap *snap, bool dry_run, FILE *list,
	      struct purge_stats *st);
/* The same, not dry; yield: a copy due by its keep window only is left
 * (st->deferred = 1, the pass ends) while ingact_busy(d). */
int purge_run_yielding(struct dockd *d, const struct dock_snap *snap, bool yield,
		       struct purge_stats *st);

/* Start-up: finish purges whose event is durable but whose file remains;
 * alert vault copies missing without a local_purged event. */
int purge_reconcile(struct dockd *d, const struct dock_snap *snap);

#endif
