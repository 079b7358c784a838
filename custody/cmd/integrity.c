/*
 * integrity.c - `custody verify`, `checkpoint`, `proof`, `check-proof`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agencynote.h"
#include "cmd.h"
#include "receipt_ledger.h"
#include "proof.h"
#include "publish.h"
#include "verify.h"

static int load_keys(struct cmd_ctx *ctx, const char *path, struct ckpt_vkey *keys,
		     size_t *n)
{
	char err[512];

	if (!path || !*path)
		path = ctx->cfg.checkpoint_pub;
	if (!*path) {
		cmd_err("no trusted checkpoint key: set [ledger] checkpoint_pub or give --vkey FILE");
		return CMD_ERROR;
	}
	if (cust_vkeys_load(path, keys, n, err, sizeof(err))) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	return 0;
}

struct fstate { int quiet; };

static void print_finding(void *arg, const char *cls, uint64_t seq, const char *msg)
{
	(void)arg;
	if (seq)
		printf("FINDING %s seq %llu: %s\n", cls, (unsigned long long)seq, msg);
	else
		printf("FINDING %s: %s\n", cls, msg);
}

static void print_info(void *arg, const char *cls, uint64_t seq, const char *msg)
{
	(void)arg;
	(void)cls;
	(void)seq;
	printf("INFO %s\n", msg);
}

/* Agency mode: the auditor's agency vkey and, optionally, witness policy;
 * nothing from the dock's key files. */
static int load_agency_opts(const char *agency, const char *wit, struct ckpt_vkey *a,
			    char *wbuf, size_t wcap, struct cust_verify_opts *o)
{
	size_t len;
	int r;

	if ((r = agn_vkey_file(agency, a))) {
		cmd_err("%s: not an agency vkey file: %s", agency, checkpoint_strerror(r));
		return CMD_ERROR;
	}
	o->agency = a;
	o->info = print_info;
	if (!wit)
		return 0;
	if ((r = agn_read_file(wit, wbuf, wcap, &len))) {
		cmd_err("%s: %s", wit, r == -EFBIG ? "larger than any witness policy" : strerror(-r));
		return CMD_ERROR;
	}
	o->witness_note = wbuf;
	o->witness_len = len;
	return 0;
}

/* Offline export receipts issued and not filed back (a warning: the
 * exit status is that of the findings; docs/custody-access.md). */
static int print_unfiled(void *arg, const struct receipt_issue *is, uint64_t from,
			 uint64_t to)
{
	(void)arg;
	if (from == to)
		printf("WARNING: unfiled export receipt %llu (agency %s, workstation %s, "
		       "issued in event %llu)\n", (unsigned long long)from, is->agency,
		       is->workstation, (unsigned long long)is->seq);
	else
		printf("WARNING: unfiled export receipts %llu-%llu (agency %s, workstation "
		       "%s, issued in event %llu)\n", (unsigned long long)from,
		       (unsigned long long)to, is->agency, is->workstation,
		       (unsigned long long)is->seq);
	return 0;
}

int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ckpt_vkey keys[CUST_MAX_VKEYS], agency;
	struct cust_verify_opts o = { .keys = keys };
	struct cust_verify_result res;
	const char *vkey = NULL, *ext = NULL, *ag = NULL, *wit = NULL, *origin = NULL;
	int grace = 0;
	char wbuf[AGN_MAX_NOTE + 1];
	json_t *d;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vkey") && i + 1 < argc)
			vkey = argv[++i];
		else if (!strcmp(argv[i], "--external") && i + 1 < argc)
			ext = argv[++i];
		else if (!strcmp(argv[i], "--agency") && i + 1 < argc)
			ag = argv[++i];
		else if (!strcmp(argv[i], "--witnesses") && i + 1 < argc)
			wit = argv[++i];
		else if (!strcmp(argv[i], "--origin") && i + 1 < argc)
			origin = argv[++i];
		else if (!strcmp(argv[i], "--witness-grace") && i + 1 < argc) {
			char *end;
			errno = 0;
			o.witness_grace_s = strtoll(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || o.witness_grace_s < 0 ||
			    o.witness_grace_s > 86400 * 365) {
				cmd_err("--witness-grace: seconds, 0..31536000");
				return CMD_ERROR;
			}
			grace = 1;
		}
		else {
			cmd_err("usage: custody verify [--vkey FILE] [--external DIR] "
				"[--agency AGENCY.vkey [--witnesses POLICY] [--origin O] "
				"[--witness-grace S]]");
			return CMD_ERROR;
		}
	}
	if (!grace)
		o.witness_grace_s = CUST_WITNESS_GRACE_S;
	if (!ag && (wit || origin || grace)) {
		cmd_err("--witnesses, --origin and --witness-grace need --agency");
		return CMD_ERROR;
	}
	if (ag && vkey) {
		cmd_err("--agency trusts no checkpoint key file: drop --vkey");
		return CMD_ERROR;
	}
	if (ag)
		r = load_agency_opts(ag, wit, &agency, wbuf, sizeof(wbuf), &o);
	else
		r = load_keys(ctx, vkey, keys, &o.n_keys);
	if (r || (r = cmd_open_ledger(ctx, false)))
		return r;
	o.origin = origin ? origin : ctx->cfg.checkpoint_origin;
	o.ext_dir = ext ? ext : ctx->cfg.external_checkpoint_dir;
	r = cust_verify(ctx->ledger, &o, print_finding, NULL, &res);
	if (r) {
		cmd_err("verify could not run: %s (%s)", strerror(-r),
			cust_ledger_errmsg(ctx->ledger));
		return CMD_ERROR;
	}
	if (!*o.ext_dir)
		printf("WARNING: no external checkpoint directory: a truncated tail "
		       "cannot be detected\n");
	if ((r = receipt_unfiled(ctx->ledger, print_unfiled, NULL)) < 0)
		cmd_err("unfiled receipts could not be listed: %s", strerror(-r));
	printf("%s: %llu events, %llu items, %llu checkpoint copies (newest %llu), "
	       "%llu finding%s\n", res.findings ? "FAILED" : "OK",
	       (unsigned long long)res.events, (unsigned long long)res.items,
	       (unsigned long long)res.checkpoints,
	       (unsigned long long)res.newest_checkpoint,
	       (unsigned long long)res.findings, res.findings == 1 ? "" : "s");
	if (ag)
		printf("agency mode (%s): %llu certified checkpoint key%s, witness policy "
		       "version %llu, witnessed through event %llu\n", agency.name,
		       (unsigned long long)res.certified_keys, res.certified_keys == 1 ? "" : "s",
		       (unsigned long long)res.witness_policy_version,
		       (unsigned long long)res.witnessed);
	d = json_pack("{s:I, s:I, s:b}", "events", (json_int_t)res.events,
		      "findings", (json_int_t)res.findings, "agency_mode", ag != NULL);
	/* the run is recorded AFTER the check, so it never checks itself */
	/* a tampered ledger may refuse the append (-EUCLEAN): the findings
	 * stand, exit 1; a clean ledger that cannot record the run: 2 */
	if (cmd_audit(ctx, CUST_A_LEDGER_VERIFIED, NULL, "verify", d) && !res.findings) {
		json_decref(d);
		return CMD_ERROR;
	}
	json_decref(d);
	return res.findings ? CMD_FINDINGS : CMD_OK;
}

int cmd_checkpoint(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cust_signer s;
	char err[768];
	uint64_t size = 0;
	int if_due = argc == 2 && !strcmp(argv[1], "--if-due"), due = 1, r;

	if (argc > 2 || (argc == 2 && !if_due)) {
		cmd_err("usage: custody checkpoint [--if-due]");
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	if (cmd_signer_load(ctx, &s, err, sizeof(err))) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	if (if_due && cust_checkpoint_due(ctx->ledger, ctx->cfg.checkpoint_interval_s, &due)) {
		cmd_err("%s", cust_ledger_errmsg(ctx->ledger));
		r = CMD_ERROR;
		goto out;
	}
	if (!due) {
		printf("no checkpoint due\n");
		goto out;
	}
	if (cust_checkpoint_write(ctx->ledger, &s, &size, err, sizeof(err))) {
		cmd_err("%s", err);
		r = CMD_ERROR;
		goto out;
	}
	printf("checkpoint %llu written\n", (unsigned long long)size);
out:
	cust_signer_free(&s);
	return r;
}

int cmd_proof(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cust_signer s;
	const char *id = NULL, *out = NULL, *tdir = NULL;
	char err[768];
	json_t *p = NULL, *d;
	FILE *f = stdout;
	int i, r, signer = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--tlog-proof") && i + 1 < argc)
			tdir = argv[++i];
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else {
			cmd_err("usage: custody proof ID [--out FILE | --tlog-proof DIR]");
			return CMD_ERROR;
		}
	}
	if (!id || (out && tdir)) {
		cmd_err("usage: custody proof ID [--out FILE | --tlog-proof DIR]");
		return CMD_ERROR;
	}
	if (tdir)	/* C2SP tlog-proof files, one per event (tlogproof.c) */
		return cmd_proof_tlog(ctx, id, tdir);
	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	/* cover the newest events too, and sign the completeness claim,
	 * when we may sign */
	memset(&s, 0, sizeof(s));
	if (!ctx->read_only && ctx->cfg.checkpoint_key[0] &&
	    cmd_signer_load(ctx, &s, err, sizeof(err)) == 0) {
		if (cust_checkpoint_write(ctx->ledger, &s, NULL, err, sizeof(err)))
			cmd_err("warning: %s", err);
		signer = 1;
	}
	r = cust_proof_build(ctx->ledger, cmd_agency(ctx), id, signer ? &s : NULL, &p);
	if (signer)
		cust_signer_free(&s);
	if (!r && !signer)
		cmd_err("warning: no checkpoint key here: the proof carries no signed "
			"completeness claim, and check-proof will not call it complete");
	d = json_pack("{s:s}", "evidence_id", id);
	if (cmd_audit(ctx, CUST_A_LEDGER_READ, r == 0 ? id : NULL, "proof", d)) {
		json_decref(d);
		json_decref(p);
		return CMD_ERROR;
	}
	json_decref(d);
	if (r) {
		cmd_err("proof %s: %s", id, r == -ENOENT ? "no such evidence item" :
			r == -EACCES ? "belongs to another agency" :
			r == -ENODATA ? "no checkpoint yet (run custody checkpoint)" :
			r == -EUCLEAN ? "the ledger does not reproduce its checkpoint "
			"(tampered? run custody verify)" : strerror(-r));
		return r == -ENOENT || r == -EACCES ? CMD_FINDINGS : CMD_ERROR;
	}
	if (out && !(f = fopen(out, "wx"))) {
		cmd_err("%s: %s", out, strerror(errno));
		json_decref(p);
		return CMD_ERROR;
	}
	r = json_dumpf(p, f, JSON_INDENT(1) | JSON_SORT_KEYS);
	fputc('\n', f);
	if ((out && fclose(f)) || r) {
		cmd_err("%s: write failed", out ? out : "stdout");
		r = CMD_ERROR;
	}
	if (out && !r)
		fprintf(stderr, "custody: proof of %zu event(s) of %s written to %s\n",
			json_array_size(json_object_get(p, "events")), id, out);
	json_decref(p);
	return r ? CMD_ERROR : CMD_OK;
}

int cmd_check_proof(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ckpt_vkey keys[CUST_MAX_VKEYS];
	const char *file = NULL, *vkey = NULL;
	json_error_t je;
	json_t *p;
	size_t n = 0, checked = 0;
	int i, r;

	/* with the agency's key: tlog-proof files (tlogproof.c) */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--agency"))
			return cmd_check_tlog(ctx, argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vkey") && i + 1 < argc)
			vkey = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			cmd_err("usage: custody check-proof FILE [--vkey FILE]");
			return CMD_ERROR;
		}
	}
	if (!file) {
		cmd_err("usage: custody check-proof FILE [--vkey FILE]");
		return CMD_ERROR;
	}
	if ((r = load_keys(ctx, vkey, keys, &n)))
		return r;
	p = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!p) {
		cmd_err("%s:%d: not a proof file: %s", file, je.line, je.text);
		return CMD_ERROR;
	}
	r = cust_proof_check(p, keys, n, stdout, &checked);
	if (r == -EINVAL)
		cmd_err("%s: malformed proof file (not the format of `custody proof`)", file);
	else if (r == -EIO)
		cmd_err("%s: digest failure", file);
	printf("%s: %zu of %zu event(s) of %s proven\n", r ? "FAILED" : "OK", checked,
	       json_array_size(json_object_get(p, "events")),
	       json_string_value(json_object_get(p, "evidence_id")) ?: "?");
	json_decref(p);
	return r == 0 ? CMD_OK : r == -EINVAL || r == -EIO ? CMD_ERROR : CMD_FINDINGS;
}
