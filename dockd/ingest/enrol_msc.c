/* enrol_msc.c - the mass-storage camera enrolment list (see enrol_msc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enrol_msc.h"
#include "enrol_util.h"

#define COLS "vid, pid, serial, officer, profile, agency, status, changed_seq"

static int hex4(const char *s, uint16_t *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

int dock_msc_parse_id(const char *s, uint16_t *vid, uint16_t *pid, char *serial, size_t cap)
{
	uint16_t v, p;

	if (!s || strlen(s) < 11 || s[4] != ':' || s[9] != ':' || hex4(s, &v) < 0 ||
	    hex4(s + 5, &p) < 0 || !proto_id_valid(s + 10) || strlen(s + 10) >= cap)
		return -EINVAL;
	*vid = v;
	*pid = p;
	memcpy(serial, s + 10, strlen(s + 10) + 1);
	return 0;
}

static int schema(struct cust_ledger *l)
{
	static const char sql[] =
		"CREATE TABLE IF NOT EXISTS dock_storage_cameras("
		" vid TEXT NOT NULL CHECK(length(vid) = 4),"
		" pid TEXT NOT NULL CHECK(length(pid) = 4),"
		" serial TEXT NOT NULL,"
		" officer TEXT NOT NULL,"
		" profile TEXT NOT NULL,"
		" agency TEXT NOT NULL,"
		" status TEXT NOT NULL CHECK(status IN ('enrolled','revoked')),"
		" changed_seq INTEGER NOT NULL,"
		" PRIMARY KEY(vid, pid, serial))";

	if (cust_ledger_readonly(l))
		return -EROFS;
	return sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int row(sqlite3_stmt *s, struct dock_msc_camera *m)
{
	char vid[8], pid[8], status[16];
	sqlite3_int64 seq;

	memset(m, 0, sizeof(*m));
	if (enrol_col_text(s, 0, vid, sizeof(vid)) || enrol_col_text(s, 1, pid, sizeof(pid)) ||
	    hex4(vid, &m->vid) || hex4(pid, &m->pid) ||
	    enrol_col_text(s, 2, m->cam.serial, sizeof(m->cam.serial)) ||
	    enrol_col_text(s, 3, m->cam.officer, sizeof(m->cam.officer)) ||
	    enrol_col_text(s, 4, m->profile, sizeof(m->profile)) ||
	    enrol_col_text(s, 5, m->cam.agency, sizeof(m->cam.agency)) ||
	    enrol_col_text(s, 6, status, sizeof(status)))
		return -EBADMSG;
	m->cam.status = strcmp(status, "enrolled") ? DOCK_CAM_REVOKED : DOCK_CAM_ENROLLED;
	seq = sqlite3_column_int64(s, 7);
	m->cam.changed_seq = seq > 0 ? (uint64_t)seq : 0;
	return 0;
}

static void idtext(uint16_t v, char out[5])
{
	snprintf(out, 5, "%04x", v);
}

static int get(struct cust_ledger *l, uint16_t vid, uint16_t pid, const char *serial,
	       struct dock_msc_camera *out)
{
	struct dock_msc_camera m;
	sqlite3_stmt *s = NULL;
	char v[5], p[5];
	int r, rc;

	r = enrol_prepare(l, "SELECT " COLS " FROM dock_storage_cameras WHERE vid = ?1 AND pid = ?2"
		    " AND serial = ?3", &s);
	if (r < 0)
		return r;
	idtext(vid, v);
	idtext(pid, p);
	sqlite3_bind_text(s, 1, v, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	r = rc == SQLITE_ROW ? row(s, &m) : rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(s);
	if (r == 0)
		*out = m;
	return r;
}

/* The details the device_enrolled event of row m must carry. */
static json_t *enrolled_details(const struct dock_msc_camera *m)
{
	char v[5], p[5];

	idtext(m->vid, v);
	idtext(m->pid, p);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "storage", "vid", v,
			 "pid", p, "serial", m->cam.serial, "officer", m->cam.officer, "profile",
			 m->profile, "model", "", "agency", m->cam.agency);
}

/* Deny by default: the row's changed_seq must name an ok device_enrolled
 * event of the row's agency whose details are exactly what the row says. */
static int backed(struct cust_ledger *l, const struct dock_msc_camera *m)
{
	struct cust_event *ev = malloc(sizeof(*ev));
	json_t *want = enrolled_details(m), *have = NULL;
	int r;

	if (!ev || !want) {
		r = -ENOMEM;
		goto out;
	}
	r = m->cam.changed_seq ? cust_ledger_get(l, m->cam.changed_seq, ev) : -ENOENT;
	if (r == -ENOENT) {
		r = -EPERM;
		goto out;
	}
	if (r < 0)
		goto out;
	if (ev->action != CUST_A_DEVICE_ENROLLED || ev->outcome != CUST_OUTCOME_OK ||
	    strcmp(ev->agency_id, m->cam.agency) || cust_event_details(ev, &have) < 0 ||
	    !json_equal(have, want))
		r = -EPERM;
out:
	json_decref(want);
	json_decref(have);
	free(ev);
	return r;
}

int dock_msc_check(struct cust_ledger *l, const char *agency_id, uint16_t vid, uint16_t pid,
		   const char *serial, struct dock_msc_camera *out, char *why, size_t whylen)
{
	struct dock_msc_camera m;
	int r = proto_id_valid(serial) ? get(l, vid, pid, serial, &m) : -ENOENT;

	if (r == -ENOENT) {
		enrol_say(why, whylen, "unknown device");
		return -EACCES;
	}
	if (r < 0) {
		enrol_say(why, whylen, "enrolment lookup failed");
		return -EIO;
	}
	*out = m;
	if (!agency_id || strcmp(m.cam.agency, agency_id)) {
		enrol_say(why, whylen, "other agency");
		return -EACCES;
	}
	if (m.cam.status != DOCK_CAM_ENROLLED) {
		enrol_say(why, whylen, "revoked");
		return -EACCES;
	}
	r = backed(l, &m);
	if (r == -EPERM) {
		enrol_say(why, whylen, "enrolment row has no device_enrolled event");
		return -EACCES;
	}
	if (r < 0) {
		enrol_say(why, whylen, "enrolment lookup failed");
		return -EIO;
	}
	return 0;
}

int dock_msc_list(struct cust_ledger *l, dock_msc_cb cb, void *arg)
{
	struct dock_msc_camera m;
	sqlite3_stmt *s = NULL;
	int r, rc;

	r = enrol_prepare(l, "SELECT " COLS " FROM dock_storage_cameras ORDER BY vid, pid, serial", &s);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = row(s, &m)) < 0 || (r = cb(arg, &m)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_finalize(s);
	return r;
}

/* ---- changes ------------------------------------------------------------ */

static int upsert(struct cust_ledger *l, const struct dock_msc_camera *m)
{
	static const char sql[] = "INSERT OR REPLACE INTO dock_storage_cameras(" COLS
				  ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *s = NULL;
	char v[5], p[5];
	int rc;

	if (sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	idtext(m->vid, v);
	idtext(m->pid, p);
	sqlite3_bind_text(s, 1, v, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->cam.serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->cam.officer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, m->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, m->cam.agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, dock_cam_status_name(m->cam.status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)m->cam.changed_seq);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* One event by its stable name (a custody library that lacks it makes the
 * change fail, never record something else); details consumed. */
static json_t *revoked_details(const struct dock_msc_camera *m)
{
	char v[5], p[5];

	idtext(m->vid, v);
	idtext(m->pid, p);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "storage", "vid", v, "pid", p,
			 "serial", m->cam.serial, "agency", m->cam.agency);
}

static int add_tx(struct cust_ledger *l, const struct dock_msc_req *rq, uint64_t *seq,
		  char *why, size_t whylen)
{
	struct dock_msc_camera old, m;
	struct cust_event ev[2];
	char reason[CUST_REASON_MAX + 1];
	size_t n = 0;
	int r = schema(l);

	if (r == 0 && (r = get(l, rq->vid, rq->pid, rq->serial, &old)) == 0) {
		if (strcmp(old.cam.agency, rq->agency_id)) {
			enrol_say(why, whylen, "this device is enrolled by another agency");
			return -EPERM;
		}
		if (!rq->replace) {
			enrol_say(why, whylen, "this device is already %s (use --replace to enroll it "
			    "again)", old.cam.status == DOCK_CAM_ENROLLED ? "enrolled" : "revoked");
			return -EEXIST;
		}
		if (old.cam.status == DOCK_CAM_ENROLLED) {
			snprintf(reason, sizeof(reason), "replaced%s%s", rq->reason ? ": " : "",
				 rq->reason ? rq->reason : "");
			r = enrol_make_event(&ev[n++], rq->agency_id, rq->actor_id, "device_revoked",
				       reason, revoked_details(&old));
		}
	} else if (r == -ENOENT) {
		r = 0;
	}
	if (r < 0)
		return r;
	memset(&m, 0, sizeof(m));
	m.vid = rq->vid;
	m.pid = rq->pid;
	snprintf(m.cam.serial, sizeof(m.cam.serial), "%s", rq->serial);
	snprintf(m.cam.officer, sizeof(m.cam.officer), "%s", rq->officer);
	snprintf(m.cam.agency, sizeof(m.cam.agency), "%s", rq->agency_id);
	snprintf(m.profile, sizeof(m.profile), "%s", rq->profile);
	m.cam.status = DOCK_CAM_ENROLLED;
	r = enrol_make_event(&ev[n++], rq->agency_id, rq->actor_id, "device_enrolled", rq->reason,
		       enrolled_details(&m));
	if (r == 0)
		r = cust_ledger_append_batch(l, ev, n);
	if (r < 0)
		return r;
	m.cam.changed_seq = ev[n - 1].seq;
	*seq = m.cam.changed_seq;
	return upsert(l, &m);
}

int dock_msc_add(struct cust_ledger *l, const struct dock_msc_req *rq, uint64_t *seq_out,
		 char *why, size_t whylen)
{
	const char *bad = NULL;
	uint64_t seq = 0;
	int r;

	if (!rq->agency_id || !proto_id_valid(rq->agency_id) || strlen(rq->agency_id) > CUST_AGENCY_MAX)
		bad = "agency id";
	else if (!rq->serial || !proto_id_valid(rq->serial))
		bad = "serial (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (!rq->officer || !proto_id_valid(rq->officer))
		bad = "officer (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (!rq->profile || !*rq->profile || strlen(rq->profile) > PROFILE_NAME_MAX)
		bad = "profile";
	else if (rq->reason && !enrol_text_ok(rq->reason, CUST_REASON_MAX))
		bad = "reason (at most 512 printable characters)";
	else if (!rq->actor_id || !*rq->actor_id)
		bad = "actor";
	if (bad) {
		enrol_say(why, whylen, "invalid %s", bad);
		return -EINVAL;
	}
	if ((r = cust_ledger_begin(l)) < 0) {
		enrol_say(why, whylen, "cannot start a ledger transaction: %s", cust_ledger_errmsg(l));
		return r;
	}
	r = enrol_end_tx(l, add_tx(l, rq, &seq, why, whylen));
	if (r == 0 && seq_out)
		*seq_out = seq;
	if (r < 0 && r != -EEXIST && r != -EPERM)
		enrol_say(why, whylen, "ledger %s: %s (%s)", cust_ledger_path(l), strerror(-r),
		    cust_ledger_errmsg(l));
	return r;
}

static int revoke_tx(struct cust_ledger *l, const char *agency_id, uint16_t vid, uint16_t pid,
		     const char *serial, const char *reason, const char *actor_id, uint64_t *seq,
		     char *why, size_t whylen)
{
	struct dock_msc_camera m;
	struct cust_event ev;
	int r = schema(l);

	if (r == 0)
		r = get(l, vid, pid, serial, &m);
	if (r == -ENOENT)
		enrol_say(why, whylen, "device %04x:%04x:%s is not enrolled", vid, pid, serial);
	if (r < 0)
		return r;
	if (strcmp(m.cam.agency, agency_id)) {
		enrol_say(why, whylen, "this device is enrolled by another agency");
		return -EPERM;
	}
	if (m.cam.status == DOCK_CAM_REVOKED) {
		enrol_say(why, whylen, "device %04x:%04x:%s is already revoked", vid, pid, serial);
		return -EALREADY;
	}
	r = enrol_make_event(&ev, agency_id, actor_id, "device_revoked", reason, revoked_details(&m));
	if (r == 0)
		r = cust_ledger_append(l, &ev);
	if (r < 0)
		return r;
	m.cam.status = DOCK_CAM_REVOKED;
	m.cam.changed_seq = ev.seq;
	*seq = ev.seq;
	return upsert(l, &m);
}

int dock_msc_revoke(struct cust_ledger *l, const char *agency_id, uint16_t vid, uint16_t pid,
		    const char *serial, const char *reason, const char *actor_id,
		    uint64_t *seq_out, char *why, size_t whylen)
{
	uint64_t seq = 0;
	int r;

	if ((r = enrol_revoke_args(agency_id, serial, reason, actor_id, why, whylen)) < 0)
		return r;
	if ((r = cust_ledger_begin(l)) < 0) {
		enrol_say(why, whylen, "ledger: %s", cust_ledger_errmsg(l));
		return r;
	}
	r = enrol_end_tx(l, revoke_tx(l, agency_id, vid, pid, serial, reason, actor_id, &seq, why,
				whylen));
	if (r == 0 && seq_out)
		*seq_out = seq;
	if (r < 0 && r != -ENOENT && r != -EALREADY && r != -EPERM)
		enrol_say(why, whylen, "ledger %s: %s (%s)", cust_ledger_path(l), strerror(-r),
		    cust_ledger_errmsg(l));
	return r;
}
