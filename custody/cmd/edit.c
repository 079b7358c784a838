/*
 * edit.c - the metadata edits of clerks and supervisors (docs/retention.md,
 * docs/operations.md). They always go through the query service, even for
 * a caller who can write the ledger file: who you are (your OS account ->
 * role) is what the service decides on and records.
 *
 *   custody [--config FILE] categorize ID CATEGORY --reason R
 *   custody [--config FILE] case assign|unassign ID CASE --reason R
 *   custody [--config FILE] hold set|release ID --reason R
 *   custody [--config FILE] annotate ID (--title T | --notes N) --reason R
 *   custody [--config FILE] due
 *   custody [--config FILE] destroy request|approve ID --reason R [--dry-run]
 *   custody [--config FILE] destroy plan ID --reason R   (= --dry-run)
 *   each also [--socket PATH] [--json]
 *
 * Exit status as `custody remote`: 0 done, 1 denied, 2 other errors (bad
 * value, nothing to change, service unreachable).
 */
#include <stdio.h>
#include <string.h>

#include "qcmd.h"

struct eargs {
	const char *pos[3];
	int npos;
	const char *socket, *reason, *title, *notes;
	int as_json, dry_run;
};

static int parse(int argc, char **argv, struct eargs *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **dst = NULL;

		if (!strcmp(o, "--json")) {
			a->as_json = 1;
			continue;
		}
		if (!strcmp(o, "--dry-run")) {
			a->dry_run = 1;
			continue;
		}
		if (!strcmp(o, "--socket"))
			dst = &a->socket;
		else if (!strcmp(o, "--reason"))
			dst = &a->reason;
		else if (!strcmp(o, "--title"))
			dst = &a->title;
		else if (!strcmp(o, "--notes"))
			dst = &a->notes;
		if (dst) {
			if (!v)
				return -1;
			*dst = v;
			i++;
			continue;
		}
		/* "--" ends the options: a case number may start with '-' */
		if (!strcmp(o, "--") && i + 1 < argc) {
			for (i++; i < argc && a->npos < 3; i++)
				a->pos[a->npos++] = argv[i];
			return i < argc ? -1 : 0;
		}
		if (o[0] == '-' && o[1] == '-')
			return -1;
		if (a->npos == 3)
			return -1;
		a->pos[a->npos++] = o;
	}
	return 0;
}

static int edit_send(struct cmd_ctx *ctx, const struct eargs *a, json_t *req)
{
	struct qconfig qc;
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *sock = a->socket;
	int rc;

	if (!req) {
		cmd_err("out of memory");
		return CMD_ERROR;
	}
	if (a->reason)
		json_object_set_new(req, "reason", json_string(a->reason));
	if (!sock) {
		if ((rc = cmd_qconfig(ctx, &qc))) {
			json_decref(req);
			return rc;
		}
		sock = qc.socket[0] ? qc.socket : NULL;
	}
	if (!sock) {
		cmd_err("%s: no query service (set [query] socket or --socket)", op);
		json_decref(req);
		return CMD_ERROR;
	}
	rc = cmd_qcall(sock, req, op, a->as_json);
	json_decref(req);
	return rc;
}

int cmd_categorize(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };

	if (parse(argc, argv, &a) < 0 || a.npos != 2 || a.title || a.notes) {
		cmd_err("usage: custody categorize ID CATEGORY --reason R");
		return CMD_ERROR;
	}
	return edit_send(ctx, &a, json_pack("{s:s, s:s, s:s}", "op", "categorize",
				       "item", a.pos[0], "category", a.pos[1]));
}

int cmd_case(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };

	if (parse(argc, argv, &a) < 0 || a.npos != 3 || a.title || a.notes ||
	    (strcmp(a.pos[0], "assign") && strcmp(a.pos[0], "unassign"))) {
		cmd_err("usage: custody case assign|unassign ID CASE --reason R");
		return CMD_ERROR;
	}
	return edit_send(ctx, &a, json_pack("{s:s, s:s, s:s, s:s}", "op", "case",
				       "action", a.pos[0], "item", a.pos[1],
				       "case", a.pos[2]));
}

int cmd_hold(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };

	if (parse(argc, argv, &a) < 0 || a.npos != 2 || a.title || a.notes ||
	    (strcmp(a.pos[0], "set") && strcmp(a.pos[0], "release"))) {
		cmd_err("usage: custody hold set|release ID --reason R");
		return CMD_ERROR;
	}
	return edit_send(ctx, &a, json_pack("{s:s, s:s, s:s}", "op", "hold",
				       "action", a.pos[0], "item", a.pos[1]));
}

int cmd_annotate(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };
	json_t *req;

	if (parse(argc, argv, &a) < 0 || a.npos != 1 || !a.title == !a.notes) {
		cmd_err("usage: custody annotate ID (--title T | --notes N) --reason R");
		return CMD_ERROR;
	}
	req = json_pack("{s:s, s:s}", "op", "annotate", "item", a.pos[0]);
	if (req)
		json_object_set_new(req, a.title ? "title" : "notes",
				    json_string(a.title ? a.title : a.notes));
	return edit_send(ctx, &a, req);
}

int cmd_due(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };

	if (parse(argc, argv, &a) < 0 || a.npos != 0 || a.title || a.notes) {
		cmd_err("usage: custody due [--json]");
		return CMD_ERROR;
	}
	return edit_send(ctx, &a, json_pack("{s:s}", "op", "due"));
}

/* request / approve record an event; --dry-run (or "plan") only shows what
 * would be deleted where, and whether the request would be accepted now
 * (recorded as a ledger_read). */
int cmd_destroy(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct eargs a = { 0 };

	if (parse(argc, argv, &a) < 0 || a.npos != 2 || a.title || a.notes ||
	    (strcmp(a.pos[0], "request") && strcmp(a.pos[0], "approve") &&
	     strcmp(a.pos[0], "plan"))) {
		cmd_err("usage: custody destroy request|approve|plan ID --reason R [--dry-run]");
		return CMD_ERROR;
	}
	return edit_send(ctx, &a, json_pack("{s:s, s:s, s:s}", "op", "destroy", "action",
				       a.dry_run ? "plan" : a.pos[0], "item", a.pos[1]));
}
