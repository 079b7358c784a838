/*
 * witness_audit.c - an auditor's last-seen checkpoint and consistency
 * checks; the consistency proof file (see witness_audit.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "ledger_cosig.h"
#include "merkle.h"
#include "witness.h"
#include "witness_audit.h"

#define ULL(x) ((unsigned long long)(x))

int wa_proof_text(struct cust_ledger *l, uint64_t old_size, uint64_t new_size,
		  char **out, size_t *len)
{
	struct merkle_source src = { .ctx = l,
				     .leaf_hashes = cust_ledger_leaf_hashes };
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t n = 0, o, nlen = 0;
	char *note = NULL, *s;
	int r, k;

	if (!l || !out || !len || old_size > new_size)
		return -EINVAL;
	if ((r = cust_cosig_note(l, new_size, &note, &nlen)))
		return r;
	if ((r = merkle_consistency_proof(&src, old_size, new_size, proof, &n))) {
		free(note);
		return r;
	}
	if (!(s = malloc(32 + n * 45 + 1 + nlen + 1))) {
		free(note);
		return -ENOMEM;
	}
	k = snprintf(s, 32, "old %llu\n", ULL(old_size));
	o = (size_t)k;
	for (size_t i = 0; i < n; i++) {
		EVP_EncodeBlock((unsigned char *)s + o, proof[i], MERKLE_HASH_LEN);
		o += 44;
		s[o++] = '\n';
	}
	s[o++] = '\n';
	memcpy(s + o, note, nlen + 1);
	o += nlen;
	free(note);
	*out = s;
	*len = o;
	return 0;
}

static int state_name(const struct checkpoint *cp, char name[80])
{
	char hex[65];
	int r = witness_origin_hex(cp->origin, strlen(cp->origin), hex);

	if (!r)
		snprintf(name, 80, "%s.checkpoint", hex);
	return r;
}

/* The proof to use: the given one when it starts at the stored size,
 * else one computed from the ledger (checked all the same). */
static int get_proof(struct cust_ledger *l, uint64_t old, uint64_t new_size,
		     int have, uint64_t pold, const merkle_hash *proof,
		     size_t n, merkle_hash *out, size_t *n_out)
{
	struct merkle_source src = { .ctx = l,
				     .leaf_hashes = cust_ledger_leaf_hashes };
	uint64_t lsize = 0;
	int r;

	if (have && pold == old) {
		if (n > MERKLE_MAX_PROOF)
			return -E2BIG;
		memcpy(out, proof, n * sizeof(merkle_hash));
		*n_out = n;
		return 0;
	}
	if (!l)
		return -ENODATA;
	if ((r = cust_ledger_size(l, &lsize)))
		return r;
	if (lsize < new_size)
		return -ENODATA;	/* the ledger does not hold that tree */
	return merkle_consistency_proof(&src, old, new_size, out, n_out);
}

int wa_check(const char *dir, const struct ckpt_vkey *keys, size_t n_keys,
	     const char *note, size_t len, int have_proof, uint64_t proof_old,
	     const merkle_hash *proof, size_t n_proof, struct cust_ledger *l,
	     char *msg, size_t msglen)
{
	struct checkpoint *nw = malloc(sizeof(*nw)), *od = malloc(sizeof(*od));
	merkle_hash *pf = malloc(MERKLE_MAX_PROOF * sizeof(merkle_hash));
	char name[80], *old = NULL;
	size_t olen = 0, pn = 0;
	int r, res;

	msg[0] = '\0';
	if (!nw || !od || !pf) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = checkpoint_parse_verify(note, len, keys, n_keys, nw, NULL))) {
		snprintf(msg, msglen, "the new checkpoint is not validly signed "
			 "by a trusted checkpoint key: %s", checkpoint_strerror(r));
		goto out;
	}
	if ((r = state_name(nw, name)))
		goto out;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		snprintf(msg, msglen, "%s: %s", dir, strerror(-r));
		goto out;
	}
	r = witness_read_file(dir, name, CKPT_MAX_NOTE, &old, &olen);
	if (r == -ENOENT) {
		res = WA_FIRST;
		snprintf(msg, msglen, "%s: first checkpoint seen, size %llu, "
			 "recorded (trust on first use)", nw->origin, ULL(nw->size));
		goto store;
	}
	if (r == 0 && (r = checkpoint_parse_verify(old, olen, keys, n_keys, od,
						   NULL)))
		snprintf(msg, msglen, "%s/%s: the auditor's own state does not "
			 "verify: %s", dir, name, checkpoint_strerror(r));
	if (r) {
		if (!msg[0])
			snprintf(msg, msglen, "%s/%s: %s", dir, name, strerror(-r));
		goto out;
	}
	if (nw->size < od->size) {
		snprintf(msg, msglen, "%s: ROLLBACK: checkpoint of size %llu is "
			 "older than the size %llu this auditor already saw",
			 nw->origin, ULL(nw->size), ULL(od->size));
		r = WA_ROLLBACK;
		goto out;
	}
	if (nw->size == od->size) {
		r = memcmp(nw->root, od->root, MERKLE_HASH_LEN) ? WA_FORK : WA_SAME;
		snprintf(msg, msglen, r == WA_SAME ?
			 "%s: unchanged at size %llu" :
			 "%s: FORK: two signed checkpoints of size %llu with "
			 "different roots", nw->origin, ULL(nw->size));
		goto out;
	}
	r = get_proof(l, od->size, nw->size, have_proof, proof_old, proof,
		      n_proof, pf, &pn);
	if (r) {
		snprintf(msg, msglen, "%s: no consistency proof from size %llu "
			 "to %llu%s", nw->origin, ULL(od->size), ULL(nw->size),
			 r == -ENODATA ? " (give a proof file from that size, or "
			 "the ledger that holds the new tree)" : "");
		goto out;
	}
	if (merkle_verify_consistency(od->size, nw->size, od->root, nw->root,
				      (const merkle_hash *)pf, pn)) {
		snprintf(msg, msglen, "%s: FORK: the checkpoint of size %llu is not "
			 "an append-only extension of the size %llu this auditor "
			 "saw (history was rewritten)", nw->origin, ULL(nw->size),
			 ULL(od->size));
		r = WA_FORK;
		goto out;
	}
	res = WA_GREW;
	snprintf(msg, msglen, "%s: consistent: the log only grew, %llu -> %llu",
		 nw->origin, ULL(od->size), ULL(nw->size));
store:
	if ((r = witness_write_file(dir, name, note, len, 0)) == 0)
		r = res;
	else
		snprintf(msg, msglen, "%s/%s: cannot store: %s", dir, name,
			 strerror(-r));
out:
	free(nw);
	free(od);
	free(pf);
	free(old);
	return r;
}
