/* voldock.h - one docking of an enrolled USB mass-storage camera, as the
 * detection (mscwatch.h) starts it: the smaller session of this branch,
 * until the full ingest session (volsess.h: files ingested into the vault,
 * verified, released) takes its place. The call is made in ONE place,
 * mscwatch.c's session_thread(), so swapping it is a one-line change.
 *
 * voldock_run() blocks; the caller runs it in a thread of its own. It
 *   1. takes the configuration snapshot and the camera's profile by name
 *      (a profile removed from dockd.conf since the enrolment fails the
 *      docking, it is never replaced by another);
 *   2. opens the volume through the sandboxed reader (volc_open: FUSE
 *      driver, read-only, private mount namespace, landlocked worker; the
 *      daemon itself never parses a byte of the volume);
 *   3. lists what the profile matches (volc_list), reads nothing else;
 *   4. records ONE docked event (docs/custody-ledger.md, "USB mass-storage
 *      cameras"): outcome ok, details {kind "storage", transport
 *      "usb-storage", vid, pid, serial, officer, profile, devnode,
 *      volume_id, recordings, sidecars, skipped, files: [{path, kind,
 *      size}] (as many as fit, files_truncated true when not all did)};
 *      or outcome failed with details {..., error} when the volume or the
 *      profile could not be read, and a "volume" alert;
 *   5. closes the reader (unmount, driver and worker stopped).
 * It never writes to the volume. Returns 0 or -errno (also recorded).
 */
#ifndef DOCKD_VOLDOCK_H
#define DOCKD_VOLDOCK_H

#include "enrol_msc.h"

struct dockd;

/* volume_id: what udev's blkid saw (ID_FS_UUID), "" if nothing; fs as for
 * volc_open ("auto"). */
int voldock_run(struct dockd *d, const struct dock_msc_camera *cam, const char *devnode,
		const char *fs, const char *volume_id);

#endif
