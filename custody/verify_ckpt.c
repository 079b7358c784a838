/*
 * verify_ckpt.c - the checkpoint half of `custody verify`: collect the
 * ledger's and the external copies, check signatures, the recomputed
 * roots at every checkpoint size, copies, pairwise consistency and the
 * stored frontier (see verify.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verify_int.h"

#define MAX_CKPTS 100000	/* checkpoint copies examined */
#define MAX_PROOFS 32		/* consistency proofs tried on mismatches */

/* ---- checkpoints ---- */

static int add_ck(struct vctx *v, uint64_t size, const char *note, size_t len, int ext)
{
	struct ck *c;

	if (v->n_cks % 256 == 0) {
		if (v->n_cks >= MAX_CKPTS)
			return -E2BIG;
		c = realloc(v->cks, (v->n_cks + 256) * sizeof(*c));
		if (!c)
			return -ENOMEM;
		v->cks = c;
	}
	c = &v->cks[v->n_cks];
	memset(c, 0, sizeof(*c));
	if (!(c->note = malloc(len + 1)))
		return -ENOMEM;
	memcpy(c->note, note, len);
	c->note[len] = '\0';
	c->len = len;
	c->size = size;
	c->ext = ext;
	v->n_cks++;
	return 0;
}

static int read_small(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < cap && (n = read(fd, buf + off, cap - off)) > 0)
		off += (size_t)n;
	close(fd);
	if (off >= cap)
		return -E2BIG;
	*len = off;
	return 0;
}

int verify_list_external(struct vctx *v)
{
	DIR *d;
	struct dirent *e;
	char *buf;
	struct timespec now;
	size_t len = 0;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	v->listed_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (!v->o->ext_dir || !*v->o->ext_dir)
		return 0;
	if (!(d = opendir(v->o->ext_dir))) {
		r = -errno;
		cust_ledger_seterr(v->l, "%s: %s", v->o->ext_dir, strerror(errno));
		return r;
	}
	if (!(buf = malloc(CKPT_MAX_NOTE + 1))) {
		closedir(d);
		return -ENOMEM;
	}
	while (!r && (e = readdir(d))) {
		const char *num = e->d_name + 11;
		char *end;
		unsigned long long size;

		if (strncmp(e->d_name, "checkpoint.", 11) || !*num ||
		    strspn(num, "0123456789") != strlen(num))
			continue;
		size = strtoull(num, &end, 10);
		r = read_small(dirfd(d), e->d_name, buf, CKPT_MAX_NOTE + 1, &len);
		if (r) {
			verify_find(v, "checkpoint-signature", 0, "external %s: unreadable: %s",
			     e->d_name, strerror(-r));
			r = 0;
			continue;
		}
		r = add_ck(v, size, buf, len, 1);
	}
	free(buf);
	closedir(d);
	return r;
}

int verify_list_table(struct vctx *v)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT size, note,"
				" created_ns > ?1 FROM checkpoints ORDER BY size", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(v->l, rc);
	/* Any checkpoint signed less than 10 s before the external directory
	 * was listed may have reached it only after the listing - several
	 * of them when another process appends quickly. Older ones had
	 * ample time: missing means unpublished (crash) or deleted. */
	sqlite3_bind_int64(s, 1, v->listed_ns - (int64_t)10 * 1000000000);
	while (!r && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 1);
		const void *t = sqlite3_column_blob(s, 1);
		if (n < 0 || n > CKPT_MAX_NOTE) {
			verify_find(v, "checkpoint-signature", 0, "ledger checkpoint %lld: "
			     "oversized note", sqlite3_column_int64(s, 0));
			continue;
		}
		r = add_ck(v, (uint64_t)sqlite3_column_int64(s, 0), t ? t : "",
			   (size_t)n, 0);
		if (!r)
			v->cks[v->n_cks - 1].fresh = sqlite3_column_int(s, 2);
	}
	if (!r && rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(v->l, rc);
	sqlite3_finalize(s);
	return r;
}

/* ---- tree and checkpoints ---- */

static int cmp_ck(const void *a, const void *b)
{
	const struct ck *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->ext - y->ext;
}

static void check_signatures(struct vctx *v)
{
	const struct ckpt_vkey *keys = v->o->keys;
	size_t i, nk = v->o->n_keys, signer = 0;
	int r;

	if (v->ag)	/* agency mode: only agency-certified keys */
		verify_agency_keys(v, &keys, &nk);
	for (i = 0; i < v->n_cks; i++) {
		struct ck *c = &v->cks[i];
		const char *where = c->ext ? "external" : "ledger";

		v->res.checkpoints++;
		r = checkpoint_parse_verify(c->note, c->len, keys, nk, &c->cp, &signer);
		if (r == -ENOKEY)
			verify_find(v, "checkpoint-unknown-key", 0, "%s checkpoint %llu: not signed "
			     "by any trusted key", where, (unsigned long long)c->size);
		else if (r)
			verify_find(v, "checkpoint-signature", 0, "%s checkpoint %llu: %s (forged or "
			     "replaced)", where, (unsigned long long)c->size,
			     checkpoint_strerror(r));
		else if (strcmp(c->cp.origin, keys[signer].name))
			/* a key signs for one log: a note of another log proves
			 * nothing about this one, whatever its root */
			verify_find(v, "checkpoint-signature", 0, "%s checkpoint %llu: origin '%s'"
			     " is not the log of key '%s'", where, (unsigned long long)c->size,
			     c->cp.origin, keys[signer].name);
		else if (c->cp.size != c->size)
			verify_find(v, "checkpoint-mismatch", 0, "%s checkpoint %llu: signed tree "
			     "size is %llu", where, (unsigned long long)c->size,
			     (unsigned long long)c->cp.size);
		else
			c->valid = 1;
	}
}

/* Roots of the recomputed tree at every checkpoint size <= n, the final
 * root into last. roots[i] belongs to cks[i] (sorted by size). */
static int compute_roots(struct vctx *v, merkle_hash *roots, merkle_hash last)
{
	struct merkle_frontier f;
	uint64_t i;
	size_t k = 0;
	int r;

	merkle_frontier_init(&f);
	while (k < v->n_cks && v->cks[k].size == 0)
		merkle_empty_root(roots[k++]);
	for (i = 0; i < v->n; i++) {
		if ((r = merkle_frontier_append(&f, v->leaves[i])))
			return r;
		while (k < v->n_cks && v->cks[k].size == f.size)
			if ((r = merkle_frontier_root(&f, roots[k++])))
				return r;
	}
	return merkle_frontier_root(&f, last);
}

static int src_leaves(void *ctx, uint64_t begin, uint64_t count, merkle_hash *out)
{
	struct vctx *v = ctx;

	if (begin + count > v->n)
		return -EINVAL;
	memcpy(out, v->leaves + begin, count * sizeof(merkle_hash));
	return 0;
}

/* Adjacent validly signed checkpoints a < b where one disagrees with the
 * ledger: can the ledger prove b extends a? If not, they are not
 * consistent with each other (or the ledger was rewritten in between). */
static void check_pairs(struct vctx *v, const int *match)
{
	struct merkle_source src = { v, src_leaves, NULL };
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t i, prev = (size_t)-1, len, tries = 0;

	for (i = 0; i < v->n_cks; i++) {
		struct ck *a, *b;
		if (!v->cks[i].valid)
			continue;
		if (prev == (size_t)-1) {
			prev = i;
			continue;
		}
		a = &v->cks[prev];
		b = &v->cks[i];
		if (a->size == b->size) {
			if (memcmp(a->cp.root, b->cp.root, MERKLE_HASH_LEN))
				verify_find(v, "checkpoints-inconsistent", b->size, "two signed "
				     "checkpoints of size %llu with different roots",
				     (unsigned long long)b->size);
		} else if ((!match[prev] || !match[i]) && b->size <= v->n &&
			   tries++ < MAX_PROOFS) {
			if (merkle_consistency_proof(&src, a->size, b->size, proof, &len) ||
			    merkle_verify_consistency(a->size, b->size, a->cp.root,
						      b->cp.root, proof, len))
				verify_find(v, "checkpoints-inconsistent", b->size, "checkpoint %llu "
				     "is not an append-only extension of checkpoint %llu",
				     (unsigned long long)b->size, (unsigned long long)a->size);
		}
		prev = i;
	}
}

static void check_copies(struct vctx *v)
{
	size_t i, j;

	for (i = 0; i < v->n_cks; i++) {
		int twin = 0;
		for (j = 0; j < v->n_cks; j++) {
			if (j == i || v->cks[j].size != v->cks[i].size ||
			    v->cks[j].ext == v->cks[i].ext)
				continue;
			twin = 1;
			if (i < j && (v->cks[i].len != v->cks[j].len ||
				      memcmp(v->cks[i].note, v->cks[j].note, v->cks[i].len)))
				verify_find(v, "checkpoint-conflict", 0, "checkpoint %llu: the ledger's "
				     "copy and the external copy differ",
				     (unsigned long long)v->cks[i].size);
		}
		/* a checkpoint committed after the external directory was
		 * listed may still be on its way there (see verify.h) */
		if (twin || !v->o->ext_dir || !*v->o->ext_dir ||
		    (!v->cks[i].ext && v->cks[i].fresh))
			continue;
		verify_find(v, v->cks[i].ext ? "checkpoint-missing" : "checkpoint-unpublished", 0,
		     v->cks[i].ext ? "checkpoint %llu was published but is missing from "
		     "the ledger" : "checkpoint %llu is not in the external directory",
		     (unsigned long long)v->cks[i].size);
	}
}

/* 1 if an earlier copy (the list is sorted by size) of the same size as
 * copy i matched the recomputed root. */
static int same_size_matched(const struct vctx *v, const int *match, size_t i)
{
	size_t j;

	for (j = i; j-- > 0 && v->cks[j].size == v->cks[i].size;)
		if (match[j])
			return 1;
	return 0;
}

int verify_check_checkpoints(struct vctx *v)
{
	merkle_hash *roots, last;
	int *match;
	uint64_t good = 0;
	size_t i;
	int r;

	if (v->n_cks)
		qsort(v->cks, v->n_cks, sizeof(*v->cks), cmp_ck);
	roots = calloc(v->n_cks + 1, sizeof(*roots));
	match = calloc(v->n_cks + 1, sizeof(*match));
	if (!roots || !match) {
		free(roots);
		free(match);
		return -ENOMEM;
	}
	check_signatures(v);
	r = compute_roots(v, roots, last);
	for (i = 0; !r && i < v->n_cks; i++) {
		struct ck *c = &v->cks[i];
		if (!c->valid)
			continue;
		if (c->size > v->res.newest_checkpoint)
			v->res.newest_checkpoint = c->size;
		if (c->size > v->n) {
			verify_find(v, "truncated", v->n + 1, "%s checkpoint covers %llu events but"
			     " the ledger holds %llu: events %llu..%llu are missing",
			     c->ext ? "external" : "ledger", (unsigned long long)c->size,
			     (unsigned long long)v->n, (unsigned long long)v->n + 1,
			     (unsigned long long)c->size);
		} else if (memcmp(roots[i], c->cp.root, MERKLE_HASH_LEN) &&
			   same_size_matched(v, match, i)) {
			/* another copy of this size matched: there is no range of
			 * changed events to name, this copy is a conflicting
			 * signature over another tree (a fork) */
			verify_find(v, "checkpoint-root", c->size, "%s checkpoint %llu: signed root"
			     " differs from the recomputed one, which another signed copy of"
			     " checkpoint %llu matches: conflicting checkpoints (a fork)",
			     c->ext ? "external" : "ledger", (unsigned long long)c->size,
			     (unsigned long long)c->size);
		} else if (memcmp(roots[i], c->cp.root, MERKLE_HASH_LEN)) {
			verify_find(v, "checkpoint-root", good + 1, "%s checkpoint %llu: signed root"
			     " differs from the recomputed one: events %llu..%llu were "
			     "changed, inserted, deleted or reordered",
			     c->ext ? "external" : "ledger", (unsigned long long)c->size,
			     (unsigned long long)good + 1, (unsigned long long)c->size);
		} else {
			match[i] = c->matched = 1;
			good = c->size;
		}
	}
	if (!r) {
		check_pairs(v, match);
		check_copies(v);
	}
	if (!r) {
		struct merkle_frontier f;
		merkle_hash froot;
		r = cust_ledger_frontier(v->l, &f);
		if (r == -EUCLEAN)
			verify_find(v, "frontier", 0, "stored Merkle frontier is unreadable");
		else if (!r && (f.size != v->n || merkle_frontier_root(&f, froot) ||
				memcmp(froot, last, MERKLE_HASH_LEN)))
			verify_find(v, "frontier", f.size, "stored Merkle frontier (size %llu) does"
			     " not match the recomputed tree (size %llu)",
			     (unsigned long long)f.size, (unsigned long long)v->n);
		if (r == -EUCLEAN)
			r = 0;
	}
	free(roots);
	free(match);
	return r;
}
