/* volsess_spawn.c - start a mass-storage docking in its own thread, and
 * the one `dockd volume-ingest` queues before the daemon starts (see
 * volsess.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enrol_msc.h"
#include "log.h"
#include "volsess.h"

#define DEV_MAX 255

struct job {
	struct dockd *d;
	struct dock_camera cam;
	struct msc_profile p;
	char devnode[DEV_MAX + 1];
	char fs[8];
};

static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct dockd *d = j->d;

	(void)volsess_run(d, &j->cam, &j->p, j->devnode, j->fs);
	free(j);
	dockd_touch(d);
	atomic_fetch_sub(&d->busy, 1);
	return NULL;
}

/* device_rejected {serial, transport "usb-msc", peer, reason} + alert. */
static void rejected(struct dockd *d, const char *serial, const char *dev, const char *why)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "serial", serial, "transport", "usb-msc",
			      "peer", dev, "reason", why);
	int r = ledgerw_event(d->w, &ev, CUST_A_DEVICE_REJECTED, NULL, CUST_OUTCOME_DENIED);

	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = o ? cust_event_set_details(&ev, o) : -ENOMEM;
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(o);
	if (r < 0)
		log_error("ledger: device_rejected not recorded: %s", strerror(-r));
	dockd_alert(d, "device-rejected", serial, "mass-storage camera at %s refused: %s", dev, why);
}

/* `volume-ingest --camera VID:PID:SERIAL` names a camera enrolled with
 * `enroll --storage` (the detection path's table, mscwatch.c): 0 and its
 * row in *out, or -EACCES with why (unknown, revoked, other agency, row
 * without its event); -EINVAL when id does not have that form. */
static int storage_camera(struct dockd *d, const char *id, const char *agency,
			  struct dock_msc_camera *out, char *why, size_t whylen)
{
	char ser[PROTO_ID_MAX + 1];
	uint16_t vid, pid;
	int r;

	if (dock_msc_parse_id(id, &vid, &pid, ser, sizeof(ser)) < 0)
		return -EINVAL;
	ledgerw_lock(d->w);
	r = dock_msc_check(ledgerw_ledger(d->w), agency, vid, pid, ser, out, why, whylen);
	ledgerw_unlock(d->w);
	return r;
}

int volsess_spawn(struct dockd *d, const char *serial, const char *profile,
		  const char *devnode, const char *fs)
{
	struct dock_snap *snap = dockd_snap_get(d);
	struct job *j = calloc(1, sizeof(*j));
	char agency[CUST_AGENCY_MAX + 1], why[96] = "";
	const struct msc_profile *p;
	struct dock_msc_camera mc;
	pthread_attr_t attr;
	pthread_t th;
	int r, sr;

	if (!j) {
		dockd_snap_put(d, snap);
		return -ENOMEM;
	}
	snprintf(agency, sizeof(agency), "%s", snap->cfg.agency_id);
	sr = storage_camera(d, serial, agency, &mc, why, sizeof(why));
	if (sr == 0 && !profile)
		profile = mc.profile; /* the enrolled camera's own profile */
	p = dock_config_profile(&snap->cfg, profile ? profile : "generic-dcim");
	j->d = d;
	if (p)
		j->p = *p;
	else if (!profile || !strcmp(profile, "generic-dcim"))
		profile_generic(&j->p);
	dockd_snap_put(d, snap);
	if (!j->p.name[0]) {
		log_error("mass-storage camera %s: no profile '%s'", serial, profile);
		free(j);
		return -ENOENT;
	}
	if (strlen(devnode) > DEV_MAX || strlen(fs) >= sizeof(j->fs)) {
		free(j);
		return -EINVAL;
	}
	snprintf(j->devnode, sizeof(j->devnode), "%s", devnode);
	snprintf(j->fs, sizeof(j->fs), "%s", fs);
	if (sr != -EINVAL) { /* VID:PID:SERIAL: the storage enrolment decides */
		if (sr < 0) {
			rejected(d, serial, devnode, why[0] ? why : "enrolment lookup failed");
			free(j);
			return -EPERM;
		}
		j->cam = mc.cam;
		goto start;
	}
	ledgerw_lock(d->w);
	r = dock_enrol_get(ledgerw_ledger(d->w), serial, &j->cam);
	ledgerw_unlock(d->w);
	/* deny by default: only an enrolled, unrevoked camera of this agency */
	if (r < 0 || j->cam.status != DOCK_CAM_ENROLLED ||
	    strcmp(j->cam.agency, agency)) {
		rejected(d, serial, devnode, r < 0 ? "camera not enrolled at this dock" :
			 j->cam.status != DOCK_CAM_ENROLLED ? "camera enrolment revoked" :
			 "camera enrolled by another agency");
		free(j);
		return -EPERM;
	}
start:
	atomic_fetch_add(&d->busy, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &attr, job_thread, j);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		atomic_fetch_sub(&d->busy, 1);
		free(j);
	}
	return r;
}

static struct {
	bool set;
	char serial[PROTO_ID_MAX + 1], profile[PROFILE_NAME_MAX + 1], dev[DEV_MAX + 1], fs[8];
} queued;

int volsess_queue(const char *serial, const char *profile, const char *devnode, const char *fs)
{
	if (queued.set)
		return -EBUSY;
	if (!proto_id_valid(serial) || (profile && strlen(profile) > PROFILE_NAME_MAX) ||
	    strlen(devnode) > DEV_MAX || strlen(fs) >= sizeof(queued.fs))
		return -EINVAL;
	snprintf(queued.serial, sizeof(queued.serial), "%s", serial);
	snprintf(queued.profile, sizeof(queued.profile), "%s", profile ? profile : "");
	snprintf(queued.dev, sizeof(queued.dev), "%s", devnode);
	snprintf(queued.fs, sizeof(queued.fs), "%s", fs);
	queued.set = true;
	return 0;
}

void volsess_start_queued(struct dockd *d)
{
	int r;

	if (!queued.set)
		return;
	queued.set = false;
	dockd_touch(d);
	r = volsess_spawn(d, queued.serial, queued.profile[0] ? queued.profile : NULL,
			  queued.dev, queued.fs);
	if (r < 0)
		log_error("volume-ingest %s at %s: not started: %s", queued.serial, queued.dev,
			  strerror(-r));
}
