/*
 * proof.h - portable inclusion proofs of one item's events.
 *
 * A proof file is one JSON object (docs/custody-ledger.md):
 *   {"format": "evidence-dock custody proof 1", "evidence_id": ID,
 *    "checkpoint": "<signed note text>", "tree_size": N,
 *    "events": [{"seq": S, "canonical": HEX, "proof": [HEX, ...]}, ...],
 *    "events_total": K,           the item's events the checkpoint covers
 *    "events_claim": "<note>",    signed completeness claim (see proof.c)
 *    "not_covered": [S, ...]}      events newer than the checkpoint
 * Leaf index = seq - 1. check needs only the trusted verifier keys.
 */
#ifndef CUSTODY_PROOF_H
#define CUSTODY_PROOF_H

#include <jansson.h>

#include "checkpoint.h"
#include "ledger.h"

#define CUST_PROOF_FORMAT "evidence-dock custody proof 2"
#define CUST_PROOF_MAX_EVENTS 100000

/* Build the proof of evidence_id's events against the newest checkpoint
 * in the ledger. -ENOENT unknown item, -EACCES other agency (agency NULL:
 * any), -ENODATA no checkpoint yet, -EUCLEAN the ledger's leaves do not
 * reproduce the checkpoint's root (tampered: run verify). With a signer
 * s for the checkpoint's log (may be NULL), the file carries
 * events_claim, the log key's signed statement that the listed events are
 * all of the item's up to the checkpoint (without it check-proof cannot
 * call the file complete). */
struct cust_signer;
int cust_proof_build(struct cust_ledger *l, const char *agency,
		     const char *evidence_id, const struct cust_signer *s, json_t **out);

/* Check a proof (untrusted JSON). Prints one line per event to out (may
 * be NULL). Returns 0 if the checkpoint is validly signed by one of keys,
 * its origin is that key's name, the events are in strictly increasing
 * seq order and as many as events_total, not_covered lies beyond the tree
 * and every event is included; -EINVAL when the JSON is not a proof
 * (missing or mistyped members, bad hex, over a cap, a tree_size that
 * differs from the signed one); MERKLE_E_VERIFY (-EBADMSG) when an event
 * is not included, is not the item's at that seq, or the file proves no
 * event at all, the origin is another log's, events are out of order or
 * repeated, or not events_total of them; a checkpoint_parse_verify()
 * code (-EBADMSG, -ENOKEY,
 * -EKEYREJECTED, -E2BIG: the checkpoint is not validly signed by a
 * trusted key); -EIO on a digest failure. Every event is checked and
 * reported even after a failure. *checked = events proven. */
int cust_proof_check(const json_t *proof, const struct ckpt_vkey *keys,
		     size_t n_keys, FILE *out, size_t *checked);

#endif /* CUSTODY_PROOF_H */
