/* fixity_int.h - shared by fixity.c (choosing items, pacing and yielding
 * to ingest, checking copies, the run) and fixity_repair.c (rewriting a
 * damaged copy from a verified one). Not an API: fixity.h. */
#ifndef DOCKD_FIXITY_INT_H
#define DOCKD_FIXITY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "fixity.h"
#include "ledger.h"
#include "store.h"

#define FIX_LOC_MAX 512

/* What the ledger says about one item. */
struct fix_item {
	char id[CUST_EVIDENCE_MAX + 1];
	char key[STORE_KEY_MAX + 1];		/* uploaded object_key, "" none */
	char storage_loc[FIX_LOC_MAX];		/* storage_verified location */
	char vault[FIX_LOC_MAX];		/* stored_local path, "" none */
	char retention[64];
	char version[129];			/* uploaded version_id, "" none */
	int local_copy, hold;
	uint8_t sha[32];
	char sha_hex[65];
	uint64_t size;
};

enum fix_outcome { FIX_OK, FIX_FAILED, FIX_ERROR, FIX_GONE /* purged meanwhile */ };

/* One run's pacing and pause budget (fixity.h, "Yielding to ingest"). */
struct fix_run {
	const struct fixity_env *e;
	struct fixity_stats *st;
	int64_t due_ns;		/* pacing: when the next read may start */
	int64_t paused_ns;	/* waited for ingest so far in this run */
	bool waiting;		/* between "paused" and "resumed" (the log) */
	bool spent;		/* the pause budget is used up */
	bool busy_now;		/* the last fixity_yield() found ingest running */
};

/* SHA-256 b as lowercase hex. */
static inline void hex(const uint8_t *b, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Before a read or an event: wait while ingest runs, within the run's
 * pause budget (fixity.h, "Yielding to ingest"). */
void fixity_yield(struct fix_run *x);
/* SHA-256 and length of a whole file (vault copies); x (may be NULL)
 * yields to ingest and paces before/after each read. */
int fixity_hash_file(struct fix_run *x, const char *path, uint8_t md[32], uint64_t *len);
/* Append one event (details d, taken) under the ledger lock, never while a
 * pull runs (budget permitting); a failure is logged. */
int fixity_append(struct fix_run *x, enum cust_action a, const char *id,
		  enum cust_outcome o, json_t *d);
/* Log a warning and raise an alert ("fixity") about id. */
void fixity_alert(const struct fixity_env *e, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Repair copy `bad` from the other one (or, version set, the storage copy
 * from that recorded version of the object), read it back, record it
 * (fixity_repair.c). Returns the ledger result: a failed repair is an event
 * and an alert, not an error of the run. */
int fixity_repair(struct fix_run *x, const struct fix_item *it, const char *bad,
		  const char *version);

#endif
