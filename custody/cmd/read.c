/*
 * read.c - `custody history`, `custody search`, `custody bench history`.
 * Each read is itself recorded as a ledger_read event (when writable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "query.h"

static int print_json(json_t *j)
{
	int r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);

	fputc('\n', stdout);
	return r;
}

static int query_error(int r, const char *what, struct cmd_ctx *ctx)
{
	if (r == -ENOENT)
		cmd_err("%s: no such evidence item in %s", what, ctx->db_path);
	else if (r == -EACCES)
		cmd_err("%s: belongs to another agency", what);
	else if (r == -EINVAL)
		cmd_err("%s: invalid query", what);
	else
		cmd_err("%s: %s (%s)", what, strerror(-r), cust_ledger_errmsg(ctx->ledger));
	return r == -ENOENT || r == -EACCES ? CMD_FINDINGS : CMD_ERROR;
}

int cmd_history(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *id = NULL;
	json_t *h = NULL, *d;
	int json = 0, i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else {
			cmd_err("history: unexpected argument '%s'", argv[i]);
			return CMD_ERROR;
		}
	}
	if (!id) {
		cmd_err("usage: custody history ID [--json]");
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	r = cust_query_history(ctx->ledger, cmd_agency(ctx), id, &h);
	d = json_pack("{s:s, s:b}", "evidence_id", id, "found", r == 0);
	if (cmd_audit(ctx, CUST_A_LEDGER_READ, r == 0 ? id : NULL, "history", d)) {
		json_decref(d);
		json_decref(h);
		return CMD_ERROR;	/* no unrecorded answer */
	}
	json_decref(d);
	if (r)
		return query_error(r, id, ctx);
	r = json ? print_json(h) : cust_format_history(h, stdout);
	json_decref(h);
	return r ? CMD_ERROR : CMD_OK;
}

static int parse_search(int argc, char **argv, struct cust_search *q, int *json)
{
	int i;

	memset(q, 0, sizeof(*q));
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--json")) {
			*json = 1;
			continue;
		}
		if (!v) {
			cmd_err("search: option '%s' needs a value", o);
			return -EINVAL;
		}
		i++;
		if (!strcmp(o, "--officer")) q->officer = v;
		else if (!strcmp(o, "--camera")) q->camera = v;
		else if (!strcmp(o, "--category")) q->category = v;
		else if (!strcmp(o, "--case")) q->case_no = v;
		else if (!strcmp(o, "--status")) q->status = v;
		else if (!strcmp(o, "--limit")) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*end || !n || n > CUST_SEARCH_MAX_LIMIT) {
				cmd_err("search: --limit must be 1..%d", CUST_SEARCH_MAX_LIMIT);
				return -EINVAL;
			}
			q->limit = n;
		} else if (!strcmp(o, "--from") || !strcmp(o, "--to")) {
			int64_t *t = o[2] == 'f' ? &q->from_ns : &q->to_ns;
			if (cust_parse_time(v, o[2] == 't', t)) {
				cmd_err("search: %s '%s': not an ISO 8601 date (YYYY-MM-DD, "
					"YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm])", o, v);
				return -EINVAL;
			}
		} else {
			cmd_err("search: unknown option '%s'", o);
			return -EINVAL;
		}
	}
	if (q->from_ns && q->to_ns && q->from_ns >= q->to_ns) {
		cmd_err("search: --from must be before --to");
		return -EINVAL;
	}
	return 0;
}

int cmd_search(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cust_search q;
	json_t *res = NULL, *d;
	int json = 0, r;

	if (parse_search(argc, argv, &q, &json))
		return CMD_ERROR;
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	r = cust_query_search(ctx->ledger, cmd_agency(ctx), &q, &res);
	d = r ? json_object() : json_deep_copy(json_object_get(res, "query"));
	if (cmd_audit(ctx, CUST_A_LEDGER_READ, NULL, "search", d)) {
		json_decref(d);
		json_decref(res);
		return CMD_ERROR;
	}
	json_decref(d);
	if (r)
		return query_error(r, "search", ctx);
	r = json ? print_json(res) : cust_format_search(res, stdout);
	json_decref(res);
	return r ? CMD_ERROR : CMD_OK;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* `custody bench history N`: N history queries of random items (no audit
 * events: a measurement tool), p50/p99 in ms. */
int cmd_bench(struct cmd_ctx *ctx, int argc, char **argv)
{
	sqlite3_stmt *s;
	double *ms;
	long n, i, items = 0;
	int r;

	if (argc != 3 || strcmp(argv[1], "history") || (n = atol(argv[2])) < 1 || n > 1000000) {
		cmd_err("usage: custody bench history N");
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	if (sqlite3_prepare_v2(cust_ledger_db(ctx->ledger), "SELECT count(*) FROM evidence",
			       -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		items = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (items < 1 || !(ms = calloc((size_t)n, sizeof(*ms)))) {
		cmd_err("bench: no evidence items");
		return CMD_ERROR;
	}
	sqlite3_prepare_v2(cust_ledger_db(ctx->ledger), "SELECT evidence_id FROM evidence"
			   " WHERE rowid = ?1", -1, &s, NULL);
	srandom(42);
	for (i = 0; i < n; i++) {
		struct timespec a, b;
		char id[CUST_EVIDENCE_MAX + 1];
		json_t *h = NULL;
		sqlite3_bind_int64(s, 1, 1 + random() % items);
		if (sqlite3_step(s) != SQLITE_ROW) {
			sqlite3_reset(s);
			i--;
			continue;
		}
		snprintf(id, sizeof(id), "%s", sqlite3_column_text(s, 0));
		sqlite3_reset(s);
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = cust_query_history(ctx->ledger, NULL, id, &h);
		if (!r) {
			FILE *null = fopen("/dev/null", "w");
			if (null) {
				cust_format_history(h, null);
				fclose(null);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		json_decref(h);
		if (r) {
			cmd_err("bench: history %s: %s", id, strerror(-r));
			break;
		}
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	sqlite3_finalize(s);
	if (!r) {
		qsort(ms, (size_t)n, sizeof(*ms), cmp_d);
		printf("BENCH custody_history_p50 %.3f ms\n", ms[n / 2]);
		printf("BENCH custody_history_p99 %.3f ms\n", ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	}
	free(ms);
	return r ? CMD_ERROR : CMD_OK;
}
