/*
 * verifypkg.c - `custody verify-package FILE.tar|FILE.zip [--agency VKEY]
 * [--witnesses POLICY|VKEYS] [--quorum K]`: check a court package offline
 * (docs/court-package.md), treating every entry as hostile.
 *
 * The archive is read through libarchive (tar as a stream, zip by its
 * central directory; no decompression filters) and never extracted:
 * nothing is written. Each
 * entry must be a regular file (directories are skipped) under the one
 * top directory, its name free of "..", "." and empty components, not
 * absolute, not seen before, at most PKG_MAX_ENTRY bytes, not sparse,
 * and there are at most PKG_MAX_ENTRIES. Every entry is hashed as it
 * streams; the small text files needed afterwards (tag files, keys,
 * tlog-proofs) are kept in memory up to PKG_MAX_KEPT bytes in all.
 * Then: bagit.txt, every manifest and tagmanifest line, every payload
 * file listed, Payload-Oxum, and each tlog-proof against the agency key
 * (--agency, else the package's own copy, said so) and the witnesses.
 * Exit 0 all holds; 1 the package is refused (first reason printed);
 * 2 usage or unreadable key files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "agencynote.h"
#include "cmd.h"
#include "cosig.h"
#include "event.h"
#include "export.h"
#include "pkgread.h"
#include "tlogproof.h"

#define USAGE "usage: custody verify-package FILE.tar|FILE.zip [--agency VKEY] " \
	"[--witnesses POLICY|VKEYS] [--quorum K]"

/* Witness keys from a buffer: an agency-signed witnesses/v1 policy, or
 * vkey lines (as `custody check-proof --witnesses`). */
static int witnesses_from(const char *buf, size_t len, const struct ckpt_vkey *agency,
			  struct ckpt_vkey *w, size_t *n, unsigned *q, const char *what)
{
	struct agn_witnesses pol;
	enum agn_kind kind;
	const char *p = buf, *end = buf + len, *nl;
	size_t i;
	int r;

	if (agn_kind(buf, len, &kind) == 0) {
		if (kind != AGN_WITNESSES || (r = agn_open_witnesses(buf, len, agency, &pol))) {
			printf("REFUSED: %s: not a witness policy signed by the agency key\n", what);
			return -1;
		}
		for (i = 0; i < pol.n && *n < TLP_MAX_WITNESSES; i++)
			w[(*n)++] = pol.w[i];
		if (pol.quorum > *q)
			*q = pol.quorum;
		return 0;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl == p || *p == '#')
			continue;
		if (*n == TLP_MAX_WITNESSES ||
		    cosig_vkey_parse(p, (size_t)(nl - p), &w[*n])) {
			printf("REFUSED: %s: neither a witness policy nor witness vkey lines\n",
			       what);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int vkey_from(const char *buf, size_t len, struct ckpt_vkey *v)
{
	while (len && (buf[len - 1] == '\n'))
		len--;
	if (memchr(buf, '\n', len))
		return -EBADMSG;
	return ckpt_vkey_parse(buf, len, v);
}

/* 1 unless the (verified) proof's leaf is an event of the item named
 * by its directory data/items/SERIAL/RECORDING/tlog-proof/. */
static int proof_item_mismatch(const struct pkg_file *f)
{
	struct tlp *t = malloc(sizeof(*t));
	struct cust_event ev;
	const char *id = f->name + strlen("data/items/"), *end = strstr(id, "/tlog-proof/");
	int bad = 1;

	if (t && end && tlp_parse(f->text, f->size, t) == 0 &&
	    cust_event_decode(t->leaf, t->leaf_len, &ev) == 0)
		bad = strlen(ev.evidence_id) != (size_t)(end - id) ||
		      strncmp(ev.evidence_id, id, (size_t)(end - id));
	free(t);
	return bad;
}

/* The tlog-proof files against the keys; 0 all verified. */
static int check_proofs(struct pkg *p, const char *ag_path, const char *wit_path,
			unsigned quorum, size_t *n_ok)
{
	struct ckpt_vkey agency, wit[TLP_MAX_WITNESSES];
	const struct pkg_file *f;
	char buf[8192];
	size_t nw = 0, len, i;
	unsigned policy_q = 0;

	if (ag_path) {
		if (agn_vkey_file(ag_path, &agency)) {
			cmd_err("%s: not an agency vkey file", ag_path);
			return -2;
		}
	} else if (!(f = pkg_find(p, "data/keys/agency.vkey")) || !f->text ||
		   vkey_from(f->text, f->size, &agency)) {
		printf("REFUSED: no --agency key given and no valid data/keys/agency.vkey "
		       "in the package\n");
		return -1;
	}
	if (wit_path) {
		if (agn_read_file(wit_path, buf, sizeof(buf), &len)) {
			cmd_err("%s: unreadable", wit_path);
			return -2;
		}
		if (witnesses_from(buf, len, &agency, wit, &nw, &policy_q, wit_path))
			return -1;
	} else if ((f = pkg_find(p, "data/keys/witnesses.note")) && f->text) {
		if (witnesses_from(f->text, f->size, &agency, wit, &nw, &policy_q,
				   "data/keys/witnesses.note"))
			return -1;
	}
	if (!nw) {
		printf("REFUSED: no witness keys (no --witnesses, no data/keys/witnesses.note)\n");
		return -1;
	}
	if (quorum && quorum < policy_q) {
		cmd_err("--quorum %u is below the agency's witness policy quorum %u",
			quorum, policy_q);
		return -2;
	}
	if (!quorum)
		quorum = policy_q ? policy_q : 1;
	for (i = 0; i < p->n; i++) {
		f = &p->f[i];
		if (!pkg_is_proof(f->name))
			continue;
		if (!f->text || tlp_check(f->text, f->size, &agency, wit, nw, quorum, NULL)) {
			printf("REFUSED: %s: the tlog-proof does not verify against the agency "
			       "key and %u witness cosignature(s)\n", f->name, quorum);
			return -1;
		}
		if (proof_item_mismatch(f)) {
			printf("REFUSED: %s: the proven event is not an event of the item "
			       "whose directory holds it\n", f->name);
			return -1;
		}
		(*n_ok)++;
	}
	return 0;
}

int cmd_verify_package(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *ag = NULL, *wit = NULL;
	unsigned quorum = 0;
	struct pkg *p = NULL;
	size_t n_ok = 0, items;
	char why[512];
	int i, fd, r;

	(void)ctx;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--agency") && i + 1 < argc)
			ag = argv[++i];
		else if (!strcmp(argv[i], "--witnesses") && i + 1 < argc)
			wit = argv[++i];
		else if (!strcmp(argv[i], "--quorum") && i + 1 < argc) {
			long q = atol(argv[++i]);
			if (q < 1 || q > TLP_MAX_WITNESSES) {
				cmd_err("--quorum: 1..%d", TLP_MAX_WITNESSES);
				return CMD_ERROR;
			}
			quorum = (unsigned)q;
		} else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else {
			cmd_err(USAGE);
			return CMD_ERROR;
		}
	}
	if (!file) {
		cmd_err(USAGE);
		return CMD_ERROR;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		cmd_err("%s: %s", file, strerror(errno));
		return CMD_ERROR;
	}
	r = pkg_read(fd, &p, why, sizeof(why));
	close(fd);
	if (r == 0)
		r = pkg_check_bag(p, why, sizeof(why));
	if (r) {
		printf("REFUSED: %s\n", why);
		pkg_free(p);
		return r == -ENOMEM ? CMD_ERROR : CMD_FINDINGS;
	}
	printf("bag %s: bagit.txt, %zu manifest line(s) and %zu tagmanifest line(s) "
	       "match; every payload file is listed\n", p->bag, p->n_manifest, p->n_tag);
	r = check_proofs(p, ag, wit, quorum, &n_ok);
	items = pkg_count_items(p);
	pkg_free(p);
	if (r)
		return r == -2 ? CMD_ERROR : CMD_FINDINGS;
	printf("%zu tlog-proof file(s) verified%s\n", n_ok,
	       ag ? " with the agency key you gave" :
	       " with the agency key IN THE PACKAGE (this shows consistency only: "
	       "give --agency with the key you obtained from the agency)");
	printf("OK: %s\n"
	       "proves: the package is complete and unmodified since export (every file "
	       "in the manifests, every hash matches); each tlog-proof event is an event "
	       "of the item it is filed under (%zu item(s)) and is in the ledger log whose checkpoint the agency-certified "
	       "dock key signed and the agency's witnesses cosigned\n"
	       "does not prove: that the video content is authentic beyond the camera's "
	       "signature inside the evidence file (checked on decryption, "
	       "docs/evidence-format.md); that history.json holds every event of an item "
	       "(events after the newest cosigned checkpoint have no tlog-proof); who "
	       "holds the package now; anything about keys taken from the package "
	       "instead of from the agency\n", file, items);
	return CMD_OK;
}
