/*
 * fill.c - `custody demo-fill N`: generate the custody events of N
 * recordings as a dock and its clerks would, in batches of K recordings
 * (one group commit and, with a checkpoint key configured, one checkpoint
 * per batch). An admin/test tool for demos, tests and benchmarks;
 * recorded as a privileged_action event.
 *
 * The mix follows a real ingest lifecycle (about 12 events per recording)
 * so benchmarks replay what verify and queries will meet:
 *   per camera docking (6 recordings): device_authenticated;
 *   per recording: docked, ingest_started, ingested, stored_local,
 *     upload_started, uploaded, storage_verified, camera_released;
 *     1 in 50 first uploads fails (HTTP 503) and is retried;
 *     1 in 200 fails its integrity check: integrity_failed + quarantined,
 *     and stays on the camera;
 *   one batch LATER (so an item's events span two batches and
 *   checkpoints, interleaved with other items'): local_purged,
 *   categorized (with a case number), retention_set; 1 in 4 is viewed
 *   and its history read (ledger_read); 1 in 97 gets a legal hold;
 *   per batch: a clerk's logon and logoff.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "publish.h"

#define PER_SESSION 6		/* recordings per camera docking */
#define MAX_PER_REC 16		/* events one recording can produce */
#define MAX_PER_BATCH 4000	/* recordings per batch (batch size cap) */

struct gen {
	const char *agency;
	long base;		/* first recording number of this run */
	int64_t t;		/* next event time */
	struct cust_event *ev;	/* batch being built */
	size_t n;
};

static struct cust_event *add(struct gen *g, enum cust_actor_kind kind,
			      const char *actor, enum cust_action a,
			      const char *id, enum cust_outcome o)
{
	struct cust_event *e = &g->ev[g->n++];

	cust_event_init(e, g->agency, kind, actor, a, id, o);
	e->time_ns = g->t;
	g->t += 1000000;	/* 1 ms apart, in append order */
	return e;
}

static void details(struct cust_event *e, json_t *d)
{
	if (d) {
		cust_event_set_details(e, d);
		json_decref(d);
	}
}

static void rec_id(const struct gen *g, long rec, char *id, size_t cap)
{
	snprintf(id, cap, "EV-%08ld", g->base + rec);
}

static int quarantined(const struct gen *g, long rec)
{
	return (g->base + rec) % 200 == 7;
}

/* The dock's events for one recording while its camera is docked. */
static void ingest(struct gen *g, long rec, const char *cam, const char *off)
{
	static const char *const dock = "dock-1";
	char id[32], buf[128];
	long k = g->base + rec;
	struct cust_event *e;

	rec_id(g, rec, id, sizeof(id));
	details(add(g, CUST_ACTOR_CAMERA, cam, CUST_A_DOCKED, id, CUST_OUTCOME_OK),
		json_pack("{s:s, s:s}", "camera", cam, "officer", off));
	add(g, CUST_ACTOR_DOCK, dock, CUST_A_INGEST_STARTED, id, CUST_OUTCOME_OK);
	snprintf(buf, sizeof(buf), "%064lx", (unsigned long)k * 2654435761UL);
	if (quarantined(g, rec)) {
		e = add(g, CUST_ACTOR_DOCK, dock, CUST_A_INTEGRITY_FAILED, id,
			CUST_OUTCOME_FAILED);
		snprintf(e->reason, sizeof(e->reason), "sha256 mismatch");
		add(g, CUST_ACTOR_DOCK, dock, CUST_A_QUARANTINED, id, CUST_OUTCOME_OK);
		return;		/* stays on the camera */
	}
	details(add(g, CUST_ACTOR_DOCK, dock, CUST_A_INGESTED, id, CUST_OUTCOME_OK),
		json_pack("{s:I, s:s}", "size", (json_int_t)(1000000 + k % 900000000),
			  "sha256", buf));
	add(g, CUST_ACTOR_DOCK, dock, CUST_A_STORED_LOCAL, id, CUST_OUTCOME_OK);
	add(g, CUST_ACTOR_DOCK, dock, CUST_A_UPLOAD_STARTED, id, CUST_OUTCOME_OK);
	if (k % 50 == 3) {
		e = add(g, CUST_ACTOR_DOCK, dock, CUST_A_UPLOADED, id, CUST_OUTCOME_FAILED);
		snprintf(e->reason, sizeof(e->reason), "HTTP 503 from storage");
		add(g, CUST_ACTOR_DOCK, dock, CUST_A_UPLOAD_STARTED, id, CUST_OUTCOME_OK);
	}
	snprintf(buf, sizeof(buf), "evidence/%s.dock", id);
	details(add(g, CUST_ACTOR_DOCK, dock, CUST_A_UPLOADED, id, CUST_OUTCOME_OK),
		json_pack("{s:s, s:s, s:s}", "object_key", buf, "version_id", "v1",
			  "etag", "\"e1\""));
	add(g, CUST_ACTOR_DOCK, dock, CUST_A_STORAGE_VERIFIED, id, CUST_OUTCOME_OK);
	add(g, CUST_ACTOR_DOCK, dock, CUST_A_CAMERA_RELEASED, id, CUST_OUTCOME_OK);
}

/* What happens to a recording days later: purge, review, reads. */
static void later(struct gen *g, long rec)
{
	static const char *const cats[] = { "traffic", "arrest", "use-of-force", "routine" };
	char id[32], cs[32];
	long k = g->base + rec;
	struct cust_event *e;

	rec_id(g, rec, id, sizeof(id));
	snprintf(cs, sizeof(cs), "CASE-%04ld", k % 1000);
	if (!quarantined(g, rec)) {
		add(g, CUST_ACTOR_DOCK, "dock-1", CUST_A_LOCAL_PURGED, id, CUST_OUTCOME_OK);
		e = add(g, CUST_ACTOR_CLERK, "clerk-1", CUST_A_CATEGORIZED, id, CUST_OUTCOME_OK);
		snprintf(e->case_no, sizeof(e->case_no), "%s", cs);
		snprintf(e->reason, sizeof(e->reason), "initial review");
		details(e, json_pack("{s:s}", "category", cats[k % 4]));
		details(add(g, CUST_ACTOR_SYSTEM, "retention-policy", CUST_A_RETENTION_SET,
			    id, CUST_OUTCOME_OK), json_pack("{s:s}", "until", "2031-01-01"));
	}
	if (k % 4 == 1) {
		add(g, CUST_ACTOR_CLERK, "clerk-2", CUST_A_VIEWED, id, CUST_OUTCOME_OK);
		details(add(g, CUST_ACTOR_CLERK, "clerk-2", CUST_A_LEDGER_READ, id,
			    CUST_OUTCOME_OK), json_pack("{s:s, s:i}", "command", "history",
							"uid", 1002));
	}
	if (k % 97 == 50) {
		e = add(g, CUST_ACTOR_CLERK, "clerk-1", CUST_A_HOLD_SET, id, CUST_OUTCOME_OK);
		snprintf(e->case_no, sizeof(e->case_no), "%s", cs);
		snprintf(e->reason, sizeof(e->reason), "litigation hold");
	}
}

/* Batch of recordings [rec0, rec0 + m), then the later events of the
 * previous batch [prev0, rec0) - or of this one when it is the last. */
static void build(struct gen *g, long prev0, long rec0, long m, int last)
{
	char cam[32], off[32];
	long i;

	g->n = 0;
	add(g, CUST_ACTOR_CLERK, "clerk-1", CUST_A_LOGON, NULL, CUST_OUTCOME_OK);
	for (i = 0; i < m; i++) {
		long k = g->base + rec0 + i;
		if (i % PER_SESSION == 0) {
			snprintf(cam, sizeof(cam), "CAM-%03ld", (k / PER_SESSION) % 50);
			snprintf(off, sizeof(off), "officer-%03ld", (k / PER_SESSION) % 200);
			details(add(g, CUST_ACTOR_CAMERA, cam, CUST_A_DEVICE_AUTHENTICATED,
				    NULL, CUST_OUTCOME_OK), json_pack("{s:s}", "camera", cam));
		}
		ingest(g, rec0 + i, cam, off);
	}
	for (i = prev0; i < rec0; i++)
		later(g, i);
	for (i = 0; last && i < m; i++)
		later(g, rec0 + i);
	add(g, CUST_ACTOR_CLERK, "clerk-1", CUST_A_LOGOFF, NULL, CUST_OUTCOME_OK);
}

static int parse(int argc, char **argv, long *n, long *per, int *no_ck)
{
	int i;

	if (argc < 2 || (*n = atol(argv[1])) < 1 || *n > 10000000)
		return -EINVAL;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--per-session") && i + 1 < argc)
			*per = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-checkpoint"))
			*no_ck = 1;
		else
			return -EINVAL;
	}
	return *per < 1 || *per > MAX_PER_BATCH ? -EINVAL : 0;
}

int cmd_demo_fill(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct gen g = { cmd_agency(ctx) ? cmd_agency(ctx) : "demo", 0, 0, NULL, 0 };
	struct cust_signer s = { 0 };
	char err[768];
	long n = 0, per = 5, rec, prev = 0, total = 0;
	int sign = 0, r = 0, no_ck = 0;
	enum cust_clock clk;
	uint64_t size;
	json_t *d;

	if (parse(argc, argv, &n, &per, &no_ck)) {
		cmd_err("usage: custody demo-fill N [--per-session K (1..%d)] "
			"[--no-checkpoint]", MAX_PER_BATCH);
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, true)))
		return r;
	if (!no_ck && ctx->cfg.checkpoint_key[0]) {
		if (cmd_signer_load(ctx, &s, err, sizeof(err))) {
			cmd_err("%s", err);
			return CMD_ERROR;
		}
		sign = 1;
	}
	d = json_pack("{s:I}", "recordings", (json_int_t)n);
	if (cmd_audit(ctx, CUST_A_PRIVILEGED, NULL, "demo-fill", d)) {
		json_decref(d);
		cust_signer_free(&s);
		return CMD_ERROR;
	}
	json_decref(d);
	cust_ledger_size(ctx->ledger, &size);
	g.base = (long)size;	/* distinct ids on repeated fills */
	g.ev = calloc((size_t)per * 2 * MAX_PER_REC + 8, sizeof(*g.ev));
	cust_clock_now(&g.t, &clk);
	g.t -= (int64_t)n * 13 * 1000000;
	for (rec = 0; g.ev && !r && rec < n; prev = rec, rec += per) {
		long m = n - rec < per ? n - rec : per;
		build(&g, prev, rec, m, rec + m == n);
		r = cust_ledger_append_batch(ctx->ledger, g.ev, g.n);
		total += (long)g.n;
		if (r)
			cmd_err("demo-fill: %s (%s)", strerror(-r), cust_ledger_errmsg(ctx->ledger));
		else if (sign && cust_checkpoint_write(ctx->ledger, &s, NULL, err, sizeof(err))) {
			cmd_err("demo-fill: %s", err);
			r = -EIO;
		}
	}
	if (!g.ev)
		r = -ENOMEM;
	free(g.ev);
	cust_signer_free(&s);
	if (!r)
		printf("%ld recordings, %ld events appended\n", n, total);
	return r ? CMD_ERROR : CMD_OK;
}
