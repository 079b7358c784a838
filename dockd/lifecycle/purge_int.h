/* purge_int.h - shared by purge.c (the pass) and purge_worker.c (the
 * start-up reconciliation and the worker thread); not an API: purge.h. */
#ifndef DOCKD_PURGE_INT_H
#define DOCKD_PURGE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "config.h"
#include "dockdb.h"

#define BATCH 64          /* candidates read per query (the lock is released between) */
#define CHECK_MS 2000     /* how often the worker looks at the vault's free space */

struct cand {
	char evid[DOCKDB_EVIDENCE_MAX + 1];
	char serial[PROTO_ID_MAX + 1], rid[PROTO_ID_MAX + 1];
	char category[PROTO_TEXT_MAX + 1];
	uint64_t ct_size;
	char ct_sha[65];
	bool held;
	int64_t stored_ns;
	int64_t rowid;
	int64_t ver_seq;
};

/* true the first time evid is named (one alert per copy per run, not per pass). */
bool purge_first_alert(const char *evid);
void purge_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);
/* SHA-256 (lowercase hex) and size of the regular file at path (no symlink). */
int purge_hash_path(const char *path, char hex[65], uint64_t *size);
/* unlink, then fsync the directory so the removal itself is durable. */
int purge_unlink_durable(const char *path);
/* The vault's free space (+ extra_freed) is under mark m. */
bool purge_vault_below(const struct dock_config *cfg, const struct dock_free_mark *m,
		       uint64_t extra_freed);

#endif
