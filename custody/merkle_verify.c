/*
 * merkle_verify.c - checking RFC 9162 inclusion and consistency proofs
 * (section 2.1.3.2 and 2.1.4.2). See merkle.h for the definitions and
 * the error contract; building trees and proofs is merkle.c.
 */
#include "merkle.h"
#include "merkle_int.h"

#include <string.h>

#include <openssl/crypto.h>

int merkle_root_from_inclusion(uint64_t index, uint64_t size,
			       const merkle_hash leaf_hash,
			       const merkle_hash *proof, size_t proof_len,
			       merkle_hash out)
{
	merkle_hash r;
	uint64_t fn = index, sn;
	struct merkle_hasher h;
	int rc = 0;

	if (!leaf_hash || !out || (!proof && proof_len) || index >= size)
		return -EINVAL;
	if (size > MERKLE_MAX_SIZE || proof_len > MERKLE_MAX_PROOF)
		return MERKLE_E_VERIFY;
	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	sn = size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (size_t i = 0; i < proof_len && rc == 0; i++) {
		if (sn == 0) {
			rc = MERKLE_E_VERIFY;	/* proof too long */
			break;
		}
		if ((fn & 1) || fn == sn) {
			rc = merkle_node(&h, proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = merkle_node(&h, r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	merkle_hasher_close(&h);
	if (rc == 0 && sn != 0)
		rc = MERKLE_E_VERIFY;		/* proof too short */
	if (rc == 0)
		memcpy(out, r, MERKLE_HASH_LEN);
	return rc;
}

int merkle_verify_inclusion(uint64_t index, uint64_t size,
			    const merkle_hash leaf_hash,
			    const merkle_hash *proof, size_t proof_len,
			    const merkle_hash root)
{
	merkle_hash got;
	int rc;

	if (!root)
		return -EINVAL;
	rc = merkle_root_from_inclusion(index, size, leaf_hash, proof,
					proof_len, got);
	if (rc < 0)
		return rc;
	return CRYPTO_memcmp(got, root, MERKLE_HASH_LEN) ? MERKLE_E_VERIFY : 0;
}

/* RFC 9162 2.1.4.2 steps 3-7, path[] being the proof with old_root
 * prepended when old_size is a power of two (done by index, no copy). */
static int consistency_walk(struct merkle_hasher *h, uint64_t old_size,
			    uint64_t new_size, const merkle_hash old_root,
			    const merkle_hash *proof, size_t proof_len,
			    merkle_hash fr, merkle_hash sr)
{
	int pow2 = (old_size & (old_size - 1)) == 0;
	size_t n = proof_len + (pow2 ? 1 : 0);
	uint64_t fn = old_size - 1, sn = new_size - 1;
	int rc = 0;

#define PATH(i) (pow2 ? ((i) == 0 ? old_root : proof[(i) - 1]) : proof[i])
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, PATH(0), MERKLE_HASH_LEN);
	memcpy(sr, PATH(0), MERKLE_HASH_LEN);
	for (size_t i = 1; i < n && rc == 0; i++) {
		const uint8_t *c = PATH(i);

		if (sn == 0)
			return MERKLE_E_VERIFY;
		if ((fn & 1) || fn == sn) {
			if ((rc = merkle_node(h, c, fr, fr)) < 0 ||
			    (rc = merkle_node(h, c, sr, sr)) < 0)
				return rc;
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = merkle_node(h, sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
#undef PATH
	if (rc == 0 && sn != 0)
		rc = MERKLE_E_VERIFY;
	return rc;
}

int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
			      const merkle_hash old_root,
			      const merkle_hash new_root,
			      const merkle_hash *proof, size_t proof_len)
{
	merkle_hash fr, sr;
	struct merkle_hasher h;
	int rc;

	if (!old_root || !new_root || (!proof && proof_len) ||
	    old_size > new_size)
		return -EINVAL;
	if (new_size > MERKLE_MAX_SIZE || proof_len > MERKLE_MAX_PROOF)
		return MERKLE_E_VERIFY;
	if (old_size == new_size)
		return (proof_len == 0 &&
			!CRYPTO_memcmp(old_root, new_root, MERKLE_HASH_LEN)) ?
			0 : MERKLE_E_VERIFY;
	if (old_size == 0)
		return proof_len == 0 ? 0 : MERKLE_E_VERIFY;
	if (proof_len == 0)
		return MERKLE_E_VERIFY;
	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	rc = consistency_walk(&h, old_size, new_size, old_root, proof,
			      proof_len, fr, sr);
	merkle_hasher_close(&h);
	if (rc < 0)
		return rc;
	if (CRYPTO_memcmp(fr, old_root, MERKLE_HASH_LEN) ||
	    CRYPTO_memcmp(sr, new_root, MERKLE_HASH_LEN))
		return MERKLE_E_VERIFY;
	return 0;
}
