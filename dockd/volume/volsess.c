/* volsess.c - one docking of a USB mass-storage camera (see volsess.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "dockdb.h"
#include "ingest.h"
#include "log.h"
#include "release.h"
#include "storage.h"
#include "volc.h"
#include "ingact.h"
#include "volsess.h"
#include "volsess_int.h"

#define OPEN_TIMEOUT_MS 30000
#define LIST_BATCH (PROTO_LIST_MAX * 4)
#define SKIPS_RECORDED 64  /* volume_listed names at most this many skipped paths */
#define WAIT_STEP_MS 100
/* A card with bad sectors fails one file's reads; a card pulled out
 * fails them all. After this many files in a row that would not read,
 * the docking ends: the volume has stopped reading. */
#define READ_ERRORS_MAX 4

struct sess {
	struct dockd *d;
	struct dock_snap *snap;
	const struct dock_camera *cam;
	const struct msc_profile *p;
	const char *devnode;
	const char *fs;
	struct volc *x;
	int slot;
	int64_t listed_ns;
	struct vfile *files;
	size_t n, cap;
	unsigned n_skip;
	unsigned read_errors;               /* consecutive files that would not read */
	json_t *skipped;
	char volid[VOLSESS_VOLID_MAX + 1];
	char camid[PROTO_ID_MAX + 1];
	/* the file being pulled (ingest_src ctx) */
	struct vfile *cur;
	json_t *facts;
};

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int ev_details(struct cust_event *ev, json_t *o)
{
	int r = o ? cust_event_set_details(ev, o) : -ENOMEM;

	json_decref(o);
	return r;
}

/* ---- listing ------------------------------------------------------------ */

static int on_file(void *ctx, const struct volc_file *f)
{
	struct sess *s = ctx;
	struct vfile *v;

	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 64;
		struct vfile *nf = realloc(s->files, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		s->files = nf;
		s->cap = nc;
	}
	v = &s->files[s->n++];
	memset(v, 0, sizeof(*v));
	v->f = *f;
	snprintf(v->path, sizeof(v->path), "%s", f->path);
	v->f.path = NULL; /* set when used: files may move on realloc */
	return 0;
}

static void on_skip(void *ctx, const char *why, const char *path)
{
	struct sess *s = ctx;

	s->n_skip++;
	if (json_array_size(s->skipped) < SKIPS_RECORDED)
		(void)json_array_append_new(s->skipped, json_pack("{s:s,s:s}", "path", path,
								  "why", why));
	log_info("camera %s: %s left out: %s", s->cam->serial, path, why);
}

/* A file of the volume would not read (is_read_error: a bad sector, a
 * card pulled out): alerted; the docking goes on to the next
 * file unless READ_ERRORS_MAX files in a row failed so (then -EIO). */
/* What a userspace driver answers for a sector it cannot read: EIO, or
 * EPERM (fusefat), ENXIO/ENODEV (the device gone). Nothing else on a
 * read-only volume says so. */
static bool is_read_error(int r)
{
	return r == -EIO || r == -EPERM || r == -ENXIO || r == -ENODEV;
}

static int read_error(struct sess *s, const struct vfile *v, const char *evid, int err)
{
	dockd_alert(s->d, "read-error", evid ? evid : s->cam->serial, "%s on camera %s could not "
		    "be read (%s): not ingested, it stays on the camera (volume id %s)", v->path,
		    s->cam->serial, strerror(-err), s->volid);
	if (++s->read_errors < READ_ERRORS_MAX)
		return 0;
	log_warning("camera %s: %u files in a row would not read: the volume stopped reading",
		    s->cam->serial, s->read_errors);
	return err;
}

static const char *kind_name(enum profile_kind k)
{
	return k == PROFILE_RECORDING ? "recording" : k == PROFILE_SIDECAR ? "sidecar" : "camera-id";
}

/* volume_listed {...}: what the reader saw and left out, and the ids. */
static int record_listed(struct sess *s, unsigned n_rec, unsigned n_side, const char *refused)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:O,s:s,s:s}", "serial", s->cam->serial,
			      "profile", s->p->name, "device", s->devnode, "recordings",
			      (json_int_t)n_rec, "sidecars", (json_int_t)n_side, "skipped_count",
			      (json_int_t)s->n_skip, "skipped", s->skipped, "volume_id", s->volid,
			      "camera_id", s->camid);
	int r = ledgerw_event(s->d->w, &ev, CUST_A_VOLUME_LISTED, NULL,
			      refused ? CUST_OUTCOME_DENIED : CUST_OUTCOME_OK);

	if (r == 0 && refused)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), refused);
	if (r == 0)
		r = ev_details(&ev, o);
	else
		json_decref(o);
	if (r == 0)
		r = ledgerw_append(s->d->w, &ev);
	return r;
}

/* docked {serial, transport, peer, profile, source}. */
static int record_docked(struct sess *s)
{
	struct cust_event ev;
	int r = ledgerw_event(s->d->w, &ev, CUST_A_DOCKED, NULL, CUST_OUTCOME_OK);

	if (r == 0)
		r = ev_details(&ev, json_pack("{s:s,s:s,s:s,s:s,s:s}", "serial", s->cam->serial,
					      "transport", "usb-msc", "peer", s->devnode, "profile",
					      s->p->name, "source", "unsigned"));
	if (r == 0)
		r = ledgerw_append(s->d->w, &ev);
	return r;
}

/* FAT times are the camera's local time: UTC = local - file_tz. */
static int64_t utc_of(const struct sess *s, const struct vfile *v)
{
	return v->f.mtime_s - s->p->tz_offset_s;
}

/* Rows for every file with an identity, in batches (dockdb_list_batch). */
static int list_rows(struct sess *s)
{
	struct proto_manifest_entry *b = calloc(LIST_BATCH, sizeof(*b));
	bool conflict[LIST_BATCH];
	size_t k = 0;
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i <= s->n; i++) {
		if (i < s->n && s->files[i].ok) {
			struct proto_manifest_entry *e = &b[k++];

			memset(e, 0, sizeof(*e)); /* sha256 and sig zero: unsigned */
			snprintf(e->recording_id, sizeof(e->recording_id), "%s", s->files[i].rid);
			e->size = s->files[i].f.size;
			e->start_utc = e->end_utc = utc_of(s, &s->files[i]);
			snprintf(e->category, sizeof(e->category), "uncategorized");
		}
		if (k && (k == LIST_BATCH || i == s->n)) {
			r = dockdb_list_batch(s->d->w, s->cam->serial, s->cam->officer, b, k,
					      s->listed_ns, conflict);
			k = 0;
		}
	}
	free(b);
	return r;
}

/* ---- the ingest source ------------------------------------------------- */

struct fwd {
	session_sink_fn fn;
	void *fctx;
	uint64_t off;
};

static int fwd_sink(void *ctx, const uint8_t *p, size_t n)
{
	struct fwd *w = ctx;
	int r = w->fn(w->fctx, p, n, w->off);

	w->off += n;
	return r;
}

static int src_read(void *ctx, const struct dock_rec *rec, uint64_t off, uint64_t len,
		    session_sink_fn fn, void *fctx)
{
	struct sess *s = ctx;
	struct fwd w = { fn, fctx, off };
	int r;

	(void)rec;
	r = volc_read(s->x, s->cur->f.index, off, len, 0, fwd_sink, &w);
	/* grew, shrank or rewritten since it was listed: quarantined */
	return r == -ESTALE || r == -ENODATA ? -PROTO_E_MISMATCH : r;
}

static int md_sink(void *ctx, const uint8_t *p, size_t n)
{
	return EVP_DigestUpdate(ctx, p, n) == 1 ? 0 : -EIO;
}

/* The second read, past the page cache: the same SHA-256 or -ESTALE. */
static int src_confirm(void *ctx, const struct dock_rec *rec, const uint8_t sha[32])
{
	struct sess *s = ctx;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t again[32];
	unsigned int l = 0;
	int r = -ENOMEM;

	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		status_cam_state(s->d->status, s->slot, "re-reading");
		r = volc_read(s->x, s->cur->f.index, 0, rec->size, 1, md_sink, md);
		if (r == 0 && (EVP_DigestFinal_ex(md, again, &l) != 1 || l != 32))
			r = -EIO;
		if (r == 0 && memcmp(again, sha, 32))
			r = -ESTALE;
		if (r == -ENODATA)
			r = -ESTALE;
		status_cam_state(s->d->status, s->slot, "pulling");
	}
	EVP_MD_CTX_free(md);
	if (r == -ESTALE)
		dockd_alert(s->d, "integrity", rec->evidence_id, "%s on camera %s changed between "
			    "the two reads: not ingested (quarantined; read again at the next "
			    "docking)", s->cur->path, s->cam->serial);
	return r;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void utc_text(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "?");
}

/* The recording a sidecar goes with: the same directory and name before
 * the last '.', case-insensitively (FAT); NULL when there is none. */
static const struct vfile *sidecar_of(const struct sess *s, const struct vfile *v)
{
	const char *dot = strrchr(v->path, '.');
	size_t stem = dot ? (size_t)(dot - v->path) : strlen(v->path);

	for (size_t i = 0; i < s->n; i++) {
		const struct vfile *o = &s->files[i];
		const char *od = strrchr(o->path, '.');

		if (o->f.kind == PROFILE_RECORDING && o->ok && od &&
		    (size_t)(od - o->path) == stem && !strncasecmp(o->path, v->path, stem))
			return o;
	}
	return NULL;
}

/* The "volume" facts of the ingested event (docs/custody-ledger.md). */
static json_t *facts_of(const struct sess *s, const struct vfile *v)
{
	char head[65], tail[65], id[65], loc[32], utc[32], tz[16];
	const struct vfile *rec = v->f.kind == PROFILE_SIDECAR ? sidecar_of(s, v) : NULL;
	int32_t o = s->p->tz_offset_s, a = o < 0 ? -o : o;
	json_t *j;

	hex(v->head, 32, head);
	hex(v->tail, 32, tail);
	hex(v->id, 32, id);
	utc_text(v->f.mtime_s, loc, sizeof(loc));
	loc[strlen(loc) - 1] = '\0'; /* local time: no Z */
	utc_text(utc_of(s, v), utc, sizeof(utc));
	snprintf(tz, sizeof(tz), "%c%02d:%02d", o < 0 ? '-' : '+', (int)(a / 3600 % 100),
		 (int)(a % 3600 / 60));
	j = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "path", v->path,
		      "kind", kind_name(v->f.kind), "size", (json_int_t)v->f.size, "mtime_local",
		      loc, "file_tz", tz, "mtime_utc", utc, "identity", id, "head_sha256", head,
		      "tail_sha256", tail, "volume_id", s->volid, "camera_id", s->camid, "profile",
		      s->p->name);
	if (j && rec) {
		char eid[DOCKDB_EVIDENCE_MAX + 1];

		dockdb_evidence_id(s->cam->serial, rec->rid, eid, sizeof(eid));
		json_object_set_new(j, "sidecar_of", json_string(eid));
	}
	return j;
}

/* ---- pulling ------------------------------------------------------------ */

/* Ingest every file of this docking not stored yet. 0, or the error that
 * ended the docking early (what is not stored stays on the camera). */
static int pull_all(struct sess *s)
{
	unsigned pull = DREC_BIT(DREC_LISTED) | DREC_BIT(DREC_PULLING) | DREC_BIT(DREC_QUARANTINED);
	int r = 0;

	status_cam_state(s->d->status, s->slot, "pulling");
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		struct vfile *v = &s->files[i];
		struct ingest_src src = { .ctx = s, .read = src_read, .confirm = src_confirm };
		struct dock_rec rec;
		bool disk = false;

		if (!v->ok || v->f.kind == PROFILE_ID)
			continue;
		if (atomic_load(&s->d->stop))
			return -ECANCELED;
		if ((r = dockdb_get(s->d->w, s->cam->serial, v->rid, &rec)) < 0)
			return r;
		if (!(DREC_BIT(rec.state) & pull))
			continue; /* stored at an earlier docking: never twice */
		if (!ingest_space_ok(s->snap)) {
			dockd_alert(s->d, "disk", s->snap->cfg.vault_dir, "vault or state directory "
				    "below min_free_mb: docking of %s ended, resumes at the next",
				    s->cam->serial);
			return -ENOSPC;
		}
		v->f.path = v->path;
		s->cur = v;
		src.volume = s->facts = facts_of(s, v);
		if (!src.volume)
			return -ENOMEM;
		r = ingest_one_src(s->d, s->snap, &src, s->slot, &rec, &disk);
		json_decref(s->facts);
		s->facts = NULL;
		dockd_touch(s->d);
		if (r == 0 || r == -EBADMSG)
			s->read_errors = 0;
		if (r == 0)
			storage_kick(s->d->storage);
		else if (r == -EBADMSG)
			r = 0; /* quarantined (recorded): the next file */
		else if (is_read_error(r) && !disk) /* ingest_interrupted recorded, row left pulling */
			r = read_error(s, v, rec.evidence_id, r);
		else if (disk)
			dockd_alert(s->d, "disk", s->snap->cfg.vault_dir, "vault write failed (%s): "
				    "docking of %s ended, resumes at the next", strerror(-r),
				    s->cam->serial);
	}
	return r;
}

/* Wait (bounded by release_wait_s) for the storage worker to verify this
 * camera's items, as for a protocol camera. */
static void wait_uploads(struct sess *s)
{
	unsigned waited = 0, limit = s->snap->cfg.release_wait_s * 1000;
	bool failing = false;
	uint64_t n = 0;

	if (s->snap->cfg.release_policy == DOCK_RELEASE_LOCAL || !s->d->storage)
		return;
	status_cam_state(s->d->status, s->slot, "waiting-storage");
	while (waited < limit && !atomic_load(&s->d->stop)) {
		if (dockdb_count(s->d->w, s->cam->serial, DREC_BIT(DREC_STORED_LOCAL), &n) < 0 ||
		    n == 0)
			break;
		(void)storage_idle(s->d->storage, &failing);
		if (failing)
			break;
		sleep_ms(WAIT_STEP_MS);
		waited += WAIT_STEP_MS;
	}
}

static bool listed_now(const struct sess *s, const char *rid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i].ok && !strcmp(s->files[i].rid, rid))
			return true;
	return false;
}

/* Rows the policy releases: gone from the volume -> camera_released
 * {"confirmed": "absent at next docking"}; still there -> counted in
 * *n_kept (deleted next with delete_after_release). *n_released. */
static int release(struct sess *s, unsigned *n_released, unsigned *n_kept)
{
	char after[PROTO_ID_MAX + 1] = "";
	struct dock_rec rec;
	int r;

	status_cam_state(s->d->status, s->slot, "releasing");
	while ((r = dockdb_next(s->d->w, s->cam->serial, release_mask(&s->snap->cfg), after,
				INT64_MIN, NULL, &rec)) == 0) {
		snprintf(after, sizeof(after), "%s", rec.recording_id);
		if (!dockdb_unsigned(&rec))
			continue;
		if (listed_now(s, rec.recording_id)) {
			(*n_kept)++;
			continue;
		}
		if ((r = dockdb_released(s->d->w, &rec, NULL)) < 0)
			return r;
		(*n_released)++;
	}
	return r == -ENOENT ? 0 : r;
}

/* ---- the docking -------------------------------------------------------- */

/* The id_file must name this camera: a volume that holds another
 * camera's id (a card moved between cameras, a replaced volume) is
 * refused before anything is read. NULL when it is fine. */
static const char *check_camera_id(struct sess *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->files[i].f.kind != PROFILE_ID)
			continue;
		s->files[i].f.path = s->files[i].path;
		if (volsess_read_id(s->x, &s->files[i].f, s->camid, sizeof(s->camid)) < 0)
			return "the profile's id_file holds no valid camera id";
		if (strcmp(s->camid, s->cam->serial))
			return "the volume's id_file names another camera";
		return NULL;
	}
	return s->p->id_file[0] ? "the profile's id_file is missing from the volume" : NULL;
}

static int docking(struct sess *s)
{
	unsigned n_rec = 0, n_side = 0, released = 0, kept = 0, deleted = 0, absent = 0;
	const char *refused;
	int r, st, stopped = 0;

	if ((r = record_docked(s)) < 0)
		return r;
	volsess_volume_id(s->devnode, s->volid, sizeof(s->volid));
	status_cam_state(s->d->status, s->slot, "listing");
	s->listed_ns = realtime_ns();
	if ((r = volc_list(s->x, s->p, on_file, on_skip, s)) < 0) {
		if (r == -E2BIG)
			(void)record_listed(s, 0, 0, "more than max_files entries: volume refused");
		return r;
	}
	refused = check_camera_id(s);
	for (size_t i = 0; !refused && !stopped && i < s->n; i++) {
		struct vfile *v = &s->files[i];

		if (v->f.kind == PROFILE_ID)
			continue;
		v->f.path = v->path;
		r = volsess_identity(s->x, v);
		if (r == -ESTALE || r == -ENODATA) {
			on_skip(s, "changed while it was listed", v->path);
			continue;
		}
		if (is_read_error(r)) { /* no identity, no row: named in volume_listed */
			char why[64];

			snprintf(why, sizeof(why), "unreadable: %s", strerror(-r));
			on_skip(s, why, v->path);
			stopped = read_error(s, v, NULL, r);
			continue;
		}
		if (r < 0)
			return r;
		s->read_errors = 0;
		if (v->f.kind == PROFILE_RECORDING)
			n_rec++;
		else
			n_side++;
	}
	if ((r = record_listed(s, n_rec, n_side, refused)) < 0)
		return r;
	if (refused) {
		dockd_alert(s->d, "device-rejected", s->cam->serial, "mass-storage volume at %s "
			    "refused: %s", s->devnode, refused);
		return -EPERM;
	}
	if (stopped) /* listed as far as it read; no rows, nothing "absent" */
		return stopped;
	if ((r = list_rows(s)) < 0 ||
	    (r = volsess_absent(s->d, s->cam->serial, s->volid, s->files, s->n, &absent)) < 0)
		return r;
	ingact_begin(s->d);	/* fixity audits and keep-window purges wait (ingact.h) */
	r = pull_all(s);
	ingact_end(s->d);
	if (r == 0) {
		wait_uploads(s);
		r = release(s, &released, &kept);
	}
	st = volc_close(s->x);
	s->x = NULL;
	if (r == 0 && st != 0)
		log_warning("camera %s: the volume reader ended with status %d", s->cam->serial, st);
	if (r == 0 && kept && s->p->delete_after_release) {
		status_cam_state(s->d->status, s->slot, "deleting");
		r = volsess_delete(s->d, s->snap, s->cam, s->p, s->devnode, s->fs, s->volid,
				   &deleted);
		if (r < 0)
			dockd_alert(s->d, "release", s->cam->serial, "release by deletion on camera "
				    "%s stopped (%s): what was not deleted stays on it",
				    s->cam->serial, strerror(-r));
	}
	log_info("camera %s: mass-storage docking done: %u file(s) released (absent from the "
		 "volume), %u deleted by the dock, %u stored file(s) were on it, %u never stored "
		 "not on it", s->cam->serial, released, deleted, kept, absent);
	return r;
}

int volsess_run(struct dockd *d, const struct dock_camera *cam, const struct msc_profile *p,
		const char *devnode, const char *fs)
{
	struct sess s = { .d = d, .cam = cam, .p = p, .devnode = devnode, .fs = fs, .slot = -1 };
	int r;

	s.snap = dockd_snap_get(d);
	s.skipped = json_array();
	s.slot = status_cam_add(d->status, s.snap->cfg.max_cameras, "usb-msc", devnode);
	if (s.slot < 0 || !s.skipped) {
		r = s.slot < 0 ? -EBUSY : -ENOMEM;
		goto out;
	}
	(void)status_cam_identity(d->status, s.slot, cam->serial, cam->officer);
	if ((r = volc_open(fs, devnode, OPEN_TIMEOUT_MS, &s.x)) < 0)
		goto out;
	r = docking(&s);
	if (r < 0)
		log_warning("camera %s: mass-storage docking ended early: %s%s%s (what is not "
			    "stored stays on the camera)", cam->serial, strerror(-r),
			    s.x && *volc_why(s.x) ? ": " : "", s.x ? volc_why(s.x) : "");
out:
	if (s.x)
		(void)volc_close(s.x);
	if (s.slot >= 0)
		status_cam_remove(d->status, s.slot);
	(void)ledgerw_checkpoint(d->w);
	json_decref(s.skipped);
	free(s.files);
	dockd_snap_put(d, s.snap);
	return r;
}
