/*
 * evstate.h - the evidence record derived from an item's events.
 *
 * One pure function, cust_evstate_apply(), defines how each event changes
 * an item's record; the ledger applies it on append (and stores the result
 * in the evidence tables), `custody verify` applies it while replaying all
 * events and compares. The rules are listed in docs/custody-ledger.md.
 */
#ifndef CUSTODY_EVSTATE_H
#define CUSTODY_EVSTATE_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "event.h"

#define CUST_STATE_TEXT 256
#define CUST_CASES_MAX  1024	/* sorted case numbers, CUST_CASE_SEP-joined */
/* Separator of the case list (and of the `evidence.cases` column): the
 * byte 0x1F, which no event text may contain, so a case number can hold
 * any printable text, commas included. */
#define CUST_CASE_SEP   '\x1f'
#define CUST_CASE_SEP_S "\x1f"

struct cust_evstate {
	char evidence_id[CUST_EVIDENCE_MAX + 1];
	char agency_id[CUST_AGENCY_MAX + 1];
	char status[24];
	int64_t size;			/* -1 = unknown */
	char sha256[65];
	char officer[CUST_STATE_TEXT];
	char camera[CUST_STATE_TEXT];
	char category[CUST_STATE_TEXT];
	char retention_until[64];
	int legal_hold;
	int local_copy;
	char object_key[CUST_STATE_TEXT];
	char version_id[CUST_STATE_TEXT];
	char etag[CUST_STATE_TEXT];
	char cases[CUST_CASES_MAX];
	uint64_t first_seq, last_seq, n_events;
	int64_t first_ns, last_ns;
};

/* Apply ev to st. A zeroed st (first_seq == 0) is a new item. Returns 0,
 * -EXDEV if ev's agency differs from the item's, -EINVAL if ev has no
 * evidence id, -E2BIG if the case list would exceed its cap, -EBADMSG
 * unreadable details. *added_case (may be NULL) is set to 1 when
 * ev->case_no was new to the item. */
int cust_evstate_apply(struct cust_evstate *st, const struct cust_event *ev,
		       int *added_case);

/* 1 and the case number in buf when ev is a successful case_unassigned
 * (the case leaves the item's list and the evidence_cases index), else 0.
 * Case rules: an event's case_no adds that case (case_assigned carries
 * it there); case_unassigned {"case": C} removes C. */
int cust_evstate_unassigned_case(const struct cust_event *ev, char *buf,
				 size_t cap);

/* Compare two records; on difference writes the first differing field's
 * name and both values into what and returns 1, else 0. */
int cust_evstate_diff(const struct cust_evstate *a, const struct cust_evstate *b,
		      char *what, size_t cap);

/* SQL for the ledger's cached statements: select one record by id (?1),
 * upsert one record (bind with cust_evstate_bind), add one case number. */
#define CUST_EVSTATE_COLS "evidence_id, agency_id, status, size, sha256, " \
	"officer, camera, category, retention_until, legal_hold, local_copy, " \
	"object_key, version_id, etag, cases, first_seq, last_seq, n_events, " \
	"first_ns, last_ns"
extern const char cust_evstate_select_sql[];
extern const char cust_evstate_upsert_sql[];
extern const char cust_evstate_case_sql[];
/* Fill st from the current row of a statement selecting CUST_EVSTATE_COLS
 * (in that order, starting at column 0). */
void cust_evstate_from_row(sqlite3_stmt *s, struct cust_evstate *st);
/* Bind st to the upsert statement's parameters ?1..?20. */
int cust_evstate_bind(sqlite3_stmt *s, const struct cust_evstate *st);

/* The record as JSON (schema in query.h). */
json_t *cust_evstate_to_json(const struct cust_evstate *st);

#endif /* CUSTODY_EVSTATE_H */
