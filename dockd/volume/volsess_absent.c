/* volsess_absent.c - a mass-storage recording the dock never stored that
 * is not on the volume docked now (the card replaced or reformatted
 * between dockings, or wiped by the camera's own tool): its bytes were
 * only ever on the card, so this is said in the ledger and alerted, never
 * passed over in silence. See volsess_int.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "dockdb.h"
#include "ledger.h"
#include "ledgerw.h"
#include "volsess_int.h"

/* The volume_id of the first volume_listed of serial at or after t_ns:
 * the volume of the docking that last listed the row ("" none known). */
static void volume_at(struct ledgerw *w, const char *serial, int64_t t_ns, char *out,
		      size_t cap)
{
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	ledgerw_lock(w);
	if (sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(w)),
			       "SELECT json_extract(details, '$.volume_id') FROM events WHERE"
			       " action = ?1 AND time_ns >= ?2 AND json_extract(details,"
			       " '$.serial') = ?3 ORDER BY seq LIMIT 1", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int(s, 1, CUST_A_VOLUME_LISTED);
		sqlite3_bind_int64(s, 2, t_ns);
		sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	ledgerw_unlock(w);
}

/* Whether volume_item_absent was already recorded for evidence_id with
 * this docked volume id: the same card docked again says nothing new, so
 * it is recorded (and alerted) once per item and volume, not at every
 * docking. events_item indexes the lookup. */
static bool said_before(struct ledgerw *w, const char *evidence_id, const char *volid)
{
	sqlite3_stmt *s = NULL;
	bool found = false;

	ledgerw_lock(w);
	if (sqlite3_prepare_v2(cust_ledger_db(ledgerw_ledger(w)),
			       "SELECT 1 FROM events WHERE evidence_id = ?1 AND action = ?2 AND"
			       " json_extract(details, '$.volume_id') = ?3 LIMIT 1", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, evidence_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, CUST_A_VOLUME_ITEM_ABSENT);
		sqlite3_bind_text(s, 3, volid, -1, SQLITE_STATIC);
		found = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	ledgerw_unlock(w);
	return found;
}

static bool listed(const struct vfile *files, size_t n, const char *rid)
{
	for (size_t i = 0; i < n; i++)
		if (files[i].ok && !strcmp(files[i].rid, rid))
			return true;
	return false;
}

/* volume_item_absent {serial, recording_id, state, size, durable_chunks,
 * attempts, volume_id, last_volume_id}, outcome failed, and an alert. */
static int record(struct dockd *d, const struct dock_rec *rec, const char *volid,
		  const char *last)
{
	struct cust_event ev;
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "serial", rec->serial,
			      "recording_id", rec->recording_id, "state",
			      dockdb_state_name(rec->state), "size", (json_int_t)rec->size,
			      "durable_chunks", (json_int_t)rec->durable_chunks, "attempts",
			      (json_int_t)rec->attempts, "volume_id", volid, "last_volume_id", last);
	int r = o ? ledgerw_event(d->w, &ev, CUST_A_VOLUME_ITEM_ABSENT, rec->evidence_id,
				  CUST_OUTCOME_FAILED) : -ENOMEM;

	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), "never stored, not on the "
					"volume docked");
	if (r == 0)
		r = cust_event_set_details(&ev, o);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(o);
	if (r < 0)
		return r;
	dockd_alert(d, "evidence-missing", rec->evidence_id, "recording %s (%llu bytes, %s) of "
		    "camera %s was never stored and is not among the readable files of the volume "
		    "docked now (volume id %s; last listed on volume %s): the card was replaced, reformatted or wiped; "
		    "dock the card that holds it", rec->evidence_id,
		    (unsigned long long)rec->size, dockdb_state_name(rec->state), rec->serial,
		    *volid ? volid : "none", *last ? last : "unknown");
	return 0;
}

int volsess_absent(struct dockd *d, const char *serial, const char *volid,
		   const struct vfile *files, size_t n, unsigned *n_absent)
{
	unsigned mask = DREC_BIT(DREC_LISTED) | DREC_BIT(DREC_PULLING) |
			DREC_BIT(DREC_QUARANTINED);
	char after[PROTO_ID_MAX + 1] = "", last[VOLSESS_VOLID_MAX + 1];
	struct dock_rec rec;
	int r;

	while ((r = dockdb_next(d->w, serial, mask, after, INT64_MIN, NULL, &rec)) == 0) {
		snprintf(after, sizeof(after), "%s", rec.recording_id);
		if (!dockdb_unsigned(&rec) || listed(files, n, rec.recording_id) ||
		    said_before(d->w, rec.evidence_id, volid))
			continue;
		volume_at(d->w, serial, rec.listed_ns < 0 ? -rec.listed_ns : rec.listed_ns, last,
			  sizeof(last));
		if ((r = record(d, &rec, volid, last)) < 0)
			return r;
		(*n_absent)++;
	}
	return r == -ENOENT ? 0 : r;
}
