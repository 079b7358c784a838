/*
 * audit.c - an auditor's consistency check and consistency proofs.
 *
 *   custody [--db L | --config F] audit --state DIR --vkey CKPT.vkey
 *           [--note FILE] [--witnesses W.vkeys --quorum K]
 *   custody [--db L | --config F] consistency-proof OLD NEW|latest
 *
 * audit keeps the auditor's own last-seen checkpoint in DIR (a directory
 * the auditor owns, not on the dock) and accepts a newer one only with a
 * valid RFC 6962 consistency proof: from FILE when it is a proof file
 * (the output of consistency-proof), else computed from the ledger.
 * Without --note the newest checkpoint of the ledger is checked.
 * Exit: 0 consistent (or first sight), 1 rollback / fork / too few
 * witness cosignatures, 2 errors.  Format: docs/witness.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cosig.h"
#include "ledger_cosig.h"
#include "ledger_int.h"
#include "publish.h"
#include "witness.h"
#include "witness_audit.h"

#define MAX_WITNESSES 32

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int latest_size(struct cust_ledger *l, uint64_t *size)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT coalesce(max(size), 0)"
				" FROM checkpoints", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(s);
	*size = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int cmd_consistency_proof(struct cmd_ctx *ctx, int argc, char **argv)
{
	uint64_t old = 0, nw = 0;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (argc != 3 || parse_u64(argv[1], &old) ||
	    (strcmp(argv[2], "latest") && parse_u64(argv[2], &nw))) {
		cmd_err("usage: custody consistency-proof OLD NEW|latest");
		return CMD_ERROR;
	}
	ctx->read_only = true;
	if (cmd_open_ledger(ctx, false))
		return CMD_ERROR;
	if (!strcmp(argv[2], "latest") && latest_size(ctx->ledger, &nw)) {
		cmd_err("cannot read the checkpoints");
		return CMD_ERROR;
	}
	if (old > nw) {
		cmd_err("consistency-proof: OLD %llu is larger than NEW %llu",
			(unsigned long long)old, (unsigned long long)nw);
		return CMD_ERROR;
	}
	r = wa_proof_text(ctx->ledger, old, nw, &text, &len);
	if (r) {
		cmd_err("consistency-proof %llu -> %llu: %s",
			(unsigned long long)old, (unsigned long long)nw,
			r == -ENOENT ? "no signed checkpoint of size NEW in the ledger" :
			r == -EUCLEAN ? "the ledger's leaves are damaged (run verify)" :
			strerror(-r));
		return CMD_ERROR;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return CMD_OK;
}

static int load_witnesses(const char *path, struct ckpt_vkey *keys, size_t *n)
{
	char line[CKPT_MAX_VKEY + 8];
	FILE *f = fopen(path, "re");
	int lineno = 0;

	*n = 0;
	if (!f) {
		cmd_err("%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");

		lineno++;
		line[len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (*n == MAX_WITNESSES ||
		    cosig_vkey_parse(line, len, &keys[*n])) {
			cmd_err("%s:%d: not a witness vkey (type 0x04) or too many",
				path, lineno);
			fclose(f);
			return -EBADMSG;
		}
		(*n)++;
	}
	fclose(f);
	return 0;
}

struct audit_opts {
	const char *state, *vkey, *note, *witnesses;
	uint64_t quorum;
};

static int parse_audit(int argc, char **argv, struct audit_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(a, "--state")) o->state = argv[i + 1];
		else if (!strcmp(a, "--vkey")) o->vkey = argv[i + 1];
		else if (!strcmp(a, "--note")) o->note = argv[i + 1];
		else if (!strcmp(a, "--witnesses")) o->witnesses = argv[i + 1];
		else if (!strcmp(a, "--quorum")) {
			if (parse_u64(argv[i + 1], &o->quorum))
				return -EINVAL;
		} else
			return -EINVAL;
	}
	if (!o->state || !o->vkey || (o->quorum && !o->witnesses))
		return -EINVAL;
	return 0;
}

/* The witness quorum on the note: 0, or CMD_FINDINGS with a message. */
static int check_quorum(const struct audit_opts *o, const char *note,
			size_t len)
{
	struct ckpt_vkey wk[MAX_WITNESSES];
	size_t nw = 0, count = 0;
	int r;

	if (!o->witnesses)
		return 0;
	if (load_witnesses(o->witnesses, wk, &nw))
		return CMD_ERROR;
	r = cosig_note_check(note, len, wk, nw, NULL, &count, NULL);
	if (r) {
		printf("FINDING: a witness cosignature on the checkpoint does "
		       "not verify: %s\n", checkpoint_strerror(r));
		return CMD_FINDINGS;
	}
	printf("witness cosignatures: %zu of %zu known witnesses (quorum %llu)\n",
	       count, nw, (unsigned long long)o->quorum);
	if (count < o->quorum) {
		printf("FINDING: only %zu witness cosignature(s), %llu required\n",
		       count, (unsigned long long)o->quorum);
		return CMD_FINDINGS;
	}
	return 0;
}

int cmd_audit_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ckpt_vkey keys[CUST_MAX_VKEYS];
	struct witness_req *rq = NULL;
	struct audit_opts o;
	char err[512], msg[1024];
	char *buf = NULL;
	size_t n_keys = 0, len = 0;
	const char *note;
	size_t note_len;
	uint64_t size = 0;
	int r, rc = CMD_ERROR, qrc;

	if (parse_audit(argc, argv, &o)) {
		cmd_err("usage: custody audit --state DIR --vkey CKPT.vkey "
			"[--note FILE] [--witnesses W.vkeys --quorum K]");
		return CMD_ERROR;
	}
	if (cust_vkeys_load(o.vkey, keys, &n_keys, err, sizeof(err))) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	if (ctx->db_path && *ctx->db_path) {
		ctx->read_only = true;	/* an auditor only reads the ledger */
		if (cmd_open_ledger(ctx, false))
			return CMD_ERROR;
	}
	if (o.note) {
		char dir[4096], *slash;

		snprintf(dir, sizeof(dir), "%s", o.note);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		r = witness_read_file(slash ? (dir[0] ? dir : "/") : ".",
				      slash ? slash + 1 : o.note,
				      WITNESS_MAX_BODY, &buf, &len);
		if (r) {
			cmd_err("%s: %s", o.note, strerror(-r));
			return CMD_ERROR;
		}
	} else if (!ctx->ledger) {
		cmd_err("audit: give --note FILE, or a ledger (--db/--config)");
		return CMD_ERROR;
	} else if ((r = latest_size(ctx->ledger, &size)) || size == 0 ||
		   (r = cust_cosig_note(ctx->ledger, size, &buf, &len))) {
		cmd_err("audit: no signed checkpoint in the ledger");
		return CMD_ERROR;
	}
	if (!(rq = calloc(1, sizeof(*rq))))
		goto out;
	note = buf;
	note_len = len;
	if (len >= 4 && !memcmp(buf, "old ", 4)) {
		if ((r = witness_req_parse(buf, len, rq))) {
			cmd_err("%s: not a consistency proof file", o.note);
			goto out;
		}
		note = rq->note;
		note_len = rq->note_len;
	}
	/* a checkpoint without its witnesses is not recorded as seen */
	if ((qrc = check_quorum(&o, note, note_len))) {
		rc = qrc;
		goto out;
	}
	r = wa_check(o.state, keys, n_keys, note, note_len, note != buf,
		     rq->old_size, (const merkle_hash *)rq->proof, rq->n_proof,
		     ctx->ledger, msg, sizeof(msg));
	if (r < 0) {
		cmd_err("audit: %s", msg[0] ? msg : strerror(-r));
		goto out;
	}
	if (r == WA_ROLLBACK || r == WA_FORK) {
		printf("FINDING: %s\n", msg);
		rc = CMD_FINDINGS;
		goto out;
	}
	printf("%s\n", msg);
	rc = CMD_OK;
out:
	free(rq);
	free(buf);
	return rc;
}
