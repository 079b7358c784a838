/* volsess.h - one docking of a USB mass-storage body camera, from open to
 * release (docs/dockd.md, "Mass-storage cameras"; the ledger events in
 * docs/custody-ledger.md, "Unsigned sources").
 *
 * volsess_run() blocks; its caller runs it in a thread of its own
 * (volsess_spawn() does). With the camera's volume read only through the
 * sandboxed reader (volc.h):
 *   1. docked {serial, transport "usb-msc", peer, profile, source
 *      "unsigned"}; a status bay like a protocol camera's;
 *   2. the profile's listing; the id_file, when the profile names one,
 *      must hold the enrolled serial (else: refused, alerted, nothing
 *      read: a volume that is not this camera's);
 *   3. each recording and sidecar gets its stable identity (volsess_id.c):
 *      SHA-256 over its path, size, FAT time and the SHA-256 of its first
 *      and last MiB; its recording id is "v" + 40 hex digits of it, so a
 *      re-docked camera lists the same ids and nothing stored is pulled
 *      twice, while a file that changed in any of those is a new item;
 *      volume_listed {files, recordings, sidecars, skipped, volume_id,
 *      camera_id, profile} records what the reader saw and left out;
 *   4. every item not stored yet goes through ingest_one_src() (ingest.h):
 *      read, SHA-256 and AES-256-GCM encryption into the vault in one
 *      pass, then a second read past the page cache that must give the
 *      same SHA-256 before the ingested event is written ("source":
 *      "unsigned", "volume": the file's facts). A file that differs, grows
 *      or shrinks meanwhile is quarantined, never ingested, and read again
 *      at the next docking. An interrupted pull resumes at its last
 *      durable chunk while this dockd process lives; after a restart it
 *      starts again from byte 0 (ingest_restarted: data keys are never on
 *      disk);
 *   5. waits (release_wait_s) for this docking's uploads, like a protocol
 *      camera, then releases: rows in the release policy's states whose
 *      file is no longer on the volume are camera_released {"confirmed":
 *      "absent at next docking"} (the camera's own tool wiped it, or a
 *      deletion whose event was lost); with delete_after_release (the
 *      profile's `release = delete`, the default) the read-only reader is
 *      closed and a short read-write step (volsess_release.c: the same
 *      driver, private namespace, nosuid, nodev, noexec; the worker may
 *      only remove files) lists the volume again, re-checks the id file,
 *      takes each file's identity again and deletes exactly the files
 *      whose identity names a row the policy releases: camera_released
 *      {deleted, path, identity, volume_id, how} each. Nothing unverified,
 *      nothing outside the profile's patterns, never the id file;
 *   6. closes the reader (it unmounts), frees the bay.
 * Returns 0 or -errno (the docking ended early; nothing is lost: every
 * file not stored stays on the camera for the next docking).
 */
#ifndef DOCKD_VOLSESS_H
#define DOCKD_VOLSESS_H

#include "daemon.h"
#include "enrol.h"
#include "profile.h"
#include "volc.h"

/* cam: the enrolled camera (its serial and officer); p: its profile;
 * devnode: the block device (or an image file); fs: as volc_open(). */
int volsess_run(struct dockd *d, const struct dock_camera *cam, const struct msc_profile *p,
		const char *devnode, const char *fs);

/* Look serial up (must be enrolled, not revoked: else device_rejected +
 * alert, -EPERM): a VID:PID:SERIAL in the storage-camera table (`enroll
 * --storage`), anything else in the protocol enrolment table. Take profile
 * (NULL: the storage camera's enrolled profile, else the built-in
 * "generic-dcim"; unknown: -ENOENT) from the current configuration, and
 * run volsess_run() in a detached thread counted in d->busy. */
int volsess_spawn(struct dockd *d, const char *serial, const char *profile,
		  const char *devnode, const char *fs);

/* `dockd volume-ingest`: queue one docking before dockd_run() starts;
 * volsess_start_queued() (called by the daemon once its workers run)
 * spawns it. One at most; -EBUSY for a second. Strings are copied. */
int volsess_queue(const char *serial, const char *profile, const char *devnode,
		  const char *fs);
void volsess_start_queued(struct dockd *d);

/* The camera id in the profile's id_file (at most VOLSESS_ID_FILE_CAP
 * bytes, trailing blanks and line ends dropped, then a valid protocol id,
 * docs/protocol.md), into out. -EFBIG when the file is larger, -EINVAL
 * when it holds no valid id, a read error otherwise. `dockd volume-scan`
 * shows the same. */
#define VOLSESS_ID_FILE_CAP 128u
int volsess_read_id(struct volc *x, const struct volc_file *f, char *out, size_t cap);

#endif
