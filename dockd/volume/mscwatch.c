/* mscwatch.c - USB mass-storage cameras arriving and leaving (mscwatch.h). */
#include <errno.h>
#include <libudev.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "enrol_msc.h"
#include "log.h"
#include "mscwatch.h"
#include "voldock.h"
#include "volsess.h"

#define MSC_MAX 32                  /* block devices of cameras present at once */
#define MSC_RCVBUF (4 * 1024 * 1024)
#define VOLID_MAX 64

struct msc_dev {
	int used, seen, refused;
	int volume;                 /* a filesystem to read (see is_volume) */
	char syspath[256];          /* the block device */
	char usbpath[256];          /* its USB device: one docking, many partitions */
	char devnode[128];
	char serial[PROTO_ID_MAX + 1]; /* "" when the device's serial is unusable */
	uint16_t vid, pid;
};

struct mscwatch {
	struct dockd *d;
	struct udev *udev;
	struct udev_monitor *mon;
	int efd;
	pthread_t th;
	struct msc_dev devs[MSC_MAX];
};

struct session {
	struct dockd *d;
	struct dock_msc_camera cam;
	char devnode[128];
	char volume_id[VOLID_MAX + 1];
	int slot;
};

static int copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

static int hexid(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (!s || strlen(s) < 4)
		return -EINVAL;
	v = strtoul(s, &end, 16);
	if (end != s + 4 || (*end && *end != '\n') || v > 0xffff)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* The USB serial as a proto id, else "" (recorded as unusable). */
static void take_serial(const char *s, char *out, size_t cap)
{
	size_t n = s ? strlen(s) : 0;

	out[0] = '\0';
	if (n && s[n - 1] == '\n') /* umockdev keeps the newline of sysfs text */
		n--;
	if (n == 0 || n >= cap)
		return;
	memcpy(out, s, n);
	out[n] = '\0';
	if (!proto_id_valid(out))
		out[0] = '\0';
}

/* What udev's blkid saw as the filesystem's id; only [A-Za-z0-9-]. */
static void take_volid(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; s && s[n] && n + 1 < cap; n++) {
		char c = s[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-'))
			break;
		out[n] = c;
	}
	out[s && s[n] ? 0 : n] = '\0';
}

/* Which block device holds the volume: a partition, or a whole disk that
 * udev's blkid found a filesystem on and no partition table (a
 * "superfloppy" card). Decided from udev's properties of the device
 * itself, not from its siblings: the kernel announces a disk before its
 * partitions, so looking for them at the disk's "add" races. */
static int is_volume(struct udev_device *b, const char *type)
{
	if (!strcmp(type, "partition"))
		return 1;
	return udev_device_get_property_value(b, "ID_FS_TYPE") &&
	       !udev_device_get_property_value(b, "ID_PART_TABLE_TYPE");
}

/* Fill *m for a candidate (see mscwatch.h); -ENOENT for anything else. */
static int examine(struct udev_device *b, struct msc_dev *m)
{
	const char *type = udev_device_get_devtype(b);
	struct udev_device *ifc, *usb;
	const char *cls;

	memset(m, 0, sizeof(*m));
	if (!type || (strcmp(type, "partition") && strcmp(type, "disk")))
		return -ENOENT;
	ifc = udev_device_get_parent_with_subsystem_devtype(b, "usb", "usb_interface");
	usb = udev_device_get_parent_with_subsystem_devtype(b, "usb", "usb_device");
	cls = ifc ? udev_device_get_sysattr_value(ifc, "bInterfaceClass") : NULL;
	if (!cls || strncmp(cls, "08", 2) || (cls[2] && cls[2] != '\n') || !usb)
		return -ENOENT;
	if (copy(m->syspath, sizeof(m->syspath), udev_device_get_syspath(b)) < 0 ||
	    copy(m->usbpath, sizeof(m->usbpath), udev_device_get_syspath(usb)) < 0 ||
	    copy(m->devnode, sizeof(m->devnode), udev_device_get_devnode(b)) < 0 ||
	    hexid(udev_device_get_sysattr_value(usb, "idVendor"), &m->vid) < 0 ||
	    hexid(udev_device_get_sysattr_value(usb, "idProduct"), &m->pid) < 0)
		return -ENOENT;
	take_serial(udev_device_get_sysattr_value(usb, "serial"), m->serial, sizeof(m->serial));
	m->volume = is_volume(b, type);
	return 0;
}

static struct msc_dev *find(struct mscwatch *w, const char *syspath)
{
	for (int i = 0; i < MSC_MAX; i++)
		if (w->devs[i].used && !strcmp(w->devs[i].syspath, syspath))
			return &w->devs[i];
	return NULL;
}

static int ev_details(struct cust_event *ev, json_t *o)
{
	int r = o ? cust_event_set_details(ev, o) : -ENOMEM;

	json_decref(o);
	return r;
}

/* docked + device_rejected in one transaction; an alert; a log line. */
static void refuse(struct mscwatch *w, const struct msc_dev *m, const char *why)
{
	struct dockd *d = w->d;
	struct cust_event ev[2];
	char vid[5], pid[5], id[96];
	int r = -ENOMEM;

	snprintf(vid, sizeof(vid), "%04x", m->vid);
	snprintf(pid, sizeof(pid), "%04x", m->pid);
	snprintf(id, sizeof(id), "%s:%s:%s", vid, pid, m->serial[0] ? m->serial : "?");
	if (ledgerw_event(d->w, &ev[0], CUST_A_DOCKED, NULL, CUST_OUTCOME_OK) == 0 &&
	    ev_details(&ev[0], json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "storage",
					 "transport", "usb-storage", "vid", vid, "pid", pid,
					 "serial", m->serial, "devnode", m->devnode)) == 0 &&
	    ledgerw_event(d->w, &ev[1], CUST_A_DEVICE_REJECTED, NULL, CUST_OUTCOME_DENIED) == 0 &&
	    cust_event_set_text(ev[1].reason, sizeof(ev[1].reason), why) == 0 &&
	    ev_details(&ev[1], json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "storage", "vid",
					 vid, "pid", pid, "serial", m->serial, "devnode",
					 m->devnode, "reason", why)) == 0) {
		ledgerw_lock(d->w);
		r = cust_ledger_append_batch(ledgerw_ledger(d->w), ev, 2);
		ledgerw_unlock(d->w);
	}
	if (r < 0)
		log_error("ledger: device_rejected (mass-storage) not recorded: %s", strerror(-r));
	log_warning("mass-storage device %s at %s refused (never mounted or read): %s", id,
		    m->devnode, why);
	dockd_alert(d, "device-rejected", id, "mass-storage device refused: %s", why);
}

static const char *refusal_text(const char *why)
{
	if (!strcmp(why, "unknown device"))
		return "mass-storage device not enrolled at this dock (unknown vid:pid:serial)";
	if (!strcmp(why, "revoked"))
		return "mass-storage camera enrolment revoked at this dock";
	if (!strcmp(why, "other agency"))
		return "mass-storage camera enrolled by another agency, not at this dock";
	if (!strcmp(why, "enrolment row has no device_enrolled event"))
		return "mass-storage camera enrolment not in the custody ledger (enrolment row has "
		       "no device_enrolled event)";
	return "enrolment lookup failed";
}

static void *session_thread(void *arg)
{
	struct session *s = arg;
	struct dockd *d = s->d;

	struct dock_snap *snap = dockd_snap_get(d);
	const struct msc_profile *cp = dock_config_profile(&snap->cfg, s->cam.profile);
	struct msc_profile p;

	memset(&p, 0, sizeof(p));
	if (cp)
		p = *cp;
	else if (!strcmp(s->cam.profile, "generic-dcim"))
		profile_generic(&p);
	dockd_snap_put(d, snap);
	/* The whole docking (volsess.h): list, ingest, store, release. A
	 * profile removed from the configuration since enrolment: only the
	 * listing session, which reads no file. */
	if (p.name[0])
		(void)volsess_run(d, &s->cam.cam, &p, s->devnode, "auto");
	else
		(void)voldock_run(d, &s->cam, s->devnode, "auto", s->volume_id);
	status_cam_remove(d->status, s->slot);
	(void)ledgerw_checkpoint(d->w);
	free(s);
	dockd_touch(d);
	atomic_fetch_sub(&d->busy, 1);
	return NULL;
}

static void start_session(struct mscwatch *w, const struct msc_dev *m,
			  const struct dock_msc_camera *cam, const char *volid)
{
	struct dockd *d = w->d;
	struct dock_snap *snap = dockd_snap_get(d);
	unsigned limit = snap->cfg.max_cameras;
	struct session *s;
	pthread_attr_t attr;
	pthread_t th;
	int slot;

	dockd_snap_put(d, snap);
	slot = status_cam_add(d->status, limit, "usb-storage", m->devnode);
	if (slot < 0) {
		refuse(w, m, "busy: max_cameras reached");
		return;
	}
	(void)status_cam_identity(d->status, slot, cam->cam.serial, cam->cam.officer);
	s = calloc(1, sizeof(*s));
	if (!s) {
		status_cam_remove(d->status, slot);
		log_error("mass-storage camera at %s: out of memory", m->devnode);
		return;
	}
	s->d = d;
	s->cam = *cam;
	s->slot = slot;
	snprintf(s->devnode, sizeof(s->devnode), "%s", m->devnode);
	snprintf(s->volume_id, sizeof(s->volume_id), "%s", volid);
	atomic_fetch_add(&d->busy, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, session_thread, s) != 0) {
		atomic_fetch_sub(&d->busy, 1);
		status_cam_remove(d->status, slot);
		free(s);
		log_error("mass-storage camera at %s: cannot start its session", m->devnode);
	}
	pthread_attr_destroy(&attr);
}

static void on_add(struct mscwatch *w, struct udev_device *b)
{
	struct dock_msc_camera cam;
	struct dock_snap *snap;
	struct msc_dev m, *slot = NULL;
	char why[96] = "", volid[VOLID_MAX + 1];
	int r;

	if (examine(b, &m) < 0)
		return;
	if (find(w, m.syspath)) {
		find(w, m.syspath)->seen = 1;
		return; /* listed and announced: one docking */
	}
	for (int i = 0; i < MSC_MAX && !slot; i++)
		if (!w->devs[i].used)
			slot = &w->devs[i];
	if (!slot) {
		log_warning("mass-storage: more than %d volumes present; ignoring %s", MSC_MAX,
			    m.devnode);
		return;
	}
	m.used = m.seen = 1;
	dockd_touch(w->d);
	log_info("mass-storage device %04x:%04x:%s at %s", m.vid, m.pid,
		 m.serial[0] ? m.serial : "?", m.devnode);
	snap = dockd_snap_get(w->d);
	ledgerw_lock(w->d->w);
	r = dock_msc_check(ledgerw_ledger(w->d->w), snap->cfg.agency_id, m.vid, m.pid, m.serial,
			   &cam, why, sizeof(why));
	ledgerw_unlock(w->d->w);
	dockd_snap_put(w->d, snap);
	if (r < 0) {
		/* one record per docking of the USB device, not per partition */
		for (int i = 0; i < MSC_MAX; i++)
			if (w->devs[i].used && w->devs[i].refused &&
			    !strcmp(w->devs[i].usbpath, m.usbpath))
				m.refused = 2;
		if (m.refused != 2)
			refuse(w, &m, m.serial[0] ? refusal_text(why)
				   : "mass-storage device with no usable USB serial");
		m.refused = 1;
		*slot = m;
		return;
	}
	*slot = m;
	if (!m.volume) {
		log_debug("mass-storage camera %04x:%04x:%s: %s holds no volume of its own "
			  "(partition table or no filesystem)", m.vid, m.pid, m.serial, m.devnode);
		return;
	}
	take_volid(udev_device_get_property_value(b, "ID_FS_UUID"), volid, sizeof(volid));
	log_info("mass-storage camera %04x:%04x:%s (officer %s, profile %s) at %s: docking",
		 m.vid, m.pid, m.serial, cam.cam.officer, cam.profile, m.devnode);
	start_session(w, &m, &cam, volid);
}

static void forget(struct mscwatch *w, struct msc_dev *m)
{
	log_info("mass-storage device %04x:%04x:%s at %s removed", m->vid, m->pid,
		 m->serial[0] ? m->serial : "?", m->devnode);
	dockd_touch(w->d);
	memset(m, 0, sizeof(*m));
}

/* List present block devices: adds for new ones, removes for known ones
 * that are gone (after lost uevents). */
static void resync(struct mscwatch *w)
{
	struct udev_enumerate *en = udev_enumerate_new(w->udev);
	struct udev_list_entry *le;

	if (!en)
		return;
	for (int i = 0; i < MSC_MAX; i++)
		w->devs[i].seen = 0;
	if (udev_enumerate_add_match_subsystem(en, "block") >= 0 &&
	    udev_enumerate_scan_devices(en) >= 0) {
		udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
			struct udev_device *b = udev_device_new_from_syspath(
				w->udev, udev_list_entry_get_name(le));

			if (b) {
				on_add(w, b);
				udev_device_unref(b);
			}
		}
	}
	udev_enumerate_unref(en);
	for (int i = 0; i < MSC_MAX; i++)
		if (w->devs[i].used && !w->devs[i].seen)
			forget(w, &w->devs[i]);
}

static void on_uevent(struct mscwatch *w, struct udev_device *b)
{
	const char *action = udev_device_get_action(b);
	const char *syspath = udev_device_get_syspath(b);
	struct msc_dev *m;

	if (!action || !syspath)
		return;
	if (!strcmp(action, "add") || !strcmp(action, "change")) {
		on_add(w, b); /* "change": a card put into an already present reader */
	} else if (!strcmp(action, "remove") && (m = find(w, syspath))) {
		forget(w, m);
	}
}

static void *watch_thread(void *arg)
{
	struct mscwatch *w = arg;

	resync(w); /* the monitor is already live: nothing falls in between */
	for (;;) {
		struct pollfd p[2] = { { .fd = udev_monitor_get_fd(w->mon), .events = POLLIN },
				       { .fd = w->efd, .events = POLLIN } };
		struct udev_device *b;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("mass-storage watch: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		for (int n = 0; n < 64; n++) {
			errno = 0;
			b = udev_monitor_receive_device(w->mon);
			if (!b) {
				if (errno == ENOBUFS) {
					log_warning("mass-storage watch: uevents lost; listing again");
					resync(w);
					continue;
				}
				break;
			}
			on_uevent(w, b);
			udev_device_unref(b);
		}
	}
	return NULL;
}

static void free_watch(struct mscwatch *w)
{
	if (w->mon)
		udev_monitor_unref(w->mon);
	if (w->udev)
		udev_unref(w->udev);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
}

int mscwatch_start(struct dockd *d, struct mscwatch **out)
{
	struct mscwatch *w = calloc(1, sizeof(*w));
	int r = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		goto fail;
	}
	if (!(w->udev = udev_new()) || !(w->mon = udev_monitor_new_from_netlink(w->udev, "udev")))
		goto fail;
	(void)udev_monitor_set_receive_buffer_size(w->mon, MSC_RCVBUF);
	r = udev_monitor_filter_add_match_subsystem_devtype(w->mon, "block", NULL);
	if (r >= 0)
		r = udev_monitor_enable_receiving(w->mon);
	if (r < 0)
		goto fail;
	r = -pthread_create(&w->th, NULL, watch_thread, w);
	if (r < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	free_watch(w);
	return r < 0 ? r : -ENOMEM;
}

void mscwatch_stop(struct mscwatch *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	(void)!write(w->efd, &one, sizeof(one));
	pthread_join(w->th, NULL);
	free_watch(w);
}
