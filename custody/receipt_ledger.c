/* receipt_ledger: offline receipt numbers as the ledger's events record
 * them. See receipt_ledger.h. Reads the events table only (its details
 * are the signed, chained record; nothing derived is trusted). */
#include "receipt_ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

static int64_t num(json_t *d, const char *k)
{
	json_t *v = json_object_get(d, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* One issue event's details into *is; -EBADMSG when they do not hold a
 * usable range and key (such an event grants nothing). */
static int decode_issue(sqlite3_stmt *st, struct receipt_issue *is)
{
	const char *agency = (const char *)sqlite3_column_text(st, 1);
	const char *txt = (const char *)sqlite3_column_text(st, 2);
	json_t *d = txt ? json_loads(txt, 0, NULL) : NULL;
	const char *ws = json_string_value(json_object_get(d, "workstation"));
	const char *key = json_string_value(json_object_get(d, "key"));
	int64_t first = num(d, "first"), last = num(d, "last");
	int rc = -EBADMSG;

	memset(is, 0, sizeof(*is));
	if (!agency || !ws || !key || !receipt_hex64(key) || first < 1 ||
	    last < first || last - first >= RECEIPT_ISSUE_MAX ||
	    (uint64_t)last > RECEIPT_NUMBER_MAX || strlen(ws) >= sizeof(is->workstation) ||
	    strlen(agency) >= sizeof(is->agency))
		goto out;
	for (int i = 0; i < EDKEY_PUB_LEN; i++) {
		unsigned v;
		char b[3] = { key[2 * i], key[2 * i + 1], 0 };
		v = (unsigned)strtoul(b, NULL, 16);
		is->key[i] = (uint8_t)v;
	}
	if (receipt_key_id(is->key, is->key_id))
		goto out;
	is->seq = (uint64_t)sqlite3_column_int64(st, 0);
	is->first = (uint64_t)first;
	is->last = (uint64_t)last;
	snprintf(is->agency, sizeof(is->agency), "%s", agency);
	snprintf(is->workstation, sizeof(is->workstation), "%s", ws);
	rc = 0;
out:
	json_decref(d);
	return rc;
}

static int prepare(struct cust_ledger *l, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, st, NULL) == SQLITE_OK ?
	       0 : -EIO;
}

#define ISSUES "SELECT seq, agency_id, details FROM events WHERE action = ? " \
	       "AND outcome = ? ORDER BY seq"

static int each_issue(struct cust_ledger *l,
		      int (*fn)(void *arg, const struct receipt_issue *is),
		      void *arg)
{
	sqlite3_stmt *st = NULL;
	struct receipt_issue is;
	int rc, s;

	if ((rc = prepare(l, ISSUES, &st)))
		return rc;
	sqlite3_bind_int(st, 1, CUST_A_OFFLINE_RECEIPTS_ISSUED);
	sqlite3_bind_int(st, 2, CUST_OUTCOME_OK);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (decode_issue(st, &is))
			continue;	/* malformed: covers nothing */
		if ((rc = fn(arg, &is)))
			break;
	}
	if (!rc && s != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

static int max_cb(void *arg, const struct receipt_issue *is)
{
	uint64_t *m = arg;

	if (is->last > *m)
		*m = is->last;
	return 0;
}

int receipt_next_number(struct cust_ledger *l, uint64_t *next)
{
	uint64_t m = 0;
	int rc = each_issue(l, max_cb, &m);

	if (rc)
		return rc;
	*next = m + 1;
	return 0;
}

struct find {
	uint64_t number;
	struct receipt_issue *out;
	int found;
};

static int find_cb(void *arg, const struct receipt_issue *is)
{
	struct find *f = arg;

	if (f->number < is->first || f->number > is->last)
		return 0;
	*f->out = *is;
	f->found = 1;
	return 1;
}

int receipt_find_issue(struct cust_ledger *l, uint64_t number,
		       struct receipt_issue *out)
{
	struct receipt_issue is;
	struct find f = { number, &is, 0 };
	int rc = each_issue(l, find_cb, &f);

	if (rc < 0)
		return rc;
	if (!f.found)
		return -ENOENT;
	*out = is;
	return 0;
}

#define FILED "SELECT 1 FROM events WHERE action = ? AND outcome = ? AND " \
	      "json_extract(details, '$.number') = ? LIMIT 1"

int receipt_is_filed(struct cust_ledger *l, uint64_t number)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	if ((rc = prepare(l, FILED, &st)))
		return rc;
	sqlite3_bind_int(st, 1, CUST_A_EXPORT_RECEIPT_FILED);
	sqlite3_bind_int(st, 2, CUST_OUTCOME_OK);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)number);
	s = sqlite3_step(st);
	rc = s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

struct unfiled {
	struct cust_ledger *l;
	int (*cb)(void *arg, const struct receipt_issue *is, uint64_t from,
		  uint64_t to);
	void *arg;
};

/* Runs of unfiled numbers in one issue (at most RECEIPT_ISSUE_MAX
 * look-ups, each an index-free scan of the filed events: fine for the
 * few filed receipts a dock sees). */
static int unfiled_cb(void *arg, const struct receipt_issue *is)
{
	struct unfiled *u = arg;
	uint64_t n, run = 0;
	int rc;

	for (n = is->first; n <= is->last + 1; n++) {
		int filed = n > is->last ? 1 : receipt_is_filed(u->l, n);

		if (filed < 0)
			return filed;
		if (!filed && !run)
			run = n;
		if (filed && run) {
			if ((rc = u->cb(u->arg, is, run, n - 1)))
				return rc;
			run = 0;
		}
	}
	return 0;
}

int receipt_unfiled(struct cust_ledger *l,
		    int (*cb)(void *arg, const struct receipt_issue *is,
			      uint64_t from, uint64_t to), void *arg)
{
	struct unfiled u = { l, cb, arg };

	return each_issue(l, unfiled_cb, &u);
}
