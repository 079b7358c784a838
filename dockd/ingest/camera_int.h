/* camera_int.h - shared between camera.c (the session worker thread) and
 * camera_pull.c (its pull loop and waits). Not an API for other modules:
 * use camera.h. */
#ifndef DOCKD_CAMERA_INT_H
#define DOCKD_CAMERA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "linkc.h"
#include "transport.h"

#define LIST_BATCH (PROTO_LIST_MAX * 4)

struct cam {
	struct dockd *d;
	struct dock_snap *snap;
	struct transport *t;
	char devnode[128];
	char transport[16];
	int slot;
	/* enrolment outcome, filled by the callback */
	bool have_id;
	struct proto_identity id;
	char why[SESSION_WHY_MAX + 1];
	bool reseat;      /* refused BUSY: its previous session is finishing */
	bool final;       /* registered in final[] (wait for storage, release) */
	bool aborted;     /* session_aborted already recorded */
	/* manifest batch */
	struct proto_manifest_entry batch[LIST_BATCH];
	size_t n_batch;
	int64_t listed_ns;
	unsigned bad_entries;
};

void camera_sleep_ms(int ms);

/* Ingest every recording of this docking that is not stored yet. Returns
 * 0, or the session's error / -ECANCELED. */
int camera_pull_all(struct cam *c, struct link *s, const char *serial);

/* Wait (bounded) for the storage worker to verify this camera's items;
 * false when the camera left meanwhile (its bay is free). */
bool camera_wait_uploads(struct cam *c, struct link *s, const char *serial);

#endif
