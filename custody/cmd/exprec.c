/*
 * exprec.c - recording an export, share or decryption where it belongs:
 * the dock's ledger directly, through the dock's query service, or (dock
 * unreachable, --offline) as a signed receipt to be filed back. See
 * exprec.h and docs/custody-access.md "Exports from a workstation".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edkey.h"
#include "exprec.h"
#include "qclient.h"
#include "qcmd.h"
#include "receipt.h"
#include "receipt_ledger.h"

/* The details a direct event carries that also go on the wire (the
 * service's "export" keys; docs/custody-access.md). */
static const char *const wire_keys[] = {
	"out", "file", "key_id", "recipient_key_id", "until", "share_id",
	"share_sha256", "header_sha256", "plaintext_sha256", "evidence_sha256",
	"format", "package", NULL };

int exprec_opt(struct exprec_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char **dst = NULL;

	if (!strcmp(a, "--offline")) {
		o->offline = 1;
		return 1;
	}
	if (!strcmp(a, "--socket")) dst = &o->socket;
	else if (!strcmp(a, "--receipt-key")) dst = &o->receipt_key;
	else if (!strcmp(a, "--receipts")) dst = &o->receipts;
	else if (!strcmp(a, "--on-behalf")) dst = &o->on_behalf;
	else return 0;
	if (*i + 1 >= argc || !argv[*i + 1][0] || *dst) {
		cmd_err("%s needs one non-empty value", a);
		return -1;
	}
	*dst = argv[++*i];
	return 1;
}

int exprec_begin(struct cmd_ctx *ctx, struct exprec_opts *o)
{
	struct qconfig qc;
	int rc;

	if (o->offline && (!o->receipt_key || !o->receipts || o->socket)) {
		cmd_err("--offline needs --receipt-key WS.key and --receipts WS.range "
			"(from `custody receipt issue` on the dock), and no --socket");
		return CMD_ERROR;
	}
	if (!o->offline && (o->receipt_key || o->receipts)) {
		cmd_err("--receipt-key and --receipts are for --offline only");
		return CMD_ERROR;
	}
	if (o->on_behalf && (o->offline || !o->socket)) {
		cmd_err("--on-behalf is for the web console with --socket only");
		return CMD_ERROR;
	}
	if (o->offline) {
		o->mode = EXPREC_OFFLINE;
	} else if (o->socket) {
		o->mode = EXPREC_REMOTE;
		snprintf(o->sock, sizeof(o->sock), "%s", o->socket);
	} else {
		if ((rc = cmd_qconfig(ctx, &qc)))
			return rc;
		/* a socket is configured and the ledger here is not the dock's
		 * own writable file: a workstation's copy */
		if (qc.socket[0] && (!ctx->db_path || access(ctx->db_path, W_OK) != 0)) {
			o->mode = EXPREC_REMOTE;
			snprintf(o->sock, sizeof(o->sock), "%s", qc.socket);
		}
	}
	if (o->mode != EXPREC_DIRECT)
		ctx->read_only = true;	/* the copy is read, never written */
	if ((rc = cmd_open_ledger(ctx, false)))
		return rc;
	if (o->mode == EXPREC_DIRECT &&
	    (ctx->read_only || cust_ledger_readonly(ctx->ledger))) {
		cmd_err("%s: read-only ledger and no query service: the export cannot "
			"be recorded on the dock, so it is refused and nothing is written (configure "
			"[query] socket or give --socket; --offline for a receipt)",
			ctx->db_path);
		return CMD_ERROR;
	}
	return 0;
}

static int remote(struct exprec_opts *o, const struct exprec *e,
		  const char *error, char *dock_sha)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "export", "item",
				e->item, "command", e->command, "reason", e->reason);
	json_t *reply = NULL, *v;
	const char *k, *msg, *code;
	int r;

	if (req && e->case_no)
		json_object_set_new(req, "case", json_string(e->case_no));
	if (req && error)
		json_object_set_new(req, "error", json_string(error));
	if (req && o->on_behalf)	/* refused unless we are the console account */
		json_object_set_new(req, "on_behalf", json_string(o->on_behalf));
	for (size_t i = 0; req && e->details && wire_keys[i]; i++) {
		k = wire_keys[i];
		v = json_object_get(e->details, k);
		if (json_is_string(v) && json_string_length(v) > 0)
			json_object_set(req, k, v);
	}
	if (!req)
		return CMD_ERROR;
	r = qclient_call(o->sock, req, 0, &reply);
	json_decref(req);
	if (r < 0) {
		cmd_err("the dock's query service at %s cannot be reached (%s): "
			"nothing written - an export is recorded on the dock before "
			"any byte leaves (--offline with a receipt range when the dock "
			"is down)", o->sock, r == -EBADMSG ? "unreadable reply" : strerror(-r));
		return CMD_ERROR;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		code = json_string_value(json_object_get(reply, "error"));
		msg = json_string_value(json_object_get(reply, "message"));
		cmd_err("the dock refused to record the %s of %s: %s; nothing written",
			e->command, e->item, msg ? msg : "no reason given");
		r = code && !strcmp(code, "denied") ? CMD_FINDINGS : CMD_ERROR;
		json_decref(reply);
		return r;
	}
	if (dock_sha)
		snprintf(dock_sha, 65, "%s", json_string_value(json_object_get(
			json_object_get(json_object_get(reply, "result"), "record"),
			"sha256")) ?: "");
	json_decref(reply);
	return 0;
}

/* The range file of `custody receipt issue --out` (docs). */
static int load_range(const char *path, struct receipt_issue *is)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	const char *f = json_string_value(json_object_get(j, "format"));
	const char *ws = json_string_value(json_object_get(j, "workstation"));
	const char *kid = json_string_value(json_object_get(j, "key_id"));
	json_int_t first = json_integer_value(json_object_get(j, "first"));
	json_int_t last = json_integer_value(json_object_get(j, "last"));
	int rc = -EINVAL;

	if (f && !strcmp(f, "custody-receipt-range/v1") && ws && kid &&
	    receipt_hex64(kid) && strlen(ws) < sizeof(is->workstation) && first >= 1 &&
	    last >= first && (uint64_t)last <= RECEIPT_NUMBER_MAX) {
		memset(is, 0, sizeof(*is));
		snprintf(is->workstation, sizeof(is->workstation), "%s", ws);
		snprintf(is->key_id, sizeof(is->key_id), "%s", kid);
		is->first = (uint64_t)first;
		is->last = (uint64_t)last;
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* Write text to path, created exclusively (the claim of its number), and
 * make it durable. -EEXIST when the number is taken. */
static int write_new(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		r = errno ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	return r;
}

static int offline(struct exprec_opts *o, const struct exprec *e,
		   char *receipt_path)
{
	struct receipt_issue is;
	struct receipt r;
	struct edkey *k = NULL;
	uint8_t pub[EDKEY_PUB_LEN];
	char buf[RECEIPT_MAX + 1], path[1024];
	const char *base = strrchr(e->output, '/') ? strrchr(e->output, '/') + 1 : e->output;
	struct tm tm;
	time_t now = time(NULL);
	size_t len;
	uint64_t n;
	int rc = CMD_ERROR, x;

	if (load_range(o->receipts, &is)) {
		cmd_err("%s: not a receipt range file (custody receipt issue --out)",
			o->receipts);
		return CMD_ERROR;
	}
	if ((x = edkey_load_private(o->receipt_key, &k)) || edkey_public_raw(k, pub)) {
		cmd_err("%s: not an Ed25519 private key readable by its owner only: %s",
			o->receipt_key, strerror(x ? -x : EINVAL));
		goto out;
	}
	memset(&r, 0, sizeof(r));
	if (receipt_key_id(pub, r.key_id) || strcmp(r.key_id, is.key_id)) {
		cmd_err("%s: the range %s was issued for another key", o->receipt_key,
			o->receipts);
		goto out;
	}
	snprintf(r.agency, sizeof(r.agency), "%s", e->agency);
	snprintf(r.workstation, sizeof(r.workstation), "%s", is.workstation);
	snprintf(r.command, sizeof(r.command), "%s", e->command);
	snprintf(r.item, sizeof(r.item), "%s", e->item);
	snprintf(r.sha256, sizeof(r.sha256), "%s", e->sha256 ? e->sha256 : "");
	snprintf(r.output, sizeof(r.output), "%s", base);
	cmd_os_user(r.user, sizeof(r.user));
	snprintf(r.reason, sizeof(r.reason), "%s", e->reason);
	snprintf(r.case_no, sizeof(r.case_no), "%s", e->case_no ? e->case_no : "");
	snprintf(r.rkey, sizeof(r.rkey), "%s", e->rkey ? e->rkey : "");
	snprintf(r.until, sizeof(r.until), "%s", e->until ? e->until : "");
	gmtime_r(&now, &tm);
	strftime(r.time, sizeof(r.time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (n = is.first; n <= is.last; n++) {
		r.number = n;
		if ((x = receipt_sign(&r, k, buf, sizeof(buf), &len))) {
			cmd_err("cannot sign the receipt: %s", x == -EINVAL ?
				"a field breaks the receipt format (control characters, "
				"over 512 bytes?)" : strerror(-x));
			goto out;
		}
		snprintf(path, sizeof(path), "%s.%llu.receipt", o->receipts,
			 (unsigned long long)n);
		x = write_new(path, buf, len);
		if (x == -EEXIST)
			continue;	/* used by an earlier export */
		if (x) {
			unlink(path);
			cmd_err("%s: %s", path, strerror(-x));
			goto out;
		}
		fprintf(stderr, "custody: OFFLINE: the dock was not asked; receipt %llu "
			"written to %s - file it on the dock (custody receipt file) as "
			"soon as it is reachable\n", (unsigned long long)n, path);
		if (receipt_path)
			snprintf(receipt_path, 1024, "%s", path);
		rc = 0;
		goto out;
	}
	cmd_err("%s: every receipt number (%llu-%llu) is used: nothing written; ask a "
		"supervisor for a new range", o->receipts, (unsigned long long)is.first,
		(unsigned long long)is.last);
out:
	edkey_free(k);
	return rc;
}

int exprec_record(struct cmd_ctx *ctx, struct exprec_opts *o,
		  const struct exprec *e, const char *error, char *dock_sha,
		  char *receipt_path)
{
	(void)ctx;
	if (o->mode == EXPREC_REMOTE)
		return remote(o, e, error, dock_sha);
	if (o->mode == EXPREC_OFFLINE)
		return error ? 0 : offline(o, e, receipt_path);
	return CMD_ERROR;	/* direct: the command appends its own event */
}
