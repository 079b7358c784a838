/* custodian.c - dockd's side of the receipt gate and the worker-breach
 * records (see custodian.h); the gate itself runs in the custodian
 * process (custgate.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custc.h"
#include "custodian.h"
#include "dockdb.h"
#include "edsig.h"
#include "ledger.h"
#include "ledgerw.h"
#include "log.h"
#include "procdied.h"
#include "session.h"

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
	char hex[65], why[CUST_REASON_MAX] = "";
	struct proto_receipt tmp;
	int r;

	(void)snap; /* the release policy is the custodian's own reading of the file */
	if (!serial || !rc || !proto_id_valid(serial) || !proto_id_valid(rc->recording_id))
		return -EINVAL;
	tmp = *rc;
	r = custc_receipt(d->cust, serial, &tmp, why, sizeof(why));
	if (r == -EPERM) {
		edsig_hex(rc->sha256, sizeof(rc->sha256), hex, sizeof(hex));
		record_refused(d, serial, rc->recording_id, hex, why[0] ? why : "refused");
		return r;
	}
	if (r < 0) {
		log_error("%s/%s: no release receipt: the custodian did not answer (%s); the "
			  "camera keeps the recording", serial, rc->recording_id, strerror(-r));
		return r;
	}
	*rc = tmp;
	return 0;
}

void custodian_worker_killed(struct dockd *d, const char *serial, const char *why, int sig)
{
	(void)procdied_record(d, serial, NULL, why, sig);
	dockd_alert(d, "link-worker", serial && serial[0] ? serial : NULL,
		    "camera-link worker stopped: %s (signal %d); the camera keeps its recordings",
		    why, sig);
}
