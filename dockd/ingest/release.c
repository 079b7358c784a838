/* release.c - release recordings to the camera (see release.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dockdb.h"
#include "edsig.h"
#include "ledgerw.h"
#include "log.h"
#include "release.h"

unsigned release_mask(const struct dock_config *c)
{
	unsigned m = DREC_BIT(DREC_STORAGE_VERIFIED);

	if (c->release_policy == DOCK_RELEASE_LOCAL)
		m |= DREC_BIT(DREC_STORED_LOCAL);
	return m;
}

/* The camera's answer to a signed receipt that deleted nothing, as an
 * event about the item with the receipt sent (details `receipt`, as in
 * camera_released), the item's state unchanged (sent again at the next
 * docking): RELEASE_REPLY deleted=0 is release_kept (the camera's
 * retention policy; not a refusal), an ERROR is release_refused (an
 * auditor sees every receipt the dock handed out, honoured or not). */
static void record_answer(struct dockd *d, const struct dock_rec *rec,
			  const struct proto_receipt *rc, int answer)
{
	enum cust_action a = answer == -EEXIST ? CUST_A_RELEASE_KEPT : CUST_A_RELEASE_REFUSED;
	char sha[65], sig[129], why[128];
	struct cust_event ev;
	json_t *det;
	int r;

	if (a == CUST_A_RELEASE_KEPT)
		snprintf(why, sizeof(why), "camera kept the recording (RELEASE_REPLY deleted=0): receipt valid");
	else
		snprintf(why, sizeof(why), "camera refused the receipt: %s", proto_strerror(answer));
	edsig_hex(rc->sha256, 32, sha, sizeof(sha));
	edsig_hex(rc->sig, 64, sig, sizeof(sig));
	det = json_pack("{s:{s:s,s:s,s:s,s:s,s:I,s:s}}", "receipt", "recording_id",
			rc->recording_id, "sha256", sha, "location", rc->location, "dock_id",
			rc->dock_id, "issued_utc", (json_int_t)rc->issued_utc, "sig", sig);
	r = det ? ledgerw_event(d->w, &ev, a, rec->evidence_id,
				a == CUST_A_RELEASE_KEPT ? CUST_OUTCOME_OK : CUST_OUTCOME_DENIED)
		: -ENOMEM;
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = cust_event_set_details(&ev, det);
	json_decref(det);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	if (r < 0)
		log_error("%s: %s not recorded: %s", rec->evidence_id, cust_action_name(a),
			  strerror(-r));
	else
		log_info("%s: %s", rec->evidence_id, why);
}

static int release_one(struct dockd *d, struct link *s, struct dock_rec *rec)
{
	struct proto_receipt rc;
	int r;

	memset(&rc, 0, sizeof(rc));
	snprintf(rc.recording_id, sizeof(rc.recording_id), "%s", rec->recording_id);
	memcpy(rc.sha256, rec->sha256, sizeof(rc.sha256));
	snprintf(rc.location, sizeof(rc.location), "%s", rec->location);
	r = link_release(s, &rc);
	if (r == -EEXIST || r == -PROTO_E_BAD_RECEIPT || r == -PROTO_E_NOT_FOUND ||
	    r == -PROTO_E_INTERNAL) {
		record_answer(d, rec, &rc, r);
		return r;
	}
	if (r < 0)
		return r;
	r = dockdb_released(d->w, rec, &rc);
	if (r < 0)
		log_error("%s: camera deleted it but camera_released was not recorded: %s"
			  " (resolved at its next docking)", rec->evidence_id, strerror(-r));
	else
		log_info("%s: released by the camera", rec->evidence_id);
	return 0;
}

int release_camera(struct dockd *d, const struct dock_snap *snap, struct link *s,
		   const char *serial, int64_t listed_since_ns, unsigned *n_released)
{
	char after[PROTO_ID_MAX + 1] = "";
	unsigned n = 0;
	struct dock_rec rec;
	int r;

	while (!atomic_load(&d->stop) &&
	       dockdb_next(d->w, serial, release_mask(&snap->cfg), after, INT64_MIN, NULL,
			   &rec) == 0) {
		snprintf(after, sizeof(after), "%s", rec.recording_id);
		if (rec.listed_ns == -listed_since_ns) {
			/* listed now with another size/hash (dockdb_list_batch):
			 * the camera holds it, so it is not absent; its entry does
			 * not match what was stored, so no receipt either */
			log_warning("%s: the camera lists it with another size/hash: not released",
				    rec.evidence_id);
			continue;
		}
		if (rec.listed_ns < listed_since_ns) {
			if (dockdb_released(d->w, &rec, NULL) == 0) {
				log_info("%s: absent from the camera: release confirmed", rec.evidence_id);
				n++;
			}
			continue;
		}
		r = release_one(d, s, &rec);
		if (r == 0) {
			n++;
			continue;
		}
		if (r == -EEXIST)
			continue; /* kept by the camera: recorded, not refused */
		if (r == -PROTO_E_BAD_RECEIPT || r == -PROTO_E_NOT_FOUND || r == -PROTO_E_INTERNAL) {
			dockd_alert(d, "release", rec.evidence_id, "camera refused the receipt: %s",
				    proto_strerror(r));
			continue;
		}
		*n_released = n;
		return r;
	}
	*n_released = n;
	return 0;
}
