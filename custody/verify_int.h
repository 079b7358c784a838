/*
 * verify_int.h - state shared by the two halves of `custody verify`
 * (verify.c: events and records; verify_ckpt.c: checkpoints).
 */
#ifndef CUSTODY_VERIFY_INT_H
#define CUSTODY_VERIFY_INT_H

#include "evstate.h"
#include "ledger_int.h"
#include "verify.h"

/* One checkpoint copy (ledger table or external file). */
struct ck {
	uint64_t size;		/* from the file name / table column */
	char *note;
	size_t len;
	int ext;		/* 1 external file, 0 ledger table */
	int valid;		/* signature verified, size agrees */
	int matched;		/* valid and its root is the recomputed one */
	int fresh;		/* ledger copy signed < 10 s before the external
				 * listing: its external write may be in flight */
	struct checkpoint cp;
};

/* An evidence item as replayed from its events. */
struct item {
	struct cust_evstate st;
	int seen;
	char ct_sha[65];	/* last storage_verified ct_sha256 (verify_fixity.c) */
	unsigned char fix_failed; /* copies with a failed check not yet repaired: 1 vault, 2 storage */
};


/* One verify run. leaves[i] is the recomputed leaf hash of row i. */
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
	int64_t listed_ns;		/* when the external dir was listed */
	struct vfacts *facts;		/* verify_facts.c; NULL until needed */
	struct vagency *ag;		/* agency mode state, NULL otherwise */
};

/* Count a finding and report it through the callback (up to a cap). */
void verify_find(struct vctx *v, const char *cls, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fixity events (verify_fixity.c): storage_verified, fixity_checked and
 * repaired of item it, after the record replay. */
void verify_fixity_event(struct vctx *v, struct item *it, const struct cust_event *ev);

/* Checkpoint copies into v->cks: the external directory (before the
 * read snapshot), then the ledger table (inside it). */
int verify_list_external(struct vctx *v);
int verify_list_table(struct vctx *v);
/* After the event scan filled v->leaves: signatures, roots, copies,
 * consistency, frontier. */
int verify_check_checkpoints(struct vctx *v);

/* Agency mode (verify_agency.c): state, each event as signed (its
 * canonical bytes) during the scan, the trusted keys for the signature
 * check, and the witness checks after the checkpoints. */
int verify_agency_init(struct vctx *v);
void verify_agency_event(struct vctx *v, const struct cust_event *ev);
void verify_agency_keys(struct vctx *v, const struct ckpt_vkey **keys, size_t *n);
int verify_agency_finish(struct vctx *v);
void verify_agency_free(struct vctx *v);

#endif
