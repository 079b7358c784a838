/* dockdb.h - the dock_recordings table: each recording's progress through
 * dockd, changed together with the ledger events that justify it.
 *
 * The table lives in the ledger database (docs/dockd.md, "Where state
 * lives"). Every transition below is ONE ledger transaction holding the
 * row change and its events (cust_ledger_begin/append/commit), so an event
 * exists if and only if the state it describes was reached. Progress
 * (durable_chunks, listed_ns) changes without events.
 *
 *   listed -> pulling -> stored_local -> storage_verified -> released
 *               |  ^
 *               v  |  (pulled again at the next docking)
 *           quarantined
 *
 * All functions take the ledger lock themselves (ledgerw.h) except
 * dockdb_schema(). Results: 0, -ENOENT (no such row / nothing to do),
 * -ESTALE (the row is not in the state the transition starts from), or
 * another -errno. Out-parameters untouched on failure.
 *
 * Code: dockdb.c (the table, its rows, the reads), dockdb_state.c (the
 * listing and the transitions), dockdb_upload.c (uploads, below).
 */
#ifndef DOCKD_DOCKDB_H
#define DOCKD_DOCKDB_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ledgerw.h"
#include "store.h"
#include "wire.h"

enum dock_rec_state {
	DREC_LISTED = 0,
	DREC_PULLING,
	DREC_QUARANTINED,
	DREC_STORED_LOCAL,
	DREC_STORAGE_VERIFIED,
	DREC_RELEASED,
	DREC_N_STATES
};
#define DREC_BIT(s) (1u << (s))

#define DOCKDB_EVIDENCE_MAX (2 * PROTO_ID_MAX + 1)

/* One row. Manifest fields are the camera's signed claims. */
struct dock_rec {
	char serial[PROTO_ID_MAX + 1];
	char recording_id[PROTO_ID_MAX + 1];
	char evidence_id[DOCKDB_EVIDENCE_MAX + 1];
	char officer[PROTO_ID_MAX + 1];
	uint64_t size;
	uint8_t sha256[PROTO_SHA256_LEN];
	char category[PROTO_TEXT_MAX + 1];
	int64_t start_utc, end_utc;
	bool has_gps;
	int32_t lat_e7, lon_e7;
	uint8_t sig[PROTO_SIG_LEN];
	enum dock_rec_state state;
	uint64_t durable_chunks;
	uint32_t attempts;
	uint64_t ct_size;
	uint8_t ct_sha256[PROTO_SHA256_LEN];
	char location[STORE_LOCATION_MAX + 1];
	int64_t listed_ns;
};

const char *dockdb_state_name(enum dock_rec_state s);

/* CREATE TABLE IF NOT EXISTS (caller holds the lock, outside a transaction). */
int dockdb_schema(struct cust_ledger *l);

/* "<serial>/<recording id>" into out (cap >= DOCKDB_EVIDENCE_MAX + 1). */
void dockdb_evidence_id(const char *serial, const char *rid, char *out, size_t cap);

/* Whether custody can name the recording: "<serial>/<rid>" fits an
 * evidence id (CUST_EVIDENCE_MAX) and both parts are file names
 * (cust_vault_name_ok: not "." or ".."). Only such entries are listed. */
bool dockdb_nameable(const char *serial, const char *rid);

/* Record manifest entries seen now (listed_ns = now_ns): new ids become
 * rows in state listed; known ids get listed_ns. An entry that disagrees
 * with the row already held for its id (size or SHA-256) keeps its row
 * but gets listed_ns = -now_ns (listed at this docking, in conflict: not
 * pulled, not released, not "absent"); conflict[i] is set and an
 * integrity_failed event is written in the same transaction. An id this
 * listing (t) already recorded is -EEXIST: the manifest lists it twice, the
 * batch is rolled back. n <= PROTO_LIST_MAX * 4. */
int dockdb_list_batch(struct ledgerw *w, const char *serial, const char *officer,
		      const struct proto_manifest_entry *e, size_t n, int64_t now_ns,
		      bool *conflict);

/* A listing (t) that did not complete: remove the rows it created that
 * nothing has touched since (state listed, no event refers to them); rows
 * known before keep their state. The camera still holds every recording:
 * the next docking lists them again. Bounds what an abandoned or hostile
 * listing leaves behind (issue 11, defect 7). */
int dockdb_forget_listing(struct ledgerw *w, const char *serial, int64_t t);

int dockdb_get(struct ledgerw *w, const char *serial, const char *rid, struct dock_rec *out);

/* Next row of serial (NULL: any camera) whose state is in mask, with
 * recording_id > after (serial given) or rowid > *cursor, and listed_ns >=
 * min_listed_ns (pass 0 for all). Ordered by recording id (serial given)
 * or rowid. *cursor (may be NULL) receives the rowid. -ENOENT at the end. */
int dockdb_next(struct ledgerw *w, const char *serial, unsigned mask, const char *after,
		int64_t min_listed_ns, int64_t *cursor, struct dock_rec *out);

/* Rows of serial (NULL: all) in mask. */
int dockdb_count(struct ledgerw *w, const char *serial, unsigned mask, uint64_t *n);
/* Sum of the recordings' signed sizes (bytes) of all rows in mask. */
int dockdb_sum_size(struct ledgerw *w, unsigned mask, uint64_t *bytes);

/* listed|quarantined|pulling -> pulling: ingest_started {size, sha256,
 * category, start, end, officer, camera, gps, attempt, resume_chunk}.
 * fresh: attempts+1 and durable_chunks = 0; else resume at durable_chunks. */
int dockdb_begin_pull(struct ledgerw *w, struct dock_rec *r, bool fresh);

/* Progress only (no event): chunks that are durable in the partial file. */
int dockdb_set_durable(struct ledgerw *w, const struct dock_rec *r, uint64_t chunks);

/* ingest_interrupted {offset, error} (if the ledger knows the action). */
int dockdb_interrupted(struct ledgerw *w, const struct dock_rec *r, uint64_t offset,
		       const char *error);

/* pulling -> quarantined: integrity_failed {expected_size, got_size,
 * expected_sha256, got_sha256, attempt} + quarantined {path}. */
int dockdb_quarantine(struct ledgerw *w, struct dock_rec *r, uint64_t got_size,
		      const uint8_t got_sha[32], const char *why, const char *qpath);

/* What an auditor needs to check a stored recording's origin and
 * readers (docs/custody-ledger.md, "Origin of a recording"). */
#define DOCKDB_KEYIDS_MAX 8 /* EVFILE_MAX_RECIPIENTS */
struct dockdb_origin {
	uint8_t device_key[PROTO_PUBKEY_LEN];      /* that verified the manifest entry */
	uint8_t key_ids[DOCKDB_KEYIDS_MAX][32];    /* recipient stanzas of the file */
	size_t n_keys;
	/* An unsigned source (dockdb_unsigned): what the ingested event says
	 * instead of the signed entry ("source": "unsigned", "volume": this;
	 * borrowed); device_key unused. NULL for camera-signed recordings. */
	json_t *volume;
};

/* Whether r came from an UNSIGNED source (a USB mass-storage volume,
 * dockd/volume/volsess.c): its row has no manifest signature (all zero;
 * a camera's entry with such a signature fails verification at listing
 * and is never a row). */
bool dockdb_unsigned(const struct dock_rec *r);

/* The [retention] table's answer for a camera category (custody/retention.h):
 * category as the table spells it ("uncategorized" when unknown), raw as the
 * camera sent it, known = 0 for a category not in the table, days (< 0:
 * indefinite). */
struct dockdb_retention {
	const char *category;
	const char *raw;
	int known;
	int32_t days;
};

/* pulling -> stored_local: ingested {size, sha256, ct_size, ct_sha256,
 * officer, camera, manifest_entry, manifest_sig, device_key, recipients}
 * + stored_local + categorized {category, raw, unknown} + retention_set
 * {until, category, days, from}, counted from the ingested event's time. */
int dockdb_stored_local(struct ledgerw *w, struct dock_rec *r, uint64_t ct_size,
			const uint8_t ct_sha[32], const char *path,
			const struct dockdb_retention *rt, const struct dockdb_origin *origin);

/* stored_local -> storage_verified: uploaded + storage_verified. */
int dockdb_storage_verified(struct ledgerw *w, struct dock_rec *r, const char *object_key,
			    const struct store_info *info);

/* storage_verified|stored_local -> released: camera_released {receipt...}.
 * receipt NULL: the camera no longer listed it (a crash after it deleted):
 * details {"confirmed": "absent at next docking"}. */
int dockdb_released(struct ledgerw *w, struct dock_rec *r, const struct proto_receipt *receipt);

/* The same transition with the camera_released details d (taken): a
 * mass-storage camera's file deleted by the dock (volsess.h). */
int dockdb_released_json(struct ledgerw *w, struct dock_rec *r, json_t *d);

#endif

/* ---- uploads (storage.h; dockdb_upload.c) ------------------------------- */

/* CREATE TABLE IF NOT EXISTS dock_uploads(evidence_id PK, attempts): how
 * many uploads of each item were started (caller holds the lock, outside a
 * transaction). */
int dockdb_upload_schema(struct cust_ledger *l);

/* The stored_local row to upload next: category in prio[0] first, then
 * prio[1], ..., then every other category; within one, the oldest
 * recording (start_utc, then rowid). Rows whose rowid is in skip (being
 * uploaded, or parked after a failure) are passed over. n_prio, n_skip
 * <= 64. -ENOENT when there is none. */
int dockdb_next_upload(struct ledgerw *w, const char (*prio)[129], size_t n_prio,
		       const int64_t *skip, size_t n_skip, struct dock_rec *out, int64_t *rowid);

/* upload_started {object_key, target, attempt} with the item's upload
 * attempt counted in dock_uploads (same transaction); *attempt (may be
 * NULL) receives it. */
int dockdb_upload_started(struct ledgerw *w, struct dock_rec *rec, const char *object_key,
			  const char *target, uint32_t *attempt);

/* uploaded, outcome failed, reason error, details {error, object_key}: a
 * permanent storage failure of this item (no state change). */
int dockdb_upload_failed(struct ledgerw *w, const struct dock_rec *rec, const char *object_key,
			 const char *error);
