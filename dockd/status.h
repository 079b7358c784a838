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
 *    "rate_bps","eta_s"}]}],"queue":{"storage":N,"release_pending":N},
 *    "alerts":[...]}
 * Each camera lists the recording being pulled now (one at a time).
 */
#ifndef DOCKD_STATUS_H
#define DOCKD_STATUS_H

#include <stdint.h>

#include <jansson.h>

#define STATUS_MAX_CAMERAS 64
#define STATUS_MAX_ALERTS 8

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

/* Queue sizes, set by whoever knows them (storage worker). */
void status_queue(struct status *st, uint64_t storage, uint64_t release_pending);

/* The reply object (caller json_decref's), or NULL on allocation failure. */
json_t *status_json(struct status *st);

#endif
