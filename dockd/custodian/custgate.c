/* custgate.c - the receipt gate, run in the custodian process on its own
 * read-only ledger handle (see custp_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custp_int.h"
#include "dockdb.h"
#include "edsig.h"
#include "evstate.h"

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

static bool status_releasable(const char *status, bool local)
{
	if (!strcmp(status, "verified"))
		return true;
	return local && (!strcmp(status, "stored") || !strcmp(status, "uploading") ||
			 !strcmp(status, "uploaded"));
}

int custgate_check(struct cust_ledger *l, const char *serial, const char *rid,
		   const uint8_t sha256[32], bool local, char *why, size_t whylen)
{
	char eid[DOCKDB_EVIDENCE_MAX + 1], hex[65];
	struct replay *rp = calloc(1, sizeof(*rp)); /* big: not on the stack */
	int r;

	if (!rp)
		return -ENOMEM;
	dockdb_evidence_id(serial, rid, eid, sizeof(eid));
	edsig_hex(sha256, 32, hex, sizeof(hex));
	r = cust_ledger_foreach(l, eid, 0, 0, replay_cb, rp);
	if (r == 1)
		r = rp->err;
	if (r < 0) {
		free(rp);
		return r;
	}
	r = -EPERM;
	if (rp->st.first_seq == 0)
		snprintf(why, whylen, "no such item in the ledger");
	else if (!status_releasable(rp->st.status, local))
		snprintf(why, whylen, "ledger status is '%s', policy needs %s", rp->st.status,
			 local ? "stored or verified" : "verified");
	else if (strcmp(rp->st.sha256, hex) != 0)
		snprintf(why, whylen, "sha256 differs from the ingested one");
	else
		r = 0;
	free(rp);
	return r;
}
