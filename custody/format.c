/*
 * format.c - text forms of the query results, for people: aligned
 * columns, every time in the one form of cust_format_time() (local time
 * with its numeric offset, or Z with --utc).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "query.h"

#define COLS 7
#define CELL 160	/* longest cell shown; longer text is cut with "..." */

struct table {
	size_t rows, w[COLS];
	char (*cell)[COLS][CELL];
};

static const char *js(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void put(struct table *t, size_t row, int col, const char *s)
{
	char *c = t->cell[row][col];
	size_t n = strlen(s), i;

	if (n >= CELL) {
		memcpy(c, s, CELL - 4);
		memcpy(c + CELL - 4, "...", 4);
		n = CELL - 1;
	} else {
		memcpy(c, s, n + 1);
	}
	for (i = 0; c[i]; i++)	/* one line per row */
		if (c[i] == '\n' || c[i] == '\t')
			c[i] = ' ';
	if (n > t->w[col])
		t->w[col] = n;
}

/* Width in terminal columns ~ UTF-8 code points. */
static size_t cols_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void print(struct table *t, FILE *out, int ncols)
{
	size_t r;
	int c;

	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < ncols; c++) {
			const char *s = t->cell[r][c];
			size_t pad = t->w[c] > cols_of(s) ? t->w[c] - cols_of(s) : 0;
			fputs(s, out);
			if (c + 1 < ncols)
				fprintf(out, "%*s  ", (int)pad, "");
		}
		fputc('\n', out);
	}
}

static int table_new(struct table *t, size_t rows)
{
	memset(t, 0, sizeof(*t));
	t->cell = calloc(rows ? rows : 1, sizeof(*t->cell));
	return t->cell ? 0 : -ENOMEM;
}

static void local_of(const json_t *ev, const char *key, char *buf, size_t cap)
{
	json_t *v = json_object_get(ev, key);

	if (!json_is_integer(v) || cust_format_time(json_integer_value(v), buf, cap))
		snprintf(buf, cap, "?");
}

static void event_row(struct table *t, size_t r, const json_t *ev)
{
	char buf[CELL + 64], when[64];
	char *d;
	const json_t *actor = json_object_get(ev, "actor");

	snprintf(buf, sizeof(buf), "%lld",
		 (long long)json_integer_value(json_object_get(ev, "seq")));
	put(t, r, 0, buf);
	local_of(ev, "time_ns", when, sizeof(when));
	put(t, r, 1, when);
	snprintf(buf, sizeof(buf), "%s %s", js(actor, "kind"), js(actor, "id"));
	put(t, r, 2, buf);
	put(t, r, 3, js(ev, "action"));
	put(t, r, 4, js(ev, "outcome"));
	snprintf(buf, sizeof(buf), "%s%s%s", js(ev, "reason"),
		 *js(ev, "reason") && *js(ev, "case") ? " / case " :
		 *js(ev, "case") ? "case " : "", js(ev, "case"));
	put(t, r, 5, buf);
	d = json_dumps(json_object_get(ev, "details"), JSON_COMPACT | JSON_SORT_KEYS);
	put(t, r, 6, d && strcmp(d, "{}") ? d : "");
	free(d);
}

static const char *const ev_head[COLS] = {
	"SEQ", "TIME", "ACTOR", "ACTION", "OUTCOME", "REASON / CASE", "DETAILS"
};

static int print_events(const json_t *events, FILE *out)
{
	struct table t;
	size_t i;
	int c;

	if (table_new(&t, json_array_size(events) + 1))
		return -ENOMEM;
	for (c = 0; c < COLS; c++)
		put(&t, 0, c, ev_head[c]);
	for (i = 0; i < json_array_size(events); i++)
		event_row(&t, i + 1, json_array_get(events, i));
	t.rows = json_array_size(events) + 1;
	print(&t, out, COLS);
	free(t.cell);
	return 0;
}

static void record_summary(const json_t *rec, FILE *out)
{
	json_t *sz = json_object_get(rec, "size");
	char until[64];
	char *cases = json_dumps(json_object_get(rec, "cases"), JSON_COMPACT);

	fprintf(out, "Evidence %s  (agency %s)\n", js(rec, "evidence_id"), js(rec, "agency_id"));
	fprintf(out, "  status %s, legal hold %s, local copy %s\n",
		*js(rec, "status") ? js(rec, "status") : "-",
		json_is_true(json_object_get(rec, "legal_hold")) ? "YES" : "no",
		json_is_true(json_object_get(rec, "local_copy")) ? "yes" : "no");
	if (json_is_integer(sz))
		fprintf(out, "  size %lld bytes, sha256 %s\n",
			(long long)json_integer_value(sz), js(rec, "sha256"));
	if (!*js(rec, "retention_until") ||
	    cust_format_time_text(js(rec, "retention_until"), until, sizeof(until)))
		snprintf(until, sizeof(until), "-");
	fprintf(out, "  officer %s, camera %s, category %s, retention until %s\n",
		*js(rec, "officer") ? js(rec, "officer") : "-",
		*js(rec, "camera") ? js(rec, "camera") : "-",
		*js(rec, "category") ? js(rec, "category") : "-", until);
	if (*js(rec, "object_key"))
		fprintf(out, "  stored as %s (version %s, etag %s)\n", js(rec, "object_key"),
			js(rec, "version_id"), js(rec, "etag"));
	fprintf(out, "  cases %s\n\n", cases ? cases : "[]");
	free(cases);
}

/* A recording ingested from an unsigned source (a mass-storage camera's
 * volume) says so above its events: no camera signature vouches for it. */
static void unsigned_note(const json_t *events, FILE *out)
{
	for (size_t i = 0; i < json_array_size(events); i++) {
		const json_t *ev = json_array_get(events, i);
		const json_t *d = json_object_get(ev, "details");

		if (!strcmp(js(ev, "action"), "ingested") && !strcmp(js(d, "source"), "unsigned")) {
			fprintf(out, "  origin: unsigned source (mass-storage volume file %s; "
				"no camera signature)\n\n", js(json_object_get(d, "volume"), "path"));
			return;
		}
	}
}

int cust_format_history(const json_t *h, FILE *out)
{
	if (!json_is_object(h))
		return -EINVAL;
	record_summary(json_object_get(h, "record"), out);
	unsigned_note(json_object_get(h, "events"), out);
	return print_events(json_object_get(h, "events"), out);
}

int cust_format_events(const json_t *e, FILE *out)
{
	int r;

	if (!json_is_object(e))
		return -EINVAL;
	r = print_events(json_object_get(e, "events"), out);
	if (json_is_true(json_object_get(e, "truncated")))
		fprintf(out, "(more events match: narrow the query or raise the limit)\n");
	return r;
}

static void time_cell(const json_t *it, const char *k, char *buf, size_t cap)
{
	if (!*js(it, k) || cust_format_time_text(js(it, k), buf, cap))
		snprintf(buf, cap, "-");
}

static int format_refusals(const json_t *res, FILE *out)
{
	size_t n = json_array_size(json_object_get(res, "refusals"));
	int r = print_events(json_object_get(res, "refusals"), out);

	fprintf(out, "%zu refusal%s%s\n", n, n == 1 ? "" : "s",
		json_is_true(json_object_get(res, "truncated")) ?
		" (more match: narrow the query or raise --limit)" : "");
	return r;
}

int cust_format_search(const json_t *res, FILE *out)
{
	static const char *const head[] = { "EVIDENCE", "RECORDED", "STATUS",
		"OFFICER", "CAMERA", "CATEGORY", "CASES" };
	const json_t *items = json_object_get(res, "items");
	struct table t;
	size_t i, n = json_array_size(items);
	int c;

	if (!json_is_object(res))
		return -EINVAL;
	if (json_object_get(res, "refusals"))
		return format_refusals(res, out);
	if (table_new(&t, n + 1))
		return -ENOMEM;
	for (c = 0; c < COLS; c++)
		put(&t, 0, c, head[c]);
	for (i = 0; i < n; i++) {
		const json_t *it = json_array_get(items, i);
		char when[64], st[96], *cases;
		size_t k;

		put(&t, i + 1, 0, js(it, "evidence_id"));
		time_cell(it, "recording_start", when, sizeof(when));
		put(&t, i + 1, 1, when);
		snprintf(st, sizeof(st), "%s%s%s", *js(it, "status") ? js(it, "status") : "-",
			 json_is_true(json_object_get(it, "released")) ? ", released" : "",
			 json_is_true(json_object_get(it, "legal_hold")) ? ", HOLD" : "");
		put(&t, i + 1, 2, st);
		put(&t, i + 1, 3, js(it, "officer"));
		put(&t, i + 1, 4, js(it, "camera"));
		put(&t, i + 1, 5, js(it, "category"));
		cases = calloc(1, CELL);
		for (k = 0; cases && k < json_array_size(json_object_get(it, "cases")); k++) {
			size_t o = strlen(cases);
			snprintf(cases + o, CELL - o, "%s%s", o ? "," : "",
				 json_string_value(json_array_get(json_object_get(it, "cases"), k)));
		}
		put(&t, i + 1, 6, cases ? cases : "");
		free(cases);
	}
	t.rows = n + 1;
	print(&t, out, COLS);
	fprintf(out, "%zu item%s%s\n", n, n == 1 ? "" : "s",
		json_is_true(json_object_get(res, "truncated")) ?
		" (more match: narrow the query or raise --limit)" : "");
	free(t.cell);
	return 0;
}
