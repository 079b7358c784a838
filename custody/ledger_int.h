/*
 * ledger_int.h - internals shared by the ledger's own files (ledger.c,
 * ledger_append.c, ledger_read.c) and the modules built on it (verify,
 * publish, query, proof, tlogproof_build); not part of the public API. Only ledger*.c
 * touch struct cust_ledger's members.
 */
#ifndef CUSTODY_LEDGER_INT_H
#define CUSTODY_LEDGER_INT_H

#include "ledger.h"

#define CUST_LEDGER_FORMAT "evidence-dock custody ledger"
#define CUST_LEDGER_SCHEMA "1"

/* Columns read by cust_ledger_row_event(), in order. */
#define CUST_EVENT_COLS "seq, time_ns, clock, agency_id, actor_kind, " \
	"actor_id, action, evidence_id, outcome, reason, case_no, details"

/* Decode the event columns (CUST_EVENT_COLS from column col0) of the
 * current row. -EBADMSG if a column has the wrong type or exceeds its
 * cap; then *bad names the column. */
int cust_ledger_row_event(sqlite3_stmt *s, int col0, struct cust_event *ev,
			  const char **bad);
/* The handle; its statements are prepared once at open (read-write). */
enum { LST_INS_EVENT, LST_SEL_STATE, LST_UPSERT_STATE, LST_INS_CASE,
       LST_GET_TREE, LST_SET_TREE, LST_MAX_SEQ, LST_DEL_CASE, LST_COUNT };

struct cust_ledger {
	sqlite3 *db;
	char *path;
	int rdonly;
	int immutable;			/* opened with ?immutable=1 (read-only media) */
	sqlite3_stmt *st[LST_COUNT];
	char err[512];
	/* cust_ledger_set_forward(): appends go to fwd, not the file */
	int (*fwd)(void *ctx, struct cust_event *evs, size_t n);
	void *fwd_ctx;
};

/* The first n leaf hashes of the ledger held in memory, for building many
 * inclusion proofs against one tree (proof.c, tlogproof_build.c). */
struct cust_mem_leaves { merkle_hash *leaves; uint64_t n; };
/* Read leaves [0, size) into m (m->leaves malloc'd, the caller frees it)
 * and their Merkle root into root; both untouched on failure (-ENOMEM,
 * -EUCLEAN for a gap or bad hash in the table, a SQLite error). */
int cust_mem_leaves_load(struct cust_ledger *l, uint64_t size, struct cust_mem_leaves *m,
			 merkle_hash root);
/* merkle_source callback over a struct cust_mem_leaves (ctx); -EINVAL
 * past its end. */
int cust_mem_leaves_get(void *ctx, uint64_t begin, uint64_t count, merkle_hash *out);

/* Run SQL without results; 0 or the mapped error (message recorded). */
int cust_ledger_exec(struct cust_ledger *l, const char *sql);
/* Record a SQLite error and map it to a negative errno. */
int cust_ledger_sqlerr(struct cust_ledger *l, int rc);
/* Set the error message (printf-style). */
void cust_ledger_seterr(struct cust_ledger *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
