/*
 * verify.c - recompute the ledger from its canonical bytes and compare
 * with everything stored and published (see verify.h for the list):
 * the event scan (encoding, leaf hashes, replay) and the evidence
 * records here; checkpoints and tree roots in verify_ckpt.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_facts.h"
#include "verify_int.h"

#define MAX_REPORTS 10000	/* findings passed to cb; all are counted */

void verify_find(struct vctx *v, const char *cls, uint64_t seq, const char *fmt, ...)
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

	verify_facts_event(v, ev);	/* users, cameras, origin */
	if (v->ag)
		verify_agency_event(v, ev);
	if (!ev->evidence_id[0])
		return;
	if (!(it = map_get(v, ev->evidence_id, 1))) {
		verify_find(v, "record", ev->seq, "out of memory replaying %s", ev->evidence_id);
		return;
	}
	r = cust_evstate_apply(&it->st, ev, NULL);
	if (r == -EXDEV)
		verify_find(v, "agency", ev->seq, "event names agency '%s' but item %s belongs"
		     " to '%s'", ev->agency_id, ev->evidence_id, it->st.agency_id);
	else if (r)
		verify_find(v, "record", ev->seq, "event cannot be applied to %s: %s",
		     ev->evidence_id, strerror(-r));
	if (ev->action == CUST_A_STORAGE_VERIFIED || ev->action == CUST_A_FIXITY_CHECKED ||
	    ev->action == CUST_A_REPAIRED)
		verify_fixity_event(v, it, ev);
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
		verify_find(v, "unreadable-row", seq, "column %s has a wrong type or is too long", bad);
	if (!canon)
		canon = "";
	if (clen < 0)
		clen = 0;
	if ((r = merkle_leaf_hash(canon, (size_t)clen, leaf)))
		return r;
	memcpy(v->leaves[v->n], leaf, MERKLE_HASH_LEN);
	if (sqlite3_column_bytes(s, 13) != MERKLE_HASH_LEN ||
	    memcmp(stored_leaf, leaf, MERKLE_HASH_LEN))
		verify_find(v, "leaf-hash", seq, "stored leaf hash is not H(0x00 || canonical bytes)");
	/* the signed bytes are always decoded strictly (known enums, text
	 * rules, canonical details), even when the columns reproduce them:
	 * a row written around the append path must not pass just because
	 * its columns and blob agree */
	if (cust_event_decode(canon, (size_t)clen, tmp)) {
		verify_find(v, "bad-encoding", seq, "canonical bytes do not decode as a valid "
			    "event (unknown enum, bad text or non-canonical details)");
		return 0;
	}
	if (cols_ok) {
		len = cust_event_encode_fast(ev, enc);
		if (len == (size_t)clen && !memcmp(enc, canon, len)) {
			replay(v, tmp);
			return 0;
		}
	}
	if (cols_ok && tmp->seq != ev->seq) {
		verify_find(v, "moved", seq, "row %llu holds the event signed as seq %llu "
		     "(events reordered, inserted or deleted)",
		     (unsigned long long)seq, (unsigned long long)tmp->seq);
	} else if (cols_ok) {
		name_fields(ev, tmp, fields, sizeof(fields));
		verify_find(v, "changed-field", seq, "columns differ from the canonical bytes: %s",
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
			verify_find(v, "seq-gap", expect, "events %llu..%llu are missing (deleted)",
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
			verify_find(v, "record-orphan", st.last_seq, "evidence record %s has no "
			     "events", st.evidence_id);
			continue;
		}
		it->seen = 1;
		if (cust_evstate_diff(&st, &it->st, what, sizeof(what)))
			verify_find(v, "record", it->st.last_seq, "evidence record %s disagrees "
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
		/* whole-element match in the 0x1F-joined list (a case number
		 * may contain commas, never the separator) */
		snprintf(pat, sizeof(pat), CUST_CASE_SEP_S "%s" CUST_CASE_SEP_S, cn ? cn : "");
		if (it)
			snprintf(in, sizeof(in), CUST_CASE_SEP_S "%s" CUST_CASE_SEP_S, it->st.cases);
		if (!it || !cn || strlen(cn) > CUST_CASE_MAX || strchr(cn, CUST_CASE_SEP) ||
		    !strstr(in, pat))
			verify_find(v, "cases", it ? it->st.last_seq : 0, "case index lists %s "
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
			cases_want += (p == it->st.cases || *p == CUST_CASE_SEP);
		if (!it->seen)
			verify_find(v, "record-missing", it->st.first_seq, "item %s has events but"
			     " no evidence record", it->st.evidence_id);
	}
	if (cases_rows != cases_want)
		verify_find(v, "cases", 0, "case index has %llu entries, events justify %llu",
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
	r = o->agency ? verify_agency_init(&v) : 0;
	if (!r)
		r = verify_list_external(&v);
	if (!r && (r = sqlite3_exec(cust_ledger_db(l), "BEGIN", NULL, NULL, NULL)))
		r = cust_ledger_sqlerr(l, r);
	if (!r) {
		if (!(r = verify_list_table(&v)) && !(r = scan_events(&v)) &&
		    !(r = verify_check_checkpoints(&v)))
			r = check_records(&v);
		if (!r)
			r = verify_facts_tables(&v);
		if (!r && v.ag)
			r = verify_agency_finish(&v);
		sqlite3_exec(cust_ledger_db(l), "COMMIT", NULL, NULL, NULL);
	}
	verify_facts_free(&v);
	for (i = 0; i < v.n_cks; i++)
		free(v.cks[i].note);
	for (i = 0; i < v.map_cap; i++)
		free(v.map[i]);
	free(v.cks);
	free(v.map);
	free(v.leaves);
	verify_agency_free(&v);
	if (!r)
		*res = v.res;
	return r;
}
