/*
 * export.c - `custody export ID... --out FILE.tar|FILE.zip --reason R [--case C]
 * [--vault DIR]`: a BagIt (RFC 8493) court package written as a POSIX
 * tar or a zip (stored, no compression) through libarchive
 * (docs/court-package.md).
 *
 * Order of things, and why:
 *  1. everything that can fail fails first: the ledger must be writable
 *     (the export is recorded in the dock's ledger, or not made), each
 *     item's record, its stored (ciphertext) file, whose size must be the
 *     ledger's (the `ingested` event's ct_size; its ct_sha256 is the hash
 *     expected: one read of the file, not two; an item without them is
 *     hashed in a first pass), and its tlog-proof files (built into a
 *     private temp directory);
 *  2. one `exported` event per item (details: package, format, included
 *     parts, evidence_sha256) is appended BEFORE the first byte of the
 *     package exists - here, or at a workstation by the dock's query
 *     service, or --offline as a signed receipt per item (exprec.h);
 *  3. the package is written to "<out>.partial" (created exclusively),
 *     the evidence copied in fixed blocks while its SHA-256 is computed;
 *     bytes that are not the expected ones (damaged, replaced, changed
 *     since step 1) abort the export (an `exported` event with outcome
 *     failed says so); only a complete package is linked to --out, never
 *     replacing a file.
 * Memory is bounded: 1 MiB blocks, small text parts held whole (caps).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "agencynote.h"
#include "cmd.h"
#include "export_int.h"
#include "query.h"
#include "tlogproof.h"
#include "vaultpath.h"

/* The SHA-256 of an open file, streamed; *size its length. */
static int hash_fd(int fd, char sha[65], uint64_t *size)
{
	unsigned char *b = malloc(EXP_BLOCK), md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint64_t n = 0;
	ssize_t got;
	int r = -EIO;

	if (!b || !c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto fail;
	}
	while ((got = read(fd, b, EXP_BLOCK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto fail;
		}
		if (!EVP_DigestUpdate(c, b, (size_t)got))
			goto fail;
		n += (uint64_t)got;
	}
	if (!EVP_DigestFinal_ex(c, md, NULL))
		goto fail;
	exp_hex(md, 32, sha);
	*size = n;
	r = 0;
fail:
	EVP_MD_CTX_free(c);
	free(b);
	return r;
}

/* The stored file's SHA-256 and size the ledger holds: details ct_sha256
 * and ct_size of the item's newest `ingested` event with outcome ok (what
 * dockd computed while writing the vault file). 0, or -ENOENT (an item
 * without them: the caller hashes the file itself). */
static int ledger_ct(json_t *h, char sha[65], uint64_t *size)
{
	json_t *evs = json_object_get(h, "events"), *ev, *d;
	const char *s = NULL;
	json_int_t n = -1;
	size_t i, k;

	json_array_foreach(evs, i, ev) {
		if (!json_is_string(json_object_get(ev, "action")) ||
		    strcmp(json_string_value(json_object_get(ev, "action")), "ingested") ||
		    !json_is_string(json_object_get(ev, "outcome")) ||
		    strcmp(json_string_value(json_object_get(ev, "outcome")), "ok"))
			continue;
		d = json_object_get(ev, "details");
		if (json_is_string(json_object_get(d, "ct_sha256")) &&
		    json_is_integer(json_object_get(d, "ct_size"))) {
			s = json_string_value(json_object_get(d, "ct_sha256"));
			n = json_integer_value(json_object_get(d, "ct_size"));
		}
	}
	if (!s || n < 0 || strlen(s) != 64)
		return -ENOENT;
	for (k = 0; k < 64; k++)
		if (!strchr("0123456789abcdef", s[k]))
			return -ENOENT;
	memcpy(sha, s, 65);
	*size = (uint64_t)n;
	return 0;
}

/* Record, agency and stored file of one item (as `custody decrypt`
 * finds it: the vault copy, else the file:// storage copy). */
static int prepare_item(struct exp *e, struct exp_item *it)
{
	struct cust_vaultcfg vc;
	char serial[CUST_EVIDENCE_MAX + 1], rec[CUST_EVIDENCE_MAX + 1];
	char okey[256] = "", err[512], sha[65];
	json_t *h = NULL, *r0;
	FILE *m;
	char *txt = NULL;
	size_t txt_len = 0;
	int r, fd;

	r = cust_query_history(e->ctx->ledger, cmd_agency(e->ctx), it->id, &h);
	if (r) {
		cmd_err("%s: %s", it->id, r == -ENOENT || r == -EACCES ?
			"no such evidence item (for this agency)" : strerror(-r));
		return r == -ENOENT || r == -EACCES ? CMD_FINDINGS : CMD_ERROR;
	}
	r0 = json_object_get(h, "record");
	snprintf(it->agency, sizeof(it->agency), "%s",
		 json_string_value(json_object_get(r0, "agency_id")) ?: "");
	if (json_is_string(json_object_get(r0, "object_key")))
		snprintf(okey, sizeof(okey), "%s",
			 json_string_value(json_object_get(r0, "object_key")));
	if (cust_vault_split_id(it->id, serial, sizeof(serial), rec, sizeof(rec))) {
		cmd_err("%s: not a <serial>/<recording> evidence id", it->id);
		goto bad;
	}
	snprintf(it->dir, sizeof(it->dir), "data/items/%s/%s", serial, rec);
	/* the same content as `custody history --json` and `custody history` */
	it->hjson = json_dumps(h, JSON_INDENT(2) | JSON_SORT_KEYS);
	m = open_memstream(&txt, &txt_len);
	if (!it->hjson || !m) {
		if (m)
			fclose(m);
		goto oom;
	}
	r = cust_format_history(h, m);
	fclose(m);
	if (r || txt_len > EXP_TEXT_MAX || strlen(it->hjson) + 1 > EXP_TEXT_MAX) {
		free(txt);
		cmd_err("%s: its history cannot be formatted within %d bytes", it->id,
			EXP_TEXT_MAX);
		goto bad;
	}
	it->htxt = txt;
	it->htxt_len = txt_len;
	it->hjson_len = strlen(it->hjson);
	it->hjson[it->hjson_len++] = '\n';	/* replaces the NUL: a text file */
	it->from_ledger = ledger_ct(h, it->sha, &it->size) == 0;
	json_decref(h);
	h = NULL;

	cust_vaultcfg_init(&vc);
	if (e->ctx->have_config &&
	    cust_vaultcfg_load(e->ctx->cfg.file, &vc, err, sizeof(err))) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	if (e->vault)
		snprintf(vc.vault_dir, sizeof(vc.vault_dir), "%s", e->vault);
	if ((r = cust_vault_file(&vc, it->agency, it->id, it->path, sizeof(it->path)))) {
		cmd_err("%s: cannot name its vault file: %s", it->id, strerror(-r));
		return CMD_ERROR;
	}
	if (access(it->path, F_OK) != 0 && okey[0] &&
	    cust_vault_storage_file(&vc, okey, err, sizeof(err)) == 0 &&
	    access(err, F_OK) == 0)
		snprintf(it->path, sizeof(it->path), "%s", err);
	fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		cmd_err("%s: cannot open its stored file %s: %s", it->id, it->path,
			strerror(errno));
		return CMD_ERROR;
	}
	{
		struct stat st;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			cmd_err("%s: not a regular file", it->path);
			return CMD_ERROR;
		}
		/* The ledger's hash is the one recorded and checked while the
		 * file is copied into the package (one read, one hash: any
		 * size at the disk's pace); a wrong size fails here, before
		 * anything is recorded. */
		if (it->from_ledger && (uint64_t)st.st_size != it->size) {
			close(fd);
			cmd_err("%s: its stored file %s has %llu bytes, the ledger's "
				"ingested event says %llu: damaged or not this item's "
				"file (dockd fixity / repair); nothing exported", it->id,
				it->path, (unsigned long long)st.st_size,
				(unsigned long long)it->size);
			return CMD_FINDINGS;
		}
	}
	r = it->from_ledger ? 0 : hash_fd(fd, sha, &it->size);
	close(fd);
	if (r) {
		cmd_err("%s: %s", it->path, strerror(-r));
		return CMD_ERROR;
	}
	if (!it->from_ledger)
		memcpy(it->sha, sha, sizeof(sha));

	/* tlog-proof files into a private directory of our own */
	snprintf(it->proofs, sizeof(it->proofs), "%s/%zu", e->tmp, (size_t)(it - e->it));
	if (mkdir(it->proofs, 0700)) {
		cmd_err("%s: %s", it->proofs, strerror(errno));
		return CMD_ERROR;
	}
	r = tlp_build_dir(e->ctx->ledger, cmd_agency(e->ctx), it->id, it->proofs, NULL,
			  &it->n_proofs);
	if (r) {
		cmd_err("%s: cannot build its tlog-proof files: %s", it->id,
			r == -ENODATA ? "no checkpoint has witness cosignatures yet" :
			r == -ENOKEY ? "no custody_certified event certifies the key of "
			"the newest cosigned checkpoint" :
			r == -EUCLEAN ? "the ledger does not reproduce its checkpoint "
			"(tampered? run custody verify)" : strerror(-r));
		return CMD_ERROR;
	}
	return 0;
oom:
	cmd_err("out of memory");
bad:
	json_decref(h);
	return CMD_ERROR;
}

/* One `exported` event per item (error NULL: before the package). */
static int record(struct exp *e, struct exp_item *it, const char *error)
{
	struct cust_event ev;
	char user[CUST_ACTOR_ID_MAX + 1], verr[256];
	json_t *d;
	int r;

	cmd_os_user(user, sizeof(user));
	r = cust_event_init(&ev, it->agency, CUST_ACTOR_CLERK, user, CUST_A_EXPORTED,
			    it->id, error ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK);
	if (!r)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), e->reason);
	d = json_pack("{s:s, s:s, s:s, s:[s,s,s,s], s:s, s:I, s:I, s:I}",
		      "command", "export", "package", e->bag, "format", e->zip ? "bagit-zip" : "bagit-tar",
		      "included", "evidence_ciphertext", "history_json", "history_text",
		      "tlog_proofs", "evidence_sha256", it->sha,
		      "evidence_size", (json_int_t)it->size,
		      "tlog_proofs", (json_int_t)it->n_proofs, "uid", (json_int_t)getuid());
	if (d && e->kase)
		json_object_set_new(d, "case", json_string(e->kase));
	if (d && error)
		json_object_set_new(d, "error", json_string(error));
	if (e->rec.mode != EXPREC_DIRECT) {
		/* the dock's query service, or an offline receipt */
		struct exprec x = { "export", it->id, it->agency, e->reason, e->kase,
				    it->sha, e->out, NULL, NULL, d };

		r = d ? exprec_record(e->ctx, &e->rec, &x, error, NULL, NULL) : CMD_ERROR;
		json_decref(d);
		return r;
	}
	if (!r)
		r = d ? cust_event_set_details(&ev, d) : -ENOMEM;
	json_decref(d);
	if (!r && (r = cust_event_validate(&ev, verr, sizeof(verr))))
		cmd_err("cannot record the export of %s: %s", it->id, verr);
	else if (!r && (r = cust_ledger_append(e->ctx->ledger, &ev)))
		cmd_err("cannot record the export of %s: %s (%s)", it->id, strerror(-r),
			cust_ledger_errmsg(e->ctx->ledger));
	else if (r)
		cmd_err("cannot record the export of %s: %s", it->id, strerror(-r));
	return r ? CMD_ERROR : 0;
}

static void rm_tmp(struct exp *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (e->it[i].proofs[0]) {
			DIR *d = opendir(e->it[i].proofs);
			struct dirent *de;
			char p[PATH_MAX + 600];

			while (d && (de = readdir(d)))
				if (de->d_name[0] != '.') {
					snprintf(p, sizeof(p), "%s/%s", e->it[i].proofs, de->d_name);
					unlink(p);
				}
			if (d)
				closedir(d);
			rmdir(e->it[i].proofs);
		}
		free(e->it[i].hjson);
		free(e->it[i].htxt);
	}
	if (e->tmp[0])
		rmdir(e->tmp);
}

/* --reason, --case and header fields: one line of printable text. */
static int one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

#define USAGE "usage: custody export ID... --out FILE.tar|FILE.zip --reason R [--case C] [--vault DIR]\n" \
	"         [--socket PATH [--on-behalf USER] | --offline --receipt-key WS.key --receipts WS.range]"

int cmd_export(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct exp *e = calloc(1, sizeof(*e));
	const char *base, *tmpd = getenv("TMPDIR");
	size_t bl, i;
	int fd = -1, rc = CMD_ERROR, r, i_;

	if (!e)
		return CMD_ERROR;
	e->ctx = ctx;
	for (i_ = 1; i_ < argc; i_++) {
		const char *a = argv[i_];
		int x = exprec_opt(&e->rec, argc, argv, &i_);

		if (x == 1)
			continue;
		if (x < 0)
			goto out;
		if (!strcmp(a, "--out") && i_ + 1 < argc) e->out = argv[++i_];
		else if (!strcmp(a, "--reason") && i_ + 1 < argc) e->reason = argv[++i_];
		else if (!strcmp(a, "--case") && i_ + 1 < argc) e->kase = argv[++i_];
		else if (!strcmp(a, "--vault") && i_ + 1 < argc) e->vault = argv[++i_];
		else if (a[0] != '-' && e->n < EXP_MAX_ITEMS) e->it[e->n++].id = a;
		else {
			cmd_err(a[0] == '-' ? USAGE : "at most %d items per package",
				EXP_MAX_ITEMS);
			goto out;
		}
	}
	if (!e->out || !e->reason || !*e->reason || !e->n) {
		cmd_err(USAGE);
		goto out;
	}
	if (!one_line(e->reason) || (e->kase && (!*e->kase || !one_line(e->kase)))) {
		cmd_err("--reason and --case: one line of printable text");
		goto out;
	}
	for (i = 0; i < e->n; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(e->it[i].id, e->it[k].id)) {
				cmd_err("%s: given twice", e->it[i].id);
				goto out;
			}
	base = strrchr(e->out, '/') ? strrchr(e->out, '/') + 1 : e->out;
	bl = strlen(base);
	e->zip = bl > 4 && !strcmp(base + bl - 4, ".zip");
	if (bl <= 4 || bl - 4 >= sizeof(e->bag) || (!e->zip && strcmp(base + bl - 4, ".tar"))) {
		cmd_err("--out must name a FILE.tar or FILE.zip (the bag's name is FILE)");
		goto out;
	}
	memcpy(e->bag, base, bl - 4);
	if (!cust_vault_name_ok(e->bag)) {
		cmd_err("%s: the package name must be letters, digits, '.', '_' or '-'", e->bag);
		goto out;
	}
	if (access(e->out, F_OK) == 0) {
		cmd_err("%s exists already: not replaced", e->out);
		goto out;
	}
	snprintf(e->partial, sizeof(e->partial), "%s.partial", e->out);
	/* recorded in the dock's ledger (here, or through its query
	 * service) or as an offline receipt - before any byte is written */
	if ((r = exprec_begin(ctx, &e->rec)))
		goto out;
	snprintf(e->tmp, sizeof(e->tmp), "%s/custody-export.XXXXXX",
		 tmpd && *tmpd ? tmpd : "/tmp");
	if (!mkdtemp(e->tmp)) {
		cmd_err("%s: %s", e->tmp, strerror(errno));
		e->tmp[0] = 0;
		goto out;
	}
	for (i = 0; i < e->n; i++)
		if ((rc = prepare_item(e, &e->it[i])))
			goto out;
	rc = CMD_ERROR;
	for (i = 0; i < e->n; i++)	/* no record, no package */
		if (record(e, &e->it[i], NULL))
			goto out;
	e->now = time(NULL);
	fd = open(e->partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		cmd_err("%s: %s", e->partial, strerror(errno));
		goto failed;
	}
	if ((r = exp_write_package(e, fd))) {
		if (r != -EIO && r != -ESTALE)
			cmd_err("writing %s: %s", e->partial, strerror(-r));
		goto failed;
	}
	if (link(e->partial, e->out)) {
		cmd_err("%s: %s", e->out, strerror(errno));
		goto failed;
	}
	unlink(e->partial);
	printf("%s: BagIt package of %zu item(s), %llu payload file(s), %llu bytes\n",
	       e->out, e->n, (unsigned long long)e->oxum_files,
	       (unsigned long long)e->oxum_bytes);
	rc = CMD_OK;
	goto out;
failed:
	if (fd >= 0)
		unlink(e->partial);
	for (i = 0; i < e->n; i++)
		record(e, &e->it[i], "the package was not completed");
out:
	if (e->a)
		archive_write_free(e->a);
	if (fd >= 0)
		close(fd);
	rm_tmp(e);
	free(e->manifest);
	free(e->tagmanifest);
	free(e);
	return rc;
}
