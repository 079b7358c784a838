/*
 * qexport.c - evidence leaving a workstation, recorded on the dock
 * (docs/custody-access.md "Exports from a workstation"):
 *
 *   export         an export / share / decryption about to be made at a
 *                  workstation: the `exported` (or `shared`) event is
 *                  written here, BEFORE the workstation writes a byte; a
 *                  request with "error" records the failure that followed
 *   receipt-issue  a supervisor pre-authorizes offline exports: numbers
 *                  first..last for one workstation's Ed25519 key
 *                  (offline_receipts_issued, action 61)
 *   receipt-file   a signed offline receipt filed back
 *                  (export_receipt_filed, action 60); a malformed,
 *                  forged, foreign or duplicate receipt is recorded as a
 *                  failed filing and alerted
 * Runs with the ledger lock held (qrequest.c allow()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evstate.h"
#include "qops.h"
#include "receipt.h"
#include "receipt_ledger.h"

int qop_is_export(enum access_op op)
{
	return op == ACCESS_OP_EXPORT || op == ACCESS_OP_RECEIPT_ISSUE ||
	       op == ACCESS_OP_RECEIPT_FILE;
}

static const char *param(const struct qop *q, const char *k)
{
	return json_string_value(json_object_get(q->params, k));
}

/* The details every event here carries: the request's (uid, pid, via,
 * role, user_agency, op) without the raw params. */
static json_t *details(const struct qop *q)
{
	json_t *d = qrequest_details_(q);

	if (d)
		json_object_del(d, "params");
	return d;
}

/* Append one event built here; its seq, or a negative errno. */
static int64_t append(struct qop *q, enum cust_action a, enum cust_outcome o,
		      const char *item, const char *reason, const char *case_no,
		      json_t *d)
{
	struct cust_event ev;
	int rc;

	rc = cust_event_init(&ev, q->target, CUST_ACTOR_CLERK, q->user, a,
			     item ? item : "", o);
	if (!rc && reason && *reason)
		rc = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (!rc && case_no && *case_no)
		rc = cust_event_set_text(ev.case_no, sizeof(ev.case_no), case_no);
	if (!rc)
		rc = d ? cust_event_set_details(&ev, d) : -ENOMEM;
	if (!rc)
		rc = cust_ledger_append(q->ctx->ledger, &ev);
	if (rc)
		fprintf(stderr, "custody qservice: cannot record %s for %s: %s\n",
			cust_action_name(a), q->user, strerror(-rc));
	return rc ? rc : (int64_t)ev.seq;
}

/* Add the members of obj (a new reference, may be NULL) to d. */
static void merge(json_t *d, json_t *obj)
{
	if (d && obj)
		json_object_update(d, obj);
	json_decref(obj);
}

static json_t *fail(struct qop *q, enum cust_action a, const char *code,
		    const char *msg)
{
	int64_t seq = qrequest_record_item_(q, a, CUST_OUTCOME_FAILED, "error", msg);

	return qrequest_error_(seq < 0 ? "audit-failed" : code, msg, seq);
}

static json_t *ok(struct qop *q, int64_t seq, json_t *result)
{
	return json_pack("{s:b, s:s, s:s, s:I, s:o}", "ok", 1, "op", q->op_name,
			 "user", q->user, "audit_seq", (json_int_t)seq,
			 "result", result);
}

/* The dock's record of the item: its agency and SHA-256 (the workstation
 * compares them with its ledger copy). */
static int item_record(struct qop *q, struct cust_evstate *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(cust_ledger_db(q->ctx->ledger), cust_evstate_select_sql,
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, q->item, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cust_evstate_from_row(s, st);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static json_t *run_export(struct qop *q)
{
	const char *cmd = param(q, "command"), *err = param(q, "error");
	enum cust_action a = CUST_A_EXPORTED;
	struct cust_evstate st;
	const char *k;
	json_t *d, *v;
	int64_t seq;

	if (cmd && !strcmp(cmd, "share"))
		a = CUST_A_SHARED;
	else if (!cmd || (strcmp(cmd, "export") && strcmp(cmd, "decrypt")))
		return fail(q, a, "bad-request", "bad request: command must be "
			    "export, share or decrypt");
	if (a == CUST_A_SHARED && !err && (!param(q, "case") || !param(q, "until") ||
				   !param(q, "recipient_key_id")))
		return fail(q, a, "bad-request", "bad request: a share names its "
			    "case, until and recipient_key_id");
	if (param(q, "case") && strlen(param(q, "case")) > CUST_CASE_MAX)
		return fail(q, a, "bad-request", "bad request: case is too long");
	memset(&st, 0, sizeof(st));
	if (item_record(q, &st))
		return fail(q, a, "error", "the item's record cannot be read");
	/* the same details as an export made on the dock, plus who asked
	 * through the service */
	d = details(q);
	json_object_foreach(q->params, k, v)
		if (d && strcmp(k, "item") && strcmp(k, "case"))
			json_object_set(d, k, v);
	seq = append(q, a, err ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK, q->item,
		     q->reason, param(q, "case"), d);
	json_decref(d);
	if (seq < 0)
		return qrequest_error_("audit-failed", "refused: the export could not "
				       "be recorded on the dock, so it must not be made", 0);
	return ok(q, seq, json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:s}}",
				    "item", q->item, "event", cust_action_name(a),
				    "seq", (json_int_t)seq, "record",
				    "agency_id", st.agency_id, "sha256", st.sha256,
				    "object_key", st.object_key));
}

static json_t *run_issue(struct qop *q)
{
	const char *ws = param(q, "workstation"), *key = param(q, "key");
	json_t *cnt = json_object_get(q->params, "count"), *d;
	struct receipt_issue is;
	uint64_t first;
	int64_t seq;
	int rc;

	if (!ws || !access_token_valid(ws, 64) || !key || !receipt_hex64(key) || !cnt)
		return fail(q, CUST_A_OFFLINE_RECEIPTS_ISSUED, "bad-request",
			    "bad request: workstation (letters, digits, . _ -), key (64 "
			    "hex: the raw Ed25519 public key) and count are needed");
	if ((rc = receipt_next_number(q->ctx->ledger, &first)))
		return fail(q, CUST_A_OFFLINE_RECEIPTS_ISSUED, "error",
			    "the ledger's receipt numbers cannot be read");
	memset(&is, 0, sizeof(is));
	for (int i = 0; i < EDKEY_PUB_LEN; i++) {
		unsigned x = 0;
		sscanf(key + 2 * i, "%2x", &x);
		is.key[i] = (uint8_t)x;
	}
	(void)receipt_key_id(is.key, is.key_id);
	is.first = first;
	is.last = first + (uint64_t)json_integer_value(cnt) - 1;
	d = details(q);
	merge(d, json_pack("{s:s, s:s, s:s, s:I, s:I}",
			"workstation", ws, "key", key, "key_id", is.key_id,
			"first", (json_int_t)is.first, "last", (json_int_t)is.last));
	seq = append(q, CUST_A_OFFLINE_RECEIPTS_ISSUED, CUST_OUTCOME_OK, "",
		     q->reason, NULL, d);
	json_decref(d);
	if (seq < 0)
		return qrequest_error_("audit-failed", "not issued: the event could "
				       "not be recorded", 0);
	return ok(q, seq, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "agency",
				    q->target, "workstation", ws, "key_id", is.key_id,
				    "first", (json_int_t)is.first, "last",
				    (json_int_t)is.last, "seq", (json_int_t)seq));
}

/* A refused filing: recorded (with the receipt as sent, in params) and
 * alerted - a forged or replayed receipt is an attack on the record. */
static json_t *refuse(struct qop *q, const char *detail, const char *msg)
{
	q->alert_kind = "receipt-refused";
	q->alert_detail = detail;
	return fail(q, CUST_A_EXPORT_RECEIPT_FILED, "denied", msg);
}

static json_t *run_file(struct qop *q)
{
	const char *txt = param(q, "receipt");
	struct receipt r;
	struct receipt_issue is;
	char agency[CUST_AGENCY_MAX + 1], msg[200];
	json_t *d;
	int64_t seq;
	int rc;

	if (!txt || receipt_parse(txt, strlen(txt), &r))
		return refuse(q, "malformed", "receipt refused: not a receipt in the "
			      "documented format (custody-export-receipt/v1)");
	if (receipt_find_issue(q->ctx->ledger, r.number, &is)) {
		snprintf(msg, sizeof(msg), "receipt refused: number %llu was never "
			 "issued", (unsigned long long)r.number);
		return refuse(q, "not-issued", msg);
	}
	if (strcmp(is.agency, q->target) || strcmp(r.agency, is.agency) ||
	    cust_ledger_item_agency(q->ctx->ledger, r.item, agency, sizeof(agency)) ||
	    strcmp(agency, is.agency))
		return refuse(q, "deny-agency", "receipt refused: not found in your "
			      "agency");
	if (strcmp(r.key_id, is.key_id) || strcmp(r.workstation, is.workstation) ||
	    receipt_verify(&r, txt, is.key))
		return refuse(q, "forged", "receipt refused: its signature does not "
			      "verify under the key issued for its number");
	if ((rc = receipt_is_filed(q->ctx->ledger, r.number)) != 0) {
		snprintf(msg, sizeof(msg), "receipt refused: number %llu %s",
			 (unsigned long long)r.number, rc > 0 ? "is filed already "
			 "(duplicate)" : "cannot be checked");
		return rc > 0 ? refuse(q, "duplicate", msg) : fail(q,
			CUST_A_EXPORT_RECEIPT_FILED, "error", msg);
	}
	d = details(q);
	merge(d, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
			"number", (json_int_t)r.number, "issued_seq", (json_int_t)is.seq,
			"workstation", r.workstation, "command", r.command,
			"sha256", r.sha256, "by", r.user, "time", r.time,
			"receipt", txt));
	seq = append(q, CUST_A_EXPORT_RECEIPT_FILED, CUST_OUTCOME_OK, r.item,
		     r.reason, r.case_no, d);
	json_decref(d);
	if (seq < 0)
		return qrequest_error_("audit-failed", "not filed: the event could "
				       "not be recorded", 0);
	return ok(q, seq, json_pack("{s:I, s:s, s:s, s:I}", "number",
				    (json_int_t)r.number, "item", r.item, "command",
				    r.command, "seq", (json_int_t)seq));
}

json_t *qop_export(struct qop *q)
{
	switch (q->op) {
	case ACCESS_OP_EXPORT:
		return run_export(q);
	case ACCESS_OP_RECEIPT_ISSUE:
		return run_issue(q);
	default:
		return run_file(q);
	}
}
