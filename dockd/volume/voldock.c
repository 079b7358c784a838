/* voldock.c - one docking of an enrolled mass-storage camera (voldock.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "voldock.h"
#include "volc.h"

#define VOLDOCK_TIMEOUT_MS 30000
/* Room left in the event's details for the file list: the rest of the
 * details are well under 1 KiB (ids of at most 64 bytes, a path of 128). */
#define FILES_BUDGET (CUST_DETAILS_MAX - 1200)

struct listing {
	json_t *files;
	size_t bytes;		/* JSON bytes of files so far (estimate, upper bound) */
	unsigned rec, side, skip;
	int truncated;
};

static const char *kind_name(enum profile_kind k)
{
	return k == PROFILE_RECORDING ? "recording" : k == PROFILE_SIDECAR ? "sidecar" : "id";
}

static int on_file(void *ctx, const struct volc_file *f)
{
	struct listing *l = ctx;
	size_t need = strlen(f->path) * 6 + 64; /* worst-case JSON escaping */
	json_t *o;

	if (f->kind == PROFILE_RECORDING)
		l->rec++;
	else if (f->kind == PROFILE_SIDECAR)
		l->side++;
	if (l->bytes + need > FILES_BUDGET) {
		l->truncated = 1;
		return 0;
	}
	o = json_pack("{s:s, s:s, s:I}", "path", f->path, "kind", kind_name(f->kind), "size",
		      (json_int_t)f->size);
	/* a name that is not UTF-8 cannot be a JSON string: counted, not listed */
	if (!o || json_array_append_new(l->files, o) < 0) {
		l->truncated = 1;
		return 0;
	}
	l->bytes += need;
	return 0;
}

static void on_skip(void *ctx, const char *why, const char *path)
{
	struct listing *l = ctx;

	l->skip++;
	log_info("mass-storage volume: skipped %s: %s", path, why);
}

static json_t *base_details(const struct dock_msc_camera *cam, const char *devnode,
			    const char *volume_id)
{
	char vid[5], pid[5];

	snprintf(vid, sizeof(vid), "%04x", cam->vid);
	snprintf(pid, sizeof(pid), "%04x", cam->pid);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "storage",
			 "transport", "usb-storage", "vid", vid, "pid", pid, "serial",
			 cam->cam.serial, "officer", cam->cam.officer, "profile", cam->profile,
			 "devnode", devnode, "volume_id", volume_id ? volume_id : "");
}

static int record(struct dockd *d, json_t *det, enum cust_outcome o, const char *reason)
{
	struct cust_event ev;
	int r = det ? ledgerw_event(d->w, &ev, CUST_A_DOCKED, NULL, o) : -ENOMEM;

	if (r == 0 && reason)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (r == 0)
		r = cust_event_set_details(&ev, det);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(det);
	if (r < 0)
		log_error("ledger: docked (mass-storage) not recorded: %s", strerror(-r));
	return r;
}

static int failed(struct dockd *d, const struct dock_msc_camera *cam, const char *devnode,
		  const char *volume_id, const char *what)
{
	json_t *det = base_details(cam, devnode, volume_id);
	char id[96];

	if (det)
		json_object_set_new(det, "error", json_string(what));
	snprintf(id, sizeof(id), "%04x:%04x:%s", cam->vid, cam->pid, cam->cam.serial);
	log_warning("mass-storage camera %s at %s: %s", id, devnode, what);
	(void)record(d, det, CUST_OUTCOME_FAILED, what);
	dockd_alert(d, "volume", id, "mass-storage camera docked but not read: %s", what);
	return -EIO;
}

int voldock_run(struct dockd *d, const struct dock_msc_camera *cam, const char *devnode,
		const char *fs, const char *volume_id)
{
	struct dock_snap *snap = dockd_snap_get(d);
	const struct msc_profile *p = dock_config_profile(&snap->cfg, cam->profile);
	struct listing l = { .files = json_array() };
	struct volc *v = NULL;
	char what[300];
	json_t *det;
	int r, st;

	if (!p) {
		snprintf(what, sizeof(what), "camera profile '%s' is not in the configuration",
			 cam->profile);
		r = failed(d, cam, devnode, volume_id, what);
		goto out;
	}
	if (!l.files) {
		r = -ENOMEM;
		goto out;
	}
	r = volc_open(fs, devnode, VOLDOCK_TIMEOUT_MS, &v);
	if (r == 0)
		r = volc_list(v, p, on_file, on_skip, &l);
	if (r < 0)
		snprintf(what, sizeof(what), "volume not listed: %s%s%s", r == -E2BIG ?
			 "more entries than the profile's max_files" : strerror(-r),
			 v && *volc_why(v) ? ": " : "", v ? volc_why(v) : "");
	st = v ? volc_close(v) : 0;
	if (r == 0 && st != 0) {
		snprintf(what, sizeof(what), "the volume could not be read (reader status %d)", st);
		r = -EIO;
	}
	if (r < 0) {
		r = failed(d, cam, devnode, volume_id, what);
		goto out;
	}
	det = base_details(cam, devnode, volume_id);
	if (det && (json_object_set_new(det, "recordings", json_integer(l.rec)) < 0 ||
		    json_object_set_new(det, "sidecars", json_integer(l.side)) < 0 ||
		    json_object_set_new(det, "skipped", json_integer(l.skip)) < 0 ||
		    json_object_set(det, "files", l.files) < 0 ||
		    (l.truncated && json_object_set_new(det, "files_truncated", json_true()) < 0))) {
		json_decref(det);
		det = NULL;
	}
	r = record(d, det, CUST_OUTCOME_OK, NULL);
	log_info("mass-storage camera %04x:%04x:%s at %s: volume listed, %u recording(s), "
		 "%u sidecar(s), %u skipped", cam->vid, cam->pid, cam->cam.serial, devnode, l.rec,
		 l.side, l.skip);
out:
	json_decref(l.files);
	dockd_snap_put(d, snap);
	return r;
}
