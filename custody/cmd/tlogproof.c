/*
 * tlogproof.c - `custody proof ID --tlog-proof DIR` and
 * `custody check-proof --agency F --witnesses F [--quorum K] FILE...`
 * (C2SP tlog-proof files, docs/custody-ledger.md "tlog-proof files").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agencynote.h"
#include "cmd.h"
#include "cosig.h"
#include "tlogproof.h"

#define WIT_FILE_MAX 16384	/* a witness policy or vkeys file */

int cmd_proof_tlog(struct cmd_ctx *ctx, const char *id, const char *dir)
{
	size_t n = 0;
	json_t *d;
	int r;

	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	r = tlp_build_dir(ctx->ledger, cmd_agency(ctx), id, dir, stderr, &n);
	d = json_pack("{s:s, s:s}", "evidence_id", id, "format", "tlog-proof");
	if (cmd_audit(ctx, CUST_A_LEDGER_READ, r == 0 ? id : NULL, "proof", d)) {
		json_decref(d);
		return CMD_ERROR;
	}
	json_decref(d);
	if (r) {
		cmd_err("proof %s: %s", id, r == -ENOENT ? "no such evidence item" :
			r == -EACCES ? "belongs to another agency" :
			r == -ENODATA ? "no checkpoint has witness cosignatures yet" :
			r == -ENOKEY ? "no custody_certified event certifies the key of the "
			"newest cosigned checkpoint" :
			r == -EUCLEAN ? "the ledger does not reproduce its checkpoint "
			"(tampered? run custody verify)" :
			r == -EEXIST ? "a proof file exists already in that directory" :
			strerror(-r));
		return r == -ENOENT || r == -EACCES ? CMD_FINDINGS : CMD_ERROR;
	}
	fprintf(stderr, "custody: %zu tlog-proof file(s) of %s written to %s\n", n, id, dir);
	return n ? CMD_OK : CMD_FINDINGS;
}

/* Witness keys from one file: an agency-signed witnesses/v1 policy
 * (verified with the agency key; *policy_q = its quorum) or vkey lines
 * (type 0x04; blank and '#' lines skipped). */
static int load_witnesses(const char *path, const struct ckpt_vkey *agency,
			  struct ckpt_vkey *w, size_t *n, unsigned *policy_q)
{
	char *buf = malloc(WIT_FILE_MAX);
	struct agn_witnesses pol;
	enum agn_kind kind;
	size_t len, i;
	char *p, *nl;
	int r;

	if (!buf)
		return CMD_ERROR;
	if ((r = agn_read_file(path, buf, WIT_FILE_MAX, &len))) {
		cmd_err("%s: %s", path, r == -EFBIG ? "too large for a witness file" : strerror(-r));
		goto fail;
	}
	if (agn_kind(buf, len, &kind) == 0) {
		if (kind != AGN_WITNESSES || (r = agn_open_witnesses(buf, len, agency, &pol))) {
			cmd_err("%s: not a witness policy signed by the agency key (%s)", path,
				kind != AGN_WITNESSES ? "another kind of statement" :
				checkpoint_strerror(r));
			goto fail;
		}
		for (i = 0; i < pol.n; i++) {
			if (*n == TLP_MAX_WITNESSES)
				goto many;
			w[(*n)++] = pol.w[i];
		}
		if (pol.quorum > *policy_q)
			*policy_q = pol.quorum;
		free(buf);
		return 0;
	}
	for (p = buf; *p; p = nl ? nl + 1 : p + strlen(p)) {
		size_t l;
		nl = strchr(p, '\n');
		l = nl ? (size_t)(nl - p) : strlen(p);
		if (l == 0 || *p == '#')
			continue;
		if (*n == TLP_MAX_WITNESSES)
			goto many;
		if ((r = cosig_vkey_parse(p, l, &w[*n]))) {
			cmd_err("%s: not a witness vkey line (type 0x04) nor a witness policy: %s",
				path, checkpoint_strerror(r));
			goto fail;
		}
		(*n)++;
	}
	free(buf);
	return 0;
many:
	cmd_err("%s: more than %d witness keys", path, TLP_MAX_WITNESSES);
fail:
	free(buf);
	return CMD_ERROR;
}

#define USAGE "usage: custody check-proof --agency AGENCY.vkey --witnesses POLICY|VKEYS " \
	"[--witnesses ...] [--quorum K] FILE..."

int cmd_check_tlog(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ckpt_vkey agency, wit[TLP_MAX_WITNESSES];
	const char *ag = NULL, *wfiles[TLP_MAX_WITNESSES];
	size_t nw = 0, nwf = 0, nfiles = 0, good = 0, len;
	unsigned policy_q = 0, quorum = 0;
	char *buf = NULL;
	int i, r, rc = CMD_OK;

	(void)ctx;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--agency") && i + 1 < argc)
			ag = argv[++i];
		else if (!strcmp(argv[i], "--witnesses") && i + 1 < argc && nwf < TLP_MAX_WITNESSES)
			wfiles[nwf++] = argv[++i];
		else if (!strcmp(argv[i], "--quorum") && i + 1 < argc) {
			char *end;
			unsigned long q;
			errno = 0;
			q = strtoul(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || argv[i][0] == '-' || q < 1 ||
			    q > TLP_MAX_WITNESSES) {
				cmd_err("--quorum: 1..%d", TLP_MAX_WITNESSES);
				return CMD_ERROR;
			}
			quorum = (unsigned)q;
		} else if (argv[i][0] != '-')
			nfiles++;
		else {
			cmd_err(USAGE);
			return CMD_ERROR;
		}
	}
	if (!ag || !nwf || !nfiles) {
		cmd_err(USAGE);
		return CMD_ERROR;
	}
	if ((r = agn_vkey_file(ag, &agency))) {
		cmd_err("%s: not an agency vkey file: %s", ag, checkpoint_strerror(r));
		return CMD_ERROR;
	}
	for (i = 0; (size_t)i < nwf; i++)
		if (load_witnesses(wfiles[i], &agency, wit, &nw, &policy_q))
			return CMD_ERROR;
	if (!nw) {
		cmd_err("no witness key given");
		return CMD_ERROR;
	}
	/* the agency's policy sets the floor; an auditor may ask for more */
	if (quorum && quorum < policy_q) {
		cmd_err("--quorum %u is below the agency's witness policy quorum %u", quorum,
			policy_q);
		return CMD_ERROR;
	}
	if (!quorum)
		quorum = policy_q ? policy_q : 1;
	if (quorum > nw) {
		cmd_err("quorum %u but only %zu witness key(s) given", quorum, nw);
		return CMD_ERROR;
	}
	if (!(buf = malloc(TLP_MAX_FILE + 1)))
		return CMD_ERROR;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--agency") || !strcmp(argv[i], "--witnesses") ||
		    !strcmp(argv[i], "--quorum")) {
			i++;
			continue;
		}
		printf("%s:\n", argv[i]);
		r = agn_read_file(argv[i], buf, TLP_MAX_FILE + 1, &len);
		if (r) {
			cmd_err("%s: %s", argv[i], r == -EFBIG ? "larger than any tlog-proof file" :
				strerror(-r));
			printf("FAILED: %s: unreadable\n", argv[i]);
			rc = CMD_ERROR;
			continue;
		}
		r = tlp_check(buf, len, &agency, wit, nw, quorum, stdout);
		printf("%s: %s\n", r ? "FAILED" : "OK", argv[i]);
		if (!r)
			good++;
		else if (rc == CMD_OK)
			rc = r == -ENOMEM || r == -EIO ? CMD_ERROR : CMD_FINDINGS;
	}
	printf("%zu of %zu tlog-proof file(s) verified\n", good, nfiles);
	free(buf);
	return rc;
}
