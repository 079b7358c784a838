/* enrol.c - the camera enrolment list (see enrol.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "edsig.h"
#include "enrol.h"
#include "enrol_util.h"
#include "facts.h"

#define COLS "serial, pubkey, officer, model, agency, status, changed_seq"

const char *dock_cam_status_name(enum dock_cam_status s)
{
	return s == DOCK_CAM_REVOKED ? "revoked" : "enrolled";
}

int dock_enrol_schema(struct cust_ledger *l)
{
	static const char sql[] =
		"CREATE TABLE IF NOT EXISTS dock_cameras("
		" serial TEXT PRIMARY KEY NOT NULL,"
		" pubkey TEXT NOT NULL CHECK(length(pubkey) = 64),"
		" officer TEXT NOT NULL,"
		" model TEXT NOT NULL,"
		" agency TEXT NOT NULL,"
		" status TEXT NOT NULL CHECK(status IN ('enrolled','revoked')),"
		" changed_seq INTEGER NOT NULL)";

	if (cust_ledger_readonly(l))
		return -EROFS;
	return sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int row_camera(sqlite3_stmt *s, struct dock_camera *c)
{
	char status[16];
	sqlite3_int64 seq;

	memset(c, 0, sizeof(*c));
	if (enrol_col_text(s, 0, c->serial, sizeof(c->serial)) || enrol_col_text(s, 1, c->pubkey, sizeof(c->pubkey)) ||
	    enrol_col_text(s, 2, c->officer, sizeof(c->officer)) || enrol_col_text(s, 3, c->model, sizeof(c->model)) ||
	    enrol_col_text(s, 4, c->agency, sizeof(c->agency)) || enrol_col_text(s, 5, status, sizeof(status)))
		return -EBADMSG;
	c->status = strcmp(status, "enrolled") ? DOCK_CAM_REVOKED : DOCK_CAM_ENROLLED;
	seq = sqlite3_column_int64(s, 6);
	c->changed_seq = seq > 0 ? (uint64_t)seq : 0;
	return 0;
}

/* A missing table is "no cameras", not an error: a fresh ledger. */
int dock_enrol_get(struct cust_ledger *l, const char *serial, struct dock_camera *out)
{
	struct dock_camera c;
	sqlite3_stmt *s = NULL;
	int r, rc;

	r = enrol_prepare(l, "SELECT " COLS " FROM dock_cameras WHERE serial = ?1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = row_camera(s, &c);
	else
		r = rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(s);
	if (r == 0)
		*out = c;
	return r;
}

int dock_enrol_check(struct cust_ledger *l, const char *agency_id,
		     const struct proto_identity *id, char *why, size_t whylen)
{
	struct dock_camera c;
	char hex[DOCK_ENROL_HEX_LEN + 1];
	int r;

	r = dock_enrol_get(l, id->serial, &c);
	if (r == -ENOENT) {
		enrol_say(why, whylen, "unknown serial");
		return -PROTO_E_UNENROLLED;
	}
	if (r < 0) {
		enrol_say(why, whylen, "enrolment lookup failed");
		return -EIO;
	}
	if (!agency_id || strcmp(c.agency, agency_id) != 0) {
		enrol_say(why, whylen, "other agency");
		return -PROTO_E_UNENROLLED;
	}
	if (c.status != DOCK_CAM_ENROLLED) {
		enrol_say(why, whylen, "revoked");
		return -PROTO_E_UNENROLLED;
	}
	if (edsig_hex(id->pubkey, PROTO_PUBKEY_LEN, hex, sizeof(hex)) < 0 ||
	    strcmp(hex, c.pubkey) != 0) {
		enrol_say(why, whylen, "key mismatch");
		return -PROTO_E_UNENROLLED;
	}
	/* Deny by default: a row that no device_enrolled event backs was
	 * written around this module (custody/facts.h). */
	r = facts_camera_backed(l, c.serial, c.pubkey, c.officer, c.model, c.agency,
				c.changed_seq);
	if (r == -EPERM) {
		enrol_say(why, whylen, "enrolment row has no device_enrolled event");
		return -PROTO_E_UNENROLLED;
	}
	if (r < 0) {
		enrol_say(why, whylen, "enrolment lookup failed");
		return -EIO;
	}
	return 0;
}

int dock_enrol_list(struct cust_ledger *l, dock_camera_cb cb, void *arg)
{
	struct dock_camera c;
	sqlite3_stmt *s = NULL;
	int r, rc;

	r = enrol_prepare(l, "SELECT " COLS " FROM dock_cameras ORDER BY serial", &s);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = row_camera(s, &c)) < 0 || (r = cb(arg, &c)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_finalize(s);
	return r;
}

/* ---- changes ------------------------------------------------------------ */

static int check_req(const struct dock_enrol_req *rq, char *why, size_t whylen)
{
	static const uint8_t zero[PROTO_PUBKEY_LEN];
	const char *bad = NULL;

	if (!rq->agency_id || !proto_id_valid(rq->agency_id) || strlen(rq->agency_id) > CUST_AGENCY_MAX)
		bad = "agency id";
	else if (!rq->serial || !proto_id_valid(rq->serial))
		bad = "serial (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (!rq->officer || !proto_id_valid(rq->officer))
		bad = "officer (1-64 characters of A-Z a-z 0-9 . _ : -)";
	else if (rq->model && !enrol_text_ok(rq->model, PROTO_TEXT_MAX))
		bad = "model (at most 128 printable characters)";
	else if (rq->reason && !enrol_text_ok(rq->reason, CUST_REASON_MAX))
		bad = "reason (at most 512 printable characters)";
	else if (!rq->actor_id || !*rq->actor_id)
		bad = "actor";
	else if (!memcmp(rq->pubkey, zero, sizeof(zero)))
		bad = "public key (all zero)";
	if (bad) {
		enrol_say(why, whylen, "invalid %s", bad);
		return -EINVAL;
	}
	return 0;
}

/* The actions are looked up by their stable names (docs/custody-ledger.md)
 * so this module builds against any custody revision; a custody library
 * that does not know them makes every change fail (-ENOSYS), never
 * silently record something else. */
static int upsert(struct cust_ledger *l, const struct dock_camera *c)
{
	static const char sql[] = "INSERT OR REPLACE INTO dock_cameras(" COLS
				  ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->pubkey, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->officer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, c->model, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, c->agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, dock_cam_status_name(c->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)c->changed_seq);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Serial of another enrolled camera holding this key, "" if none. */
static int key_owner(struct cust_ledger *l, const char *hex, const char *serial, char *owner,
		     size_t cap)
{
	static const char sql[] = "SELECT serial FROM dock_cameras WHERE pubkey = ?1 AND "
				  "serial != ?2 AND status = 'enrolled' LIMIT 1";
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	owner[0] = '\0';
	if (sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(owner, cap, "%s", (const char *)sqlite3_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_finalize(s);
	return r;
}

/* Decide whether rq may proceed given the existing row (if any); sets
 * *revoke_first when an enrolled camera is being replaced. */
static int may_enrol(struct cust_ledger *l, const struct dock_enrol_req *rq, const char *hex,
		     bool *revoke_first, char *why, size_t whylen)
{
	struct dock_camera old;
	char owner[PROTO_ID_MAX + 1];
	int r = dock_enrol_get(l, rq->serial, &old);

	*revoke_first = false;
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && strcmp(old.agency, rq->agency_id) != 0) {
		enrol_say(why, whylen, "serial %s is enrolled by another agency", rq->serial);
		return -EPERM;
	}
	if (r == 0 && !rq->replace) {
		if (old.status == DOCK_CAM_ENROLLED)
			enrol_say(why, whylen, "serial %s is already enrolled (use --replace to change it)",
			    rq->serial);
		else
			enrol_say(why, whylen, "serial %s was revoked (use --replace to enroll it again)",
			    rq->serial);
		return -EEXIST;
	}
	*revoke_first = r == 0 && old.status == DOCK_CAM_ENROLLED;
	r = key_owner(l, hex, rq->serial, owner, sizeof(owner));
	if (r < 0)
		return r;
	if (owner[0]) {
		enrol_say(why, whylen, "this public key is already enrolled for serial %s", owner);
		return -EEXIST;
	}
	return 0;
}

/* device_revoked details of the row being replaced. */
static json_t *revoked_details(struct cust_ledger *l, const char *serial, const char *agency)
{
	struct dock_camera old;

	if (dock_enrol_get(l, serial, &old) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "serial", serial, "pubkey", old.pubkey, "agency",
			 agency);
}

static int enrol_tx(struct cust_ledger *l, const struct dock_enrol_req *rq, const char *hex,
		    uint64_t *seq_out, char *why, size_t whylen)
{
	struct cust_event ev[2];
	struct dock_camera c;
	bool revoke_first;
	size_t n = 0;
	char reason[CUST_REASON_MAX + 1];
	int r;

	if ((r = dock_enrol_schema(l)) < 0 || (r = may_enrol(l, rq, hex, &revoke_first, why, whylen)) < 0)
		return r;
	if (revoke_first) {
		snprintf(reason, sizeof(reason), "replaced%s%s", rq->reason ? ": " : "",
			 rq->reason ? rq->reason : "");
		r = enrol_make_event(&ev[n++], rq->agency_id, rq->actor_id, "device_revoked", reason,
			       revoked_details(l, rq->serial, rq->agency_id));
		if (r < 0)
			return r;
	}
	r = enrol_make_event(&ev[n++], rq->agency_id, rq->actor_id, "device_enrolled", rq->reason,
		       json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", rq->serial, "pubkey", hex,
				 "officer", rq->officer, "model", rq->model ? rq->model : "",
				 "agency", rq->agency_id));
	if (r == 0)
		r = cust_ledger_append_batch(l, ev, n);
	if (r < 0)
		return r;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", rq->serial);
	snprintf(c.pubkey, sizeof(c.pubkey), "%s", hex);
	snprintf(c.officer, sizeof(c.officer), "%s", rq->officer);
	snprintf(c.model, sizeof(c.model), "%s", rq->model ? rq->model : "");
	snprintf(c.agency, sizeof(c.agency), "%s", rq->agency_id);
	c.status = DOCK_CAM_ENROLLED;
	c.changed_seq = ev[n - 1].seq;
	r = upsert(l, &c);
	if (r == 0 && seq_out)
		*seq_out = c.changed_seq;
	return r;
}

/* A sentence for a failure that is not a refusal explained already. */
static void explain(struct cust_ledger *l, int r, char *why, size_t whylen)
{
	if (r == -ENOSYS)
		enrol_say(why, whylen, "this custody library does not know the device_enrolled / "
				 "device_revoked actions");
	else if (r == -EINVAL)
		enrol_say(why, whylen, "invalid text (model and reason must be printable UTF-8)");
	else
		enrol_say(why, whylen, "ledger %s: %s (%s)", cust_ledger_path(l), strerror(-r),
		    cust_ledger_errmsg(l));
}

/* End the transaction a body ran in: commit after success, else roll back
 * (the row change and its events go together or not at all). */
int dock_enrol_add(struct cust_ledger *l, const struct dock_enrol_req *rq, uint64_t *seq_out,
		   char *why, size_t whylen)
{
	char hex[DOCK_ENROL_HEX_LEN + 1];
	uint64_t seq = 0;
	int r;

	if ((r = check_req(rq, why, whylen)) < 0)
		return r;
	edsig_hex(rq->pubkey, PROTO_PUBKEY_LEN, hex, sizeof(hex));
	if ((r = cust_ledger_begin(l)) < 0) {
		enrol_say(why, whylen, "cannot start a ledger transaction: %s", cust_ledger_errmsg(l));
		return r;
	}
	r = enrol_end_tx(l, enrol_tx(l, rq, hex, &seq, why, whylen));
	if (r == 0 && seq_out)
		*seq_out = seq;
	if (r < 0 && r != -EEXIST && r != -EPERM)
		explain(l, r, why, whylen);
	return r;
}

static int revoke_tx(struct cust_ledger *l, const char *agency_id, const char *serial,
		     const char *reason, const char *actor_id, uint64_t *seq, char *why,
		     size_t whylen)
{
	struct dock_camera c;
	struct cust_event ev;
	int r = dock_enrol_get(l, serial, &c);

	if (r == -ENOENT) {
		enrol_say(why, whylen, "serial %s is not enrolled", serial);
		return r;
	}
	if (r < 0)
		return r;
	if (strcmp(c.agency, agency_id) != 0) {
		enrol_say(why, whylen, "serial %s is enrolled by another agency", serial);
		return -EPERM;
	}
	if (c.status == DOCK_CAM_REVOKED) {
		enrol_say(why, whylen, "serial %s is already revoked", serial);
		return -EALREADY;
	}
	r = enrol_make_event(&ev, agency_id, actor_id, "device_revoked", reason,
		       json_pack("{s:s, s:s, s:s}", "serial", serial, "pubkey", c.pubkey,
				 "agency", agency_id));
	if (r == 0)
		r = cust_ledger_append(l, &ev);
	if (r < 0)
		return r;
	c.status = DOCK_CAM_REVOKED;
	c.changed_seq = ev.seq;
	*seq = ev.seq;
	return upsert(l, &c);
}

int dock_enrol_revoke(struct cust_ledger *l, const char *agency_id, const char *serial,
		      const char *reason, const char *actor_id, uint64_t *seq_out, char *why,
		      size_t whylen)
{
	uint64_t seq = 0;
	int r;

	if ((r = enrol_revoke_args(agency_id, serial, reason, actor_id, why, whylen)) < 0)
		return r;
	if ((r = dock_enrol_schema(l)) < 0 || (r = cust_ledger_begin(l)) < 0) {
		enrol_say(why, whylen, "ledger: %s", cust_ledger_errmsg(l));
		return r;
	}
	r = enrol_end_tx(l, revoke_tx(l, agency_id, serial, reason, actor_id, &seq, why, whylen));
	if (r == 0 && seq_out)
		*seq_out = seq;
	if (r < 0 && r != -ENOENT && r != -EALREADY && r != -EPERM)
		explain(l, r, why, whylen);
	return r;
}
