#ifndef CUSTODY_RECEIPT_LEDGER_H
#define CUSTODY_RECEIPT_LEDGER_H
/*
 * receipt_ledger: what the ledger says about offline export receipts
 * (receipt.h), read from its events alone so that `custody verify` and
 * an outside checker reach the same answer:
 *   - offline_receipts_issued (61), outcome ok: details workstation, key
 *     (64 hex, raw Ed25519 public key), key_id, first, last;
 *   - export_receipt_filed (60), outcome ok: details number, ...
 * Numbers are unique across the whole ledger (the dock hands out the
 * next free range itself). All functions return 0 or a negative errno.
 */

#include <stdint.h>

#include "ledger.h"
#include "receipt.h"

#define RECEIPT_ISSUE_MAX 1000	/* numbers per offline_receipts_issued */

struct receipt_issue {
	uint64_t seq, first, last;
	char agency[CUST_AGENCY_MAX + 1];
	char workstation[65], key_id[65];
	uint8_t key[EDKEY_PUB_LEN];
};

/* 1 + the highest number ever issued (1 on a ledger without any). */
int receipt_next_number(struct cust_ledger *l, uint64_t *next);

/* The issue event covering number: -ENOENT when none. */
int receipt_find_issue(struct cust_ledger *l, uint64_t number,
		       struct receipt_issue *out);

/* 1 when number has an export_receipt_filed event with outcome ok, 0 when
 * not, negative errno. */
int receipt_is_filed(struct cust_ledger *l, uint64_t number);

/* For each run of issued numbers without an ok export_receipt_filed
 * event, cb(arg, issue, from, to), in order of issue. A non-zero cb
 * return stops the walk and is returned. */
int receipt_unfiled(struct cust_ledger *l,
		    int (*cb)(void *arg, const struct receipt_issue *is,
			      uint64_t from, uint64_t to), void *arg);

#endif
