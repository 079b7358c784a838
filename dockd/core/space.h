/* space.h - free space of the state directory (the custody ledger).
 *
 * SQLite fails a write when its filesystem is full, and a ledger that
 * cannot be written stops every step of custody. [vault]
 * state_min_free_mb (default 256, 0 = off) keeps a margin: below it new
 * pulls pause (camera_pull.c waits, keeping the link and releasing verified
 * recordings, as for a short vault) and one "disk" alert per episode
 * names the directory; when space is back a log line says so.
 * (Defect 7 of issue 11 may add a similar guard elsewhere; this one is
 * kept in its own file so the two can be merged into one.)
 */
#ifndef DOCKD_SPACE_H
#define DOCKD_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

/* true when state_dir has at least state_min_free_mb free (or the check
 * is off). Alerts on the change to short; logs the change back. */
bool space_state_ok(struct dockd *d, const struct dock_snap *snap);

/* Free and total bytes of the filesystem holding path: 0 or -errno. */
int space_free(const char *path, uint64_t *free_bytes, uint64_t *total_bytes);

#endif
