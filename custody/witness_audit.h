/*
 * witness_audit.h - an auditor's own consistency check of a custody log
 * (`custody audit --state DIR`) and the consistency proof file
 * (`custody consistency-proof OLD NEW`).  docs/witness.md, "Auditors".
 *
 * The auditor keeps, in a directory it owns (never on the dock), the
 * last checkpoint it accepted for each log:
 *   DIR/<64 lowercase hex of SHA-256(origin)>.checkpoint
 * (the signed note as received, cosignatures included).  A newer
 * checkpoint is accepted only with an RFC 6962 consistency proof from
 * the stored size; an older size (rollback) or a different root for an
 * equal size or a failing proof (fork / rewritten history) is a finding
 * and the state is left as it was.
 *
 * Consistency proof file: exactly the body of a C2SP tlog-witness
 * add-checkpoint request:
 *   old <OLD>\n
 *   <base64 hash>\n ...        RFC 6962 consistency proof OLD -> NEW
 *   \n
 *   <signed checkpoint note of size NEW, with any cosignature lines>
 * so one file can be checked offline or POSTed to a witness.
 */
#ifndef CUSTODY_WITNESS_AUDIT_H
#define CUSTODY_WITNESS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "ledger.h"

/* Outcomes of wa_check (besides negative errno for errors). */
enum wa_result {
	WA_FIRST = 0,		/* no earlier state: recorded (trust on first use) */
	WA_SAME,		/* same size and root as last seen */
	WA_GREW,		/* consistent extension: state advanced */
	WA_ROLLBACK,		/* smaller size than last seen: finding */
	WA_FORK,		/* different root / proof fails: finding */
};

/* The proof file for OLD -> NEW from the ledger, NEW being the size of
 * a stored checkpoint (-ENOENT otherwise; its cosignatures included).
 * malloc'd text in *out. */
int wa_proof_text(struct cust_ledger *l, uint64_t old_size, uint64_t new_size,
		  char **out, size_t *len);

/*
 * Check the signed note note[0..len) against the auditor state in dir.
 * The note must verify with keys (else the checkpoint_parse_verify code).
 * The consistency proof comes from proof/n_proof with proof_old (when
 * have_proof) or, when not given or from another size, is computed from
 * the ledger l (may be NULL: then -ENODATA if a proof is needed).  On
 * WA_FIRST / WA_GREW the note replaces the state (atomic, durable).  A
 * one-line report goes to msg.  *old_size / *new_size (optional) are set.
 */
int wa_check(const char *dir, const struct ckpt_vkey *keys, size_t n_keys,
	     const char *note, size_t len, int have_proof, uint64_t proof_old,
	     const merkle_hash *proof, size_t n_proof, struct cust_ledger *l,
	     char *msg, size_t msglen);

#endif /* CUSTODY_WITNESS_AUDIT_H */
