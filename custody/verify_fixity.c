/* verify_fixity.c - `custody verify` replays the fixity audit events
 * (docs/custody-ledger.md "Fixity audits"): a fixity_checked must compare
 * against the ciphertext SHA-256 the item's storage_verified recorded and
 * its outcome must match its own hashes; a repaired must restore exactly
 * that hash, after a failed check of the same copy. Findings: class
 * "fixity". A ledger that claims an audit or a repair the dock could not
 * have made this way is reported, whatever the evidence record says. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "verify_int.h"

/* details "ct_sha256" of a storage_verified, without a full JSON parse
 * (one per item on every verify run): canonical details write it as
 * "ct_sha256":"<64 hex>". */
static void take_ct(struct item *it, const struct cust_event *ev)
{
	const char *p = strstr(ev->details, "\"ct_sha256\":\"");

	if (!p || ev->outcome != CUST_OUTCOME_OK)
		return;
	p += 13;
	if (strlen(p) > 64 && p[64] == '"') {
		memcpy(it->ct_sha, p, 64);
		it->ct_sha[64] = '\0';
	}
}

static const char *str(json_t *d, const char *k)
{
	const char *s = json_string_value(json_object_get(d, k));

	return s ? s : "";
}

void verify_fixity_event(struct vctx *v, struct item *it, const struct cust_event *ev)
{
	const char *copy, *want, *got;
	unsigned bit;
	json_t *d = NULL;

	if (!it)
		return;
	if (ev->action == CUST_A_STORAGE_VERIFIED) {
		take_ct(it, ev);
		return;
	}
	if (cust_event_details(ev, &d)) {
		verify_find(v, "fixity", ev->seq, "%s of %s: details are not a JSON object",
			    cust_action_name(ev->action), ev->evidence_id);
		return;
	}
	copy = str(d, "copy");
	bit = !strcmp(copy, "vault") ? 1 : !strcmp(copy, "storage") ? 2 : 0;
	if (!bit || !it->ct_sha[0]) {
		verify_find(v, "fixity", ev->seq, "%s of %s: %s", cust_action_name(ev->action),
			    ev->evidence_id, !bit ? "copy is neither vault nor storage" :
			    "the item has no storage_verified hash to compare with");
		goto out;
	}
	if (ev->action == CUST_A_FIXITY_CHECKED) {
		want = str(d, "expected_sha256");
		got = str(d, "actual_sha256");
		if (strcmp(want, it->ct_sha))
			verify_find(v, "fixity", ev->seq, "fixity_checked of %s compared with %s, "
				    "not the recorded %s", ev->evidence_id, want, it->ct_sha);
		else if (ev->outcome == CUST_OUTCOME_OK && strcmp(got, want))
			verify_find(v, "fixity", ev->seq, "fixity_checked of %s is ok but read %s",
				    ev->evidence_id, got);
		else if (ev->outcome == CUST_OUTCOME_FAILED && !strcmp(got, want) &&
			 json_integer_value(json_object_get(d, "actual_size")) ==
			 json_integer_value(json_object_get(d, "expected_size")))
			verify_find(v, "fixity", ev->seq, "fixity_checked of %s failed but read "
				    "the recorded hash and size", ev->evidence_id);
		if (ev->outcome == CUST_OUTCOME_FAILED)
			it->fix_failed |= (unsigned char)bit;
		else if (ev->outcome == CUST_OUTCOME_OK)
			it->fix_failed &= (unsigned char)~bit;
		goto out;
	}
	/* repaired */
	if (!(it->fix_failed & bit))
		verify_find(v, "fixity", ev->seq, "repaired the %s copy of %s without a failed "
			    "fixity_checked of it", copy, ev->evidence_id);
	if (strcmp(str(d, "sha256"), it->ct_sha) ||
	    (ev->outcome == CUST_OUTCOME_OK && strcmp(str(d, "actual_sha256"), it->ct_sha)))
		verify_find(v, "fixity", ev->seq, "repaired of %s restores %s, not the recorded %s",
			    ev->evidence_id, str(d, "actual_sha256"), it->ct_sha);
	if (ev->outcome == CUST_OUTCOME_OK)
		it->fix_failed &= (unsigned char)~bit;
out:
	json_decref(d);
}
