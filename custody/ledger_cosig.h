/*
 * ledger_cosig.h - witness cosignatures kept in the custody ledger.
 *
 * Table (created by cust_ledger_open for a read-write ledger, also on
 * ledgers made before it existed):
 *   checkpoint_cosigs(size INTEGER, witness TEXT, line TEXT,
 *                     received_ns INTEGER, PRIMARY KEY(size, witness))
 * size: the tree size of the checkpoint (a row of `checkpoints`) that was
 * cosigned; witness: the witness's key name; line: its signature line
 * (C2SP tlog-cosignature/v1, see cosig.h) without the final '\n';
 * received_ns: when dockd stored it (CLOCK_REALTIME, ns).
 * Rows are write-once (triggers refuse UPDATE and DELETE); the first
 * cosignature a witness gave for a size is the one kept.
 *
 * Nothing here verifies: callers verify a line with cosig_verify()
 * against the witness key before adding it, and verifiers check every
 * stored line again against the keys they trust (never against this
 * table's word).  A ledger opened read-only that predates the table
 * simply has no cosignatures.
 *
 * Errors: 0 or negative errno (SQLite errors mapped as in ledger.h).
 */
#ifndef CUSTODY_LEDGER_COSIG_H
#define CUSTODY_LEDGER_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* DDL run at each read-write open (idempotent). */
extern const char cust_cosig_schema_sql[];

/* Store a cosignature.  line may end in '\n' (not stored).  Returns 0 if
 * stored or the same line was there, -EEXIST if this witness already has
 * a different line for this size (the first is kept), -ENOENT if no
 * checkpoint of that size is in the ledger, -EINVAL bad arguments. */
int cust_cosig_add(struct cust_ledger *l, uint64_t size, const char *witness,
		   const char *line);

/* Call cb(arg, witness, line) for each cosignature of checkpoint `size`,
 * by witness name; a non-zero return from cb stops and is returned. */
int cust_cosig_each(struct cust_ledger *l, uint64_t size,
		    int (*cb)(void *arg, const char *witness, const char *line),
		    void *arg);

/* Largest checkpoint size cosigned by `witness` (0 if none). */
int cust_cosig_last(struct cust_ledger *l, const char *witness,
		    uint64_t *size);

/* The largest checkpoint size cosigned by `witness` and when the dock
 * stored that cosignature (UTC ns); both 0 if none. */
int cust_cosig_last_at(struct cust_ledger *l, const char *witness,
		       uint64_t *size, int64_t *received_ns);

/* The stored checkpoint note of `size` followed by every stored
 * cosignature line, into a malloc'd NUL-terminated *out (*len = strlen).
 * -ENOENT if there is no checkpoint of that size. */
int cust_cosig_note(struct cust_ledger *l, uint64_t size, char **out,
		    size_t *len);

#endif /* CUSTODY_LEDGER_COSIG_H */
