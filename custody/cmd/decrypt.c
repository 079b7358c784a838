/*
 * decrypt.c - `custody decrypt`: turn a stored evidence file back into the
 * recording, with an agency PRIVATE key, where that key is (an evidence
 * workstation at the agency - never the dock, which holds public keys only).
 *
 *   custody --config F decrypt --key PRIV.pem --reason TEXT [--out FILE]
 *           [--vault DIR] (EVIDENCE_ID | --file PATH.bcde)
 *   custody decrypt --no-ledger --key PRIV.pem --file PATH.bcde [--out FILE]
 *
 * Order of things, and why:
 *  1. everything that can fail without plaintext fails first: the key, the
 *     ledger record (its SHA-256 is the authority, docs/evidence-format.md
 *     §9), the input file, its header MAC (evfile_reader_open), the header's
 *     ids against the evidence id, the output's temp file;
 *  2. an `exported` event (actor = OS user, reason, details out/file/key_id)
 *     is made durable BEFORE the first plaintext byte exists: no record,
 *     no plaintext. At a workstation (read-only ledger copy, [query]
 *     socket or --socket) the dock's query service writes it, and its
 *     SHA-256 of the item must match the copy's; with --offline a signed
 *     receipt is written instead (exprec.h);
 *  3. plaintext goes to an unnamed (O_TMPFILE) 0600 file in --out's
 *     directory while SHA-256 is computed; only after the final chunk
 *     verified (evfile_reader_next returned 0) AND the hash equals the
 *     ledger's is it linked to --out with linkat (never replacing an
 *     existing file). Killed at any point, even by SIGKILL, it leaves no
 *     plaintext under any name. Filesystems without O_TMPFILE (vfat) get a
 *     named hidden temp file and a warning saying what a kill leaves. On
 *     any failure the temp file is removed and a second `exported` event
 *     with outcome "failed" and the error is appended.
 * A file whose header does not open with our key (tampered, truncated,
 * not encrypted to this key) is an access attempt too: an `exported`
 * event with outcome "failed" names it before the refusal (the evidence
 * id is the one asked for, or empty for --file: an unauthenticated header
 * names nothing we can trust).
 * --no-ledger (a defense expert holding only the file and a key): nothing
 * is compared or recorded; the SHA-256 is printed for comparison with the
 * ledger's record elsewhere. It says so loudly, on stderr before any
 * other output and in --help: it exists only for independent
 * verification outside the agency.
 *
 * Exit: 0 done; 1 the evidence cannot be produced (unknown id, key not a
 * recipient, authentication failure, SHA-256 mismatch); 2 usage,
 * configuration, files, or the ledger cannot record the export.
 */
#define _GNU_SOURCE	/* realpath et al. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "agencykey.h"
#include "cmd.h"
#include "decrypt.h"
#include "evfile.h"
#include "query.h"
#include "share.h"
#include "vaultpath.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

#define DEC_USAGE \
	"usage: custody [--config F] decrypt --key PRIVATE.pem --reason TEXT " \
	"[--out FILE] [--vault DIR] (EVIDENCE_ID | --file PATH.bcde)\n" \
	"       (and [--socket PATH | --offline --receipt-key WS.key --receipts " \
	"WS.range], docs/custody-access.md)\n" \
	"       custody decrypt --no-ledger --key PRIVATE.pem --file PATH.bcde " \
	"[--out FILE]\n" \
	"       custody decrypt --share SHARE.json --key YOUR.key --file " \
	"PATH.bcde [--out FILE]"

/* Why --no-ledger exists, said where it is used (stderr, before any other
 * output) and in --help: every other decryption is an event in the
 * agency's ledger; this one is not, by design, for people who have no
 * ledger at all. */
#define DEC_NO_LEDGER_BANNER \
	"******************************************************************\n" \
	"custody decrypt --no-ledger: NOTHING IS RECORDED.\n" \
	"  No ledger event names this decryption, who made it or why, and the\n" \
	"  plaintext is NOT compared with the ledger's record of the recording.\n" \
	"  --no-ledger exists ONLY for independent verification by someone\n" \
	"  OUTSIDE the agency who holds the evidence file and a key (a defense\n" \
	"  expert, a court's examiner). At the agency, decrypt with\n" \
	"  `custody --config F decrypt --reason TEXT ...` (recorded before any\n" \
	"  plaintext exists); to give an item to an outsider, `custody share`.\n" \
	"******************************************************************\n"

const char *dec_no_ledger_banner(void)
{
	return DEC_NO_LEDGER_BANNER;
}

static int usage(void)
{
	cmd_err(DEC_USAGE);
	return CMD_ERROR;
}

#define CMD_HELP_ (-1)	/* parse_args: --help printed, exit 0 */

static int parse_args(int argc, char **argv, struct dec_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **dst = NULL;

		if (!strcmp(a, "--no-ledger")) {
			o->no_ledger = o->no_ledger_asked = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("%s\n\n%s", DEC_USAGE, DEC_NO_LEDGER_BANNER);
			return CMD_HELP_;
		}
		switch (exprec_opt(&o->rec, argc, argv, &i)) {
		case 1: continue;
		case -1: return usage();
		}
		if (!strcmp(a, "--key")) dst = &o->key;
		else if (!strcmp(a, "--reason")) dst = &o->reason;
		else if (!strcmp(a, "--out")) dst = &o->out;
		else if (!strcmp(a, "--file")) dst = &o->file;
		else if (!strcmp(a, "--vault")) dst = &o->vault;
		else if (!strcmp(a, "--share")) dst = &o->share;
		else if (a[0] != '-' && !o->id) {
			o->id = a;
			continue;
		} else {
			cmd_err("decrypt: unexpected argument '%s'", a);
			return usage();
		}
		if (!v || !*v || *dst) {
			cmd_err("decrypt: %s needs one non-empty value", a);
			return usage();
		}
		*dst = v;
		i++;
	}
	if (!o->key || (!o->id == !o->file)) {
		cmd_err("decrypt: give --key and exactly one of EVIDENCE_ID or --file");
		return usage();
	}
	if (o->share && (!o->file || o->vault)) {
		cmd_err("decrypt: --share needs --file (the evidence file the share "
			"is for)");
		return CMD_ERROR;
	}
	/* A share's recipient holds no ledger: the share is recorded in the
	 * agency's, and its binding names the SHA-256 to compare with. */
	if (o->share)
		o->no_ledger = 1;
	if (o->no_ledger && (o->rec.offline || o->rec.socket || o->rec.receipts ||
			     o->rec.receipt_key)) {
		cmd_err("decrypt: --no-ledger (or --share) records nothing: no --socket, "
			"--offline, --receipt-key or --receipts");
		return CMD_ERROR;
	}
	if (o->no_ledger && !o->file) {
		cmd_err("decrypt: --no-ledger needs --file (without a ledger there is "
			"no vault lookup)");
		return CMD_ERROR;
	}
	if (!o->no_ledger && (!o->reason || !*o->reason)) {
		cmd_err("decrypt: --reason TEXT is required: decrypting is an access "
			"to evidence and is recorded");
		return CMD_ERROR;
	}
	if (o->reason && strlen(o->reason) > CUST_REASON_MAX) {
		cmd_err("decrypt: --reason is longer than %d bytes", CUST_REASON_MAX);
		return CMD_ERROR;
	}
	return 0;
}

int dec_load_key(struct dec_job *j)
{
	uint8_t id[AGENCYKEY_ID_LEN];
	int r = agencykey_load_private(j->o.key, &j->key);

	if (r == -EPERM)
		cmd_err("%s: private key file must be a regular file readable by its "
			"owner only (chmod 600)", j->o.key);
	else if (r == -EPROTO)
		cmd_err("%s: not an unencrypted PEM private key (PKCS#8)", j->o.key);
	else if (r == -EPROTONOSUPPORT)
		cmd_err("%s: not an agency key (EC P-256, P-384 or RSA 3072-8192)",
			j->o.key);
	else if (r)
		cmd_err("%s: %s", j->o.key, strerror(-r));
	if (r)
		return CMD_ERROR;
	if ((r = agencykey_id(j->key, id))) {
		cmd_err("%s: cannot compute the key id: %s", j->o.key, strerror(-r));
		return CMD_ERROR;
	}
	hex(id, sizeof(id), j->key_id);
	return 0;
}

static void copy_text(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	snprintf(dst, cap, "%s", s);
}

/* The ledger's record of evid: agency, SHA-256, storage object key. */
int dec_lookup_record(struct cmd_ctx *ctx, struct dec_job *j)
{
	json_t *h = NULL, *rec;
	int r;

	if ((r = cmd_open_ledger(ctx, false)))
		return r;
	r = cust_query_history(ctx->ledger, cmd_agency(ctx), j->evid, &h);
	if (r == -ENOENT || r == -EACCES) {
		cmd_err("%s: no such evidence item in %s%s", j->evid, ctx->db_path,
			r == -EACCES ? " (for this agency)" : "");
		return CMD_FINDINGS;
	}
	if (r) {
		cmd_err("%s: %s (%s)", j->evid, strerror(-r),
			cust_ledger_errmsg(ctx->ledger));
		return CMD_ERROR;
	}
	rec = json_object_get(h, "record");
	copy_text(j->agency, sizeof(j->agency), json_object_get(rec, "agency_id"));
	copy_text(j->sha_ledger, sizeof(j->sha_ledger), json_object_get(rec, "sha256"));
	copy_text(j->object_key, sizeof(j->object_key), json_object_get(rec, "object_key"));
	json_decref(h);
	if (strlen(j->sha_ledger) != 64) {
		cmd_err("%s: the ledger holds no SHA-256 for it (never ingested): "
			"nothing to verify a decryption against", j->evid);
		return CMD_FINDINGS;
	}
	return 0;
}

/* Find the stored file of j->evid: the vault copy, else (purged from the
 * dock) the file:// storage target's copy. */
int dec_locate_file(struct cmd_ctx *ctx, struct dec_job *j)
{
	struct cust_vaultcfg vc;
	char err[512];
	int r;

	cust_vaultcfg_init(&vc);
	if (ctx->have_config &&
	    cust_vaultcfg_load(ctx->cfg.file, &vc, err, sizeof(err))) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	if (j->o.vault)
		snprintf(vc.vault_dir, sizeof(vc.vault_dir), "%s", j->o.vault);
	r = cust_vault_file(&vc, j->agency, j->evid, j->in_path, sizeof(j->in_path));
	if (r) {
		cmd_err("%s: cannot name its vault file: %s", j->evid, strerror(-r));
		return CMD_ERROR;
	}
	if (access(j->in_path, F_OK) == 0 || !j->object_key[0] ||
	    cust_vault_storage_file(&vc, j->object_key, err, sizeof(err)) ||
	    access(err, F_OK) != 0)
		return 0;	/* the vault path; opening it names any problem */
	snprintf(j->in_path, sizeof(j->in_path), "%s", err);
	return 0;
}

int dec_open_input(struct dec_job *j)
{
	struct stat st;

	/* O_NONBLOCK: a FIFO given as --file must not hang us (regular files
	 * ignore it). */
	j->in_fd = open(j->in_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (j->in_fd < 0) {
		cmd_err("%s: cannot open the evidence file: %s", j->in_path,
			strerror(errno));
		return CMD_ERROR;
	}
	if (fstat(j->in_fd, &st) || !S_ISREG(st.st_mode)) {
		cmd_err("%s: not a regular file", j->in_path);
		return CMD_ERROR;
	}
	return 0;
}

/* Error text for the reader's codes, naming what the user can do. */
static const char *why(int r)
{
	switch (r) {
	case -ENOKEY:
		return "the file is not encrypted to this key (wrong agency key?)";
	case -EKEYREJECTED:
	case -EBADMSG:
		return "authentication failed: the file is tampered with, truncated, "
		       "or the key does not match its recipient stanza";
	case -EPROTO:
		return "not a valid evidence file (format error)";
	case -EPROTONOSUPPORT:
		return "unsupported evidence file version or recipient type";
	default:
		return evfile_strerror(r);
	}
}

static int record(struct cmd_ctx *ctx, struct dec_job *j, const char *error);

/* A file whose header we could not open: an `exported` event with outcome
 * failed, under the id asked for (--file: none, since the header's ids
 * are unauthenticated) and, before the record is known, the configured
 * agency. */
static int record_header_failure(struct cmd_ctx *ctx, struct dec_job *j,
				 const char *reason)
{
	char err[256];

	if (!j->agency[0])
		snprintf(j->agency, sizeof(j->agency), "%s", cmd_agency(ctx) ?: "unknown");
	snprintf(err, sizeof(err), "header: %s", reason);
	return record(ctx, j, err);
}

/* Header MAC verified with our key; the header's ids name the item. */
static int open_reader(struct cmd_ctx *ctx, struct dec_job *j)
{
	char hid[2 * EVFILE_MAX_ID + 2];
	int r;

	if (j->o.share)
		return dec_share_open(j);
	r = evfile_reader_open(&j->rd, j->key, evfile_fd_read, &j->in_fd, &j->info);

	if (r) {
		cmd_err("%s: %s", j->in_path, why(r));
		/* the attempt is on the record before we refuse */
		if (!j->o.no_ledger && r != -ENOMEM && record_header_failure(ctx, j, why(r)))
			return CMD_ERROR;
		return r == -EIO || r == -ENOMEM ? CMD_ERROR : CMD_FINDINGS;
	}
	snprintf(hid, sizeof(hid), "%s/%s", j->info.camera_serial, j->info.recording_id);
	if (!cust_vault_name_ok(j->info.camera_serial) ||
	    !cust_vault_name_ok(j->info.recording_id) || strlen(hid) > CUST_EVIDENCE_MAX) {
		cmd_err("%s: the header names no usable evidence id ('%s')", j->in_path, hid);
		return CMD_FINDINGS;
	}
	if (j->evid[0] && strcmp(j->evid, hid)) {
		cmd_err("%s: the file holds %s, not %s", j->in_path, hid, j->evid);
		return CMD_FINDINGS;
	}
	memcpy(j->evid, hid, strlen(hid) + 1);	/* length checked above */
	return 0;
}

/* The same record made on the dock through its query service, or as an
 * offline receipt (exprec.h); takes d over. Before any plaintext, the
 * dock's own SHA-256 of the item must be the one this ledger copy holds:
 * a stale or altered copy does not decide what is verified. */
static int record_remote(struct cmd_ctx *ctx, struct dec_job *j, json_t *d,
			 const char *error)
{
	struct exprec e = { "decrypt", j->evid, j->agency, j->o.reason, NULL,
			    j->sha_ledger, j->out_path, NULL, NULL, d };
	char dock_sha[65] = "";
	int rc;

	if (!j->evid[0]) {	/* --file whose header did not open: no item */
		json_decref(d);
		return 0;
	}
	rc = exprec_record(ctx, &j->o.rec, &e, error, dock_sha, NULL);
	if (!rc && !error && dock_sha[0] && strcasecmp(dock_sha, j->sha_ledger)) {
		cmd_err("%s: the dock records SHA-256 %s, this ledger copy %s: update "
			"the copy; nothing decrypted", j->evid, dock_sha, j->sha_ledger);
		(void)exprec_record(ctx, &j->o.rec, &e, "ledger copy differs from "
				    "the dock", NULL, NULL);
		rc = CMD_FINDINGS;
	}
	json_decref(d);
	return rc;
}

/* The `exported` event(s). error NULL: the access, before any plaintext;
 * else the failure that followed it. */
static int record(struct cmd_ctx *ctx, struct dec_job *j, const char *error)
{
	struct cust_event ev;
	char user[CUST_ACTOR_ID_MAX + 1], verr[256];
	json_t *d;
	int r;

	d = json_pack("{s:s, s:s, s:s, s:s, s:I}", "command", "decrypt",
		      "out", j->out_path, "file", j->in_path, "key_id", j->key_id,
		      "uid", (json_int_t)getuid());
	if (j->o.rec.mode != EXPREC_DIRECT)
		return record_remote(ctx, j, d, error);
	cmd_os_user(user, sizeof(user));
	r = cust_event_init(&ev, j->agency, CUST_ACTOR_CLERK, user, CUST_A_EXPORTED,
			    j->evid, error ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK);
	if (!r)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), j->o.reason);
	if (d && error)
		json_object_set_new(d, "error", json_string(error));
	if (!r)
		r = d ? cust_event_set_details(&ev, d) : -ENOMEM;
	json_decref(d);
	if (!r && (r = cust_event_validate(&ev, verr, sizeof(verr))))
		cmd_err("cannot record the export of %s: %s", j->evid, verr);
	else if (!r && (r = cust_ledger_append(ctx->ledger, &ev)))
		cmd_err("cannot record the export of %s: %s (%s)", j->evid,
			strerror(-r), cust_ledger_errmsg(ctx->ledger));
	else if (r)
		cmd_err("cannot record the export of %s: %s", j->evid, strerror(-r));
	return r ? CMD_ERROR : 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Stream all chunks to the temp file and the hash. *fail gets a short
 * reason for the ledger when the evidence itself is at fault. */
static int decrypt_stream(struct dec_job *j, const char **fail)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	const uint8_t *buf;
	size_t len;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int r;

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(c);
		*fail = "out of memory";
		return CMD_ERROR;
	}
	while ((r = evfile_reader_next(j->rd, &buf, &len)) == 1) {
		if (!EVP_DigestUpdate(c, buf, len)) {
			r = -ENOMEM;
			break;
		}
		if ((r = write_all(j->tmp_fd, buf, len))) {
			cmd_err("%s: write failed: %s", j->out_path, strerror(-r));
			*fail = "output write failed";
			EVP_MD_CTX_free(c);
			return CMD_ERROR;
		}
	}
	if (r == 0 && !EVP_DigestFinal_ex(c, md, &mdlen))
		r = -ENOMEM;
	EVP_MD_CTX_free(c);
	if (r) {
		cmd_err("%s: %s", j->in_path, why(r));
		*fail = why(r);
		return r == -EIO || r == -ENOMEM ? CMD_ERROR : CMD_FINDINGS;
	}
	hex(md, sizeof(md), j->sha_hex);
	j->n = evfile_reader_plaintext_len(j->rd);
	return 0;
}

/* Decrypt, compare, commit; returns the exit status. */
static int produce(struct cmd_ctx *ctx, struct dec_job *j)
{
	const char *fail = NULL;
	int rc;

	if (!j->o.no_ledger && (rc = record(ctx, j, NULL)))
		return rc;	/* no record, no plaintext */
	rc = decrypt_stream(j, &fail);
	if (!rc && (!j->o.no_ledger || j->o.share) &&
	    strcasecmp(j->sha_hex, j->sha_ledger)) {
		cmd_err("%s: SHA-256 of the decrypted plaintext %s differs from the "
			"%s %s: not the recording the dock ingested; no output",
			j->evid, j->sha_hex, j->o.share ? "share's" : "ledger's",
			j->sha_ledger);
		fail = "sha256 mismatch";
		rc = CMD_FINDINGS;
	}
	if (!rc && (rc = dec_commit_output(j)))
		fail = "output could not be written";
	if (rc) {
		dec_discard_temp(j);	/* gone before the failure is recorded */
		if (!j->o.no_ledger)
			(void)record(ctx, j, fail ? fail : "failed");
		return rc;
	}
	if (j->o.share) {
		printf("%s: %llu bytes -> %s\nsha256 %s matches the share (the "
		       "agency's ledger record); the share is recorded there, "
		       "nothing here\n", j->evid, (unsigned long long)j->n,
		       j->out_path, j->sha_hex);
	} else if (j->o.no_ledger) {
		printf("%s: %llu bytes -> %s\nsha256 %s  (NOT compared with a ledger; "
		       "nothing recorded)\n", j->evid, (unsigned long long)j->n,
		       j->out_path, j->sha_hex);
	} else {
		printf("%s: %llu bytes -> %s\nsha256 %s matches the ledger\n", j->evid,
		       (unsigned long long)j->n, j->out_path, j->sha_hex);
	}
	return CMD_OK;
}

static int prepare(struct cmd_ctx *ctx, struct dec_job *j)
{
	int rc;

	if ((rc = dec_load_key(j)))
		return rc;
	/* where the export is recorded: the dock's ledger, directly or
	 * through its query service, or an offline receipt (exprec.h) */
	if (!j->o.no_ledger && (rc = exprec_begin(ctx, &j->o.rec))) {
		if (ctx->ledger && ctx->read_only && j->o.rec.mode == EXPREC_DIRECT)
			cmd_err("(--no-ledger for a copy outside custody)");
		return rc;
	}
	if (j->o.id) {
		char serial[256], rec[256];

		if (cust_vault_split_id(j->o.id, serial, sizeof(serial), rec,
					sizeof(rec)) ||
		    strlen(j->o.id) > CUST_EVIDENCE_MAX) {
			cmd_err("%s: not an evidence id <camera serial>/<recording id>",
				j->o.id);
			return CMD_ERROR;
		}
		snprintf(j->evid, sizeof(j->evid), "%s", j->o.id);
		if ((rc = dec_lookup_record(ctx, j)) || (rc = dec_locate_file(ctx, j)))
			return rc;
	} else {
		char *abs = realpath(j->o.file, NULL);	/* absolute, for the record */

		snprintf(j->in_path, sizeof(j->in_path), "%s",
			 abs && strlen(abs) < sizeof(j->in_path) ? abs : j->o.file);
		free(abs);
	}
	if ((rc = dec_open_input(j)) || (rc = open_reader(ctx, j)))
		return rc;
	if (!j->o.id && !j->o.no_ledger && (rc = dec_lookup_record(ctx, j)))
		return rc;
	return dec_make_temp(j);
}

int cmd_decrypt(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct dec_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.in_fd = j.tmp_fd = -1;
	if ((rc = parse_args(argc, argv, &j.o)))
		return rc == CMD_HELP_ ? CMD_OK : rc;
	if (j.o.no_ledger_asked) {
		fputs(DEC_NO_LEDGER_BANNER, stderr);
		fflush(stderr);
	}
	dec_install_signals();
	rc = prepare(ctx, &j);
	if (!rc)
		rc = produce(ctx, &j);
	dec_discard_temp(&j);	/* never a partial or unverified output */
	if (j.in_fd >= 0)
		close(j.in_fd);
	evfile_reader_free(j.rd);
	EVP_PKEY_free(j.key);
	return rc;
}
