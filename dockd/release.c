/* release.c - release recordings to the camera (see release.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dockdb.h"
#include "log.h"
#include "release.h"

unsigned release_mask(const struct dock_config *c)
{
	unsigned m = DREC_BIT(DREC_STORAGE_VERIFIED);

	if (c->release_policy == DOCK_RELEASE_LOCAL)
		m |= DREC_BIT(DREC_STORED_LOCAL);
	return m;
}

static int release_one(struct dockd *d, struct link *s, struct dock_rec *rec)
{
	struct proto_receipt rc;
	int r;

	memset(&rc, 0, sizeof(rc));
	snprintf(rc.recording_id, sizeof(rc.recording_id), "%s", rec->recording_id);
	memcpy(rc.sha256, rec->sha256, sizeof(rc.sha256));
	snprintf(rc.location, sizeof(rc.location), "%s", rec->location);
	r = link_release(s, &rc);
	if (r < 0)
		return r;
	r = dockdb_released(d->w, rec, &rc);
	if (r < 0)
		log_error("%s: camera deleted it but camera_released was not recorded: %s"
			  " (resolved at its next docking)", rec->evidence_id, strerror(-r));
	else
		log_info("%s: released by the camera", rec->evidence_id);
	return 0;
}

int release_camera(struct dockd *d, const struct dock_snap *snap, struct link *s,
		   const char *serial, int64_t listed_since_ns, unsigned *n_released)
{
	char after[PROTO_ID_MAX + 1] = "";
	unsigned n = 0;
	struct dock_rec rec;
	int r;

	while (!atomic_load(&d->stop) &&
	       dockdb_next(d->w, serial, release_mask(&snap->cfg), after, 0, NULL, &rec) == 0) {
		snprintf(after, sizeof(after), "%s", rec.recording_id);
		if (rec.listed_ns < listed_since_ns) {
			if (dockdb_released(d->w, &rec, NULL) == 0) {
				log_info("%s: absent from the camera: release confirmed", rec.evidence_id);
				n++;
			}
			continue;
		}
		r = release_one(d, s, &rec);
		if (r == 0) {
			n++;
			continue;
		}
		if (r == -PROTO_E_BAD_RECEIPT || r == -PROTO_E_NOT_FOUND || r == -PROTO_E_INTERNAL) {
			dockd_alert(d, "release", rec.evidence_id, "camera refused the receipt: %s",
				    proto_strerror(r));
			continue;
		}
		*n_released = n;
		return r;
	}
	*n_released = n;
	return 0;
}
