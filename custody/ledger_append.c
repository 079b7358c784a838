/*
 * ledger_append.c - durable appends with group commit: seq assignment,
 * canonical encoding, leaf hash, Merkle frontier and the derived evidence
 * record, all in one transaction (see ledger.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evstate.h"
#include "ledger_int.h"

static int step_done(struct cust_ledger *l, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(l, rc);
}

static int load_tree(struct cust_ledger *l, struct merkle_frontier *f)
{
	sqlite3_stmt *s = l->st[LST_GET_TREE];
	int rc = sqlite3_step(s), r = -EUCLEAN;

	if (rc == SQLITE_ROW)
		r = merkle_frontier_import(f, sqlite3_column_blob(s, 0),
					   (size_t)sqlite3_column_bytes(s, 0));
	else if (rc != SQLITE_DONE)
		r = cust_ledger_sqlerr(l, rc);
	sqlite3_reset(s);
	if (r == -EBADMSG || (r && rc == SQLITE_DONE)) {
		cust_ledger_seterr(l, "%s: stored Merkle frontier unreadable", l->path);
		r = -EUCLEAN;
	}
	return r;
}

static int max_seq(struct cust_ledger *l, uint64_t *n)
{
	sqlite3_stmt *s = l->st[LST_MAX_SEQ];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v, int null_if_empty)
{
	if (null_if_empty && !*v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int insert_event(struct cust_ledger *l, const struct cust_event *ev,
			const uint8_t *canon, size_t len, const merkle_hash leaf)
{
	sqlite3_stmt *s = l->st[LST_INS_EVENT];
	int rc = 0;

	rc |= sqlite3_bind_int64(s, 1, (sqlite3_int64)ev->seq);
	rc |= sqlite3_bind_int64(s, 2, ev->time_ns);
	rc |= sqlite3_bind_int(s, 3, (int)ev->clock);
	rc |= bind_text(s, 4, ev->agency_id, 0);
	rc |= sqlite3_bind_int(s, 5, (int)ev->actor_kind);
	rc |= bind_text(s, 6, ev->actor_id, 0);
	rc |= sqlite3_bind_int(s, 7, (int)ev->action);
	rc |= bind_text(s, 8, ev->evidence_id, 1);
	rc |= sqlite3_bind_int(s, 9, (int)ev->outcome);
	rc |= bind_text(s, 10, ev->reason, 0);
	rc |= bind_text(s, 11, ev->case_no, 0);
	rc |= bind_text(s, 12, ev->details, 0);
	rc |= sqlite3_bind_blob(s, 13, canon, (int)len, SQLITE_STATIC);
	rc |= sqlite3_bind_blob(s, 14, leaf, MERKLE_HASH_LEN, SQLITE_STATIC);
	if (rc) {
		sqlite3_reset(s);
		return cust_ledger_sqlerr(l, rc);
	}
	return step_done(l, s);
}

/* Derived evidence record: load, apply, store - same transaction. */
static int update_state(struct cust_ledger *l, const struct cust_event *ev)
{
	struct cust_evstate st;
	sqlite3_stmt *s = l->st[LST_SEL_STATE];
	int rc, r, added = 0;

	memset(&st, 0, sizeof(st));
	sqlite3_bind_text(s, 1, ev->evidence_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, &st);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cust_ledger_sqlerr(l, rc);
	r = cust_evstate_apply(&st, ev, &added);
	if (r == -EXDEV)
		cust_ledger_seterr(l, "event for %s names agency '%s' but the item "
				   "belongs to '%s'", ev->evidence_id, ev->agency_id,
				   st.agency_id);
	if (r)
		return r;
	s = l->st[LST_UPSERT_STATE];
	if (cust_evstate_bind(s, &st)) {
		sqlite3_reset(s);
		return -EIO;
	}
	if ((r = step_done(l, s)))
		return r;
	{
		char gone[CUST_CASE_MAX + 1];
		if (cust_evstate_unassigned_case(ev, gone, sizeof(gone))) {
			s = l->st[LST_DEL_CASE];
			sqlite3_bind_text(s, 1, ev->evidence_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, gone, -1, SQLITE_TRANSIENT);
			if ((r = step_done(l, s)))
				return r;
		}
	}
	if (!added)
		return 0;
	s = l->st[LST_INS_CASE];
	sqlite3_bind_text(s, 1, ev->evidence_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ev->case_no, -1, SQLITE_STATIC);
	return step_done(l, s);
}

static int append_locked(struct cust_ledger *l, struct cust_event *evs, size_t n)
{
	struct merkle_frontier f;
	uint8_t canon[CUST_CANON_MAX], fb[MERKLE_FRONTIER_MAX_BYTES];
	merkle_hash leaf;
	uint64_t top = 0;
	size_t i, len;
	int r;

	if ((r = load_tree(l, &f)) || (r = max_seq(l, &top)))
		return r;
	if (top != f.size) {
		cust_ledger_seterr(l, "%s: %llu events but the Merkle frontier holds "
				   "%llu: refusing to append (run custody verify)",
				   l->path, (unsigned long long)top,
				   (unsigned long long)f.size);
		return -EUCLEAN;
	}
	for (i = 0; i < n; i++) {
		evs[i].seq = f.size + 1;
		len = cust_event_encode_fast(&evs[i], canon);
		if ((r = merkle_leaf_hash(canon, len, leaf)) ||
		    (r = merkle_frontier_append(&f, leaf)))
			return r;
		if (evs[i].evidence_id[0] && (r = update_state(l, &evs[i])))
			return r;
		if ((r = insert_event(l, &evs[i], canon, len, leaf)))
			return r;
	}
	if ((r = merkle_frontier_export(&f, fb, sizeof(fb), &len)))
		return r;
	sqlite3_bind_blob(l->st[LST_SET_TREE], 1, fb, (int)len, SQLITE_STATIC);
	return step_done(l, l->st[LST_SET_TREE]);
}

int cust_ledger_append_batch(struct cust_ledger *l, struct cust_event *evs,
			     size_t n)
{
	char why[256];
	size_t i;
	int r, own;

	if (!l || (!evs && n))
		return -EINVAL;
	if (l->rdonly && !l->fwd) {
		cust_ledger_seterr(l, "%s: opened read-only", l->path);
		return -EROFS;
	}
	if (n > CUST_LEDGER_MAX_BATCH)
		return -E2BIG;
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		evs[i].seq = 0;
		if ((r = cust_event_validate(&evs[i], why, sizeof(why)))) {
			cust_ledger_seterr(l, "event %zu of batch: %s", i, why);
			return r;
		}
	}
	if (l->fwd) {
		r = l->fwd(l->fwd_ctx, evs, n);
		if (r) {
			cust_ledger_seterr(l, "forwarded append: %s", strerror(-r));
			for (i = 0; i < n; i++)
				evs[i].seq = 0;
		}
		return r;
	}
	own = sqlite3_get_autocommit(l->db);
	r = cust_ledger_exec(l, own ? "BEGIN IMMEDIATE" : "SAVEPOINT cust_append");
	if (r)
		return r;
	r = append_locked(l, evs, n);
	if (r == 0)
		r = cust_ledger_exec(l, own ? "COMMIT" : "RELEASE cust_append");
	if (r) {
		char keep[sizeof(l->err)];
		memcpy(keep, l->err, sizeof(keep));
		if (own)
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		else
			sqlite3_exec(l->db, "ROLLBACK TO cust_append; RELEASE cust_append",
				     NULL, NULL, NULL);
		memcpy(l->err, keep, sizeof(keep));
		for (i = 0; i < n; i++)
			evs[i].seq = 0;
	}
	return r;
}

void cust_ledger_set_forward(struct cust_ledger *l,
			     int (*fn)(void *ctx, struct cust_event *evs, size_t n),
			     void *ctx)
{
	if (!l)
		return;
	l->fwd = fn;
	l->fwd_ctx = fn ? ctx : NULL;
}

int cust_ledger_forwarded(const struct cust_ledger *l)
{
	return l && l->fwd;
}

int cust_ledger_append(struct cust_ledger *l, struct cust_event *ev)
{
	return cust_ledger_append_batch(l, ev, 1);
}
