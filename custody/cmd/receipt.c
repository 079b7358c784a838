/*
 * receipt.c - `custody receipt`: offline export receipts, always through
 * the dock's query service (the caller's role decides; docs/
 * custody-access.md "Offline exports and receipts").
 *
 *   custody [--config F] receipt issue --workstation W --key WS.pub
 *           --count N --reason R --out WS.range [--socket PATH]
 *       (supervisor) numbers first..last for the workstation's Ed25519
 *       key: an offline_receipts_issued event; the range file is what the
 *       workstation's `--offline --receipts WS.range` reads.
 *   custody [--config F] receipt file RECEIPT... [--socket PATH]
 *       (clerk, supervisor) file signed receipts back: one
 *       export_receipt_filed event each; a forged, foreign or duplicate
 *       receipt is refused, recorded and alerted.
 *
 * Exit: 0 done; 1 refused by the dock (role, agency, forged, duplicate);
 * 2 usage, files, dock unreachable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edkey.h"
#include "qclient.h"
#include "qcmd.h"
#include "receipt.h"

#define USAGE "usage: custody [--config F] receipt issue --workstation W --key WS.pub " \
	"--count N --reason R --out WS.range [--socket PATH]\n" \
	"       custody [--config F] receipt file RECEIPT... [--socket PATH]"

/* The service's reply: 0 ok (*result borrowed from *reply), else the
 * exit status with the message printed. */
static int call(const char *sock, json_t *req, json_t **reply)
{
	const char *code, *msg;
	int r = qclient_call(sock, req, 0, reply);

	if (r < 0) {
		cmd_err("the dock's query service at %s cannot be reached: %s", sock,
			strerror(-r));
		return CMD_ERROR;
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	code = json_string_value(json_object_get(*reply, "error"));
	msg = json_string_value(json_object_get(*reply, "message"));
	cmd_err("%s", msg ? msg : "refused");
	r = code && !strcmp(code, "denied") ? CMD_FINDINGS : CMD_ERROR;
	json_decref(*reply);	/* code and msg point into it */
	*reply = NULL;
	return r;
}

static int issue(const char *sock, const char *ws, const char *pubf,
		 const char *count, const char *reason, const char *out)
{
	struct edkey *k = NULL;
	uint8_t pub[EDKEY_PUB_LEN];
	char hex[2 * EDKEY_PUB_LEN + 1], *end, *text = NULL;
	json_t *req, *reply = NULL, *res, *range;
	long n = strtol(count, &end, 10);
	int rc, fd;

	if (*end || n < 1 || n > 1000) {
		cmd_err("receipt issue: --count 1..1000");
		return CMD_ERROR;
	}
	if (edkey_load_public(pubf, &k) || edkey_public_raw(k, pub)) {
		edkey_free(k);
		cmd_err("%s: not an Ed25519 public key (PEM)", pubf);
		return CMD_ERROR;
	}
	edkey_free(k);
	for (int i = 0; i < EDKEY_PUB_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", pub[i]);
	if (access(out, F_OK) == 0) {
		cmd_err("%s exists: not replaced", out);
		return CMD_ERROR;
	}
	req = json_pack("{s:s, s:s, s:s, s:I, s:s}", "op", "receipt-issue",
			"workstation", ws, "key", hex, "count", (json_int_t)n,
			"reason", reason);
	if (!req)
		return CMD_ERROR;
	rc = call(sock, req, &reply);
	json_decref(req);
	if (rc)
		return rc;
	res = json_object_get(reply, "result");
	range = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "format",
			  "custody-receipt-range/v1", "agency", json_object_get(res, "agency"),
			  "workstation", json_object_get(res, "workstation"),
			  "key_id", json_object_get(res, "key_id"),
			  "first", json_object_get(res, "first"),
			  "last", json_object_get(res, "last"),
			  "issued_seq", json_object_get(res, "seq"));
	text = range ? json_dumps(range, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(range);
	rc = CMD_ERROR;
	fd = text ? open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    write(fd, "\n", 1) != 1 || fsync(fd)) {
		cmd_err("%s: %s (the numbers are issued on the dock: event %lld)", out,
			strerror(errno), (long long)json_integer_value(json_object_get(res, "seq")));
	} else {
		printf("receipts %lld-%lld issued to %s (key %s), event %lld -> %s\n",
		       (long long)json_integer_value(json_object_get(res, "first")),
		       (long long)json_integer_value(json_object_get(res, "last")), ws,
		       json_string_value(json_object_get(res, "key_id")),
		       (long long)json_integer_value(json_object_get(res, "seq")), out);
		rc = CMD_OK;
	}
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(reply);
	return rc;
}

/* One receipt file: at most RECEIPT_MAX bytes, sent as it is (the dock
 * parses and checks it). */
static int file_one(const char *sock, const char *path)
{
	char buf[RECEIPT_MAX + 2];
	json_t *req, *reply = NULL, *res;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		cmd_err("%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return CMD_ERROR;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n > RECEIPT_MAX || memchr(buf, '\0', (size_t)n)) {
		cmd_err("%s: not a receipt (over %d bytes or binary)", path, RECEIPT_MAX);
		return CMD_ERROR;
	}
	buf[n] = '\0';
	req = json_pack("{s:s, s:s}", "op", "receipt-file", "receipt", buf);
	if (!req) {
		cmd_err("%s: not a receipt (not UTF-8 text)", path);
		return CMD_ERROR;
	}
	rc = call(sock, req, &reply);
	json_decref(req);
	if (rc) {
		cmd_err("%s: not filed", path);
		return rc;
	}
	res = json_object_get(reply, "result");
	printf("%s: receipt %lld (%s of %s) filed, event %lld\n", path,
	       (long long)json_integer_value(json_object_get(res, "number")),
	       json_string_value(json_object_get(res, "command")),
	       json_string_value(json_object_get(res, "item")),
	       (long long)json_integer_value(json_object_get(res, "seq")));
	json_decref(reply);
	return 0;
}

int cmd_receipt(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *sock = NULL, *ws = NULL, *key = NULL, *count = NULL;
	const char *reason = NULL, *out = NULL;
	const char *files[64];
	size_t nf = 0;
	struct qconfig qc;
	int i, rc = 0, r;

	if (argc < 2 || (strcmp(argv[1], "issue") && strcmp(argv[1], "file"))) {
		cmd_err(USAGE);
		return CMD_ERROR;
	}
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], **dst = NULL;

		if (!strcmp(a, "--socket")) dst = &sock;
		else if (!strcmp(a, "--workstation")) dst = &ws;
		else if (!strcmp(a, "--key")) dst = &key;
		else if (!strcmp(a, "--count")) dst = &count;
		else if (!strcmp(a, "--reason")) dst = &reason;
		else if (!strcmp(a, "--out")) dst = &out;
		else if (a[0] != '-' && argv[1][0] == 'f' && nf < 64) {
			files[nf++] = a;
			continue;
		} else {
			cmd_err(USAGE);
			return CMD_ERROR;
		}
		if (i + 1 >= argc || !argv[i + 1][0] || *dst) {
			cmd_err("receipt: %s needs one value", a);
			return CMD_ERROR;
		}
		*dst = argv[++i];
	}
	if ((rc = cmd_qconfig(ctx, &qc)))
		return rc;
	if (!sock && !qc.socket[0]) {
		cmd_err("receipt: no query service: set [query] socket or give --socket");
		return CMD_ERROR;
	}
	if (!sock)
		sock = qc.socket;
	if (argv[1][0] == 'i') {
		if (!ws || !key || !count || !reason || !out || nf) {
			cmd_err(USAGE);
			return CMD_ERROR;
		}
		return issue(sock, ws, key, count, reason, out);
	}
	if (!nf || ws || key || count || reason || out) {
		cmd_err(USAGE);
		return CMD_ERROR;
	}
	for (size_t f = 0; f < nf; f++)
		if ((r = file_one(sock, files[f])) && (!rc || r == CMD_ERROR))
			rc = r;
	return rc;
}
