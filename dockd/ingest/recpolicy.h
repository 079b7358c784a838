/* recpolicy.h - the agency-signed recipient policy (issue #10): whoever
 * edits the dock's config must not be able to add a reader.
 *
 * [encryption] recipient_policy names an agency-signed note of type
 * evidence-dock/recipients/v1 (custody/agencynote.h, docs/trust.md);
 * [encryption] agency_vkey names the agency's vkey, used ONLY for the
 * dock's own refusal (an auditor brings their own copy). The key ids of
 * the [encryption] recipients files (SHA-256 of each key's
 * SubjectPublicKeyInfo DER, `custody agency-keyid`) must be exactly the
 * policy's recipient lines: a file not in the policy, or a policy key with
 * no file, refuses the configuration (start: dockd exits; SIGHUP: the
 * running configuration stays).
 *
 * Each policy that differs from the newest recipient_policy event in the
 * ledger is recorded (at start, and on a SIGHUP that changed it):
 *
 *   54 recipient_policy  details {note: the whole signed note, version: N,
 *                                 key_ids: [hex, ...] (the note's order),
 *                                 file: PATH}
 *
 * and every ingested event lists the key ids of its file's recipient
 * stanzas ("recipients"), which `custody verify` compares with the policy
 * in force (class recipients, docs/custody-ledger.md).
 *
 * Deny by default: once the ledger holds a recipient_policy event, a
 * configuration without recipient_policy is refused too.
 *
 * Results: 0 or -errno with a one-line "FILE: cause; fix" in err.
 */
#ifndef DOCKD_RECPOLICY_H
#define DOCKD_RECPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "agencynote.h"
#include "config.h"
#include "ledgerw.h"

struct recpolicy {
	bool active;			/* recipient_policy configured */
	char note[AGN_MAX_NOTE + 1];	/* the signed note as read */
	size_t note_len;
	uint64_t version;
	size_t n;
	char key_ids[AGN_MAX_ENTRIES][65];
};

/* Check the configured recipients (keys[i] loaded from c->recipients[i])
 * against the configured policy. No policy configured: out->active =
 * false, 0. */
int recpolicy_load(const struct dock_config *c, EVP_PKEY *const *keys, size_t n_keys,
		   struct recpolicy *out, char *err, size_t errlen);

/* Record p unless it equals the newest recipient_policy event; with no
 * policy (p->active false) refuse (-EPERM) when the ledger has one.
 * *recorded (may be NULL) = 1 when an event was appended. */
int recpolicy_record(struct ledgerw *w, const struct recpolicy *p, const char *path,
		     int *recorded, char *err, size_t errlen);

#endif
