/*
 * test_merkle.c - RFC 6962 Merkle tree: published CT vectors, then
 * exhaustive properties for every tree size up to PROP_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "merkle.h"

#define PROP_MAX 300

static void unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(s), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void assert_hash_hex(const merkle_hash h, const char *hex)
{
	merkle_hash want;

	unhex(hex, want, MERKLE_HASH_LEN);
	assert_memory_equal(h, want, MERKLE_HASH_LEN);
}

/* ---- the CT / transparency-dev reference tree -------------------------- */

/* Leaf inputs of the reference tree (certificate-transparency
 * merkle_tree_test.cc, transparency-dev/merkle testonly/constants.go). */
static const char *const leaf_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

/* Roots for sizes 0..8. */
static const char *const root_hex[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Leaf hashes of the reference tree (level 0 of NodeHashes()). */
static const char *const leaf_hash_hex[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
	"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
	"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	"4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
	"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	"46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};

struct vector {
	uint64_t a, b;		/* inclusion: index, size; consistency: m, n */
	size_t len;
	const char *proof[3];
};

/* Published inclusion proofs (0-based index). */
static const struct vector incl_vectors[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

/* Published consistency proofs. */
static const struct vector cons_vectors[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

/* ---- a test tree served through merkle_source -------------------------- */

struct tree {
	merkle_hash *leaves;	/* n leaf hashes */
	uint64_t size;		/* the tree size a proof is being made for */
	/* levels[k][i] = hash of perfect subtree [i*2^k, (i+1)*2^k) */
	merkle_hash *levels[16];
	uint64_t level_len[16];
	int cache_misses;	/* answer "unknown" for odd subtrees */
	unsigned long leaf_reads;
};

static int src_leaves(void *ctx, uint64_t begin, uint64_t count,
		      merkle_hash *out)
{
	struct tree *t = ctx;

	/* the library must never look beyond the tree it proves */
	assert_true(count >= 1 && count <= MERKLE_SOURCE_CHUNK);
	assert_true(begin + count <= t->size);
	memcpy(out, t->leaves + begin, count * sizeof(merkle_hash));
	t->leaf_reads += count;
	return 0;
}

static int src_subtree(void *ctx, uint64_t begin, uint64_t end,
		       merkle_hash out)
{
	struct tree *t = ctx;
	uint64_t sz = end - begin;
	int k = __builtin_ctzll(sz);

	assert_true(sz >= 2 && (sz & (sz - 1)) == 0);	/* perfect */
	assert_true(begin % sz == 0);			/* aligned */
	assert_true(end <= t->size);
	if (t->cache_misses && ((begin >> k) & 1))
		return 1;
	memcpy(out, t->levels[k][begin >> k], MERKLE_HASH_LEN);
	return 0;
}

static void tree_build(struct tree *t, uint64_t n)
{
	memset(t, 0, sizeof(*t));
	t->leaves = calloc(n, sizeof(merkle_hash));
	assert_non_null(t->leaves);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t data[8];

		for (int b = 0; b < 8; b++)
			data[b] = (uint8_t)(i >> (8 * b));
		assert_int_equal(merkle_leaf_hash(data, sizeof(data),
						  t->leaves[i]), 0);
	}
	t->levels[0] = t->leaves;
	t->level_len[0] = n;
	for (int k = 1; k < 16 && t->level_len[k - 1] >= 2; k++) {
		t->level_len[k] = t->level_len[k - 1] / 2;
		t->levels[k] = calloc(t->level_len[k], sizeof(merkle_hash));
		assert_non_null(t->levels[k]);
		for (uint64_t i = 0; i < t->level_len[k]; i++)
			assert_int_equal(merkle_node_hash(t->levels[k - 1][2 * i],
				t->levels[k - 1][2 * i + 1], t->levels[k][i]), 0);
	}
}

static void tree_free(struct tree *t)
{
	for (int k = 1; k < 16; k++)
		free(t->levels[k]);
	free(t->leaves);
}

/* Reference MTH straight from the RFC's recursive definition. */
static void ref_mth(const merkle_hash *d, uint64_t n, merkle_hash out)
{
	merkle_hash l, r;
	uint64_t k = 1;

	if (n == 0) {
		assert_int_equal(merkle_empty_root(out), 0);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], MERKLE_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	assert_int_equal(merkle_node_hash(l, r, out), 0);
}

/* ---- vectors -------------------------------------------------------------- */

static void ref_leaf_hashes(merkle_hash out[8])
{
	for (int i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t n = strlen(leaf_hex[i]) / 2;

		unhex(leaf_hex[i], data, n);
		assert_int_equal(merkle_leaf_hash(n ? data : NULL, n, out[i]), 0);
		assert_hash_hex(out[i], leaf_hash_hex[i]);
	}
}

static void test_hash_primitives(void **state)
{
	merkle_hash h, l;

	(void)state;
	assert_int_equal(merkle_empty_root(h), 0);
	assert_hash_hex(h, root_hex[0]);
	/* leaf hash of empty data = SHA-256(0x00) */
	assert_int_equal(merkle_leaf_hash(NULL, 0, h), 0);
	assert_hash_hex(h, root_hex[1]);
	assert_int_equal(merkle_leaf_hash(NULL, 1, h), -EINVAL);
	/* node(leaf0, leaf1) = root of size 2; aliasing out with an input */
	unhex(leaf_hash_hex[0], h, 32);
	unhex(leaf_hash_hex[1], l, 32);
	assert_int_equal(merkle_node_hash(h, l, h), 0);
	assert_hash_hex(h, root_hex[2]);
}

static void test_reference_roots(void **state)
{
	merkle_hash leaves[8], h;
	struct merkle_frontier f;

	(void)state;
	ref_leaf_hashes(leaves);
	merkle_frontier_init(&f);
	for (int n = 0; n <= 8; n++) {
		assert_int_equal(merkle_root_from_leaves(leaves, (uint64_t)n, h), 0);
		assert_hash_hex(h, root_hex[n]);
		assert_int_equal(merkle_frontier_root(&f, h), 0);
		assert_hash_hex(h, root_hex[n]);
		assert_int_equal(f.size, (uint64_t)n);
		assert_int_equal(f.count, (unsigned)__builtin_popcount(n));
		if (n < 8)
			assert_int_equal(merkle_frontier_append(&f, leaves[n]), 0);
	}
}

static void load_proof(const struct vector *v, merkle_hash *p)
{
	for (size_t i = 0; i < v->len; i++)
		unhex(v->proof[i], p[i], 32);
}

static void test_reference_inclusion(void **state)
{
	merkle_hash leaves[8], root, proof[MERKLE_MAX_PROOF], want[3];
	struct tree t = { .leaves = leaves };
	struct merkle_source src = { &t, src_leaves, NULL };
	size_t len;

	(void)state;
	ref_leaf_hashes(leaves);
	for (size_t i = 0; i < sizeof(incl_vectors) / sizeof(*incl_vectors); i++) {
		const struct vector *v = &incl_vectors[i];

		load_proof(v, want);
		unhex(root_hex[v->b], root, 32);
		t.size = v->b;
		assert_int_equal(merkle_inclusion_proof(&src, v->a, v->b, proof,
							&len), 0);
		assert_int_equal(len, v->len);
		assert_memory_equal(proof, want, len * 32);
		assert_int_equal(merkle_verify_inclusion(v->a, v->b,
				 leaves[v->a], want, v->len, root), 0);
		/* wrong leaf */
		assert_int_equal(merkle_verify_inclusion(v->a, v->b,
				 leaves[(v->a + 1) % 8], want, v->len, root),
				 MERKLE_E_VERIFY);
	}
}

static void test_reference_consistency(void **state)
{
	merkle_hash leaves[8], r1, r2, proof[MERKLE_MAX_PROOF], want[3];
	struct tree t = { .leaves = leaves };
	struct merkle_source src = { &t, src_leaves, NULL };
	size_t len;

	(void)state;
	ref_leaf_hashes(leaves);
	for (size_t i = 0; i < sizeof(cons_vectors) / sizeof(*cons_vectors); i++) {
		const struct vector *v = &cons_vectors[i];

		load_proof(v, want);
		unhex(root_hex[v->a], r1, 32);
		unhex(root_hex[v->b], r2, 32);
		t.size = v->b;
		assert_int_equal(merkle_consistency_proof(&src, v->a, v->b,
							  proof, &len), 0);
		assert_int_equal(len, v->len);
		assert_memory_equal(proof, want, len * 32);
		assert_int_equal(merkle_verify_consistency(v->a, v->b, r1, r2,
							   want, v->len), 0);
		if (v->a != v->b)
			assert_int_equal(merkle_verify_consistency(v->a, v->b,
					 r2, r1, want, v->len), MERKLE_E_VERIFY);
	}
}

/* The edge cases of transparency-dev/merkle's "additional" probes. */
static void test_consistency_edges(void **state)
{
	merkle_hash e, r1, r2, p[2];

	(void)state;
	assert_int_equal(merkle_empty_root(e), 0);
	unhex(root_hex[1], r1, 32);
	unhex(root_hex[2], r2, 32);
	memcpy(p[0], r1, 32);
	assert_int_equal(merkle_verify_consistency(0, 0, e, e, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(0, 0, e, r2, NULL, 0), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(0, 0, e, e, p, 1), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(1, 1, r1, r1, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(1, 1, r1, r2, NULL, 0), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(1, 1, r1, r1, p, 1), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(0, 2, e, r2, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(0, 2, e, r2, p, 1), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(1, 2, r1, r2, NULL, 0), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_consistency(2, 1, r2, r1, p, 1), -EINVAL);
	assert_int_equal(merkle_verify_consistency(1, 2, r1, r2, p,
						   MERKLE_MAX_PROOF + 1), MERKLE_E_VERIFY);
	assert_int_equal(merkle_verify_inclusion(1, 1, r1, NULL, 0, r1), -EINVAL);
	assert_int_equal(merkle_verify_inclusion(0, 1, r1, NULL, 0, r1), 0);
	assert_int_equal(merkle_verify_inclusion(0, 1, r1, p, 1, r1), MERKLE_E_VERIFY);
}

/* ---- frontier persistence -------------------------------------------------- */

static void test_frontier_export_import(void **state)
{
	struct merkle_frontier f, g;
	uint8_t buf[MERKLE_FRONTIER_MAX_BYTES];
	merkle_hash leaf, r1, r2;
	size_t len = 0;

	(void)state;
	merkle_frontier_init(&f);
	for (int i = 0; i < 77; i++) {
		assert_int_equal(merkle_leaf_hash(&i, sizeof(i), leaf), 0);
		assert_int_equal(merkle_frontier_append(&f, leaf), 0);
	}
	assert_int_equal(merkle_frontier_export(&f, buf, 10, &len), -ENOSPC);
	assert_int_equal(merkle_frontier_export(&f, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 8 + 32 * 4);	/* 77 = 0b1001101 */
	assert_int_equal(len, merkle_frontier_export_len(&f));
	assert_int_equal(merkle_frontier_import(&g, buf, len), 0);
	assert_int_equal(merkle_frontier_root(&f, r1), 0);
	assert_int_equal(merkle_frontier_root(&g, r2), 0);
	assert_memory_equal(r1, r2, 32);
	/* continues identically after import */
	assert_int_equal(merkle_frontier_append(&f, leaf), 0);
	assert_int_equal(merkle_frontier_append(&g, leaf), 0);
	assert_int_equal(merkle_frontier_root(&f, r1), 0);
	assert_int_equal(merkle_frontier_root(&g, r2), 0);
	assert_memory_equal(r1, r2, 32);
	/* strict length / size checks */
	assert_int_equal(merkle_frontier_import(&g, buf, len - 1), -EBADMSG);
	assert_int_equal(merkle_frontier_import(&g, buf, len + 32), -EBADMSG);
	assert_int_equal(merkle_frontier_import(&g, buf, 7), -EBADMSG);
	memset(buf, 0xff, 8);
	assert_int_equal(merkle_frontier_import(&g, buf, sizeof(buf)), -EBADMSG);
	/* full tree refuses to grow */
	memset(&g, 0, sizeof(g));
	g.size = MERKLE_MAX_SIZE;
	g.count = 1;
	assert_int_equal(merkle_frontier_append(&g, leaf), -EOVERFLOW);
	assert_int_equal(g.size, MERKLE_MAX_SIZE);
}

/* ---- properties over every size 1..PROP_MAX ------------------------------- */

static void test_roots_all_sizes(void **state)
{
	struct merkle_frontier f;
	merkle_hash a, b, c, d;
	struct tree t;
	struct merkle_source src = { &t, src_leaves, src_subtree };
	struct merkle_source plain = { &t, src_leaves, NULL };

	(void)state;
	tree_build(&t, PROP_MAX);
	t.size = PROP_MAX;
	merkle_frontier_init(&f);
	for (uint64_t n = 0; n <= PROP_MAX; n++) {
		ref_mth(t.leaves, n, a);
		assert_int_equal(merkle_root_from_leaves(t.leaves, n, b), 0);
		assert_int_equal(merkle_frontier_root(&f, c), 0);
		assert_memory_equal(a, b, 32);
		assert_memory_equal(a, c, 32);
		if (n > 0) {
			assert_int_equal(merkle_range_hash(&src, 0, n, d), 0);
			assert_memory_equal(a, d, 32);
			assert_int_equal(merkle_range_hash(&plain, 0, n, d), 0);
			assert_memory_equal(a, d, 32);
			/* unaligned ranges too */
			ref_mth(t.leaves + n / 3, n - n / 3, a);
			assert_int_equal(merkle_range_hash(&src, n / 3, n, d), 0);
			assert_memory_equal(a, d, 32);
		}
		if (n < PROP_MAX)
			assert_int_equal(merkle_frontier_append(&f, t.leaves[n]), 0);
	}
	tree_free(&t);
}

static void flip(merkle_hash *p, size_t i, int bit)
{
	p[i][bit / 8 % 32] ^= (uint8_t)(1u << (bit % 8));
}

static void check_inclusion_mutations(uint64_t i, uint64_t n,
				      const merkle_hash leaf,
				      merkle_hash *p, size_t len,
				      const merkle_hash root)
{
	for (size_t j = 0; j < len; j++) {
		flip(p, j, (int)(i + j) * 7);
		assert_int_equal(merkle_verify_inclusion(i, n, leaf, p, len, root),
				 MERKLE_E_VERIFY);
		flip(p, j, (int)(i + j) * 7);
	}
	if (len > 0)
		assert_int_not_equal(merkle_verify_inclusion(i, n, leaf, p,
							     len - 1, root), 0);
	memcpy(p[len], root, 32);	/* appended extra component */
	assert_int_not_equal(merkle_verify_inclusion(i, n, leaf, p, len + 1,
						     root), 0);
	assert_int_not_equal(merkle_verify_inclusion(i + 1, n, leaf, p, len,
						     root), 0);
	if (i > 0)
		assert_int_not_equal(merkle_verify_inclusion(i - 1, n, leaf, p,
							     len, root), 0);
	assert_int_not_equal(merkle_verify_inclusion(i, n * 2, leaf, p, len,
						     root), 0);
	if (n / 2 > i)
		assert_int_not_equal(merkle_verify_inclusion(i, n / 2, leaf, p,
							     len, root), 0);
	memcpy(p[len], leaf, 32);	/* wrong leaf */
	flip(p, len, 0);
	assert_int_equal(merkle_verify_inclusion(i, n, p[len], p, len, root),
			 MERKLE_E_VERIFY);
}

static void test_inclusion_all_sizes(void **state)
{
	merkle_hash root, proof[MERKLE_MAX_PROOF + 1], plain_proof[MERKLE_MAX_PROOF];
	struct tree t;
	struct merkle_source src = { &t, src_leaves, src_subtree };
	struct merkle_source plain = { &t, src_leaves, NULL };
	size_t len, plen;

	(void)state;
	tree_build(&t, PROP_MAX);
	for (uint64_t n = 1; n <= PROP_MAX; n++) {
		t.size = n;
		t.cache_misses = (int)(n & 1);
		assert_int_equal(merkle_root_from_leaves(t.leaves, n, root), 0);
		for (uint64_t i = 0; i < n; i++) {
			assert_int_equal(merkle_inclusion_proof(&src, i, n, proof,
								&len), 0);
			assert_int_equal(merkle_verify_inclusion(i, n, t.leaves[i],
					 proof, len, root), 0);
			/* the cache must not change the answer */
			if (n <= 24 || i % 61 == 0) {
				assert_int_equal(merkle_inclusion_proof(&plain, i, n,
						 plain_proof, &plen), 0);
				assert_int_equal(plen, len);
				assert_memory_equal(plain_proof, proof, len * 32);
			}
			if (n <= 40 || i % 29 == 0 || i == n - 1)
				check_inclusion_mutations(i, n, t.leaves[i], proof,
							  len, root);
		}
	}
	assert_int_equal(merkle_inclusion_proof(&src, 5, 5, proof, &len), -EINVAL);
	tree_free(&t);
}

static void check_consistency_mutations(uint64_t m, uint64_t n,
					const merkle_hash r1,
					const merkle_hash r2,
					merkle_hash *p, size_t len)
{
	for (size_t j = 0; j < len; j++) {
		flip(p, j, (int)(m + n + j) * 5);
		assert_int_equal(merkle_verify_consistency(m, n, r1, r2, p, len),
				 MERKLE_E_VERIFY);
		flip(p, j, (int)(m + n + j) * 5);
	}
	if (len > 0)
		assert_int_not_equal(merkle_verify_consistency(m, n, r1, r2, p,
							       len - 1), 0);
	memcpy(p[len], r1, 32);
	assert_int_not_equal(merkle_verify_consistency(m, n, r1, r2, p, len + 1), 0);
	if (m != n) {
		assert_int_not_equal(merkle_verify_consistency(m, n, r2, r1, p,
							       len), 0);
		assert_int_not_equal(merkle_verify_consistency(m, n, r1, r1, p,
							       len), 0);
		assert_int_not_equal(merkle_verify_consistency(m, n, r2, r2, p,
							       len), 0);
	}
}

static void test_consistency_all_pairs(void **state)
{
	merkle_hash *roots, proof[MERKLE_MAX_PROOF + 1];
	struct tree t;
	struct merkle_source src = { &t, src_leaves, src_subtree };
	size_t len;

	(void)state;
	tree_build(&t, PROP_MAX);
	roots = calloc(PROP_MAX + 1, sizeof(merkle_hash));
	assert_non_null(roots);
	for (uint64_t n = 0; n <= PROP_MAX; n++)
		assert_int_equal(merkle_root_from_leaves(t.leaves, n, roots[n]), 0);
	for (uint64_t n = 1; n <= PROP_MAX; n++) {
		t.size = n;
		t.cache_misses = (int)(n % 3 == 0);
		for (uint64_t m = 0; m <= n; m++) {
			assert_int_equal(merkle_consistency_proof(&src, m, n, proof,
								  &len), 0);
			assert_int_equal(merkle_verify_consistency(m, n, roots[m],
					 roots[n], proof, len), 0);
			if (m > 0 && (n <= 32 || (m * 7 + n) % 31 == 0))
				check_consistency_mutations(m, n, roots[m], roots[n],
							    proof, len);
			/* wrong old size (a different tree) */
			if (m > 1 && m < n && len > 0)
				assert_int_not_equal(merkle_verify_consistency(m - 1,
					n, roots[m], roots[n], proof, len), 0);
		}
	}
	assert_int_equal(merkle_consistency_proof(&src, 3, 2, proof, &len), -EINVAL);
	free(roots);
	tree_free(&t);
}

/* A source error aborts the computation and is passed through. */
static int failing_leaves(void *ctx, uint64_t b, uint64_t c, merkle_hash *o)
{
	(void)ctx, (void)b, (void)c, (void)o;
	return -EIO;
}

static void test_source_errors(void **state)
{
	struct merkle_source bad = { NULL, failing_leaves, NULL };
	struct merkle_source none = { NULL, NULL, NULL };
	merkle_hash p[MERKLE_MAX_PROOF], h;
	size_t len = 99;

	(void)state;
	assert_int_equal(merkle_inclusion_proof(&bad, 1, 10, p, &len), -EIO);
	assert_int_equal(len, 99);
	assert_int_equal(merkle_consistency_proof(&bad, 3, 10, p, &len), -EIO);
	assert_int_equal(merkle_range_hash(&bad, 0, 3, h), -EIO);
	assert_int_equal(merkle_range_hash(&none, 0, 3, h), -EINVAL);
	assert_int_equal(merkle_range_hash(&bad, 3, 3, h), -EINVAL);
}

/* 1M leaves: correctness of the big iterative path (no timing asserted). */
static void test_million_leaves(void **state)
{
	/* ASan makes each hash ~10x slower; the size only needs to be big */
	const uint64_t n = getenv("SANITIZED") ? 100000 : 1000000;
	merkle_hash *leaves = malloc(n * sizeof(merkle_hash)), a, b;
	struct merkle_frontier f;

	(void)state;
	assert_non_null(leaves);
	for (uint64_t i = 0; i < n; i++) {
		memset(leaves[i], 0, 32);
		memcpy(leaves[i], &i, sizeof(i));
	}
	assert_int_equal(merkle_root_from_leaves(leaves, n, a), 0);
	merkle_frontier_init(&f);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(merkle_frontier_append(&f, leaves[i]), 0);
	assert_int_equal(merkle_frontier_root(&f, b), 0);
	assert_memory_equal(a, b, 32);
	free(leaves);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_primitives),
		cmocka_unit_test(test_reference_roots),
		cmocka_unit_test(test_reference_inclusion),
		cmocka_unit_test(test_reference_consistency),
		cmocka_unit_test(test_consistency_edges),
		cmocka_unit_test(test_frontier_export_import),
		cmocka_unit_test(test_roots_all_sizes),
		cmocka_unit_test(test_inclusion_all_sizes),
		cmocka_unit_test(test_consistency_all_pairs),
		cmocka_unit_test(test_source_errors),
		cmocka_unit_test(test_million_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
