/* fixity.h - fixity audits: re-read the stored copies of verified
 * recordings, compare them with the ledger, repair a damaged copy from a
 * verified one (docs/operations.md "Fixity audits", docs/custody-ledger.md
 * for the events).
 *
 * One run takes up to `items` items of the agency whose status is
 * `verified`, least recently audited first (never audited first, then by
 * the seq of their last fixity_checked), and for each:
 *   - the vault copy, while the record says there is one (local_copy):
 *     the file named by the item's stored_local event (details path);
 *   - the storage copy, when a target is configured and the item was
 *     uploaded: the target's current bytes under the uploaded event's
 *     object_key (file:// read, s3:// GET of the current version).
 * A vault copy missing because it was purged (or destroyed) after the
 * items were chosen - the ledger no longer says local_copy, the purge
 * records local_purged before it unlinks - is skipped: no event, no alert,
 * no repair (which would bring the purged file back).
 * Each copy is read whole and hashed (SHA-256) and compared with the
 * ciphertext hash storage_verified recorded (details ct_sha256) and the
 * ciphertext size ingested recorded (details ct_size). Each result is a
 * fixity_checked event (outcome ok, failed = bytes differ or copy missing,
 * error = could not be read, e.g. target down). A failed copy raises an
 * alert ("fixity"); while the other copy checked ok in the same run the
 * damaged one is rewritten from it (vault: fetched from storage into a new
 * file, hashed, renamed over; storage: store.h replace() from the vault
 * file, which is hashed as it is sent), read back and hashed again, and a
 * `repaired` event says from where to where with which SHA-256 (outcome
 * failed, and an alert, when the re-read still differs). Without a vault
 * copy, a damaged s3:// object is rewritten from the version the uploaded
 * event recorded (versioned bucket), once that version was read back with
 * the recorded hash. Without a good second copy nothing is rewritten: the
 * alert says so.
 *
 * Rate: after each read of at most 1 MiB the run sleeps as needed so
 * that it reads at most bytes_per_s (0 = unlimited); time spent paused
 * earns no credit (no burst after a pause). cancel (may be NULL) stops it
 * between reads.
 *
 * Yielding to ingest (docs/retention.md, "Lifecycle jobs yield to
 * ingest"): busy (may be NULL: never busy) says a camera is being
 * ingested. Before each read of at most 1 MiB (a storage copy: before
 * its whole read), before each ledger event (checked again under the
 * ledger lock, so no fixity event falls between the events of a pull)
 * and before choosing its items, the run waits while busy(busy_arg) is
 * true, for at most max_pause_s in all over the run. Once that budget
 * is spent the run no longer waits: while busy it reads at
 * busy_bytes_per_s (or bytes_per_s if lower), otherwise at bytes_per_s,
 * so an audit always ends. max_pause_s = 0: never waits.
 *
 * Results: 0 or -errno (ledger failures; a damaged copy is not an error
 * of the run). st (may be NULL) receives the counts.
 *
 * Code: fixity.c (the run, pacing, checks), fixity_repair.c (repairs),
 * fixity_worker.c (the thread).
 */
#ifndef DOCKD_FIXITY_H
#define DOCKD_FIXITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ledger.h"
#include "store.h"

struct fixity_env {
	struct cust_ledger *l;
	void (*lock)(void *arg);	/* around every ledger use; may be NULL */
	void (*unlock)(void *arg);
	void *lock_arg;
	const char *agency;		/* the dock's agency: items and events */
	const char *actor_id;		/* events: actor kind dock, this id */
	const char *reason;		/* events' reason ("scheduled audit", ...) */
	struct store_target *store;	/* NULL: vault copies only */
	const char *state_dir;		/* scratch for repairs from storage (NULL: vault dir) */
	uint32_t items;
	uint64_t bytes_per_s;
	const atomic_bool *cancel;
	bool (*busy)(void *arg);	/* ingest running now (may be NULL) */
	void *busy_arg;
	uint32_t max_pause_s;
	uint64_t busy_bytes_per_s;
	/* alert (may be NULL): target = evidence id */
	void (*alert)(void *arg, const char *target, const char *msg);
	void *alert_arg;
};

struct fixity_stats {
	uint32_t items, copies, ok, failed, errors, repaired, unrepaired;
	uint64_t bytes;
	uint32_t pauses;	/* times the run began waiting for ingest */
	uint64_t paused_ms;	/* time spent waiting */
	uint64_t busy_bytes;	/* bytes read while ingest ran (budget spent) */
};

int fixity_run(const struct fixity_env *e, struct fixity_stats *st);

/* dockd: a thread running fixity_run every [fixity] interval_s (none
 * when 0), with the configured limits; stop joins it. */
struct dockd;
struct fixity_worker;
int fixity_start(struct dockd *d, struct fixity_worker **out);
void fixity_stop(struct fixity_worker *fw);

#endif
