/* enrol_msc.h - which USB mass-storage cameras this dock may read.
 *
 * A mass-storage body camera has no key: it is known by what USB says of
 * it - vendor id, product id and the device's serial string - and it is
 * enrolled with its officer and a camera profile (profile.h, a [profile
 * NAME] section of dockd.conf) that says where its recordings live. The
 * list is the table dock_storage_cameras in the custody ledger's SQLite
 * file, beside dock_cameras (enrol.h):
 *
 *     dock_storage_cameras(vid TEXT, pid TEXT (4 lower-case hex digits),
 *                          serial TEXT, officer TEXT, profile TEXT,
 *                          agency TEXT, status TEXT ('enrolled','revoked'),
 *                          changed_seq INTEGER, PRIMARY KEY(vid, pid, serial))
 *
 * As for protocol cameras, every change is ONE transaction: the row and
 * the ledger event that justifies it. The events are the existing
 * device_enrolled / device_revoked actions with "kind": "storage" in
 * their details (docs/custody-ledger.md, "Governing facts"):
 *     device_enrolled {kind, vid, pid, serial, officer, profile, model "", agency}
 *     device_revoked  {kind, vid, pid, serial, agency}
 * dock_msc_check() refuses a row whose changed_seq does not name a
 * device_enrolled event saying exactly what the row says (a row written
 * around this module grants nothing).
 *
 * USB ids and serial strings are claims any device can make: this list
 * decides which volumes the dock reads, never what their files prove
 * (docs/threat-model.md, "USB mass-storage cameras").
 *
 * Results: 0 or -errno; a one-line reason in why (may be NULL). The
 * caller serialises access to a shared ledger handle.
 */
#ifndef DOCKD_ENROL_MSC_H
#define DOCKD_ENROL_MSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrol.h"
#include "profile.h"

/* One row. cam holds serial, officer, agency, status and changed_seq as
 * for a protocol camera (pubkey and model empty), so session code written
 * for struct dock_camera can take &m->cam. */
struct dock_msc_camera {
	struct dock_camera cam;
	uint16_t vid, pid;
	char profile[PROFILE_NAME_MAX + 1];
};

/* "1209:0002:SERIAL" -> vid, pid, serial (4 hex digits each, serial a
 * proto id). -EINVAL. */
int dock_msc_parse_id(const char *s, uint16_t *vid, uint16_t *pid, char *serial, size_t cap);

struct dock_msc_req {
	const char *agency_id;
	uint16_t vid, pid;
	const char *serial;   /* proto id: 1-64 of [A-Za-z0-9._:-] */
	const char *officer;  /* proto id */
	const char *profile;  /* must name a profile of the configuration (checked by the caller) */
	const char *reason;   /* NULL = none */
	const char *actor_id;
	bool replace;         /* allow re-enrolling a device that has a row */
};

/* Enroll (with replace: re-enroll; an enrolled row is then revoked first,
 * in the same transaction). -EINVAL bad field, -EEXIST has a row and
 * !replace, -EPERM another agency's row, ledger errors. */
int dock_msc_add(struct cust_ledger *l, const struct dock_msc_req *rq, uint64_t *seq_out,
		 char *why, size_t whylen);

/* Revoke (reason required). -ENOENT, -EALREADY, -EPERM, -EINVAL. */
int dock_msc_revoke(struct cust_ledger *l, const char *agency_id, uint16_t vid, uint16_t pid,
		    const char *serial, const char *reason, const char *actor_id,
		    uint64_t *seq_out, char *why, size_t whylen);

/* 0 and *out when vid:pid:serial is enrolled (not revoked) for agency_id
 * and its row is backed by its event; -EACCES with why = "unknown device"
 * / "other agency" / "revoked" / "enrolment row has no device_enrolled
 * event" otherwise (out is still filled for a revoked row, for the
 * record); -EIO "enrolment lookup failed" (also a refusal). A ledger
 * without the table knows no storage camera. */
int dock_msc_check(struct cust_ledger *l, const char *agency_id, uint16_t vid, uint16_t pid,
		   const char *serial, struct dock_msc_camera *out, char *why, size_t whylen);

/* Every row ordered by vid, pid, serial; a non-zero cb return stops. */
typedef int (*dock_msc_cb)(void *arg, const struct dock_msc_camera *c);
int dock_msc_list(struct cust_ledger *l, dock_msc_cb cb, void *arg);

#endif
