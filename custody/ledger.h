/*
 * ledger.h - the custody ledger: one SQLite file (WAL, synchronous=FULL,
 * foreign keys on) holding append-only events, the evidence records
 * derived from them, the Merkle frontier and signed checkpoints.
 *
 * Usage:
 *     struct cust_ledger *l;
 *     char err[256];
 *     if (cust_ledger_open(path, CUST_LEDGER_CREATE, &l, err, sizeof(err)))
 *             die("%s", err);
 *     struct cust_event ev[2];
 *     cust_event_init(&ev[0], agency, CUST_ACTOR_DOCK, "dock-1",
 *                     CUST_A_INGESTED, "EV-1", CUST_OUTCOME_OK);
 *     ...
 *     cust_ledger_append_batch(l, ev, 2);    // one durable commit
 *     cust_ledger_close(l);
 *
 * Group commit: there is no background thread. A caller that has several
 * events (a docking session's batch) passes them to append_batch, which
 * writes them in ONE transaction (one fsync of the WAL); append() is a
 * batch of one. When the call returns 0 the events are durable and have
 * their seq set. Seq numbers are assigned inside a write transaction
 * (BEGIN IMMEDIATE), so several processes may append to one file.
 *
 * Tables (stable; other modules may read them, only this module writes
 * events/evidence/tree/checkpoints - see docs/custody-ledger.md):
 *   meta(key, value)            format marker and schema version
 *   events(seq, time_ns, clock, agency_id, actor_kind, actor_id, action,
 *          evidence_id, outcome, reason, case_no, details, canon,
 *          leaf_hash)           UPDATE/DELETE refused by triggers
 *   evidence(evidence_id, agency_id, status, ...)   derived state
 *   evidence_cases(evidence_id, case_no)            derived state
 *   tree(id=1, frontier)        Merkle frontier after the last event
 *   checkpoints(size, note, created_ns)             signed notes
 * Other modules may add their own tables (e.g. access control users)
 * through cust_ledger_db(), inside cust_ledger_begin()/commit().
 *
 * Errors: 0 or negative errno. -ENOENT missing file (without CREATE) or
 * unknown seq/item, -EACCES unreadable/unwritable, -EROFS append on a
 * read-only handle, -EBADF not a custody ledger (foreign or corrupt
 * file), -EUCLEAN ledger internally inconsistent (refuses to append),
 * -EBUSY database locked beyond the busy timeout, -EIO other SQLite
 * errors; the SQLite message is in cust_ledger_errmsg().
 */
#ifndef CUSTODY_LEDGER_H
#define CUSTODY_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "event.h"
#include "merkle.h"

#define CUST_LEDGER_CREATE   0x1	/* create the file (mode 0600) if absent */
#define CUST_LEDGER_RDONLY   0x2	/* open read-only: no writes at all */
#define CUST_LEDGER_MAX_BATCH 100000	/* events per append_batch */

struct cust_ledger;

/* Open (and with CREATE, initialise) the ledger at path. On failure a
 * one-line reason naming the file is written to err (may be NULL). */
int cust_ledger_open(const char *path, unsigned flags,
		     struct cust_ledger **out, char *err, size_t errlen);
/* Close (NULL is fine). */
void cust_ledger_close(struct cust_ledger *l);
/* 1 if opened read-only. */
int cust_ledger_readonly(const struct cust_ledger *l);
/* The file path given to open. */
const char *cust_ledger_path(const struct cust_ledger *l);
/* Last SQLite error message (never NULL). */
const char *cust_ledger_errmsg(const struct cust_ledger *l);

/* The underlying connection, for other custody modules' own tables.
 * Do not write the ledger's tables through it. */
sqlite3 *cust_ledger_db(struct cust_ledger *l);

/* Explicit write transaction (BEGIN IMMEDIATE) so a caller can make its
 * own table changes and appended events one atomic, durable commit.
 * append()/append_batch() inside it join the transaction. */
int cust_ledger_begin(struct cust_ledger *l);
/* On failure the whole transaction is rolled back (nothing of it is
 * durable) and the handle is ready for the next begin/append. */
int cust_ledger_commit(struct cust_ledger *l);
void cust_ledger_rollback(struct cust_ledger *l);

/* Append events [0..n) durably (see group commit above). Each event is
 * validated (-EINVAL, nothing written); on success evs[i].seq is set.
 * n <= CUST_LEDGER_MAX_BATCH (-E2BIG). Evidence records are updated in
 * the same transaction. */
int cust_ledger_append_batch(struct cust_ledger *l, struct cust_event *evs,
			     size_t n);
int cust_ledger_append(struct cust_ledger *l, struct cust_event *ev);

/* Forward appends: from now on append()/append_batch() through l validate
 * the events and hand them to fn(ctx, evs, n) instead of writing (the
 * query service in its own process holds the ledger read-only; its
 * custodian writes, docs/architecture.md). fn returns 0 once the events
 * are durably appended, with evs[i].seq set, or a negative errno (the
 * seqs are then reset to 0). Works on a read-only handle; begin/commit
 * (callers with tables of their own, users.h) still need a writable one.
 * fn NULL: normal appends again. */
void cust_ledger_set_forward(struct cust_ledger *l,
			     int (*fn)(void *ctx, struct cust_event *evs, size_t n),
			     void *ctx);
/* 1 if appends through l are forwarded. */
int cust_ledger_forwarded(const struct cust_ledger *l);

/* Number of events (== Merkle tree size). */
int cust_ledger_size(struct cust_ledger *l, uint64_t *n);
/* Event by seq (1-based). -ENOENT if absent. */
int cust_ledger_get(struct cust_ledger *l, uint64_t seq,
		    struct cust_event *out);

/* Call cb for each event with from <= seq <= to (to 0 = to the end), in
 * seq order, decoded from the columns. A non-zero return from cb stops
 * the walk and is returned. If evidence_id is not NULL only that item's
 * events are visited (index lookup). */
typedef int (*cust_event_cb)(void *arg, const struct cust_event *ev);
int cust_ledger_foreach(struct cust_ledger *l, const char *evidence_id,
			uint64_t from, uint64_t to, cust_event_cb cb,
			void *arg);

/* Agency of an evidence item into buf. -ENOENT unknown item, -ENOSPC. */
int cust_ledger_item_agency(struct cust_ledger *l, const char *evidence_id,
			    char *buf, size_t cap);

/* The stored Merkle frontier (tree state after the last event). */
int cust_ledger_frontier(struct cust_ledger *l, struct merkle_frontier *f);

/* Leaf hashes of events [begin, begin+count) (0-based leaf index) from
 * the leaf_hash column, as a merkle_source callback (ctx = ledger). */
int cust_ledger_leaf_hashes(void *ledger, uint64_t begin, uint64_t count,
			    merkle_hash *out);

#endif /* CUSTODY_LEDGER_H */
