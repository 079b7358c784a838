/* space.c - free space of the state directory (see space.h). */
#include <errno.h>
#include <stdatomic.h>
#include <sys/statvfs.h>

#include "log.h"
#include "space.h"

/* One dockd per process: the episode flag lives here, not in struct dockd. */
static atomic_bool state_short;

int space_free(const char *path, uint64_t *free_bytes, uint64_t *total_bytes)
{
	struct statvfs v;

	if (statvfs(path, &v) < 0)
		return -errno;
	*free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	*total_bytes = (uint64_t)v.f_blocks * v.f_frsize;
	return 0;
}

bool space_state_ok(struct dockd *d, const struct dock_snap *snap)
{
	uint64_t fr = 0, tot = 0;
	bool ok;
	int r;

	if (snap->cfg.state_min_free_mb == 0)
		return true;
	r = space_free(snap->cfg.state_dir, &fr, &tot);
	/* a state directory that cannot be asked is not known to be fine */
	ok = r == 0 && fr >= (uint64_t)snap->cfg.state_min_free_mb << 20;
	if (!ok && !atomic_exchange(&state_short, true))
		dockd_alert(d, "disk", snap->cfg.state_dir,
			    "state directory (custody ledger) short of space: %llu MiB free,"
			    " state_min_free_mb = %u: pulling paused",
			    (unsigned long long)(fr >> 20), snap->cfg.state_min_free_mb);
	else if (ok && atomic_exchange(&state_short, false))
		log_info("state directory %s has space again (%llu MiB free)",
			 snap->cfg.state_dir, (unsigned long long)(fr >> 20));
	return ok;
}
