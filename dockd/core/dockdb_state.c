/* dockdb_state.c - the recording-state transitions of dock_recordings
 * (dockdb.h): listing, then pulling, quarantined, stored_local,
 * storage_verified and released, each ONE ledger transaction holding the
 * row change and the events that justify it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dockdb.h"
#include "dockdb_int.h"
#include "edsig.h"
#include "retention.h"

static int list_one(struct ledgerw *w, const char *serial, const char *officer,
		    const struct proto_manifest_entry *e, int64_t t, bool *conflict,
		    struct cust_event *ev, size_t *nev)
{
	char eid[DOCKDB_EVIDENCE_MAX + 1], sha[65], sig[129], gps[32] = "";
	struct dock_rec old;
	int r;

	*conflict = false;
	dockdb_evidence_id(serial, e->recording_id, eid, sizeof(eid));
	r = dockdb_query_one(w, "SELECT " COLS " FROM dock_recordings WHERE serial = ?1 AND recording_id = ?2"
			 " AND ?3 = ?4", serial, e->recording_id, 0, 0, &old, NULL);
	if (r == 0) {
		if (old.listed_ns == t || old.listed_ns == -t)
			return -EEXIST; /* listed twice in one manifest (docs/protocol.md 6.5) */
		if (old.size != e->size || memcmp(old.sha256, e->sha256, 32) != 0) {
			*conflict = true;
			hex32(e->sha256, sha);
			r = ledgerw_event(w, ev, CUST_A_INTEGRITY_FAILED, eid, CUST_OUTCOME_FAILED);
			if (r == 0)
				r = cust_event_set_text(ev->reason, sizeof(ev->reason),
							"manifest entry changed for a known recording");
			if (r == 0)
				r = details(ev, json_pack("{s:s,s:I,s:s}", "stage", "manifest", "claimed_size",
							  (json_int_t)e->size, "claimed_sha256", sha));
			if (r == 0)
				(*nev)++;
			/* listed, but not as held: -t marks it for this docking
			 * (never pulled, released or confirmed absent) */
			if (r == 0)
				r = dockdb_exec(w, "UPDATE dock_recordings SET listed_ns = ?1 WHERE"
					      " serial = ?2 AND recording_id = ?3", "iss", -t, serial,
					      e->recording_id);
			return r;
		}
		return dockdb_exec(w, "UPDATE dock_recordings SET listed_ns = ?1 WHERE serial = ?2"
				    " AND recording_id = ?3", "iss", t, serial, e->recording_id);
	}
	if (r != -ENOENT)
		return r;
	hex32(e->sha256, sha);
	edsig_hex(e->sig, 64, sig, sizeof(sig));
	if (e->has_gps)
		snprintf(gps, sizeof(gps), "%d,%d", e->lat_e7, e->lon_e7);
	return dockdb_exec(w, "INSERT INTO dock_recordings(serial, recording_id, evidence_id, officer,"
			    " size, sha256, category, start_utc, end_utc, gps, manifest_sig, state,"
			    " updated_ns, listed_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,NULLIF(?10,''),"
			    "?11,'listed',?12,?12)",
			 "ssssissiissi", serial, e->recording_id, eid, officer, (int64_t)e->size, sha,
			 e->category, e->start_utc, e->end_utc, gps, sig, t);
}

int dockdb_list_batch(struct ledgerw *w, const char *serial, const char *officer,
		      const struct proto_manifest_entry *e, size_t n, int64_t t, bool *conflict)
{
	/* At most one event per entry, on the heap: as a stack array of
	 * PROTO_LIST_MAX * 4 events (~5 KiB each) it was 316 KiB of every
	 * docking session thread's stack, touched once and kept for the whole
	 * docking (5 MiB with sixteen cameras; docs/dockd.md "Memory"). */
	struct cust_event *ev;
	size_t nev = 0;
	int r;

	if (n > PROTO_LIST_MAX * 4)
		return -E2BIG;
	ev = malloc((n ? n : 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	r = dockdb_tx_begin(w);
	if (r == 0) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = list_one(w, serial, officer, &e[i], t, &conflict[i], &ev[nev], &nev);
		r = dockdb_tx_end(w, r, ev, nev);
	}
	free(ev);
	return r;
}

int dockdb_forget_listing(struct ledgerw *w, const char *serial, int64_t t)
{
	int r;

	ledgerw_lock(w);
	r = dockdb_exec(w, "DELETE FROM dock_recordings WHERE serial = ?2 AND state = 'listed'"
			 " AND listed_ns = ?1 AND updated_ns = ?1", "is", t, serial);
	ledgerw_unlock(w);
	return r;
}

int dockdb_begin_pull(struct ledgerw *w, struct dock_rec *rec, bool fresh)
{
	struct cust_event ev;
	char sha[65], gps[32] = "";
	uint32_t attempts = rec->attempts + (fresh ? 1 : 0);
	uint64_t chunks = fresh ? 0 : rec->durable_chunks;
	int r;

	hex32(rec->sha256, sha);
	if (rec->has_gps)
		snprintf(gps, sizeof(gps), "%.7f,%.7f", rec->lat_e7 / 1e7, rec->lon_e7 / 1e7);
	r = ledgerw_event(w, &ev, CUST_A_INGEST_STARTED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev, json_pack("{s:I,s:s,s:s,s:I,s:I,s:s,s:s,s:s?,s:i,s:I}",
					   "size", (json_int_t)rec->size, "sha256", sha,
					   "category", rec->category, "start", (json_int_t)rec->start_utc,
					   "end", (json_int_t)rec->end_utc, "officer", rec->officer,
					   "camera", rec->serial, "gps", rec->has_gps ? gps : NULL,
					   "attempt", (int)attempts, "resume_chunk", (json_int_t)chunks));
	if (r == 0 && dockdb_unsigned(rec)) {
		/* no signed hash: it is known once read (the ingested event) */
		json_t *d = NULL;

		r = cust_event_details(&ev, &d);
		if (r == 0 && (json_object_del(d, "sha256") < 0 ||
			       json_object_set_new(d, "source", json_string("unsigned")) < 0))
			r = -ENOMEM;
		if (r == 0)
			r = cust_event_set_details(&ev, d);
		json_decref(d);
	}
	if (r < 0)
		return r;
	r = dockdb_tx_begin(w);
	if (r < 0)
		return r;
	r = dockdb_exec(w, "UPDATE dock_recordings SET state = 'pulling', attempts = ?4,"
			 " durable_chunks = ?5, updated_ns = ?1" WHERE_KEY
			 " AND state IN ('listed','quarantined','pulling')",
		      "issii", now_ns(), rec->serial, rec->recording_id, (int64_t)attempts,
		      (int64_t)chunks);
	r = dockdb_tx_end(w, r, &ev, 1);
	if (r == 0) {
		rec->state = DREC_PULLING;
		rec->attempts = attempts;
		rec->durable_chunks = chunks;
	}
	return r;
}

int dockdb_set_durable(struct ledgerw *w, const struct dock_rec *rec, uint64_t chunks)
{
	int r;

	ledgerw_lock(w);
	r = dockdb_exec(w, "UPDATE dock_recordings SET durable_chunks = ?4, updated_ns = ?1" WHERE_KEY
			 " AND state = 'pulling' AND durable_chunks < ?4", "issi", now_ns(), rec->serial,
		      rec->recording_id, (int64_t)chunks);
	ledgerw_unlock(w);
	return r;
}

int dockdb_interrupted(struct ledgerw *w, const struct dock_rec *rec, uint64_t offset,
		       const char *error)
{
	struct cust_event ev;
	int r = ledgerw_event_named(w, &ev, "ingest_interrupted", rec->evidence_id,
				    CUST_OUTCOME_FAILED);

	if (r == -ENOENT)
		return 0; /* this custody version has no such action: the log says it */
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), error);
	if (r == 0)
		r = details(&ev, json_pack("{s:I,s:s}", "offset", (json_int_t)offset, "error", error));
	if (r == 0)
		r = ledgerw_append(w, &ev);
	return r;
}

int dockdb_quarantine(struct ledgerw *w, struct dock_rec *rec, uint64_t got_size,
		      const uint8_t got_sha[32], const char *why, const char *qpath)
{
	struct cust_event ev[2];
	char sha[65], got[65];
	int r;

	hex32(rec->sha256, sha);
	hex32(got_sha, got);
	r = ledgerw_event(w, &ev[0], CUST_A_INTEGRITY_FAILED, rec->evidence_id, CUST_OUTCOME_FAILED);
	if (r == 0)
		r = cust_event_set_text(ev[0].reason, sizeof(ev[0].reason), why);
	if (r == 0)
		r = details(&ev[0], json_pack("{s:I,s:I,s:s,s:s,s:i}", "expected_size",
					      (json_int_t)rec->size, "got_size", (json_int_t)got_size,
					      "expected_sha256", sha, "got_sha256", got, "attempt",
					      (int)rec->attempts));
	if (r == 0)
		r = ledgerw_event(w, &ev[1], CUST_A_QUARANTINED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev[1], json_pack("{s:s}", "path", qpath));
	if (r < 0 || (r = dockdb_tx_begin(w)) < 0)
		return r;
	r = dockdb_exec(w, "UPDATE dock_recordings SET state = 'quarantined', durable_chunks = 0,"
			 " updated_ns = ?1" WHERE_KEY " AND state = 'pulling'",
		      "iss", now_ns(), rec->serial, rec->recording_id);
	r = dockdb_tx_end(w, r, ev, 2);
	if (r == 0)
		rec->state = DREC_QUARANTINED;
	return r;
}

bool dockdb_unsigned(const struct dock_rec *r)
{
	static const uint8_t zero[PROTO_SIG_LEN];

	return !memcmp(r->sig, zero, sizeof(zero));
}

/* The recipient key ids of o, as hex, appended to the array ids. */
static int key_ids(const struct dockdb_origin *o, json_t *ids)
{
	for (size_t i = 0; i < o->n_keys && i < DOCKDB_KEYIDS_MAX; i++) {
		char id[65];

		hex32(o->key_ids[i], id);
		if (json_array_append_new(ids, json_string(id)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* An unsigned source: "source": "unsigned", the "volume" facts and the
 * recipients, and no manifest_entry, manifest_sig or device_key (nothing
 * signed them). Takes d and ids; d, or NULL when it failed. */
static json_t *origin_unsigned(const struct dockdb_origin *o, json_t *d, json_t *ids)
{
	if (!d || !ids || !o->volume || key_ids(o, ids) < 0)
		goto fail;
	/* set_new takes the value even when it fails */
	if (json_object_set_new(d, "recipients", ids) < 0 ||
	    json_object_set_new(d, "source", json_string("unsigned")) < 0 ||
	    json_object_set(d, "volume", o->volume) < 0) {
		json_decref(d);
		return NULL;
	}
	return d;
fail:
	json_decref(ids);
	json_decref(d);
	return NULL;
}

/* The camera's signed manifest entry (without its signature), the
 * signature, the device key and the recipient key ids, as hex, added to
 * the ingested details d (which it takes). */
static json_t *origin_details(const struct dock_rec *rec, const struct dockdb_origin *o, json_t *d)
{
	struct proto_manifest_entry e = { 0 };
	uint8_t tbs[PROTO_TBS_MAX];
	char hex[2 * PROTO_TBS_MAX + 1], sig[129], key[65];
	size_t n = 0, skip = sizeof("BCDK-v1 manifest") + 2 + strlen(rec->serial);
	json_t *ids = json_array();

	if (dockdb_unsigned(rec))
		return origin_unsigned(o, d, ids);
	snprintf(e.recording_id, sizeof(e.recording_id), "%s", rec->recording_id);
	e.size = rec->size;
	memcpy(e.sha256, rec->sha256, sizeof(e.sha256));
	e.start_utc = rec->start_utc;
	e.end_utc = rec->end_utc;
	snprintf(e.category, sizeof(e.category), "%s", rec->category);
	e.has_gps = rec->has_gps;
	e.lat_e7 = rec->lat_e7;
	e.lon_e7 = rec->lon_e7;
	/* tbs = domain NUL || serial (u16 + bytes) || entry-without-sig */
	if (!d || !ids || proto_manifest_tbs(rec->serial, &e, tbs, sizeof(tbs), &n) < 0 ||
	    n <= skip || edsig_hex(tbs + skip, n - skip, hex, sizeof(hex)) < 0 ||
	    edsig_hex(rec->sig, PROTO_SIG_LEN, sig, sizeof(sig)) < 0 ||
	    edsig_hex(o->device_key, PROTO_PUBKEY_LEN, key, sizeof(key)) < 0)
		goto fail;
	if (key_ids(o, ids) < 0)
		goto fail;
	/* set_new takes the value even when it fails */
	if (json_object_set_new(d, "recipients", ids) < 0 ||
	    json_object_set_new(d, "manifest_entry", json_string(hex)) < 0 ||
	    json_object_set_new(d, "manifest_sig", json_string(sig)) < 0 ||
	    json_object_set_new(d, "device_key", json_string(key)) < 0)
		goto fail_d;
	return d;
fail:
	json_decref(ids);
fail_d:
	json_decref(d);
	return NULL;
}

int dockdb_stored_local(struct ledgerw *w, struct dock_rec *rec, uint64_t ct_size,
			const uint8_t ct_sha[32], const char *path,
			const struct dockdb_retention *rt, const struct dockdb_origin *origin)
{
	struct cust_event ev[4];
	char sha[65], csha[65], until[64], from[64];
	json_t *cd;
	int r;

	hex32(rec->sha256, sha);
	hex32(ct_sha, csha);
	r = ledgerw_event(w, &ev[0], CUST_A_INGESTED, rec->evidence_id, CUST_OUTCOME_OK);
	/* Retention counts from the ingested event (the dock's custody
	 * moment): the query service recomputes it from the same time. */
	if (r == 0)
		r = cust_retention_until(ev[0].time_ns, rt->days, 0, until, sizeof(until));
	if (r == 0)
		r = cust_utc_text(ev[0].time_ns, from, sizeof(from));
	if (r == 0)
		r = details(&ev[0], origin_details(rec, origin,
			json_pack("{s:I,s:s,s:I,s:s,s:s,s:s}", "size", (json_int_t)rec->size,
				  "sha256", sha, "ct_size", (json_int_t)ct_size,
				  "ct_sha256", csha, "officer", rec->officer,
				  "camera", rec->serial)));
	if (r == 0)
		r = ledgerw_event(w, &ev[1], CUST_A_STORED_LOCAL, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev[1], json_pack("{s:s}", "path", path));
	if (r == 0)
		r = ledgerw_event(w, &ev[2], CUST_A_CATEGORIZED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0) {
		/* A category the table does not know is said so, with what the
		 * camera sent: never silently the default (docs/retention.md). */
		cd = json_pack("{s:s}", "category", rt->category);
		if (cd && strcmp(rt->raw, rt->category))
			json_object_set_new(cd, "raw", json_string(rt->raw));
		if (cd && !rt->known)
			json_object_set_new(cd, "unknown", json_true());
		r = details(&ev[2], cd);
	}
	if (r == 0)
		r = ledgerw_event(w, &ev[3], CUST_A_RETENTION_SET, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev[3], json_pack("{s:s,s:s,s:i,s:s,s:s}", "until", until, "category",
					      rt->category, "days", (int)rt->days, "from", from,
					      "basis", "category"));
	if (r < 0 || (r = dockdb_tx_begin(w)) < 0)
		return r;
	/* sha256: an unsigned source's row learns it here (the same value
	 * for a camera-signed one) */
	r = dockdb_exec(w, "UPDATE dock_recordings SET state = 'stored_local', ct_size = ?4,"
			 " ct_sha256 = ?5, location = ?6, sha256 = ?7, updated_ns = ?1" WHERE_KEY
			 " AND state = 'pulling'",
		      "ississs", now_ns(), rec->serial, rec->recording_id, (int64_t)ct_size, csha,
		      path, sha);
	r = dockdb_tx_end(w, r, ev, 4);
	if (r == 0) {
		rec->state = DREC_STORED_LOCAL;
		rec->ct_size = ct_size;
		memcpy(rec->ct_sha256, ct_sha, 32);
		snprintf(rec->location, sizeof(rec->location), "%s", path);
	}
	return r;
}

int dockdb_storage_verified(struct ledgerw *w, struct dock_rec *rec, const char *object_key,
			    const struct store_info *info)
{
	struct cust_event ev[2];
	char csha[65];
	int r;

	hex32(rec->ct_sha256, csha);
	r = ledgerw_event(w, &ev[0], CUST_A_UPLOADED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev[0], json_pack("{s:s,s:s,s:s,s:s}", "object_key", object_key,
					      "location", info->location, "version_id",
					      info->version_id, "etag", info->etag));
	if (r == 0)
		r = ledgerw_event(w, &ev[1], CUST_A_STORAGE_VERIFIED, rec->evidence_id,
				  CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev[1], json_pack("{s:s,s:s}", "location", info->location, "ct_sha256",
					      csha));
	if (r < 0 || (r = dockdb_tx_begin(w)) < 0)
		return r;
	r = dockdb_exec(w, "UPDATE dock_recordings SET state = 'storage_verified', location = ?4,"
			 " updated_ns = ?1" WHERE_KEY " AND state = 'stored_local'",
		      "isss", now_ns(), rec->serial, rec->recording_id, info->location);
	r = dockdb_tx_end(w, r, ev, 2);
	if (r == 0) {
		rec->state = DREC_STORAGE_VERIFIED;
		snprintf(rec->location, sizeof(rec->location), "%s", info->location);
	}
	return r;
}

int dockdb_released(struct ledgerw *w, struct dock_rec *rec, const struct proto_receipt *rc)
{
	char sha[65], sig[129];
	json_t *d;

	if (rc) {
		hex32(rc->sha256, sha);
		edsig_hex(rc->sig, 64, sig, sizeof(sig));
		d = json_pack("{s:{s:s,s:s,s:s,s:s,s:I,s:s}}", "receipt", "recording_id",
			      rc->recording_id, "sha256", sha, "location", rc->location, "dock_id",
			      rc->dock_id, "issued_utc", (json_int_t)rc->issued_utc, "sig", sig);
	} else {
		d = json_pack("{s:s}", "confirmed", "absent at next docking");
	}
	return dockdb_released_json(w, rec, d);
}

int dockdb_released_json(struct ledgerw *w, struct dock_rec *rec, json_t *d)
{
	struct cust_event ev;
	char *text = NULL;
	int r;

	if (!d)
		return -ENOMEM;
	text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	r = ledgerw_event(w, &ev, CUST_A_CAMERA_RELEASED, rec->evidence_id, CUST_OUTCOME_OK);
	if (r == 0)
		r = details(&ev, d);
	else
		json_decref(d);
	if (r == 0 && !text)
		r = -ENOMEM;
	if (r < 0 || (r = dockdb_tx_begin(w)) < 0)
		goto out;
	r = dockdb_exec(w, "UPDATE dock_recordings SET state = 'released', receipt = ?4,"
			 " updated_ns = ?1" WHERE_KEY
			 " AND state IN ('storage_verified','stored_local')",
		      "isss", now_ns(), rec->serial, rec->recording_id, text);
	r = dockdb_tx_end(w, r, &ev, 1);
	if (r == 0)
		rec->state = DREC_RELEASED;
out:
	free(text);
	return r;
}
