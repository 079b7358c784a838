/* volsess_int.h - a mass-storage docking's files (volsess_id.c), shared
 * by volsess.c. Functions return 0 or -errno; out-params untouched on
 * failure. */
#ifndef DOCKD_VOLSESS_INT_H
#define DOCKD_VOLSESS_INT_H

#include <stdint.h>

#include "daemon.h"
#include "enrol.h"
#include "profile.h"
#include "volc.h"

#define VOLSESS_MIB (1024u * 1024u)
#define VOLSESS_RID_LEN 41 /* "v" + 40 hex digits */
#define VOLSESS_VOLID_MAX 64

/* One listed file and what the docking learnt about it. */
struct vfile {
	struct volc_file f;                 /* f.path points at path */
	char path[PROFILE_PATH_MAX + 1];
	uint8_t head[32], tail[32], id[32]; /* SHA-256 of first, last MiB; identity */
	char rid[VOLSESS_RID_LEN + 1];
	int ok;                             /* identity taken */
};

/* The identity of v->f (docs/dockd.md, "Mass-storage cameras"): reads
 * its first and last MiB through x; sets head, tail, id, rid, ok.
 * -ESTALE/-ENODATA: the file changed since it was listed. */
int volsess_identity(struct volc *x, struct vfile *v);

/* The volume's UUID as blkid(8) reads it in a child process (the daemon
 * parses none of the volume's bytes), at most VOLSESS_VOLID_MAX
 * [A-Za-z0-9-] characters, within 10 s; "" when there is none. */
void volsess_volume_id(const char *devnode, char *out, size_t cap);


/* Release by deletion (volsess_release.c): open devnode "rw:" fs, list it
 * with p again, check the id file again, and delete every recording or
 * sidecar whose identity, taken again right now, names a row of cam in a
 * state the release policy releases from; each deletion is a
 * camera_released {deleted, path, identity, volume_id, how}. A file that
 * cannot be deleted is logged and alerted and stays. *n_deleted counts. */
int volsess_delete(struct dockd *d, const struct dock_snap *snap, const struct dock_camera *cam,
		   const struct msc_profile *p, const char *devnode, const char *fs,
		   const char *volid, unsigned *n_deleted);

/* Rows of serial never stored (listed, pulling, quarantined) whose file
 * is not among files (n) of this docking on volume volid: each is a
 * volume_item_absent event (outcome failed: its bytes were only ever on a
 * card that is not this one) and an alert "evidence-missing"; the row is
 * left as it is (never released) and pulled when its card is docked
 * again. Recorded at every docking it is absent from. *n_absent counts. */
int volsess_absent(struct dockd *d, const char *serial, const char *volid,
		   const struct vfile *files, size_t n, unsigned *n_absent);

#endif
