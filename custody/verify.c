/*
 * verify.c - recompute the ledger from its canonical bytes and compare
 * with everything stored and published (see verify.h for the list).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evstate.h"
#include "ledger_int.h"
#include "verify.h"

#define MAX_CKPTS 100000	/* checkpoint copies examined */
#define MAX_REPORTS 10000	/* findings passed to cb; all are counted */
#define MAX_PROOFS 32		/* consistency proofs tried on mismatches */

struct ck {
	uint64_t size;		/* from the file name / table column */
	char *note;
	size_t len;
	int ext;		/* 1 external file, 0 ledger table */
	int valid;		/* signature verified, size agrees */
	int fresh;		/* ledger copy < 10 s old: may be in flight */
	struct checkpoint cp;
};

struct item {
	struct cust_evstate st;
	int seen;
};

struct vctx {
	struct cust_ledger *l;
	const struct cust_verify_opts *o;
	cust_finding_cb cb;
	void *arg;
	struct cust_verify_result res;
	merkle_hash *leaves;
	uint64_t n, cap;
	struct ck *cks;
	size_t n_cks;
	struct item **map;
	size_t map_cap, map_n;
};

static void find(struct vctx *v, const char *cls, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void find(struct vctx *v, const char *cls, uint64_t seq, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (v->res.findings++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->cb(v->arg, cls, seq, msg);
}

/* ---- evidence map (open addressing, FNV-1a) ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int map_grow(struct vctx *v)
{
	size_t cap = v->map_cap ? v->map_cap * 2 : 1024, i, j;
	struct item **m = calloc(cap, sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (i = 0; i < v->map_cap; i++) {
		if (!v->map[i])
			continue;
		for (j = hash_str(v->map[i]->st.evidence_id) & (cap - 1); m[j];
		     j = (j + 1) & (cap - 1))
			;
		m[j] = v->map[i];
	}
	free(v->map);
	v->map = m;
	v->map_cap = cap;
	return 0;
}

/* Item for id; created (zeroed) if absent when create is set. */
static struct item *map_get(struct vctx *v, const char *id, int create)
{
	size_t j;

	if (create && (v->map_n + 1) * 2 > v->map_cap && map_grow(v))
		return NULL;
	if (!v->map_cap)
		return NULL;
	for (j = hash_str(id) & (v->map_cap - 1); v->map[j]; j = (j + 1) & (v->map_cap - 1))
		if (!strcmp(v->map[j]->st.evidence_id, id))
			return v->map[j];
	if (!create || !(v->map[j] = calloc(1, sizeof(struct item))))
		return NULL;
	snprintf(v->map[j]->st.evidence_id, sizeof(v->map[j]->st.evidence_id), "%s", id);
	v->map_n++;
	return v->map[j];
}

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

static int list_external(struct vctx *v)
{
	DIR *d;
	struct dirent *e;
	char *buf;
	size_t len = 0;
	int r = 0;

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
			find(v, "checkpoint-signature", 0, "external %s: unreadable: %s",
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

static int list_table(struct vctx *v)
{
	struct timespec now;
	sqlite3_stmt *s;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT size, note,"
				" created_ns > ?1 FROM checkpoints ORDER BY size", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(v->l, rc);
	clock_gettime(CLOCK_REALTIME, &now);
	sqlite3_bind_int64(s, 1, ((int64_t)now.tv_sec - 10) * 1000000000);
	while (!r && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 1);
		const void *t = sqlite3_column_blob(s, 1);
		if (n < 0 || n > CKPT_MAX_NOTE) {
			find(v, "checkpoint-signature", 0, "ledger checkpoint %lld: "
			     "oversized note", sqlite3_column_int64(s, 0));
			continue;
		}
		r = add_ck(v, (uint64_t)sqlite3_column_int64(s, 0), t ? t : "",
			   (size_t)n, 0);
		/* ordered by size: only the newest may be in flight */
		if (!r && v->n_cks > 1 && !v->cks[v->n_cks - 2].ext)
			v->cks[v->n_cks - 2].fresh = 0;
		if (!r)
			v->cks[v->n_cks - 1].fresh = sqlite3_column_int(s, 2);
	}
	if (!r && rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(v->l, rc);
	sqlite3_finalize(s);
	return r;
}

/* ---- events ---- */

static void name_fields(const struct cust_event *a, const struct cust_event *b,
			char *out, size_t cap)
{
	size_t o = 0;
#define F(cond, name) if (cond && o < cap) \
	o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "," : "", name);
	F(a->time_ns != b->time_ns, "time_ns")
	F(a->clock != b->clock, "clock")
	F(strcmp(a->agency_id, b->agency_id), "agency_id")
	F(a->actor_kind != b->actor_kind, "actor_kind")
	F(strcmp(a->actor_id, b->actor_id), "actor_id")
	F(a->action != b->action, "action")
	F(strcmp(a->evidence_id, b->evidence_id), "evidence_id")
	F(a->outcome != b->outcome, "outcome")
	F(strcmp(a->reason, b->reason), "reason")
	F(strcmp(a->case_no, b->case_no), "case_no")
	F(strcmp(a->details, b->details), "details")
#undef F
	if (!o && cap)
		snprintf(out, cap, "(none)");
}

static void replay(struct vctx *v, const struct cust_event *ev)
{
	struct item *it;
	int r;

	if (!ev->evidence_id[0])
		return;
	if (!(it = map_get(v, ev->evidence_id, 1))) {
		find(v, "record", ev->seq, "out of memory replaying %s", ev->evidence_id);
		return;
	}
	r = cust_evstate_apply(&it->st, ev, NULL);
	if (r == -EXDEV)
		find(v, "agency", ev->seq, "event names agency '%s' but item %s belongs"
		     " to '%s'", ev->agency_id, ev->evidence_id, it->st.agency_id);
	else if (r)
		find(v, "record", ev->seq, "event cannot be applied to %s: %s",
		     ev->evidence_id, strerror(-r));
}

static int check_row(struct vctx *v, sqlite3_stmt *s, struct cust_event *ev,
		     struct cust_event *tmp, uint8_t *enc)
{
	const void *canon = sqlite3_column_blob(s, 12);
	int clen = sqlite3_column_bytes(s, 12);
	const void *stored_leaf = sqlite3_column_blob(s, 13);
	uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
	const char *bad = "?";
	char fields[256];
	merkle_hash leaf;
	size_t len;
	int cols_ok, r;

	memset(ev, 0, sizeof(*ev));
	cols_ok = cust_ledger_row_event(s, 0, ev, &bad) == 0;
	if (!cols_ok)
		find(v, "unreadable-row", seq, "column %s has a wrong type or is too long", bad);
	if (!canon)
		canon = "";
	if (clen < 0)
		clen = 0;
	if ((r = merkle_leaf_hash(canon, (size_t)clen, leaf)))
		return r;
	memcpy(v->leaves[v->n], leaf, MERKLE_HASH_LEN);
	if (sqlite3_column_bytes(s, 13) != MERKLE_HASH_LEN ||
	    memcmp(stored_leaf, leaf, MERKLE_HASH_LEN))
		find(v, "leaf-hash", seq, "stored leaf hash is not H(0x00 || canonical bytes)");
	if (cols_ok) {
		len = cust_event_encode_fast(ev, enc);
		if (len == (size_t)clen && !memcmp(enc, canon, len)) {
			replay(v, ev);
			return 0;
		}
	}
	if (cust_event_decode(canon, (size_t)clen, tmp)) {
		find(v, "bad-encoding", seq, "canonical bytes do not decode as an event");
		return 0;
	}
	if (cols_ok && tmp->seq != ev->seq) {
		find(v, "moved", seq, "row %llu holds the event signed as seq %llu "
		     "(events reordered, inserted or deleted)",
		     (unsigned long long)seq, (unsigned long long)tmp->seq);
	} else if (cols_ok) {
		name_fields(ev, tmp, fields, sizeof(fields));
		find(v, "changed-field", seq, "columns differ from the canonical bytes: %s",
		     fields);
	}
	replay(v, tmp);	/* the canonical bytes are what was signed */
	return 0;
}

static int scan_events(struct vctx *v)
{
	sqlite3_stmt *s;
	struct cust_event *ev = malloc(2 * sizeof(*ev));
	uint8_t *enc = malloc(CUST_CANON_MAX);
	uint64_t expect = 1, seq;
	int rc, r = 0;

	if (!ev || !enc) {
		free(ev);
		free(enc);
		return -ENOMEM;
	}
	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT " CUST_EVENT_COLS
				", canon, leaf_hash FROM events ORDER BY seq", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		free(ev);
		free(enc);
		return cust_ledger_sqlerr(v->l, rc);
	}
	while (!r && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		seq = (uint64_t)sqlite3_column_int64(s, 0);
		if (seq != expect)
			find(v, "seq-gap", expect, "events %llu..%llu are missing (deleted)",
			     (unsigned long long)expect, (unsigned long long)seq - 1);
		expect = seq + 1;
		if (v->n == v->cap) {
			uint64_t nc = v->cap ? v->cap * 2 : 65536;
			merkle_hash *nl = realloc(v->leaves, nc * sizeof(*nl));
			if (!nl) {
				r = -ENOMEM;
				break;
			}
			v->leaves = nl;
			v->cap = nc;
		}
		r = check_row(v, s, &ev[0], &ev[1], enc);
		v->n++;
	}
	if (!r && rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(v->l, rc);
	sqlite3_finalize(s);
	free(ev);
	free(enc);
	v->res.events = v->n;
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
	size_t i;
	int r;

	for (i = 0; i < v->n_cks; i++) {
		struct ck *c = &v->cks[i];
		const char *where = c->ext ? "external" : "ledger";

		v->res.checkpoints++;
		r = checkpoint_parse_verify(c->note, c->len, v->o->keys, v->o->n_keys,
					    &c->cp, NULL);
		if (r == -ENOKEY)
			find(v, "checkpoint-unknown-key", 0, "%s checkpoint %llu: not signed "
			     "by any trusted key", where, (unsigned long long)c->size);
		else if (r)
			find(v, "checkpoint-signature", 0, "%s checkpoint %llu: %s (forged or "
			     "replaced)", where, (unsigned long long)c->size,
			     checkpoint_strerror(r));
		else if (c->cp.size != c->size)
			find(v, "checkpoint-mismatch", 0, "%s checkpoint %llu: signed tree "
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
				find(v, "checkpoints-inconsistent", b->size, "two signed "
				     "checkpoints of size %llu with different roots",
				     (unsigned long long)b->size);
		} else if ((!match[prev] || !match[i]) && b->size <= v->n &&
			   tries++ < MAX_PROOFS) {
			if (merkle_consistency_proof(&src, a->size, b->size, proof, &len) ||
			    merkle_verify_consistency(a->size, b->size, a->cp.root,
						      b->cp.root, proof, len))
				find(v, "checkpoints-inconsistent", b->size, "checkpoint %llu "
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
				find(v, "checkpoint-conflict", 0, "checkpoint %llu: the ledger's "
				     "copy and the external copy differ",
				     (unsigned long long)v->cks[i].size);
		}
		/* a checkpoint committed after the external directory was
		 * listed may still be on its way there (see verify.h) */
		if (twin || !v->o->ext_dir || !*v->o->ext_dir ||
		    (!v->cks[i].ext && v->cks[i].fresh))
			continue;
		find(v, v->cks[i].ext ? "checkpoint-missing" : "checkpoint-unpublished", 0,
		     v->cks[i].ext ? "checkpoint %llu was published but is missing from "
		     "the ledger" : "checkpoint %llu is not in the external directory",
		     (unsigned long long)v->cks[i].size);
	}
}

static int check_checkpoints(struct vctx *v)
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
			find(v, "truncated", v->n + 1, "%s checkpoint covers %llu events but"
			     " the ledger holds %llu: events %llu..%llu are missing",
			     c->ext ? "external" : "ledger", (unsigned long long)c->size,
			     (unsigned long long)v->n, (unsigned long long)v->n + 1,
			     (unsigned long long)c->size);
		} else if (memcmp(roots[i], c->cp.root, MERKLE_HASH_LEN)) {
			find(v, "checkpoint-root", good + 1, "%s checkpoint %llu: signed root"
			     " differs from the recomputed one: events %llu..%llu were "
			     "changed, inserted, deleted or reordered",
			     c->ext ? "external" : "ledger", (unsigned long long)c->size,
			     (unsigned long long)good + 1, (unsigned long long)c->size);
		} else {
			match[i] = 1;
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
			find(v, "frontier", 0, "stored Merkle frontier is unreadable");
		else if (!r && (f.size != v->n || merkle_frontier_root(&f, froot) ||
				memcmp(froot, last, MERKLE_HASH_LEN)))
			find(v, "frontier", f.size, "stored Merkle frontier (size %llu) does"
			     " not match the recomputed tree (size %llu)",
			     (unsigned long long)f.size, (unsigned long long)v->n);
		if (r == -EUCLEAN)
			r = 0;
	}
	free(roots);
	free(match);
	return r;
}

/* ---- evidence records ---- */

static int check_records(struct vctx *v)
{
	sqlite3_stmt *s;
	struct cust_evstate st;
	struct item *it;
	char what[640];
	uint64_t cases_rows = 0, cases_want = 0;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT " CUST_EVSTATE_COLS
				" FROM evidence", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(v->l, rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cust_evstate_from_row(s, &st);
		it = map_get(v, st.evidence_id, 0);
		if (!it) {
			find(v, "record-orphan", st.last_seq, "evidence record %s has no "
			     "events", st.evidence_id);
			continue;
		}
		it->seen = 1;
		if (cust_evstate_diff(&st, &it->st, what, sizeof(what)))
			find(v, "record", it->st.last_seq, "evidence record %s disagrees "
			     "with its events: %s (stored vs replayed)", st.evidence_id, what);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cust_ledger_sqlerr(v->l, rc);
	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT evidence_id, case_no"
				" FROM evidence_cases", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(v->l, rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *cn = (const char *)sqlite3_column_text(s, 1);
		char pat[CUST_CASES_MAX + 2], in[CUST_CASES_MAX + 2];
		cases_rows++;
		it = id ? map_get(v, id, 0) : NULL;
		snprintf(pat, sizeof(pat), ",%s,", cn ? cn : "");
		if (it)
			snprintf(in, sizeof(in), ",%s,", it->st.cases);
		if (!it || !strstr(in, pat))
			find(v, "cases", it ? it->st.last_seq : 0, "case index lists %s "
			     "for %s, which no event justifies", cn ? cn : "?", id ? id : "?");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cust_ledger_sqlerr(v->l, rc);
	for (i = 0; i < v->map_cap; i++) {
		const char *p;
		if (!(it = v->map[i]))
			continue;
		v->res.items++;
		for (p = it->st.cases; *p; p++)
			cases_want += (p == it->st.cases || *p == ',');
		if (!it->seen)
			find(v, "record-missing", it->st.first_seq, "item %s has events but"
			     " no evidence record", it->st.evidence_id);
	}
	if (cases_rows != cases_want)
		find(v, "cases", 0, "case index has %llu entries, events justify %llu",
		     (unsigned long long)cases_rows, (unsigned long long)cases_want);
	return 0;
}

int cust_verify(struct cust_ledger *l, const struct cust_verify_opts *o,
		cust_finding_cb cb, void *arg, struct cust_verify_result *res)
{
	struct vctx v;
	size_t i;
	int r;

	memset(&v, 0, sizeof(v));
	v.l = l;
	v.o = o;
	v.cb = cb;
	v.arg = arg;
	/* published checkpoints first: see verify.h */
	r = list_external(&v);
	if (!r && (r = sqlite3_exec(cust_ledger_db(l), "BEGIN", NULL, NULL, NULL)))
		r = cust_ledger_sqlerr(l, r);
	if (!r) {
		if (!(r = list_table(&v)) && !(r = scan_events(&v)) &&
		    !(r = check_checkpoints(&v)))
			r = check_records(&v);
		sqlite3_exec(cust_ledger_db(l), "COMMIT", NULL, NULL, NULL);
	}
	for (i = 0; i < v.n_cks; i++)
		free(v.cks[i].note);
	for (i = 0; i < v.map_cap; i++)
		free(v.map[i]);
	free(v.cks);
	free(v.map);
	free(v.leaves);
	if (!r)
		*res = v.res;
	return r;
}
