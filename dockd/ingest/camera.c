/* camera.c - session worker per docked camera (see camera.h): the thread,
 * enrolment check, ledger events, listing and release; the pull loop and
 * its waits are camera_pull.c's (camera_int.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "camera.h"
#include "camera_int.h"
#include "dockdb.h"
#include "enrol.h"
#include "ingact.h"
#include "log.h"
#include "release.h"
#include "linkc.h"
#include "transport_usb.h"

#define RESEAT_GRACE_MS 3000 /* a re-seat waits this long for its old session */


static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void camera_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Serials whose session is in its final wait (uploads, release): a second
 * session of such a serial is an officer re-seating the camera, not an
 * attack. Set before the wait, cleared after the bay is freed. */
static pthread_mutex_t final_mu = PTHREAD_MUTEX_INITIALIZER;
static char final_serial[STATUS_MAX_CAMERAS][PROTO_ID_MAX + 1];

static void final_set(struct cam *c, const char *serial, bool on)
{
	pthread_mutex_lock(&final_mu);
	if (c->slot >= 0 && c->slot < STATUS_MAX_CAMERAS)
		snprintf(final_serial[c->slot], sizeof(final_serial[0]), "%s", on ? serial : "");
	c->final = on;
	pthread_mutex_unlock(&final_mu);
}

static bool final_has(const char *serial)
{
	bool found = false;

	pthread_mutex_lock(&final_mu);
	for (int i = 0; i < STATUS_MAX_CAMERAS && !found; i++)
		found = strcmp(final_serial[i], serial) == 0;
	pthread_mutex_unlock(&final_mu);
	return found;
}

/* The camera-facing text for a refusal by dock_enrol_check (enrol.h). */
static void enrol_why(char *why, size_t cap, int r)
{
	const char *t = "camera not enrolled at this dock";

	if (r == -EIO)
		t = "the dock could not check the enrolment: retry in a moment";
	else if (!strcmp(why, "revoked"))
		t = "camera enrolment revoked at this dock";
	else if (!strcmp(why, "key mismatch"))
		t = "camera key differs from its enrolment at this dock";
	else if (!strcmp(why, "other agency"))
		t = "camera enrolled by another agency, not at this dock";
	else if (!strcmp(why, "unknown serial"))
		t = "camera not enrolled at this dock (unknown serial)";
	else if (!strcmp(why, "enrolment row has no device_enrolled event"))
		/* a row written around the ledger (docs/custody-ledger.md
		 * "Governing facts"): deny by default, say why */
		t = "camera enrolment not in the custody ledger (enrolment row has no "
		    "device_enrolled event)";
	snprintf(why, cap, "%s", t);
}

static int enrol_cb(void *ctx, const struct proto_identity *id)
{
	struct cam *c = ctx;
	int r;

	c->have_id = true;
	c->id = *id;
	ledgerw_lock(c->d->w);
	r = dock_enrol_check(ledgerw_ledger(c->d->w), c->snap->cfg.agency_id, id, c->why,
			     sizeof(c->why));
	ledgerw_unlock(c->d->w);
	if (r < 0) {
		enrol_why(c->why, sizeof(c->why), r);
		return -PROTO_E_UNENROLLED;
	}
	/* A camera may present itself twice (USB re-enumeration, a replayed or
	 * hostile peer): only the first session of a serial may ingest. A
	 * session in its final wait notices a pulled camera within
	 * LINK_CHECK_MS (camera_pull.c) and frees the bay: a re-seat waits
	 * for that. */
	for (int waited = 0;; waited += 100) {
		if (status_cam_identity(c->d->status, c->slot, id->serial, id->officer_id) == 0)
			return 0;
		if (!final_has(id->serial)) {
			if (status_cam_identity(c->d->status, c->slot, id->serial, id->officer_id) == 0)
				return 0; /* it ended just now */
			snprintf(c->why, sizeof(c->why),
				 "already docked: another session of this serial is active");
			return -PROTO_E_BUSY;
		}
		if (waited >= RESEAT_GRACE_MS || atomic_load(&c->d->stop))
			break;
		camera_sleep_ms(100);
	}
	c->reseat = true;
	snprintf(c->why, sizeof(c->why), "busy: this camera's previous session is finishing"
		 " its upload wait: retry in a moment");
	return -PROTO_E_BUSY;
}

static int ev_details(struct cust_event *ev, json_t *o)
{
	int r = o ? cust_event_set_details(ev, o) : -ENOMEM;

	json_decref(o);
	return r;
}

/* docked + device_rejected, one transaction; and an alert. */
static void record_rejected(struct cam *c, int err)
{
	struct cust_event ev[2];
	char pub[65] = "";
	const char *serial = c->have_id ? c->id.serial : "";
	const char *why = c->why[0] ? c->why : session_refusal_text(err);

	if (c->have_id)
		edsig_hex(c->id.pubkey, 32, pub, sizeof(pub));
	if (ledgerw_event(c->d->w, &ev[0], CUST_A_DOCKED, NULL, CUST_OUTCOME_OK) == 0 &&
	    ev_details(&ev[0], json_pack("{s:s,s:s,s:s}", "serial", serial, "transport",
					 c->transport, "peer", c->t ? c->t->peer : "")) == 0 &&
	    ledgerw_event(c->d->w, &ev[1], CUST_A_DEVICE_REJECTED, NULL, CUST_OUTCOME_DENIED) == 0 &&
	    cust_event_set_text(ev[1].reason, sizeof(ev[1].reason), why) == 0 &&
	    ev_details(&ev[1], json_pack("{s:s,s:s,s:s}", "serial", serial, "pubkey", pub,
					 "reason", why)) == 0) {
		ledgerw_lock(c->d->w);
		int r = cust_ledger_append_batch(ledgerw_ledger(c->d->w), ev, 2);
		ledgerw_unlock(c->d->w);
		if (r < 0)
			log_error("ledger: device_rejected not recorded: %s", strerror(-r));
	}
	dockd_alert(c->d, "device-rejected", serial[0] ? serial : c->t ? c->t->peer : "?",
		    "camera refused: %s", why);
}

/* session_aborted (docs/custody-ledger.md): the dock ended a camera
 * session the camera did not finish properly; and an alert. why is one of
 * "too_slow", "deadline", "protocol", "no_hello_reply". */
static void record_aborted(struct cam *c, const char *serial, const char *why, int err)
{
	struct cust_event ev;
	char reason[200];
	int r;

	snprintf(reason, sizeof(reason), "camera session ended by the dock: %s (%s)", why,
		 proto_strerror(err));
	r = ledgerw_event(c->d->w, &ev, CUST_A_SESSION_ABORTED, NULL, CUST_OUTCOME_FAILED);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (r == 0)
		r = ev_details(&ev, json_pack("{s:s,s:s,s:s,s:s,s:s}", "why", why, "serial", serial,
					      "transport", c->transport, "peer",
					      c->t ? c->t->peer : "", "error", proto_strerror(err)));
	if (r == 0)
		r = ledgerw_append(c->d->w, &ev);
	if (r < 0)
		log_error("ledger: session_aborted not recorded: %s", strerror(-r));
	log_warning("camera %s: session aborted: %s (%s)", serial[0] ? serial : "?", why,
		    proto_strerror(err));
	dockd_alert(c->d, "session", serial[0] ? serial : c->t ? c->t->peer : "?",
		    "camera session aborted: %s (%s); its recordings stay on the camera", why,
		    proto_strerror(err));
}

/* After authentication: the session ended on a link limit or because the
 * camera broke the protocol (the dock sent ERROR): record it. */
static void record_failure(struct cam *c, struct link *s, const char *serial)
{
	int lim = link_limit(s), err = link_error(s);

	if (c->aborted)
		return;
	if (lim)
		record_aborted(c, serial, lim == SESSION_LIMIT_RATE ? "too_slow" : "deadline", err);
	else if (err <= -PROTO_E_BASE && err >= -PROTO_E_MAX)
		record_aborted(c, serial, "protocol", err);
}

/* docked + device_authenticated (+ clock correction), one transaction. */
static int record_authenticated(struct cam *c, struct link *s)
{
	const struct proto_identity *id = link_identity(s);
	int64_t off = link_clock_offset_ns(s), before = 0, after = 0;
	int64_t lim = (int64_t)c->snap->cfg.max_clock_drift_s * 1000000000LL;
	struct cust_event ev[2];
	json_t *det;
	/* saturated (session.h) or before 1970: recorded, trusted for nothing */
	bool absurd = off == INT64_MIN || off == INT64_MAX || id->clock_ns < 0;
	bool synced = false;
	int r;

	if (absurd)
		dockd_alert(c->d, "clock", id->serial, "camera clock absurd (clock_ns %lld):"
			    " recorded, not trusted", (long long)id->clock_ns);
	else if (off > lim || off < -lim)
		dockd_alert(c->d, "clock", id->serial, "camera clock off by %lld s",
			    (long long)(off / 1000000000LL));
	if (c->snap->cfg.clock_correct && link_time_sync(s, &before, &after) == 0)
		synced = true;
	det = json_pack("{s:s,s:s,s:s,s:s,s:I}", "serial", id->serial, "model", id->model,
			"firmware", id->firmware, "officer", id->officer_id, "clock_offset_ns",
			(json_int_t)off);
	if (det && absurd) {
		json_object_set_new(det, "camera_clock_ns", json_integer((json_int_t)id->clock_ns));
		json_object_set_new(det, "clock_absurd", json_true());
	}
	if (det && synced)
		json_object_set_new(det, "time_synced", json_pack("{s:I,s:I}", "camera_before_ns",
								  (json_int_t)before,
								  "camera_after_ns", (json_int_t)after));
	r = ledgerw_event(c->d->w, &ev[0], CUST_A_DOCKED, NULL, CUST_OUTCOME_OK);
	if (r == 0)
		r = ev_details(&ev[0], json_pack("{s:s,s:s,s:s}", "serial", id->serial, "transport",
						 c->transport, "peer", c->t->peer));
	if (r == 0)
		r = ledgerw_event(c->d->w, &ev[1], CUST_A_DEVICE_AUTHENTICATED, NULL, CUST_OUTCOME_OK);
	if (r == 0)
		r = ev_details(&ev[1], det);
	else
		json_decref(det);
	if (r == 0) {
		ledgerw_lock(c->d->w);
		r = cust_ledger_append_batch(ledgerw_ledger(c->d->w), ev, 2);
		ledgerw_unlock(c->d->w);
	}
	return r;
}

static int flush_batch(struct cam *c, const struct proto_identity *id)
{
	bool conflict[LIST_BATCH] = { false };
	int r;

	if (!c->n_batch)
		return 0;
	r = dockdb_list_batch(c->d->w, id->serial, id->officer_id, c->batch, c->n_batch,
			      c->listed_ns, conflict);
	for (size_t i = 0; r == 0 && i < c->n_batch; i++)
		if (conflict[i])
			dockd_alert(c->d, "integrity", c->batch[i].recording_id,
				    "camera %s lists a known recording with another size/hash",
				    id->serial);
	c->n_batch = 0;
	return r;
}

struct list_ctx {
	struct cam *c;
	const struct proto_identity *id;
};

/* A manifest entry whose id custody cannot name ("." or "..", or too long
 * with the serial for an evidence id): never listed, pulled or released,
 * so it stays on the camera. integrity_failed without an evidence id (it
 * has none) {stage: "manifest", serial, recording_id} and an alert. */
static void refuse_id(struct cam *c, const char *serial, const char *rid)
{
	static const char why[] = "recording id refused: custody cannot name it"
				  " (\".\", \"..\" or too long with the serial)";
	struct cust_event ev;

	c->bad_entries++;
	if (ledgerw_event(c->d->w, &ev, CUST_A_INTEGRITY_FAILED, NULL, CUST_OUTCOME_FAILED) == 0 &&
	    cust_event_set_text(ev.reason, sizeof(ev.reason), why) == 0 &&
	    ev_details(&ev, json_pack("{s:s,s:s,s:s}", "stage", "manifest", "serial", serial,
				      "recording_id", rid)) == 0)
		(void)ledgerw_append(c->d->w, &ev);
	log_warning("camera %s lists recording id '%s': %s; it stays on the camera", serial, rid,
		    why);
	dockd_alert(c->d, "integrity", serial, "recording id '%s' refused: custody cannot name it;"
		    " not ingested, it stays on the camera", rid);
}

static int on_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct list_ctx *lc = ctx;
	struct cam *c = lc->c;
	char eid[DOCKDB_EVIDENCE_MAX + 1];

	if (!dockdb_nameable(lc->id->serial, e->recording_id)) {
		refuse_id(c, lc->id->serial, e->recording_id);
		return 0;
	}
	if (verdict < 0) {
		struct cust_event ev;

		c->bad_entries++;
		dockdb_evidence_id(lc->id->serial, e->recording_id, eid, sizeof(eid));
		if (ledgerw_event(c->d->w, &ev, CUST_A_INTEGRITY_FAILED, eid, CUST_OUTCOME_FAILED) == 0 &&
		    cust_event_set_text(ev.reason, sizeof(ev.reason),
					"manifest entry signature invalid") == 0 &&
		    ev_details(&ev, json_pack("{s:s}", "stage", "manifest")) == 0)
			(void)ledgerw_append(c->d->w, &ev);
		dockd_alert(c->d, "integrity", eid, "manifest entry signature invalid: not ingested");
		return 0;
	}
	c->batch[c->n_batch++] = *e;
	return c->n_batch == LIST_BATCH ? flush_batch(c, lc->id) : 0;
}

static void run_session(struct cam *c)
{
	const struct dock_config *k = &c->snap->cfg;
	struct session_cfg cfg = { .dock_key = c->d->dock_key, .cert = &c->d->cert,
				   .enrol = enrol_cb, .enrol_ctx = c, .why = c->why,
				   .deadline_ms = (int64_t)k->session_deadline_s * 1000,
				   .min_rate_bps = (uint64_t)k->min_rate_kib_s * 1024,
				   .rate_window_ms = (int64_t)k->rate_window_s * 1000 };
	struct link *s = NULL;
	struct list_ctx lc = { .c = c };
	char serial[PROTO_ID_MAX + 1];
	unsigned released = 0;
	int r;

	r = link_open(c->d, c->snap, c->t, &cfg, &s);
	if (r < 0 && c->reseat) {
		/* An officer re-seating the camera: not a security event. */
		log_warning("camera %s re-seated while its previous session finishes its upload"
			    " wait: refused with BUSY (retry in a moment)", c->id.serial);
		return;
	}
	if (r < 0) {
		if (c->have_id || r == -PROTO_E_AUTH || r == -PROTO_E_UNENROLLED || r == -PROTO_E_BUSY ||
		    r == -PROTO_E_BAD_VERSION) {
			record_rejected(c, r);
		} else if (r <= -PROTO_E_BASE && r >= -PROTO_E_MAX) {
			/* a malformed HELLO_REPLY (the camera got ERROR with the
			 * code), the wrong message, or the camera's own ERROR */
			snprintf(c->why, sizeof(c->why), "malformed or refused HELLO_REPLY: %s",
				 proto_strerror(r));
			record_rejected(c, r);
		} else {
			/* no HELLO_REPLY: timeout, or the peer left */
			record_aborted(c, "", "no_hello_reply", r);
		}
		return;
	}
	lc.id = link_identity(s);
	snprintf(serial, sizeof(serial), "%s", lc.id->serial);
	r = record_authenticated(c, s);
	if (r < 0) {
		log_error("%s: ledger write failed (%s): closing without ingest", serial, strerror(-r));
		goto out;
	}
	log_info("camera %s (officer %s) docked over %s", serial, lc.id->officer_id, c->transport);
	c->listed_ns = realtime_ns();
	status_cam_state(c->d->status, c->slot, "listing");
	r = link_list(s, on_entry, &lc);
	if (r == 0 || r == -PROTO_E_AUTH)
		r = flush_batch(c, lc.id);
	if (r < 0) {
		log_warning("%s: listing failed: %s", serial, proto_strerror(r));
		if (r == -EEXIST) {
			/* an id listed twice: the manifest is not one (6.5) */
			link_abort(s, -PROTO_E_BAD_FIELD);
			record_aborted(c, serial, "duplicate_id", -PROTO_E_BAD_FIELD);
			c->aborted = true;
		}
		/* nothing of an incomplete listing is kept: the camera still
		 * holds it all, the next docking lists it again */
		if (dockdb_forget_listing(c->d->w, serial, c->listed_ns) < 0)
			log_error("%s: rows of the abandoned listing not removed", serial);
		goto out;
	}
	ingact_begin(c->d);	/* fixity audits and keep-window purges wait (ingact.h) */
	r = camera_pull_all(c, s, serial);
	ingact_end(c->d);
	if (r < 0 && r != -ECANCELED) {
		log_warning("%s: session ended early: %s (resumes at the next docking)", serial,
			    proto_strerror(r));
		goto out;
	}
	if (r == 0) {
		final_set(c, serial, true);
		if (!camera_wait_uploads(c, s, serial))
			goto out;
		status_cam_state(c->d->status, c->slot, "releasing");
		r = release_camera(c->d, c->snap, s, serial, c->listed_ns, &released);
		if (r < 0)
			log_warning("%s: release stopped: %s", serial, proto_strerror(r));
	}
	log_info("camera %s: session done, %u recording(s) released", serial, released);
out:
	record_failure(c, s, serial);
	link_close(s);
}

static void *cam_thread(void *arg)
{
	struct cam *c = arg;
	struct dockd *d = c->d;
	int r = 0;

	(void)pthread_setname_np(pthread_self(), "dk-cam"); /* for top -H, perf */
	if (!c->t) {
		r = transport_usb_open_devnode(c->devnode, &c->t);
		if (r < 0)
			log_warning("USB camera at %s: cannot open: %s", c->devnode, strerror(-r));
	}
	if (r == 0)
		run_session(c);
	/* The bay is free once the session is over (its marker cleared
	 * first: the slot may be taken again at once). The checkpoint after
	 * it is a round trip to the custodian process; with max_cameras
	 * sessions running, a camera docking the moment this one left was
	 * refused as busy while that round trip kept the bay. */
	if (c->final)
		final_set(c, "", false);
	status_cam_remove(d->status, c->slot);
	(void)ledgerw_checkpoint(d->w);
	transport_close(c->t);
	dockd_snap_put(d, c->snap);
	free(c);
	dockd_touch(d);
	atomic_fetch_sub(&d->busy, 1);
	return NULL;
}

static void record_busy(struct dockd *d, const char *peer)
{
	struct cust_event ev;

	if (ledgerw_event(d->w, &ev, CUST_A_DEVICE_REJECTED, NULL, CUST_OUTCOME_DENIED) == 0 &&
	    cust_event_set_text(ev.reason, sizeof(ev.reason), "busy: max_cameras reached") == 0 &&
	    ev_details(&ev, json_pack("{s:s,s:s}", "peer", peer, "reason", "busy")) == 0)
		(void)ledgerw_append(d->w, &ev);
	log_warning("%s: refused: max_cameras sessions already running", peer);
}

int camera_spawn(struct dockd *d, struct transport *t, const char *devnode)
{
	struct dock_snap *snap = dockd_snap_get(d);
	const char *peer = t ? t->peer : devnode;
	pthread_attr_t attr;
	pthread_t th;
	struct cam *c;
	int slot, r;

	slot = status_cam_add(d->status, snap->cfg.max_cameras, t ? "socket" : "usb", peer);
	if (slot < 0) {
		record_busy(d, peer);
		dockd_snap_put(d, snap);
		transport_close(t);
		return -EBUSY;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto fail;
	}
	c->d = d;
	c->snap = snap;
	c->t = t;
	c->slot = slot;
	snprintf(c->transport, sizeof(c->transport), "%s", t ? "socket" : "usb");
	if (devnode)
		snprintf(c->devnode, sizeof(c->devnode), "%s", devnode);
	atomic_fetch_add(&d->busy, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &attr, cam_thread, c);
	pthread_attr_destroy(&attr);
	if (r == 0)
		return 0;
	atomic_fetch_sub(&d->busy, 1);
	free(c);
fail:
	status_cam_remove(d->status, slot);
	dockd_snap_put(d, snap);
	transport_close(t);
	return r;
}
