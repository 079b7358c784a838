/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle tree math for the custody ledger.
 *
 * Pure computation: no database, no I/O, no global state (thread-safe as
 * long as each object is used by one thread at a time). SHA-256 via
 * OpenSSL 3 EVP.
 *
 * Definitions (RFC 9162 section 2.1.1), byte-exact:
 *   empty tree root     = SHA-256("")
 *   leaf hash           = SHA-256(0x00 || leaf data)
 *   interior node hash  = SHA-256(0x01 || left hash || right hash)
 *   MTH(D[0:n]), n > 1  = node(MTH(D[0:k]), MTH(D[k:n])), k = the largest
 *                         power of two strictly smaller than n.
 *
 * Leaf indexes are 0-based; a tree "of size n" holds leaves 0..n-1.
 * Sizes are limited to MERKLE_MAX_SIZE (2^63) so that every intermediate
 * computation fits in uint64_t.
 *
 * Errors: every function returns 0 on success or a negative errno:
 *   -EINVAL    bad arguments (NULL, index >= size, old_size > new_size, ...)
 *   -EBADMSG   MERKLE_E_VERIFY: a proof or root does not verify (includes
 *              a proof of the wrong length - it is untrusted input)
 *   -EOVERFLOW tree size beyond MERKLE_MAX_SIZE
 *   -ENOMEM    allocation failure
 *   -EIO       OpenSSL digest failure
 *   any negative value returned by a caller's merkle_source callback is
 *   passed through unchanged.
 * Out-parameters are untouched on failure.
 *
 * Code: merkle.c (hashes, frontier, range hashes, building proofs),
 * merkle_verify.c (checking proofs), merkle_int.h (the shared hasher).
 */
#ifndef CUSTODY_MERKLE_H
#define CUSTODY_MERKLE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN  32
#define MERKLE_MAX_SIZE  (UINT64_C(1) << 63)
/* Longest possible proof (inclusion or consistency) for any legal size. */
#define MERKLE_MAX_PROOF 64
/* "Proof does not verify" - distinct from -EINVAL (caller bug). */
#define MERKLE_E_VERIFY  (-EBADMSG)

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

/* ---- single hashes -------------------------------------------------- */

/* out = SHA-256(0x00 || data[0..len)).  data may be NULL iff len == 0. */
int merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
/* out = SHA-256(0x01 || left || right).  out may alias left or right. */
int merkle_node_hash(const merkle_hash left, const merkle_hash right,
		     merkle_hash out);
/* out = SHA-256("") = e3b0c442...b855, the root of the empty tree. */
int merkle_empty_root(merkle_hash out);

/* ---- compact incremental tree ("frontier") -------------------------- */

/*
 * The frontier of a tree of size n is the list of roots of the perfect
 * subtrees its leaves decompose into, one per set bit of n, left (largest)
 * to right (smallest): at most 64 hashes, ~2 KiB, no allocation.
 * Append is O(log n) amortised O(1) hashes; root is O(log n) hashes.
 * The ledger keeps one in memory and may persist it with
 * merkle_frontier_export() / merkle_frontier_import().
 */
struct merkle_frontier {
	uint64_t size;		/* number of leaves appended */
	unsigned count;		/* == popcount(size) */
	merkle_hash hashes[64];	/* hashes[0..count), largest subtree first */
};

/* Empty tree. */
void merkle_frontier_init(struct merkle_frontier *f);
/* Append one leaf (its leaf hash, NOT its data).  -EOVERFLOW when full.
 * On failure f is unchanged. */
int merkle_frontier_append(struct merkle_frontier *f,
			   const merkle_hash leaf_hash);
/* Root of the tree so far (the empty root for size 0). */
int merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out);

/* Serialised form: 8-byte big-endian size, then popcount(size) hashes of
 * 32 bytes, largest subtree first.  Length is therefore 8 + 32*popcount. */
#define MERKLE_FRONTIER_MAX_BYTES (8 + 64 * MERKLE_HASH_LEN)
/* Writes into buf (cap >= merkle_frontier_export_len(f)); sets *len. */
size_t merkle_frontier_export_len(const struct merkle_frontier *f);
int merkle_frontier_export(const struct merkle_frontier *f, uint8_t *buf,
			   size_t cap, size_t *len);
/* Strict: -EBADMSG unless len == 8 + 32*popcount(size) and size is legal. */
int merkle_frontier_import(struct merkle_frontier *f, const uint8_t *buf,
			   size_t len);

/* ---- full recomputation --------------------------------------------- */

/* Root over leaf_hashes[0..n).  Iterative (frontier), O(n) hashes, O(1)
 * extra memory, ~0.2 s per million leaves on one core.  n == 0 gives the
 * empty root. */
int merkle_root_from_leaves(const merkle_hash *leaf_hashes, uint64_t n,
			    merkle_hash out);

/* ---- proofs generated from ledger storage ---------------------------- */

/*
 * Where proof generation gets the tree from.  The ledger implements it
 * over SQLite.
 *
 * leaf_hashes (required): copy the leaf hashes of leaves
 *   [begin, begin+count) into out[0..count); count <= MERKLE_SOURCE_CHUNK.
 *   Return 0, or a negative errno which aborts the computation and is
 *   returned unchanged.  Ranges are requested in increasing order.
 *
 * subtree_hash (optional, may be NULL): a cache of perfect subtrees.
 *   Called only for aligned perfect subtrees [begin, begin + 2^k) with
 *   k >= 1 (begin a multiple of 2^k).  Return 0 with out filled if known,
 *   1 if not known (the library then recomputes it from leaves), negative
 *   errno to abort.
 *
 * Cost: a proof needs the hashes of O(log n) subtrees covering all n
 * leaves except one.  Without a subtree cache that is O(n) leaf reads and
 * O(n) hashes per proof (about 0.3 s for 1M leaves plus the reads).  With
 * a cache that knows every perfect subtree it is O(log^2 n) callbacks and
 * no leaf reads beyond O(log n) at the ragged right edge.
 */
#define MERKLE_SOURCE_CHUNK 4096
struct merkle_source {
	void *ctx;
	int (*leaf_hashes)(void *ctx, uint64_t begin, uint64_t count,
			   merkle_hash *out);
	int (*subtree_hash)(void *ctx, uint64_t begin, uint64_t end,
			    merkle_hash out);
};

/* MTH of leaves [begin, end) of any tree, as RFC 6962 defines it for
 * D[begin:end] (begin < end). */
int merkle_range_hash(const struct merkle_source *src, uint64_t begin,
		      uint64_t end, merkle_hash out);

/* RFC 9162 2.1.3.1 inclusion proof of leaf `index` in the tree of `size`
 * leaves.  proof must hold MERKLE_MAX_PROOF hashes; *proof_len is set to
 * the number written (0 for size 1).  Order: from the leaf upwards. */
int merkle_inclusion_proof(const struct merkle_source *src, uint64_t index,
			   uint64_t size, merkle_hash *proof,
			   size_t *proof_len);

/* RFC 9162 2.1.4.1 consistency proof between tree sizes old_size and
 * new_size (0 <= old_size <= new_size).  Empty when old_size is 0 or
 * equal to new_size.  proof must hold MERKLE_MAX_PROOF hashes. */
int merkle_consistency_proof(const struct merkle_source *src,
			     uint64_t old_size, uint64_t new_size,
			     merkle_hash *proof, size_t *proof_len);

/* ---- verification (untrusted proofs) --------------------------------- */

/* RFC 9162 2.1.3.2.  0 if leaf_hash at index is included in the tree of
 * `size` whose root is `root`; MERKLE_E_VERIFY if not (wrong hashes or
 * wrong proof length); -EINVAL if index >= size or a pointer is NULL. */
int merkle_verify_inclusion(uint64_t index, uint64_t size,
			    const merkle_hash leaf_hash,
			    const merkle_hash *proof, size_t proof_len,
			    const merkle_hash root);

/* Computes the root implied by an inclusion proof (same checks). */
int merkle_root_from_inclusion(uint64_t index, uint64_t size,
			       const merkle_hash leaf_hash,
			       const merkle_hash *proof, size_t proof_len,
			       merkle_hash out);

/* RFC 9162 2.1.4.2.  0 if the tree of new_size with root new_root is an
 * append-only extension of the tree of old_size with root old_root.
 * old_size == new_size: proof must be empty and roots equal.
 * old_size == 0: proof must be empty (anything extends the empty tree).
 * MERKLE_E_VERIFY on mismatch; -EINVAL if old_size > new_size or NULL. */
int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
			      const merkle_hash old_root,
			      const merkle_hash new_root,
			      const merkle_hash *proof, size_t proof_len);

#endif /* CUSTODY_MERKLE_H */
