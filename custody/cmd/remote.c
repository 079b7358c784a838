/*
 * remote.c - `custody remote`: ask the query service (for users who
 * cannot read the ledger file - clerks, auditors, admins).
 *
 *   custody [--config FILE] remote [--socket PATH] [--json] OP [ARGS]
 *     history ID --reason R
 *     search [--officer O] [--camera C] [--category C] [--case N]
 *            [--status S] [--from D] [--to D] [--docked-from D]
 *            [--docked-to D] [--hold yes|no] [--due] [--refused]
 *            [--limit N] [--utc] --reason R
 *     access-events [--action A] [--from D] [--to D] [--limit N] --reason R
 *     user-list [--agency A]
 *   custody remote [--socket PATH] --raw     (debugging/tests: send stdin
 *     as-is, at most 1 MiB, and print the raw reply)
 *
 *     status                                  (the dock's live status)
 *
 * Every `--key value` becomes a request field "key" (--limit a number,
 * --due/--refused "yes", --docked-from "docked_from"); dates are read
 * here, in the clerk's zone, and sent as RFC 3339 UTC; --utc only changes
 * how times are printed. Unknown options and a missing --reason are told
 * here, before sending (usage_check); the service checks everything again.
 * The socket defaults to [query] socket.
 *
 * Also here: cmd_route_remote(), which lets the plain `custody history`
 * and `custody search` go through the service for a caller who cannot
 * read the ledger file (cmd.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qclient.h"
#include "qcmd.h"
#include "query.h"

int cmd_qcall(const char *socket, json_t *request, const char *op,
	      int as_json)
{
	json_t *reply = NULL;
	int rc = qclient_call(socket, request, 0, &reply);

	if (rc < 0) {
		cmd_err("query service at %s: %s", socket,
			rc == -EBADMSG ? "unreadable reply" :
			rc == -EMSGSIZE ? "request or reply too large" :
			strerror(-rc));
		return CMD_ERROR;
	}
	rc = qclient_print(reply, op, stdout, as_json);
	json_decref(reply);
	return rc;
}

#define RAW_MAX (1u << 20)

static int raw_call(const char *socket)
{
	char *in = malloc(RAW_MAX), *reply = NULL;
	size_t len = 0, rlen = 0;
	ssize_t n;
	int rc;

	if (!in)
		return CMD_ERROR;
	while (len < RAW_MAX && (n = read(0, in + len, RAW_MAX - len)) != 0) {
		if (n < 0) {
			free(in);
			cmd_err("remote --raw: reading stdin failed");
			return CMD_ERROR;
		}
		len += (size_t)n;
	}
	rc = qclient_call_raw(socket, in, len, 0, &reply, &rlen);
	free(in);
	if (rc < 0) {
		cmd_err("query service at %s: %s", socket, strerror(-rc));
		return CMD_ERROR;
	}
	fwrite(reply, 1, rlen, stdout);
	free(reply);
	return 0;
}

/* The options each operation takes (without "--"): a slip (--frm, a
 * missing --reason) is the clerk's usage error, told here before anything
 * is sent - so it is no event and never an auditor's denial (issue 15).
 * Operations not listed here go to the service as typed (it checks). */
static const struct {
	const char *op, *const opts[16];
	int needs_reason;
} op_opts[] = {
	{ "history", { "reason", NULL }, 1 },
	{ "search", { "officer", "camera", "category", "case", "status", "from",
		      "to", "docked-from", "docked-to", "hold", "due", "refused",
		      "limit", "reason", "agency", NULL }, 1 },
	{ "access-events", { "action", "from", "to", "limit", "reason", "agency",
			     NULL }, 1 },
	{ "user-list", { "agency", NULL }, 0 },
};

static int usage_check(const char *op, int argc, char **argv)
{
	for (size_t k = 0; k < sizeof(op_opts) / sizeof(op_opts[0]); k++) {
		int reason = 0;

		if (strcmp(op_opts[k].op, op))
			continue;
		for (int i = 0; i < argc; i++) {
			const char *a = argv[i];
			int known = !strcmp(a, "--utc");

			if (a[0] != '-' || a[1] != '-')
				continue;
			for (const char *const *o = op_opts[k].opts; *o && !known; o++)
				known = !strcmp(a + 2, *o);
			if (!known) {
				char list[400] = "";
				size_t n = 0;

				for (const char *const *o = op_opts[k].opts;
				     *o && n < sizeof(list); o++)
					n += (size_t)snprintf(list + n, sizeof(list) - n,
							      " --%s", *o);
				cmd_err("remote %s: unknown option '%s' (it takes:%s "
					"--utc; nothing was sent)", op, a, list);
				return CMD_ERROR;
			}
			if (!strcmp(a, "--reason") && i + 1 < argc && argv[i + 1][0])
				reason = 1;
			if (!strcmp(a, "--status") && i + 1 < argc &&
			    !cust_status_valid(argv[i + 1])) {
				cmd_err("remote %s: --status '%s' is not one of: %s "
					"(nothing was sent)", op, argv[i + 1],
					CUST_STATUS_NAMES);
				return CMD_ERROR;
			}
			if (strcmp(a, "--due") && strcmp(a, "--refused") &&
			    strcmp(a, "--utc"))
				i++;	/* its value */
		}
		if (op_opts[k].needs_reason && !reason) {
			cmd_err("remote %s: a reason is required: add --reason TEXT "
				"(e.g. the case number; it is recorded; nothing was "
				"sent)", op);
			return CMD_ERROR;
		}
	}
	return 0;
}

/* "--key value" pairs (and one positional ID for history) into req. */
static int build_request(json_t *req, const char *op, int argc, char **argv)
{
	if (usage_check(op, argc, argv))
		return CMD_ERROR;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		json_t *v;
		char *end;

		if (a[0] != '-' || a[1] != '-') {
			if (strcmp(op, "history") ||
			    json_object_get(req, "item")) {
				cmd_err("remote %s: unexpected argument '%s'",
					op, a);
				return CMD_ERROR;
			}
			json_object_set_new(req, "item", json_string(a));
			continue;
		}
		if (!strcmp(a, "--utc")) {	/* how we print, not a request field */
			cust_time_style(1);
			continue;
		}
		if (!strcmp(a, "--due") || !strcmp(a, "--refused")) {
			if (json_object_set_new(req, a + 2, json_string("yes")) < 0)
				return CMD_ERROR;
			continue;
		}
		if (i + 1 >= argc || !a[2]) {
			cmd_err("remote %s: option '%s' needs a value", op, a);
			return CMD_ERROR;
		}
		if (!strcmp(a, "--from") || !strcmp(a, "--to") ||
		    !strcmp(a, "--docked-from") || !strcmp(a, "--docked-to")) {
			/* the clerk's zone: sent as the UTC instant it means */
			char t[64], key[16] = "";
			snprintf(key, sizeof(key), "%s", a + 2);
			if (key[6] == '-')
				key[6] = '_';
			if (cust_time_resolve(argv[i + 1], !strcmp(a + strlen(a) - 2, "to"),
					      t, sizeof(t))) {
				cmd_err("remote %s: %s '%s': not an ISO 8601 date (YYYY-MM-DD, "
					"YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm])", op, a, argv[i + 1]);
				return CMD_ERROR;
			}
			if (json_object_set_new(req, key, json_string(t)) < 0)
				return CMD_ERROR;
			i++;
			continue;
		}
		if (!strcmp(a, "--limit")) {
			long n = strtol(argv[i + 1], &end, 10);
			if (*end || n < 1) {
				cmd_err("remote: bad --limit");
				return CMD_ERROR;
			}
			v = json_integer(n);
		} else {
			v = json_string(argv[i + 1]);
		}
		if (!v || json_object_set_new(req, a + 2, v) < 0) {
			cmd_err("remote %s: bad value for %s (not UTF-8?)",
				op, a);
			return CMD_ERROR;
		}
		i++;
	}
	return 0;
}

int cmd_remote(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct qconfig qc;
	const char *socket = NULL;
	int as_json = 0, raw = 0, i = 1, rc;
	json_t *req;

	if ((rc = cmd_qconfig(ctx, &qc)))
		return rc;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--json")) {
			as_json = 1;
			i++;
		} else if (!strcmp(argv[i], "--utc")) {
			cust_time_style(1);
			i++;
		} else if (!strcmp(argv[i], "--raw")) {
			raw = 1;
			i++;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			socket = argv[i + 1];
			i += 2;
		} else {
			break;
		}
	}
	if (!socket && qc.socket[0])
		socket = qc.socket;
	if (!socket && !ctx->have_config)
		socket = CMD_DEFAULT_SOCKET; /* a clerk cannot read the 0640 config */
	if (raw && socket && i == argc)
		return raw_call(socket);
	if (i >= argc || !socket) {
		cmd_err("usage: custody remote [--socket PATH] [--json] "
			"history|search|access-events|user-list [ARGS] "
			"(no socket: set [query] socket or --socket)");
		return CMD_ERROR;
	}
	req = json_pack("{s:s}", "op", argv[i]);
	if (!req)
		return CMD_ERROR;
	rc = build_request(req, argv[i], argc - i - 1, argv + i + 1);
	if (!rc)
		rc = cmd_qcall(socket, req, argv[i], as_json);
	json_decref(req);
	return rc;
}

/* Arguments of a local history/search command line minus --json and
 * --socket V, as the request (argv[0] is the command name). */
static int routed_call(const char *op, const char *socket, int argc,
		       char **argv)
{
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int n = 0, as_json = 0, rc;
	json_t *req = json_pack("{s:s}", "op", op);

	if (!rest || !req) {
		free(rest);
		json_decref(req);
		cmd_err("%s: out of memory", op);
		return CMD_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			i++;
		else
			rest[n++] = argv[i];
	}
	rc = build_request(req, op, n, rest);
	if (!rc)
		rc = cmd_qcall(socket, req, op, as_json);
	free(rest);
	json_decref(req);
	return rc;
}

int cmd_route_remote(struct cmd_ctx *ctx, const char *op, int argc,
		     char **argv, int *rc)
{
	const char *sock = NULL;
	struct qconfig qc;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--socket"))
			sock = argv[i + 1];
	/* Whoever can read the file reads it: no config parsing on the
	 * service account's (or an expert's) path. */
	if (!sock && ctx->db_path && access(ctx->db_path, R_OK) == 0)
		return 0;
	if ((*rc = cmd_qconfig(ctx, &qc)))
		return 1;
	if (!qclient_should_use(sock, qc.socket, ctx->db_path))
		return 0;	/* the local path explains the failure */
	*rc = routed_call(op, sock ? sock : qc.socket, argc, argv);
	return 1;
}
