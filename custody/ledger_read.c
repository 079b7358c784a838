/*
 * ledger_read.c - reading events, items, the frontier and leaf hashes
 * (see ledger.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

static int prep(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(l->db, sql, -1, s, NULL);

	return rc == SQLITE_OK ? 0 : cust_ledger_sqlerr(l, rc);
}

int cust_ledger_size(struct cust_ledger *l, uint64_t *n)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT coalesce(max(seq), 0) FROM events", &s)))
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	r = rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r;
}

static int col_text(sqlite3_stmt *s, int i, char *dst, size_t cap, int null_ok)
{
	int t = sqlite3_column_type(s, i);
	const unsigned char *v;
	int n;

	if (t == SQLITE_NULL && null_ok) {
		dst[0] = '\0';
		return 0;
	}
	if (t != SQLITE_TEXT)
		return -EBADMSG;
	v = sqlite3_column_text(s, i);
	n = sqlite3_column_bytes(s, i);
	if (!v || n < 0 || (size_t)n >= cap || memchr(v, 0, (size_t)n))
		return -EBADMSG;
	memcpy(dst, v, (size_t)n);
	dst[n] = '\0';
	return 0;
}

static int col_int(sqlite3_stmt *s, int i, int64_t *v)
{
	if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
		return -EBADMSG;
	*v = sqlite3_column_int64(s, i);
	return 0;
}

int cust_ledger_row_event(sqlite3_stmt *s, int c, struct cust_event *ev,
			  const char **bad)
{
	int64_t v[7];

#define CHK(x, name) if (x) { if (bad) *bad = name; return -EBADMSG; }
	CHK(col_int(s, c + 0, &v[0]), "seq")
	CHK(col_int(s, c + 1, &v[1]), "time_ns")
	CHK(col_int(s, c + 2, &v[2]), "clock")
	CHK(col_text(s, c + 3, ev->agency_id, sizeof(ev->agency_id), 0), "agency_id")
	CHK(col_int(s, c + 4, &v[3]), "actor_kind")
	CHK(col_text(s, c + 5, ev->actor_id, sizeof(ev->actor_id), 0), "actor_id")
	CHK(col_int(s, c + 6, &v[4]), "action")
	CHK(col_text(s, c + 7, ev->evidence_id, sizeof(ev->evidence_id), 1), "evidence_id")
	CHK(col_int(s, c + 8, &v[5]), "outcome")
	CHK(col_text(s, c + 9, ev->reason, sizeof(ev->reason), 0), "reason")
	CHK(col_text(s, c + 10, ev->case_no, sizeof(ev->case_no), 0), "case_no")
	CHK(col_text(s, c + 11, ev->details, sizeof(ev->details), 0), "details")
	CHK(v[2] < 0 || v[2] > 255, "clock")
	CHK(v[3] < 0 || v[3] > 255, "actor_kind")
	CHK(v[4] < 0 || v[4] > 65535, "action")
	CHK(v[5] < 0 || v[5] > 255, "outcome")
#undef CHK
	ev->seq = (uint64_t)v[0];
	ev->time_ns = v[1];
	ev->clock = (enum cust_clock)v[2];
	ev->actor_kind = (enum cust_actor_kind)v[3];
	ev->action = (enum cust_action)v[4];
	ev->outcome = (enum cust_outcome)v[5];
	return 0;
}

int cust_ledger_foreach(struct cust_ledger *l, const char *evidence_id,
			uint64_t from, uint64_t to, cust_event_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct cust_event ev;
	const char *bad = "?";
	int rc, r;

	r = prep(l, evidence_id ?
		 "SELECT " CUST_EVENT_COLS " FROM events WHERE evidence_id = ?3"
		 " AND seq >= ?1 AND seq <= ?2 ORDER BY seq" :
		 "SELECT " CUST_EVENT_COLS " FROM events WHERE seq >= ?1"
		 " AND seq <= ?2 ORDER BY seq", &s);
	if (r)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(s, 2, to ? (sqlite3_int64)to : INT64_MAX);
	if (evidence_id)
		sqlite3_bind_text(s, 3, evidence_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		if ((r = cust_ledger_row_event(s, 0, &ev, &bad))) {
			cust_ledger_seterr(l, "%s: event row unreadable (column %s)",
					   l->path, bad);
			break;
		}
		if ((r = cb(arg, &ev)))
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r;
}

static int copy_cb(void *arg, const struct cust_event *ev)
{
	*(struct cust_event *)arg = *ev;
	return 1;
}

int cust_ledger_get(struct cust_ledger *l, uint64_t seq, struct cust_event *out)
{
	struct cust_event *tmp = malloc(sizeof(*tmp));
	int r;

	if (!tmp)
		return -ENOMEM;
	r = cust_ledger_foreach(l, NULL, seq, seq, copy_cb, tmp);
	if (r == 1)
		*out = *tmp;
	free(tmp);
	return r == 1 ? 0 : r ? r : -ENOENT;
}

int cust_ledger_item_agency(struct cust_ledger *l, const char *evidence_id,
			    char *buf, size_t cap)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT agency_id FROM evidence WHERE evidence_id = ?1", &s)))
		return r;
	sqlite3_bind_text(s, 1, evidence_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(s, 0);
		r = (a && strlen(a) < cap) ? 0 : -ENOSPC;
		if (!r)
			memcpy(buf, a, strlen(a) + 1);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : cust_ledger_sqlerr(l, rc);
	}
	sqlite3_finalize(s);
	return r;
}

int cust_ledger_frontier(struct cust_ledger *l, struct merkle_frontier *f)
{
	sqlite3_stmt *s;
	int rc, r;

	if ((r = prep(l, "SELECT frontier FROM tree WHERE id = 1", &s)))
		return r;
	rc = sqlite3_step(s);
	r = rc == SQLITE_ROW ? merkle_frontier_import(f, sqlite3_column_blob(s, 0),
			(size_t)sqlite3_column_bytes(s, 0)) :
		rc == SQLITE_DONE ? -EUCLEAN : cust_ledger_sqlerr(l, rc);
	sqlite3_finalize(s);
	return r == -EBADMSG ? -EUCLEAN : r;
}

int cust_ledger_leaf_hashes(void *ledger, uint64_t begin, uint64_t count,
			    merkle_hash *out)
{
	struct cust_ledger *l = ledger;
	sqlite3_stmt *s;
	uint64_t i = 0;
	int rc, r;

	if ((r = prep(l, "SELECT seq, leaf_hash FROM events WHERE seq > ?1 AND"
		      " seq <= ?2 ORDER BY seq", &s)))
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)begin);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(begin + count));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && i < count) {
		if ((uint64_t)sqlite3_column_int64(s, 0) != begin + i + 1 ||
		    sqlite3_column_bytes(s, 1) != MERKLE_HASH_LEN) {
			r = -EUCLEAN;
			break;
		}
		memcpy(out[i++], sqlite3_column_blob(s, 1), MERKLE_HASH_LEN);
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = cust_ledger_sqlerr(l, rc);
	if (!r && i != count)
		r = -EUCLEAN;
	sqlite3_finalize(s);
	return r;
}

int cust_mem_leaves_get(void *ctx, uint64_t begin, uint64_t count, merkle_hash *out)
{
	struct cust_mem_leaves *m = ctx;

	if (begin + count > m->n)
		return -EINVAL;
	memcpy(out, m->leaves + begin, count * sizeof(merkle_hash));
	return 0;
}

int cust_mem_leaves_load(struct cust_ledger *l, uint64_t size, struct cust_mem_leaves *m,
			 merkle_hash root)
{
	struct merkle_frontier f;
	merkle_hash *leaves;
	merkle_hash rt;
	uint64_t i;
	int r = 0;

	if (!(leaves = malloc((size ? size : 1) * sizeof(merkle_hash))))
		return -ENOMEM;
	for (i = 0; i < size && !r; i += MERKLE_SOURCE_CHUNK)
		r = cust_ledger_leaf_hashes(l, i, size - i < MERKLE_SOURCE_CHUNK ?
					    size - i : MERKLE_SOURCE_CHUNK, leaves + i);
	merkle_frontier_init(&f);
	for (i = 0; !r && i < size; i++)
		r = merkle_frontier_append(&f, leaves[i]);
	if (!r)
		r = merkle_frontier_root(&f, rt);
	if (r) {
		free(leaves);
		return r;
	}
	m->leaves = leaves;
	m->n = size;
	memcpy(root, rt, sizeof(rt));
	return 0;
}
