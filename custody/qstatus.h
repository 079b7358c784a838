#ifndef CUSTODY_QSTATUS_H
#define CUSTODY_QSTATUS_H
/*
 * qstatus: the dock's live status (the query service's "status" reply,
 * schema in docs/dockd.md "Status") as text for people - `custody status`.
 *
 *   Dock dock-1 (agency pd-a), 2024-05-01T13:45:10Z
 *
 *   CAMERAS (2)
 *   SERIAL               OFFICER          TRANSPORT  DOCKED SINCE
 *   CAM-0001             o1               usb        2024-05-01T13:40:00Z
 *     EVIDENCE ID                      STATE        PROGRESS    ...  RATE  ETA
 *     CAM-0001/rec-0001                pulling      1.0 GiB / 4.0 GiB  25%
 *                                                         45.2 MiB/s   0:01:08
 *   CAM-0002             o2               socket     2024-05-01T13:44:00Z
 *     (no recording in progress)
 *
 *   STORAGE  s3://evidence/dock-1  state: failing  workers: 2  since ...
 *     last error: access denied (credentials or bucket policy)
 *   UPLOADS (1)
 *     EVIDENCE ID                      STATE        PROGRESS    ...  RATE  ETA
 *     CAM-0001/rec-0000                uploading    96.0 MiB / 1.0 GiB   9%  ...
 *   QUEUE  storage: 3  release pending: 1  uploading: 1
 *   ALERTS
 *     camera CAM-9 refused: unknown device
 *
 * (each recording is one line; folded here).
 * The reply comes from another process: every field may be missing or of
 * the wrong type (printed as "-"), strings are cut to their column and
 * stripped of control characters (C0, DEL, C1) so a camera serial cannot
 * drive the terminal. Lists are capped (QSTATUS_MAX_ROWS each, then
 * "... N more").
 */

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define QSTATUS_MAX_ROWS 200

/* Print status (the "result" object of the reply) to out. 0, or -EINVAL
 * when status is not a JSON object (nothing printed), -EIO write error. */
int qstatus_format(const json_t *status, FILE *out);

/* "512 B", "1.5 KiB", "3.4 GiB" ... into buf (cap >= 16). */
void qstatus_bytes(uint64_t n, char *buf, size_t cap);

/* "0:00:50", "12:03:00", "-" for a negative value, "> 99 h" beyond. */
void qstatus_duration(int64_t seconds, char *buf, size_t cap);

#endif
