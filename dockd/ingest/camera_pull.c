/* camera_pull.c - a docked camera's pull loop (see camera.h, steps 4 and
 * 5): ingest every listed recording not yet stored, wait while the vault
 * or the state directory is short of space (releasing what is verified,
 * keeping the link alive), and the bounded wait for this docking's
 * uploads before the release. The session itself is camera.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "camera_int.h"
#include "dockdb.h"
#include "ingest.h"
#include "log.h"
#include "purge.h"
#include "release.h"
#include "linkc.h"
#include "space.h"
#include "storage.h"

#define DISK_RETRY_MS 1000
#define KEEPALIVE_MS 3000
#define LINK_CHECK_MS 300  /* final wait: is the camera still there? */

/* Room to pull: the vault above min_free_mb and the state directory
 * (ledger) above [vault] state_min_free_mb (space.h). */
static bool space_ok(struct cam *c)
{
	bool vault = ingest_space_ok(c->snap);

	return space_state_ok(c->d, c->snap) && vault;
}

/* Pulling is paused for space: what is already verified in storage is
 * released all the same, so the dock's disk never sends a camera back out
 * full (issue 12). false: the link is gone. */
static bool release_paused(struct cam *c, struct link *s, const char *serial)
{
	unsigned n = 0;
	int r;

	status_cam_state(c->d->status, c->slot, "releasing");
	r = release_camera(c->d, c->snap, s, serial, c->listed_ns, &n);
	if (n)
		log_info("camera %s: %u verified recording(s) released while pulling is paused",
			 serial, n);
	return r == 0;
}

/* Vault short of space or failing: release what is verified, ask the purge
 * worker for space, wait (keeping the link alive and releasing what the
 * storage worker verifies meanwhile) until it recovers. false when the
 * daemon stops or the link is gone. */
static bool wait_for_disk(struct cam *c, struct link *s, const char *serial, int err,
			  bool alert)
{
	int waited = 0;

	const char *dir = ingest_space_short(c->snap);

	if (alert && dir && dir != c->snap->cfg.vault_dir)
		dockd_alert(c->d, "disk", dir, "state directory (custody ledger) below min_free_mb"
			    " (%u MiB): pulling paused", c->snap->cfg.min_free_mb);
	else if (alert)
		dockd_alert(c->d, "disk", c->snap->cfg.vault_dir,
			    "vault short of space or failing (%s): pulling paused", strerror(-err));
	purge_kick(c->d->purge);
	if (!release_paused(c, s, serial))
		return false;
	status_cam_state(c->d->status, c->slot, "waiting-disk");
	while (!atomic_load(&c->d->stop)) {
		camera_sleep_ms(DISK_RETRY_MS);
		waited += DISK_RETRY_MS;
		if (space_ok(c) && waited >= 2 * DISK_RETRY_MS)
			break;
		if (waited % KEEPALIVE_MS == 0) {
			struct proto_status_reply st;

			if (link_status(s, &st) < 0 || !release_paused(c, s, serial))
				return false;
			status_cam_state(c->d->status, c->slot, "waiting-disk");
		}
	}
	status_cam_state(c->d->status, c->slot, "pulling");
	if (!atomic_load(&c->d->stop))
		log_info("vault and state directory have space again: pulling resumes");
	return !atomic_load(&c->d->stop);
}

/* Ingest every recording of this docking that is not stored yet. Returns
 * 0, or the session's error / -ECANCELED. */
int camera_pull_all(struct cam *c, struct link *s, const char *serial)
{
	unsigned mask = DREC_BIT(DREC_LISTED) | DREC_BIT(DREC_PULLING) | DREC_BIT(DREC_QUARANTINED);
	char after[PROTO_ID_MAX + 1] = "";
	struct dock_rec rec;
	int disk_tries = 0, r;
	bool alerted = false;
	uint64_t done = 0, total = 0;

	/* done/total for the console's dock page (status.h) */
	if (dockdb_count(c->d->w, serial, mask, &total) == 0)
		status_cam_counts(c->d->status, c->slot, 0, total);
	status_cam_state(c->d->status, c->slot, "pulling");
	while (!atomic_load(&c->d->stop)) {
		bool disk = false;

		r = dockdb_next(c->d->w, serial, mask, after, c->listed_ns, NULL, &rec);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		if (!space_ok(c)) {
			/* a short state directory alerted already (space.c) */
			if (!wait_for_disk(c, s, serial, -ENOSPC, !alerted && !ingest_space_ok(c->snap)))
				return -ECANCELED;
			alerted = true;
			continue;
		}
		r = ingest_one(c->d, c->snap, s, c->slot, &rec, &disk);
		dockd_touch(c->d);
		if (r == 0) {
			storage_kick(c->d->storage);
			status_cam_counts(c->d->status, c->slot, ++done, total);
		}
		if (disk && r == -ENOSPC && space_ok(c)) {
			/* Full, yet min_free_mb is free (always so with 0): the
			 * free-space check cannot tell when space is back, and
			 * waiting would only retry into the full disk. The pull
			 * stopped cleanly (ingest_interrupted, the link in step):
			 * end the docking with BYE; the next one resumes. */
			if (!alerted)
				dockd_alert(c->d, "disk", c->snap->cfg.vault_dir,
					    "vault full (%s): docking of %s ended, resumes at the next",
					    strerror(-r), serial);
			log_warning("%s: vault full with min_free_mb = %u free: ending this docking",
				    rec.evidence_id, c->snap->cfg.min_free_mb);
			purge_kick(c->d->purge);
			(void)release_paused(c, s, serial);
			return r;
		}
		if (disk) {
			if (++disk_tries > 3 && r != -ENOSPC) {
				log_error("%s: giving up for this docking after local write errors",
					  rec.evidence_id);
				return r;
			}
			if (!wait_for_disk(c, s, serial, r, !alerted))
				return -ECANCELED;
			alerted = true;
			continue; /* the same recording again, resuming */
		}
		if (alerted)
			log_info("%s: vault writes work again", rec.evidence_id);
		disk_tries = 0;
		alerted = false;
		if (r < 0 && r != -EBADMSG)
			return r;
		snprintf(after, sizeof(after), "%s", rec.recording_id);
	}
	return -ECANCELED;
}

/* Wait (bounded) for the storage worker to verify this camera's items,
 * watching the link: a camera pulled out meanwhile ends the session at
 * once (false), so its bay is free for the re-seat. */
bool camera_wait_uploads(struct cam *c, struct link *s, const char *serial)
{
	unsigned waited = 0, limit = c->snap->cfg.release_wait_s * 1000;
	bool failing = false;
	uint64_t n = 0;

	if (c->snap->cfg.release_policy == DOCK_RELEASE_LOCAL)
		return true;
	status_cam_state(c->d->status, c->slot, "waiting-storage");
	while (waited < limit && !atomic_load(&c->d->stop)) {
		if (dockdb_count(c->d->w, serial, DREC_BIT(DREC_STORED_LOCAL), &n) < 0 || n == 0)
			break;
		(void)storage_idle(c->d->storage, &failing);
		if (failing)
			break;
		camera_sleep_ms(100);
		waited += 100;
		if (waited % LINK_CHECK_MS == 0) {
			struct proto_status_reply st;
			int r = link_status(s, &st);

			if (r < 0) {
				log_info("camera %s left during the wait for storage (%s): its bay is"
					 " free; stored recordings are released at its next docking",
					 serial, proto_strerror(r));
				return false;
			}
		}
	}
	return true;
}
