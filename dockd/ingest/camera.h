/* camera.h - one docked camera: a session worker thread.
 *
 * camera_spawn() claims a status slot (at most [dock] max_cameras; more are
 * refused: event device_rejected {reason "busy"}, connection closed) and
 * starts a detached thread that:
 *   1. opens the transport (USB: transport_usb_open_devnode; a socket
 *      arrives already connected);
 *   2. link_open() (linkc.h: the camera's bytes are parsed by a sandboxed
 *      camera-link worker process; the thread talks to it) with the
 *      enrolment check (enrol.h) under the ledger lock; records docked + device_authenticated {clock_offset_ns, ...}
 *      or docked + device_rejected {serial, pubkey, reason} and an alert;
 *      corrects the camera clock when [dock] clock_correct is on;
 *   3. lists the manifest into dock_recordings (bounded batches; a bad
 *      entry signature is integrity_failed + alert, never ingested);
 *   4. ingests every listed recording not yet stored (ingest.h), waiting
 *      while the vault is short of space (keeping the link alive);
 *   5. waits up to release_wait_s for this docking's uploads, then
 *      releases what the policy allows (release.h);
 *   6. says BYE, closes, writes a checkpoint.
 * d->busy counts the threads alive; the daemon waits for it to reach 0.
 *
 * Code: camera.c (the thread, steps 1-3, 5's release and 6),
 * camera_pull.c (step 4 and 5's wait for uploads).
 */
#ifndef DOCKD_CAMERA_H
#define DOCKD_CAMERA_H

#include "daemon.h"
#include "transport.h"

/* Take over t (a connected socket transport) or devnode (USB; t NULL).
 * 0, -EBUSY (refused; t closed), or -errno (t closed). */
int camera_spawn(struct dockd *d, struct transport *t, const char *devnode);

#endif
