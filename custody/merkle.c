/*
 * merkle.c - RFC 6962 / RFC 9162 Merkle tree hashes and proofs.
 * See merkle.h for the definitions and the error contract; checking
 * proofs is merkle_verify.c.
 */
#include "merkle.h"
#include "merkle_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* The algorithm is fetched once per process (a provider lookup costs
 * more than hashing 65 bytes); it is immutable, so sharing it between
 * threads is safe.  It is never freed: OpenSSL's own exit handlers run
 * after ours would and it is a single small object. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int merkle_hasher_open(struct merkle_hasher *h)
{
	if (pthread_once(&sha256_once, sha256_fetch) != 0 || !sha256_md)
		return -EIO;
	h->md = sha256_md;
	h->ctx = EVP_MD_CTX_new();
	return h->ctx ? 0 : -ENOMEM;
}

void merkle_hasher_close(struct merkle_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
}

/* out = SHA-256(prefix || a[0..alen) || b[0..blen)); out may alias a/b
 * because the digest is only written after all input was consumed. */
static int hash3(struct merkle_hasher *h, uint8_t prefix, const void *a,
		 size_t alen, const void *b, size_t blen, merkle_hash out)
{
	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) ||
	    !EVP_DigestUpdate(h->ctx, &prefix, 1) ||
	    (alen && !EVP_DigestUpdate(h->ctx, a, alen)) ||
	    (blen && !EVP_DigestUpdate(h->ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(h->ctx, out, NULL))
		return -EIO;
	return 0;
}

int merkle_node(struct merkle_hasher *h, const merkle_hash l,
		const merkle_hash r, merkle_hash out)
{
	return hash3(h, 0x01, l, MERKLE_HASH_LEN, r, MERKLE_HASH_LEN, out);
}

/* One-shot hash3 for the public single-hash functions. */
static int hash3_once(uint8_t prefix, const void *a, size_t alen,
		      const void *b, size_t blen, merkle_hash out)
{
	struct merkle_hasher h;
	int rc;

	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	rc = hash3(&h, prefix, a, alen, b, blen, out);
	merkle_hasher_close(&h);
	return rc;
}

int merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	if (!out || (!data && len))
		return -EINVAL;
	return hash3_once(0x00, data, len, NULL, 0, out);
}

int merkle_node_hash(const merkle_hash left, const merkle_hash right,
		     merkle_hash out)
{
	if (!left || !right || !out)
		return -EINVAL;
	return hash3_once(0x01, left, MERKLE_HASH_LEN, right, MERKLE_HASH_LEN,
			  out);
}

int merkle_empty_root(merkle_hash out)
{
	unsigned int n = 0;

	if (!out)
		return -EINVAL;
	if (!EVP_Digest("", 0, out, &n, EVP_sha256(), NULL) ||
	    n != MERKLE_HASH_LEN)
		return -EIO;
	return 0;
}

/* ---- frontier ---------------------------------------------------------- */

void merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

/* Appending leaf number `size` merges one finished subtree per trailing
 * one bit of size (a binary counter increment).  f is written only after
 * every hash succeeded, so a failure leaves it unchanged. */
static int frontier_push(struct merkle_hasher *h, struct merkle_frontier *f,
			 const merkle_hash leaf)
{
	merkle_hash acc;
	uint64_t s = f->size;
	unsigned c = f->count;
	int rc;

	if (s >= MERKLE_MAX_SIZE)
		return -EOVERFLOW;
	memcpy(acc, leaf, MERKLE_HASH_LEN);
	while (s & 1) {
		if ((rc = merkle_node(h, f->hashes[c - 1], acc, acc)) < 0)
			return rc;
		c--;
		s >>= 1;
	}
	memcpy(f->hashes[c], acc, MERKLE_HASH_LEN);
	f->count = c + 1;
	f->size++;
	return 0;
}

/* Fold right to left: the right-most (smallest) subtrees join first,
 * exactly as the RFC split at the largest power of two does. */
static int frontier_root(struct merkle_hasher *h,
			 const struct merkle_frontier *f, merkle_hash out)
{
	merkle_hash acc;
	int rc;

	if (f->count == 0)
		return merkle_empty_root(out);
	memcpy(acc, f->hashes[f->count - 1], MERKLE_HASH_LEN);
	for (unsigned i = f->count - 1; i-- > 0;)
		if ((rc = merkle_node(h, f->hashes[i], acc, acc)) < 0)
			return rc;
	memcpy(out, acc, MERKLE_HASH_LEN);
	return 0;
}

int merkle_frontier_append(struct merkle_frontier *f,
			   const merkle_hash leaf_hash)
{
	struct merkle_hasher h;
	int rc;

	if (!f || !leaf_hash)
		return -EINVAL;
	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	rc = frontier_push(&h, f, leaf_hash);
	merkle_hasher_close(&h);
	return rc;
}

int merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out)
{
	struct merkle_hasher h;
	int rc;

	if (!f || !out || f->count > 64)
		return -EINVAL;
	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	rc = frontier_root(&h, f, out);
	merkle_hasher_close(&h);
	return rc;
}

size_t merkle_frontier_export_len(const struct merkle_frontier *f)
{
	return 8 + (size_t)__builtin_popcountll(f->size) * MERKLE_HASH_LEN;
}

int merkle_frontier_export(const struct merkle_frontier *f, uint8_t *buf,
			   size_t cap, size_t *len)
{
	size_t need;

	if (!f || !buf || f->size > MERKLE_MAX_SIZE ||
	    f->count != (unsigned)__builtin_popcountll(f->size))
		return -EINVAL;
	need = merkle_frontier_export_len(f);
	if (cap < need)
		return -ENOSPC;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(f->size >> (56 - 8 * i));
	memcpy(buf + 8, f->hashes, (size_t)f->count * MERKLE_HASH_LEN);
	if (len)
		*len = need;
	return 0;
}

int merkle_frontier_import(struct merkle_frontier *f, const uint8_t *buf,
			   size_t len)
{
	uint64_t size = 0;
	unsigned count;

	if (!f || !buf)
		return -EINVAL;
	if (len < 8)
		return -EBADMSG;
	for (int i = 0; i < 8; i++)
		size = size << 8 | buf[i];
	count = (unsigned)__builtin_popcountll(size);
	if (size > MERKLE_MAX_SIZE || len != 8 + (size_t)count * MERKLE_HASH_LEN)
		return -EBADMSG;
	f->size = size;
	f->count = count;
	memcpy(f->hashes, buf + 8, (size_t)count * MERKLE_HASH_LEN);
	return 0;
}

int merkle_root_from_leaves(const merkle_hash *leaf_hashes, uint64_t n,
			    merkle_hash out)
{
	struct merkle_frontier f;
	struct merkle_hasher h;
	int rc = 0;

	if (!out || (!leaf_hashes && n))
		return -EINVAL;
	if (n > MERKLE_MAX_SIZE)
		return -EOVERFLOW;
	if ((rc = merkle_hasher_open(&h)) < 0)
		return rc;
	merkle_frontier_init(&f);
	for (uint64_t i = 0; i < n && rc == 0; i++)
		rc = frontier_push(&h, &f, leaf_hashes[i]);
	if (rc == 0)
		rc = frontier_root(&h, &f, out);
	merkle_hasher_close(&h);
	return rc;
}

/* ---- subtree hashes from a merkle_source -------------------------------- */

struct gen {
	struct merkle_hasher h;
	const struct merkle_source *src;
	merkle_hash *buf;	/* leaf hash chunk, grown on demand */
	uint64_t cap;		/* <= MERKLE_SOURCE_CHUNK */
};

static int gen_open(struct gen *g, const struct merkle_source *src)
{
	if (!src || !src->leaf_hashes)
		return -EINVAL;
	g->src = src;
	g->buf = NULL;
	g->cap = 0;
	return merkle_hasher_open(&g->h);
}

/* Small proofs (cached subtrees, small trees) need only a few leaves:
 * don't pay for a full chunk up front. */
static int gen_reserve(struct gen *g, uint64_t n)
{
	merkle_hash *nb;

	if (n > MERKLE_SOURCE_CHUNK)
		n = MERKLE_SOURCE_CHUNK;
	if (n <= g->cap)
		return 0;
	nb = realloc(g->buf, (size_t)n * sizeof(merkle_hash));
	if (!nb)
		return -ENOMEM;
	g->buf = nb;
	g->cap = n;
	return 0;
}

static void gen_close(struct gen *g)
{
	merkle_hasher_close(&g->h);
	free(g->buf);
}

/* MTH(D[begin:end]) by streaming leaf hashes through a frontier: O(n)
 * hashes, O(1) memory besides the chunk buffer. */
static int stream_hash(struct gen *g, uint64_t begin, uint64_t end,
		       merkle_hash out)
{
	struct merkle_frontier f;
	int rc;

	merkle_frontier_init(&f);
	if ((rc = gen_reserve(g, end - begin)) < 0)
		return rc;
	while (begin < end) {
		uint64_t n = end - begin;

		if (n > g->cap)
			n = g->cap;
		rc = g->src->leaf_hashes(g->src->ctx, begin, n, g->buf);
		if (rc < 0)
			return rc;
		for (uint64_t i = 0; i < n; i++)
			if ((rc = frontier_push(&g->h, &f, g->buf[i])) < 0)
				return rc;
		begin += n;
	}
	return frontier_root(&g->h, &f, out);
}

/* Aligned perfect subtree [begin, begin+size): ask the cache, else split
 * in halves (so smaller cached subtrees still help), else stream. */
static int perfect_hash(struct gen *g, uint64_t begin, uint64_t size,
			merkle_hash out)
{
	merkle_hash l, r;
	int rc;

	if (!g->src->subtree_hash || size <= 1)
		return stream_hash(g, begin, begin + size, out);
	rc = g->src->subtree_hash(g->src->ctx, begin, begin + size, l);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		memcpy(out, l, MERKLE_HASH_LEN);
		return 0;
	}
	if (rc != 1)
		return -EINVAL;
	if (size <= MERKLE_SOURCE_CHUNK)
		return stream_hash(g, begin, begin + size, out);
	if ((rc = perfect_hash(g, begin, size / 2, l)) < 0 ||
	    (rc = perfect_hash(g, begin + size / 2, size / 2, r)) < 0)
		return rc;
	return merkle_node(&g->h, l, r, out);
}

/* MTH(D[begin:end]) for any range: the list splits into perfect pieces
 * of sizes equal to the set bits of its length, largest first; pieces
 * aligned in the global tree may come from the cache. */
static int range_hash(struct gen *g, uint64_t begin, uint64_t end,
		      merkle_hash out)
{
	merkle_hash acc, piece;
	uint64_t len = end - begin, pos = end;
	int rc, first = 1;

	/* Walk right to left so the fold needs no stack. */
	for (int bit = 0; bit < 64; bit++) {
		uint64_t sz = UINT64_C(1) << bit;

		if (!(len & sz))
			continue;
		pos -= sz;
		if (pos % sz == 0)
			rc = perfect_hash(g, pos, sz, piece);
		else
			rc = stream_hash(g, pos, pos + sz, piece);
		if (rc < 0)
			return rc;
		if (first)
			memcpy(acc, piece, MERKLE_HASH_LEN);
		else if ((rc = merkle_node(&g->h, piece, acc, acc)) < 0)
			return rc;
		first = 0;
	}
	memcpy(out, acc, MERKLE_HASH_LEN);
	return 0;
}

int merkle_range_hash(const struct merkle_source *src, uint64_t begin,
		      uint64_t end, merkle_hash out)
{
	struct gen g;
	int rc;

	if (!out || begin >= end)
		return -EINVAL;
	if (end > MERKLE_MAX_SIZE)
		return -EOVERFLOW;
	if ((rc = gen_open(&g, src)) < 0)
		return rc;
	rc = range_hash(&g, begin, end, out);
	gen_close(&g);
	return rc;
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* Ranges of the proof nodes, collected top-down (the RFC recursion
 * unrolled); the proof lists them bottom-up. */
struct ranges {
	uint64_t b[MERKLE_MAX_PROOF], e[MERKLE_MAX_PROOF];
	size_t n;
};

static int emit_proof(const struct merkle_source *src, const struct ranges *r,
		      merkle_hash *proof, size_t *proof_len)
{
	merkle_hash tmp[MERKLE_MAX_PROOF];
	struct gen g;
	int rc = 0;

	if ((rc = gen_open(&g, src)) < 0)
		return rc;
	for (size_t i = 0; i < r->n && rc == 0; i++)
		rc = range_hash(&g, r->b[i], r->e[i], tmp[r->n - 1 - i]);
	gen_close(&g);
	if (rc < 0)
		return rc;
	memcpy(proof, tmp, r->n * MERKLE_HASH_LEN);
	*proof_len = r->n;
	return 0;
}

int merkle_inclusion_proof(const struct merkle_source *src, uint64_t index,
			   uint64_t size, merkle_hash *proof,
			   size_t *proof_len)
{
	struct ranges r = { .n = 0 };
	uint64_t lo = 0, hi = size;

	if (!src || !proof || !proof_len || index >= size)
		return -EINVAL;
	if (size > MERKLE_MAX_SIZE)
		return -EOVERFLOW;
	while (hi - lo > 1) {
		uint64_t mid = lo + split_point(hi - lo);

		if (index < mid) {
			r.b[r.n] = mid, r.e[r.n] = hi;
			hi = mid;
		} else {
			r.b[r.n] = lo, r.e[r.n] = mid;
			lo = mid;
		}
		r.n++;
	}
	return emit_proof(src, &r, proof, proof_len);
}

int merkle_consistency_proof(const struct merkle_source *src,
			     uint64_t old_size, uint64_t new_size,
			     merkle_hash *proof, size_t *proof_len)
{
	struct ranges r = { .n = 0 };
	uint64_t lo = 0, hi = new_size, m = old_size;
	int whole = 1;	/* the RFC's `b`: old tree is a whole subtree */

	if (!src || !proof || !proof_len || old_size > new_size)
		return -EINVAL;
	if (new_size > MERKLE_MAX_SIZE)
		return -EOVERFLOW;
	if (old_size == 0 || old_size == new_size) {
		*proof_len = 0;
		return 0;
	}
	while (m != hi - lo) {
		uint64_t k = split_point(hi - lo);

		if (m <= k) {
			r.b[r.n] = lo + k, r.e[r.n] = hi;
			hi = lo + k;
		} else {
			r.b[r.n] = lo, r.e[r.n] = lo + k;
			lo += k;
			m -= k;
			whole = 0;
		}
		r.n++;
	}
	/* SUBPROOF(m, D[m], false) = {MTH(D[m])}: it comes first in the
	 * proof, i.e. last in top-down order. */
	if (!whole) {
		r.b[r.n] = lo, r.e[r.n] = hi;
		r.n++;
	}
	return emit_proof(src, &r, proof, proof_len);
}
