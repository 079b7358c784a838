/* custodian.c - the receipt gate and worker-breach records (see custodian.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custodian.h"
#include "dockdb.h"
#include "edsig.h"
#include "evstate.h"
#include "ledger.h"
#include "ledgerw.h"
#include "log.h"
#include "session.h"

struct replay {
	struct cust_evstate st;
	int err;
};

/* integrity_failed {stage: "manifest"}: a camera's manifest claim that
 * disagrees with a recording the dock already holds (docs/custody-ledger.md,
 * "Camera-link events"). It says nothing about the stored copy, whose
 * ingested hash the gate still checks, so for the gate it leaves the
 * status as it was (the ledger's record shows it quarantined). */
static bool manifest_claim(const struct cust_event *ev)
{
	json_t *o, *stage;
	bool yes;

	if (ev->action != CUST_A_INTEGRITY_FAILED)
		return false;
	o = json_loads(ev->details, 0, NULL);
	stage = o ? json_object_get(o, "stage") : NULL;
	yes = json_is_string(stage) && !strcmp(json_string_value(stage), "manifest");
	json_decref(o);
	return yes;
}

static int replay_cb(void *arg, const struct cust_event *ev)
{
	struct replay *rp = arg;
	char before[sizeof(rp->st.status)];
	bool keep = manifest_claim(ev);
	int r;

	memcpy(before, rp->st.status, sizeof(before));
	r = cust_evstate_apply(&rp->st, ev, NULL);
	if (r < 0) {
		rp->err = r;
		return 1;
	}
	if (keep)
		memcpy(rp->st.status, before, sizeof(before));
	return 0;
}

static int ledger_state(struct dockd *d, const char *eid, struct cust_evstate *out)
{
	static struct replay rp; /* under the ledger lock: big, not on the stack */
	int r;

	ledgerw_lock(d->w);
	memset(&rp, 0, sizeof(rp));
	r = cust_ledger_foreach(ledgerw_ledger(d->w), eid, 0, 0, replay_cb, &rp);
	if (r == 1)
		r = rp.err;
	if (r == 0)
		*out = rp.st;
	ledgerw_unlock(d->w);
	return r;
}

static bool status_releasable(const char *status, bool local)
{
	if (!strcmp(status, "verified"))
		return true;
	return local && (!strcmp(status, "stored") || !strcmp(status, "uploading") ||
			 !strcmp(status, "uploaded"));
}

static void record_refused(struct dockd *d, const char *serial, const char *rid,
			   const char *hex, const char *why)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "serial", serial, "recording_id", rid,
			      "sha256", hex, "why", why);
	int r = o ? 0 : -ENOMEM;

	if (r == 0)
		r = ledgerw_event(d->w, &ev, CUST_A_RECEIPT_REFUSED, NULL, CUST_OUTCOME_DENIED);
	if (r == 0)
		r = cust_event_set_details(&ev, o);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(o);
	if (r < 0)
		log_error("ledger: receipt_refused not recorded: %s", strerror(-r));
	dockd_alert(d, "receipt-refused", serial, "release receipt for %s refused: %s", rid, why);
}

int custodian_sign_receipt(struct dockd *d, const struct dock_snap *snap, const char *serial,
			   struct proto_receipt *rc)
{
	static struct cust_evstate st; /* one signer at a time: guarded below */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	char eid[DOCKDB_EVIDENCE_MAX + 1], hex[65], why[128] = "";
	bool local = snap->cfg.release_policy == DOCK_RELEASE_LOCAL;
	struct proto_receipt tmp;
	int r;

	if (!serial || !rc || !proto_id_valid(serial) || !proto_id_valid(rc->recording_id))
		return -EINVAL;
	dockdb_evidence_id(serial, rc->recording_id, eid, sizeof(eid));
	edsig_hex(rc->sha256, sizeof(rc->sha256), hex, sizeof(hex));
	pthread_mutex_lock(&mu);
	r = ledger_state(d, eid, &st);
	if (r < 0) {
		pthread_mutex_unlock(&mu);
		log_error("%s: ledger unreadable for the receipt gate: %s", eid, strerror(-r));
		return r;
	}
	if (st.first_seq == 0)
		snprintf(why, sizeof(why), "no such item in the ledger");
	else if (!status_releasable(st.status, local))
		snprintf(why, sizeof(why), "ledger status is '%s', policy needs %s", st.status,
			 local ? "stored or verified" : "verified");
	else if (strcmp(st.sha256, hex) != 0)
		snprintf(why, sizeof(why), "sha256 differs from the ingested one");
	pthread_mutex_unlock(&mu);
	if (why[0]) {
		record_refused(d, serial, rc->recording_id, hex, why);
		return -EPERM;
	}
	tmp = *rc;
	memcpy(tmp.dock_id, d->cert.dock_id, sizeof(tmp.dock_id));
	if (tmp.issued_utc == 0)
		tmp.issued_utc = (int64_t)time(NULL);
	r = session_receipt_sign(d->dock_key, &tmp);
	if (r < 0)
		return r;
	*rc = tmp;
	return 0;
}

void custodian_worker_killed(struct dockd *d, const char *serial, const char *why, int sig)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:i}", "serial", serial ? serial : "", "why", why,
			      "signal", sig);
	int r = o ? 0 : -ENOMEM;

	if (r == 0)
		r = ledgerw_event(d->w, &ev, CUST_A_LINK_WORKER_KILLED, NULL, CUST_OUTCOME_DENIED);
	if (r == 0)
		r = cust_event_set_details(&ev, o);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(o);
	if (r < 0)
		log_error("ledger: link_worker_killed not recorded: %s", strerror(-r));
	dockd_alert(d, "link-worker", serial && serial[0] ? serial : NULL,
		    "camera-link worker stopped: %s (signal %d); the camera keeps its recordings",
		    why, sig);
}
