/* enrol.h - which cameras this dock may take evidence from.
 *
 * A camera is identified by its serial and proves itself with the Ed25519
 * key it was enrolled with. The enrolment list is the ledger table
 * dock_cameras (in the custody ledger's SQLite file, see docs/dockd.md):
 *
 *     dock_cameras(serial TEXT PRIMARY KEY, pubkey TEXT (64 lower-case hex),
 *                  officer TEXT, model TEXT, agency TEXT,
 *                  status TEXT CHECK(status IN ('enrolled','revoked')),
 *                  changed_seq INTEGER)   -- seq of the event that set it
 *
 * Every change is ONE transaction that updates the row and appends the
 * justifying ledger event (device_enrolled / device_revoked, actor = the
 * person who ran the admin command), so the table never says something the
 * ledger does not. Details: device_enrolled {serial, pubkey, officer, model,
 * agency}, device_revoked {serial, pubkey, agency}.
 *
 * The table is a cache of those events: dock_enrol_check() refuses a row
 * whose changed_seq does not name a device_enrolled event saying exactly
 * what the row says (custody/facts.h), and `custody verify` (custody side,
 * same ledger file) replays the events and reports any difference (class
 * table-cameras, docs/custody-ledger.md).
 *
 * Deny by default: a camera is accepted only when its serial is enrolled
 * (not revoked) for this dock's agency with exactly the key it presents.
 * Re-enrolling a serial that has a row (enrolled or revoked) is refused
 * unless `replace` is set; a replacement of an enrolled camera is recorded
 * as a device_revoked + device_enrolled pair in one transaction. A public
 * key enrolled for another serial is refused. A serial enrolled by another
 * agency is never touched.
 *
 * Usage (the daemon, when a camera says HELLO):
 *     char why[64];
 *     if (dock_enrol_check(ledger, cfg.agency_id, &hello.id, why, sizeof(why)))
 *             reject(why);     // event device_rejected {reason: why}
 *
 * Usage (admin):
 *     struct dock_enrol_req rq = { .agency_id = "pd-a", .serial = "CAM1", ... };
 *     if (dock_enrol_add(ledger, &rq, &res, why, sizeof(why)) < 0) ...
 *
 * Results: 0 or negative errno; the one-line reason for a refusal is
 * written to why (may be NULL). Nothing here takes a lock of its own: the
 * caller serialises access to a shared ledger handle.
 */
#ifndef DOCKD_ENROL_H
#define DOCKD_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "wire.h"

#define DOCK_ENROL_HEX_LEN (2 * PROTO_PUBKEY_LEN) /* 64 */

enum dock_cam_status { DOCK_CAM_ENROLLED = 0, DOCK_CAM_REVOKED = 1 };

/* One row of dock_cameras. */
struct dock_camera {
	char serial[PROTO_ID_MAX + 1];
	char pubkey[DOCK_ENROL_HEX_LEN + 1]; /* lower-case hex */
	char officer[PROTO_ID_MAX + 1];
	char model[PROTO_TEXT_MAX + 1];
	char agency[CUST_AGENCY_MAX + 1];
	enum dock_cam_status status;
	uint64_t changed_seq;
};

/* Create dock_cameras if absent (idempotent; needs a writable ledger). */
int dock_enrol_schema(struct cust_ledger *l);

/* 0 when id->serial is enrolled (status enrolled) for agency_id with
 * exactly id->pubkey and the row is backed by its event; -PROTO_E_UNENROLLED
 * otherwise with why = "unknown serial" / "other agency" / "revoked" / "key
 * mismatch" / "enrolment row has no device_enrolled event"; -EIO (why =
 * "enrolment lookup failed") when the table cannot be read - also a
 * refusal. A ledger without the table knows no camera. */
int dock_enrol_check(struct cust_ledger *l, const char *agency_id,
		     const struct proto_identity *id, char *why, size_t whylen);

/* An enrolment request. Text fields are validated here: serial and
 * officer are proto ids, model 0..PROTO_TEXT_MAX printable characters
 * (NULL = ""), reason <= CUST_REASON_MAX (NULL = none), actor_id the
 * custody actor ("user:<name>(<uid>)"). */
struct dock_enrol_req {
	const char *agency_id;
	const char *serial;
	uint8_t pubkey[PROTO_PUBKEY_LEN];
	const char *officer;
	const char *model;
	const char *reason;
	const char *actor_id;
	bool replace; /* allow re-enrolling a serial that has a row */
};

/* Enroll (or with replace, re-enroll) a camera. On success *seq_out (may be
 * NULL) is the seq of the device_enrolled event. Errors: -EINVAL bad field,
 * -EEXIST serial already has a row and !replace, or the key is enrolled for
 * another serial, -EPERM serial belongs to another agency, ledger errors. */
int dock_enrol_add(struct cust_ledger *l, const struct dock_enrol_req *rq, uint64_t *seq_out,
		   char *why, size_t whylen);

/* Revoke an enrolled camera (event device_revoked {serial, pubkey, agency}, reason
 * required). -ENOENT unknown serial, -EALREADY already revoked, -EPERM
 * other agency, -EINVAL empty reason or bad field. */
int dock_enrol_revoke(struct cust_ledger *l, const char *agency_id, const char *serial,
		      const char *reason, const char *actor_id, uint64_t *seq_out, char *why,
		      size_t whylen);

/* One camera by serial: 0, -ENOENT (also when the table does not exist). */
int dock_enrol_get(struct cust_ledger *l, const char *serial, struct dock_camera *out);

/* Call cb for every row (ordered by serial); a non-zero return of cb stops
 * the walk and is returned. A ledger without the table has no rows. */
typedef int (*dock_camera_cb)(void *arg, const struct dock_camera *c);
int dock_enrol_list(struct cust_ledger *l, dock_camera_cb cb, void *arg);

/* "enrolled" / "revoked". */
const char *dock_cam_status_name(enum dock_cam_status s);

#endif
