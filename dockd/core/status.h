/* status.h - what dockd is doing right now, for `custody status`.
 *
 * A fixed table of camera slots (at most STATUS_MAX_CAMERAS, the
 * [dock] max_cameras cap) written by the camera threads and read by the
 * main thread when the query service asks for status. Byte counters are
 * plain stores under the table's mutex: one lock per DATA frame (1 MiB)
 * costs nothing next to the I/O. Nothing here is evidence; it is a view.
 *
 * The JSON reply (docs/dockd.md, "Status"):
 *   {"dock_id","agency_id","time","cameras":[{"serial","officer","transport",
 *    "peer","since","recordings":[{"evidence_id","state","bytes","size",
 *    "rate_bps","eta_s"}]}],
 *    "uploads":[{"evidence_id","object_key","bytes","size","rate_bps","eta_s","since"}],
 *    "storage":{"target","state","workers","last_error","since","retry_at"},
 *    "queue":{"storage":N,"storage_bytes":B,"uploading":N,"release_pending":N},
 *    "alerts":[...],
 *    "witnesses":[{"name","url","cosigned_size","latest_size","cosigned_at","age_s",
 *                  "failures","last_error","last_attempt"}],
 *    "space":{"vault":{"free","total"},"state":{"free","total"}} or null}
 * Each camera also has "recordings_done" and "recordings_total": the
 * recordings this docking pulled and had to pull (status_cam_counts).
 * Each camera lists the recording being pulled now (one at a time);
 * uploads lists the objects the storage workers are putting now.
 * Queue counts are read from the database each time the view is asked
 * for (status_set_refresh), so they never go stale.
 */
#ifndef DOCKD_STATUS_H
#define DOCKD_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#define STATUS_MAX_CAMERAS 64
#define STATUS_MAX_ALERTS 8
#define STATUS_MAX_UPLOADS 16
#define STATUS_MAX_WITNESSES 16

struct status;

int status_new(const char *dock_id, const char *agency_id, struct status **out);
void status_free(struct status *st);

/* Claim a slot for a new connection: its index, or -EBUSY when all are
 * taken (limit = the configured max_cameras, <= STATUS_MAX_CAMERAS). */
int status_cam_add(struct status *st, unsigned limit, const char *transport, const char *peer);
void status_cam_remove(struct status *st, int slot);
/* Active camera slots. */
unsigned status_cam_count(struct status *st);

/* Name the camera in a slot. -EBUSY (slot unchanged) when another active
 * slot already holds this serial: one camera, one session at a time, so two
 * sessions never pull into the same partial file. */
int status_cam_identity(struct status *st, int slot, const char *serial, const char *officer);
/* A recording starts (bytes = where the pull resumes); evidence_id NULL: none. */
void status_cam_recording(struct status *st, int slot, const char *evidence_id, uint64_t size,
			  uint64_t bytes);
void status_cam_bytes(struct status *st, int slot, uint64_t bytes);
void status_cam_state(struct status *st, int slot, const char *state);

/* Remember an alert summary for the status view (newest STATUS_MAX_ALERTS). */
void status_alert(struct status *st, const char *summary);

/* Queue sizes, set by whoever knows them (the refresh function). */
void status_queue(struct status *st, uint64_t storage, uint64_t release_pending);
/* Bytes (the recordings' signed sizes) of the queue.storage rows:
 * "storage_bytes" in "queue". */
void status_queue_bytes(struct status *st, uint64_t bytes);

/* fn(ctx) runs at the start of every status_json() (outside the table's
 * mutex, without the ledger lock) to refresh the queue counts. NULL: none.
 * Set it from the thread that calls status_json (dockd's main thread). */
void status_set_refresh(struct status *st, void (*fn)(void *ctx), void *ctx);

/* An upload starts: its slot, or -EBUSY (more than STATUS_MAX_UPLOADS). */
int status_upload_begin(struct status *st, const char *evidence_id, const char *object_key,
			uint64_t size);
/* The slot's byte counter: the storage target advances it while it sends
 * (store_put_opts.progress); valid until status_upload_end(slot). */
_Atomic uint64_t *status_upload_progress(struct status *st, int slot);
void status_upload_end(struct status *st, int slot);

/* The storage worker's state: target (the [storage] url), state ("idle",
 * "uploading", "failing", "blocked", "outside-window"), workers, the last
 * error ("" = none), since (UTC s the failure began, 0 = none), retry_at
 * (UTC s of the next attempt, 0 = none). */
void status_storage(struct status *st, const char *target, const char *state, unsigned workers,
		    const char *last_error, int64_t since, int64_t retry_at);

/* Recordings of this docking: done (pulled and stored) of total (to pull
 * when the pulls began). */
void status_cam_counts(struct status *st, int slot, uint64_t done, uint64_t total);

/* Free and total bytes of the vault's and the state directory's
 * filesystems (set by the refresh function; absent until then). */
void status_space(struct status *st, uint64_t vault_free, uint64_t vault_total,
		  uint64_t state_free, uint64_t state_total);

/* One configured witness as the witness client sees it (keyed by name;
 * at most STATUS_MAX_WITNESSES). cosigned: largest checkpoint size it
 * cosigned (0 none) and when the dock stored that (UTC ns, 0 unknown);
 * latest: the newest signed checkpoint; failures: attempts failed in a
 * row; error: the last failure ("" or NULL none); last_try: UTC s of
 * the last attempt (0 none). */
struct status_witness {
	const char *name, *url, *error;
	uint64_t cosigned, latest;
	int64_t cosigned_ns, last_try;
	unsigned failures;
};
void status_witness(struct status *st, const struct status_witness *w);

/* The reply object (caller json_decref's), or NULL on allocation failure. */
json_t *status_json(struct status *st);

#endif
