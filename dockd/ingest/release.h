/* release.h - tell a camera it may delete recordings the dock holds safely.
 *
 * Only from a committed state: storage_verified (policy "storage", the
 * default) or, with release_policy = local, also stored_local. For each
 * such row of the docked camera (including rows of earlier dockings whose
 * storage finished after the camera left):
 *   - listed in this docking's manifest: session_release() with a signed
 *     receipt {recording_id, sha256 (the camera's signed hash), location,
 *     dock_id, issued_utc}; on RELEASE_REPLY deleted=1 the released
 *     transaction records camera_released with the receipt;
 *   - listed in this docking's manifest with another size or SHA-256 (an
 *     integrity_failed {stage: "manifest"} and an alert were recorded at
 *     listing): nothing; the camera still holds it, the entry does not
 *     match what was stored;
 *   - not listed any more: the camera deleted it on an earlier receipt and
 *     the dock crashed before recording it: camera_released {"confirmed":
 *     "absent at next docking"}.
 * A camera that refuses a receipt keeps the recording; that is logged and
 * alerted, and retried at the next docking.
 */
#ifndef DOCKD_RELEASE_H
#define DOCKD_RELEASE_H

#include <stdint.h>

#include "daemon.h"
#include "linkc.h"

/* Returns 0 (n_released set) or the session's error (link gone). */
int release_camera(struct dockd *d, const struct dock_snap *snap, struct link *s,
		   const char *serial, int64_t listed_since_ns, unsigned *n_released);

/* States a policy releases from (a DREC_BIT mask). */
unsigned release_mask(const struct dock_config *c);

#endif
