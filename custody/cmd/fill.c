/*
 * fill.c - `custody demo-fill N`: generate N recordings' full life cycles
 * (12 events each) in docking sessions of K recordings, one group commit
 * and (with a checkpoint key configured) one checkpoint per session. An
 * admin/test tool for demos, tests and benchmarks; recorded as a
 * privileged_action event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "publish.h"

#define PER_REC 12

static void rec_events(struct cust_event *ev, const char *agency, long rec,
		       long base, int64_t t0)
{
	static const enum cust_action acts[PER_REC] = {
		CUST_A_DOCKED, CUST_A_DEVICE_AUTHENTICATED, CUST_A_INGEST_STARTED,
		CUST_A_INGESTED, CUST_A_STORED_LOCAL, CUST_A_UPLOAD_STARTED,
		CUST_A_UPLOADED, CUST_A_STORAGE_VERIFIED, CUST_A_CAMERA_RELEASED,
		CUST_A_LOCAL_PURGED, CUST_A_CATEGORIZED, CUST_A_RETENTION_SET };
	static const char *const cats[] = { "traffic", "arrest", "use-of-force", "routine" };
	char id[64], cam[32], off[32], buf[512];
	int k;

	snprintf(id, sizeof(id), "EV-%08ld", base + rec);
	snprintf(cam, sizeof(cam), "CAM-%03ld", (base + rec) % 50);
	snprintf(off, sizeof(off), "officer-%03ld", (base + rec) % 200);
	for (k = 0; k < PER_REC; k++) {
		struct cust_event *e = &ev[k];
		json_t *d = NULL;
		cust_event_init(e, agency, k < 2 ? CUST_ACTOR_CAMERA : k == 10 ?
				CUST_ACTOR_CLERK : CUST_ACTOR_DOCK, k < 2 ? cam : k == 10 ?
				"clerk-1" : "dock-1", acts[k], id, CUST_OUTCOME_OK);
		e->time_ns = t0 + (int64_t)(rec * PER_REC + k) * 1000000;
		switch (acts[k]) {
		case CUST_A_DOCKED:
			d = json_pack("{s:s, s:s}", "camera", cam, "officer", off);
			break;
		case CUST_A_INGESTED:
			snprintf(buf, sizeof(buf), "%064lx", (unsigned long)(base + rec) * 2654435761UL);
			d = json_pack("{s:I, s:s}", "size", (json_int_t)(1000000 + rec), "sha256", buf);
			break;
		case CUST_A_UPLOADED:
			snprintf(buf, sizeof(buf), "evidence/%s.dock", id);
			d = json_pack("{s:s, s:s, s:s}", "object_key", buf, "version_id", "v1",
				      "etag", "\"e1\"");
			break;
		case CUST_A_CATEGORIZED:
			d = json_pack("{s:s}", "category", cats[(base + rec) % 4]);
			snprintf(e->case_no, sizeof(e->case_no), "CASE-%04ld", (base + rec) % 1000);
			snprintf(e->reason, sizeof(e->reason), "initial review");
			break;
		case CUST_A_RETENTION_SET:
			d = json_pack("{s:s}", "until", "2031-01-01");
			break;
		default:
			break;
		}
		if (d) {
			cust_event_set_details(e, d);
			json_decref(d);
		}
	}
}

int cmd_demo_fill(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *agency = cmd_agency(ctx) ? cmd_agency(ctx) : "demo";
	struct cust_signer s = { 0 };
	struct cust_event *ev;
	char err[768];
	long n, per = 5, base = 0, rec, i;
	int sign = 0, r = 0, no_ck = 0;
	int64_t t0;
	enum cust_clock clk;
	uint64_t size;
	json_t *d;

	if (argc < 2 || (n = atol(argv[1])) < 1 || n > 10000000) {
		cmd_err("usage: custody demo-fill N [--per-session K] [--no-checkpoint]");
		return CMD_ERROR;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--per-session") && i + 1 < argc)
			per = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-checkpoint"))
			no_ck = 1;
		else
			per = 0;
	}
	if (per < 1 || per > CUST_LEDGER_MAX_BATCH / PER_REC) {
		cmd_err("demo-fill: bad option");
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, true)))
		return r;
	if (!no_ck && ctx->cfg.checkpoint_key[0]) {
		if (cust_signer_load(&ctx->cfg, &s, err, sizeof(err))) {
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
	base = (long)size;	/* distinct ids on repeated fills */
	ev = calloc((size_t)per * PER_REC, sizeof(*ev));
	cust_clock_now(&t0, &clk);
	t0 -= (int64_t)n * PER_REC * 1000000;
	for (rec = 0; ev && !r && rec < n; rec += per) {
		long m = n - rec < per ? n - rec : per;
		for (i = 0; i < m; i++)
			rec_events(ev + i * PER_REC, agency, rec + i, base, t0);
		r = cust_ledger_append_batch(ctx->ledger, ev, (size_t)(m * PER_REC));
		if (r)
			cmd_err("demo-fill: %s (%s)", strerror(-r), cust_ledger_errmsg(ctx->ledger));
		else if (sign && cust_checkpoint_write(ctx->ledger, &s, NULL, err, sizeof(err))) {
			cmd_err("demo-fill: %s", err);
			r = -EIO;
		}
	}
	if (!ev)
		r = -ENOMEM;
	free(ev);
	cust_signer_free(&s);
	if (!r)
		printf("%ld recordings, %ld events appended\n", n, n * PER_REC);
	return r ? CMD_ERROR : CMD_OK;
}
