/* volsess_release.c - release by deletion: a mass-storage camera's files
 * that the release policy allows are deleted from its volume by the dock,
 * through the same userspace driver, in a short read-write step (see
 * volsess.h, step 5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dockdb.h"
#include "log.h"
#include "release.h"
#include "volsess.h"
#include "volsess_int.h"

#define RW_TIMEOUT_MS 30000

struct rlist {
	struct vfile *f;
	size_t n, cap;
};

static int collect(void *ctx, const struct volc_file *f)
{
	struct rlist *l = ctx;

	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		struct vfile *nf = realloc(l->f, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		l->f = nf;
		l->cap = nc;
	}
	memset(&l->f[l->n], 0, sizeof(l->f[0]));
	l->f[l->n].f = *f;
	snprintf(l->f[l->n].path, sizeof(l->f[0].path), "%s", f->path);
	l->f[l->n].f.path = NULL;
	l->n++;
	return 0;
}

/* camera_released {deleted: true, path, identity, volume_id, how}. */
static int record_deleted(struct dockd *d, struct dock_rec *rec, const struct vfile *v,
			  const char *volid)
{
	char id[65];

	for (int i = 0; i < 32; i++)
		snprintf(id + 2 * i, 3, "%02x", v->id[i]);
	return dockdb_released_json(d->w, rec, json_pack("{s:b,s:s,s:s,s:s,s:s}", "deleted", 1,
							 "path", v->path, "identity", id,
							 "volume_id", volid, "how",
							 "deleted by the dock through the volume driver"));
}

/* The id file again: the read-write mount must be the same camera's. */
static int same_camera(struct volc *x, struct rlist *l, const struct dock_camera *cam)
{
	char id[PROTO_ID_MAX + 1];

	for (size_t i = 0; i < l->n; i++) {
		if (l->f[i].f.kind != PROFILE_ID)
			continue;
		l->f[i].f.path = l->f[i].path;
		return volsess_read_id(x, &l->f[i].f, id, sizeof(id)) == 0 &&
		       !strcmp(id, cam->serial) ? 0 : -EPERM;
	}
	return 0;
}

int volsess_delete(struct dockd *d, const struct dock_snap *snap, const struct dock_camera *cam,
		   const struct msc_profile *p, const char *devnode, const char *fs,
		   const char *volid, unsigned *n_deleted)
{
	unsigned mask = release_mask(&snap->cfg);
	char rwfs[16];
	struct rlist l = { 0 };
	struct volc *x = NULL;
	int r, st;

	snprintf(rwfs, sizeof(rwfs), "rw:%s", fs);
	if ((r = volc_open(rwfs, devnode, RW_TIMEOUT_MS, &x)) < 0)
		return r;
	r = volc_list(x, p, collect, NULL, &l);
	if (r == 0 && p->id_file[0] && same_camera(x, &l, cam) < 0)
		r = -EPERM;
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct vfile *v = &l.f[i];
		struct dock_rec rec;
		int rd;

		if (v->f.kind != PROFILE_RECORDING && v->f.kind != PROFILE_SIDECAR)
			continue; /* only what the profile's patterns match, never the id file */
		v->f.path = v->path;
		/* right before deleting: the identity the item was stored under */
		rd = volsess_identity(x, v);
		if (rd == -ESTALE || rd == -ENODATA)
			continue;
		if (rd < 0) {
			r = rd;
			break;
		}
		if (dockdb_get(d->w, cam->serial, v->rid, &rec) < 0 || !dockdb_unsigned(&rec) ||
		    !(DREC_BIT(rec.state) & mask))
			continue; /* not stored, not verified, or not ours: never deleted */
		rd = volc_delete(x, v->f.index);
		if (rd < 0) {
			log_warning("%s: %s not deleted from camera %s: %s", rec.evidence_id, v->path,
				    cam->serial, strerror(-rd));
			dockd_alert(d, "release", rec.evidence_id, "%s could not be deleted from "
				    "camera %s (%s): it stays on the camera", v->path, cam->serial,
				    strerror(-rd));
			if (rd == -ECONNABORTED)
				r = rd;
			continue;
		}
		if ((r = record_deleted(d, &rec, v, volid)) < 0)
			break;
		(*n_deleted)++;
	}
	st = volc_close(x); /* the supervisor unmounts: the driver writes the FAT out */
	if (r == 0 && st != 0) {
		log_error("camera %s: the read-write volume step ended with status %d", cam->serial,
			  st);
		r = -EIO;
	}
	free(l.f);
	return r;
}
