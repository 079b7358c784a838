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

	if (cmd_route_remote(ctx, "history", argc, argv, &r))	/* h9: clerks */
		return r;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--utc"))
			cust_time_style(1);
		else if (!strcmp(argv[i], "--reason") && i + 1 < argc)
			ctx->reason = argv[++i];
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else {
			cmd_err("history: unexpected argument '%s'", argv[i]);
			return CMD_ERROR;
		}
	}
	if (!id) {
		cmd_err("usage: custody history ID [--json] [--utc] [--reason R]");
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

struct search_args {
	struct cust_search q;
	int json, refused;
};

static int parse_search(int argc, char **argv, struct search_args *a,
			const char **reason)
{
	struct cust_search *q = &a->q;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--json") || !strcmp(o, "--utc") || !strcmp(o, "--due") ||
		    !strcmp(o, "--refused")) {
			if (o[2] == 'j')
				a->json = 1;
			else if (o[2] == 'u')
				cust_time_style(1);
			else if (o[2] == 'd')
				q->due = 1;
			else
				a->refused = 1;
			continue;
		}
		if (!v) {
			cmd_err("search: option '%s' needs a value", o);
			return -EINVAL;
		}
		i++;
		if (!strcmp(o, "--reason")) *reason = v;
		else if (!strcmp(o, "--officer")) q->officer = v;
		else if (!strcmp(o, "--camera")) q->camera = v;
		else if (!strcmp(o, "--category")) q->category = v;
		else if (!strcmp(o, "--case")) q->case_no = v;
		else if (!strcmp(o, "--status")) {
			if (!cust_status_valid(v)) {
				cmd_err("search: --status '%s' is not a status; use one of: %s",
					v, CUST_STATUS_NAMES);
				return -EINVAL;
			}
			q->status = v;
		} else if (!strcmp(o, "--hold")) {
			if (strcmp(v, "yes") && strcmp(v, "no")) {
				cmd_err("search: --hold takes yes or no, not '%s'", v);
				return -EINVAL;
			}
			q->hold = v[0] == 'y' ? CUST_HOLD_YES : CUST_HOLD_NO;
		} else if (!strcmp(o, "--limit")) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*end || !n || n > CUST_SEARCH_MAX_LIMIT) {
				cmd_err("search: --limit must be 1..%d", CUST_SEARCH_MAX_LIMIT);
				return -EINVAL;
			}
			q->limit = n;
		} else if (!strcmp(o, "--from") || !strcmp(o, "--to") ||
			   !strcmp(o, "--docked-from") || !strcmp(o, "--docked-to")) {
			int docked = o[2] == 'd', to = !strcmp(o + (docked ? 9 : 2), "to");
			int64_t *t = docked ? (to ? &q->docked_to_ns : &q->docked_from_ns) :
					      (to ? &q->to_ns : &q->from_ns);
			if (cust_parse_time(v, to, t)) {
				cmd_err("search: %s '%s': not an ISO 8601 date (YYYY-MM-DD, "
					"YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm])", o, v);
				return -EINVAL;
			}
		} else {
			cmd_err("search: unknown option '%s'", o);
			return -EINVAL;
		}
	}
	if ((q->from_ns && q->to_ns && q->from_ns >= q->to_ns) ||
	    (q->docked_from_ns && q->docked_to_ns && q->docked_from_ns >= q->docked_to_ns)) {
		cmd_err("search: --from must be before --to");
		return -EINVAL;
	}
	if (q->due && q->hold == CUST_HOLD_YES) {
		cmd_err("search: --due with --hold yes finds nothing: an item under legal hold "
			"is never due for destruction");
		return -EINVAL;
	}
	if (a->refused && (q->officer || q->category || q->case_no || q->status ||
			   q->hold || q->due || q->docked_from_ns || q->docked_to_ns)) {
		cmd_err("search: --refused takes only --camera, --from, --to, --limit "
			"(a refused camera left no evidence item)");
		return -EINVAL;
	}
	return 0;
}

int cmd_search(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct search_args a;
	json_t *res = NULL, *d;
	int r;

	if (cmd_route_remote(ctx, "search", argc, argv, &r))	/* h9: clerks */
		return r;
	if (parse_search(argc, argv, &a, &ctx->reason))
		return CMD_ERROR;
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	if (a.refused)
		r = cust_query_refusals(ctx->ledger, cmd_agency(ctx), a.q.camera, a.q.from_ns,
					a.q.to_ns, a.q.limit, &res);
	else
		r = cust_query_search(ctx->ledger, cmd_agency(ctx), &a.q, &res);
	d = r ? json_object() : json_deep_copy(json_object_get(res, "query"));
	if (cmd_audit(ctx, CUST_A_LEDGER_READ, NULL, "search", d)) {
		json_decref(d);
		json_decref(res);
		return CMD_ERROR;
	}
	json_decref(d);
	if (r)
		return query_error(r, "search", ctx);
	r = a.json ? print_json(res) : cust_format_search(res, stdout);
	json_decref(res);
	return r ? CMD_ERROR : CMD_OK;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double pct(const double *v, long n, int p)
{
	long i = (n * p) / 100;

	return v[i < n ? i : n - 1];
}

/* All evidence ids (the bench picks among existing items only). */
static int load_ids(struct cust_ledger *l, char (**ids)[CUST_EVIDENCE_MAX + 1],
		    long *n)
{
	sqlite3_stmt *s;
	long cap = 0, k = 0;
	char (*v)[CUST_EVIDENCE_MAX + 1] = NULL, (*nv)[CUST_EVIDENCE_MAX + 1];

	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT evidence_id FROM evidence",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(s) == SQLITE_ROW && k < 10000000) {
		if (k == cap) {
			cap = cap ? cap * 2 : 4096;
			if (!(nv = realloc(v, (size_t)cap * sizeof(*v)))) {
				free(v);
				sqlite3_finalize(s);
				return -ENOMEM;
			}
			v = nv;
		}
		snprintf(v[k++], sizeof(*v), "%s", (const char *)sqlite3_column_text(s, 0) ?: "");
	}
	sqlite3_finalize(s);
	*ids = v;
	*n = k;
	return 0;
}

/* One history query formatted as text to out; wall and thread CPU ms. */
static int one_query(struct cust_ledger *l, const char *id, FILE *out,
		     double *wall, double *cpu)
{
	struct timespec a, b, ca, cb;
	json_t *h = NULL;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	r = cust_query_history(l, NULL, id, &h);
	if (!r)
		r = cust_format_history(h, out);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	json_decref(h);
	*wall = ms_between(&a, &b);
	*cpu = ms_between(&ca, &cb);
	return r;
}

/*
 * `custody bench history N`: N history queries (text output, as a clerk
 * sees it) of items picked at random among the existing ones, after an
 * untimed warm-up of N/10 queries; no audit events (a measurement tool).
 * Prints wall-clock p50/p90/p99/max and the p99 of the thread's CPU time:
 * on a shared machine the wall-clock tail is mostly time spent preempted,
 * which the CPU figure excludes.
 */
int cmd_bench(struct cmd_ctx *ctx, int argc, char **argv)
{
	char (*ids)[CUST_EVIDENCE_MAX + 1] = NULL;
	double *ms = NULL, *cpu = NULL, w, c;
	long n, i, items = 0, warm;
	FILE *null = NULL;
	int r;

	if (argc != 3 || strcmp(argv[1], "history") || (n = atol(argv[2])) < 1 || n > 1000000) {
		cmd_err("usage: custody bench history N");
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	if ((r = load_ids(ctx->ledger, &ids, &items)) || items < 1) {
		cmd_err("bench: no evidence items");
		free(ids);
		return CMD_ERROR;
	}
	ms = calloc((size_t)n, sizeof(*ms));
	cpu = calloc((size_t)n, sizeof(*cpu));
	null = fopen("/dev/null", "w");
	if (!ms || !cpu || !null) {
		r = -ENOMEM;
		goto out;
	}
	srandom(42);
	warm = n / 10 < 50 ? 50 : n / 10;
	for (i = 0; !r && i < warm; i++)
		r = one_query(ctx->ledger, ids[random() % items], null, &w, &c);
	for (i = 0; !r && i < n; i++)
		r = one_query(ctx->ledger, ids[random() % items], null, &ms[i], &cpu[i]);
	if (r) {
		cmd_err("bench: history: %s (%s)", strerror(-r), cust_ledger_errmsg(ctx->ledger));
		goto out;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp_d);
	qsort(cpu, (size_t)n, sizeof(*cpu), cmp_d);
	printf("# %ld warm history queries over %ld items (random existing ids)\n", n, items);
	printf("BENCH custody_history_p50 %.3f ms\n", pct(ms, n, 50));
	printf("BENCH custody_history_p90 %.3f ms\n", pct(ms, n, 90));
	printf("BENCH custody_history_p99 %.3f ms\n", pct(ms, n, 99));
	printf("BENCH custody_history_max %.3f ms\n", ms[n - 1]);
	printf("BENCH custody_history_cpu_p99 %.3f ms\n", pct(cpu, n, 99));
out:
	if (null)
		fclose(null);
	free(ms);
	free(cpu);
	free(ids);
	return r ? CMD_ERROR : CMD_OK;
}
