/*
 * agencyrec.h - a dock's agency statements, checked at start and recorded
 * in its ledger (docs/trust.md).
 *
 * [ledger] custody_cert and witness_policy name agency-signed notes
 * (agencynote.h); agency_vkey names the agency's vkey, used here only for
 * the dock's own start-up check (an auditor brings their own copy).
 * Whoever appends with the checkpoint key (dockd, `custody checkpoint`,
 * `custody proof`, ...) calls cust_trust_apply() after loading the
 * signer and before its first checkpoint:
 *
 *   - the certificate must verify under agency_vkey, name this ledger's
 *     agency_id, checkpoint_origin and the public half of checkpoint_key
 *     (and the dock id and key when the caller knows them), and must not be valid
 *     only in the future; otherwise the caller must refuse to start;
 *   - the witness policy must verify under agency_vkey for this agency;
 *   - each note not yet in the ledger (an event of its action whose
 *     details "note" is byte-identical) is appended once:
 *       53 custody_certified  details {note, dock, origin, checkpoint_key,
 *                                      dock_key, not_before, not_after}
 *       55 witness_policy     details {note, version, quorum}
 *   - st->days_left reports how long the certificate is still valid, so
 *     the caller warns and raises an alert when it is < 30 (expired: < 0).
 *
 * Returns 0 (nothing configured is also 0, st->have_cert = 0) or a
 * negative errno with a one-line reason in err.
 */
#ifndef CUSTODY_AGENCYREC_H
#define CUSTODY_AGENCYREC_H

#include <stddef.h>
#include <stdint.h>

#include "agencynote.h"
#include "config.h"
#include "event.h"
#include "ledger.h"
#include "publish.h"

#define CUST_CERT_WARN_DAYS 30

struct cust_trust_status {
	int have_cert, have_witnesses;
	struct agn_cert cert;
	uint64_t witness_version;
	unsigned quorum;
	int64_t days_left;		/* whole days until not-after (< 0: expired) */
	int recorded_cert, recorded_witnesses;	/* appended by this call */
};

/* Check and record (see above). signer: the loaded checkpoint signer
 * (NULL: the key is not compared); dock_id, dock_key (the dock's Ed25519
 * public key): NULL when unknown. Nothing is recorded unless every
 * check passed. */
int cust_trust_apply(struct cust_ledger *l, const struct cust_config *cfg,
		     const struct cust_signer *signer, const char *dock_id,
		     const uint8_t *dock_key, enum cust_actor_kind kind, const char *actor, int64_t now,
		     struct cust_trust_status *st, char *err, size_t errlen);

/* Only read and verify the configured certificate (no ledger, no
 * checks against the signer): for `custody status`. 0, -ENOENT when
 * custody_cert is not set, other -errno with err. */
int cust_trust_cert_status(const struct cust_config *cfg, int64_t now,
			   struct cust_trust_status *st, char *err, size_t errlen);

#endif /* CUSTODY_AGENCYREC_H */
