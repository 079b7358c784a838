/*
 * share.c - `custody share`: give one evidence item to someone outside the
 * agency (prosecutor, defense expert, partner agency) without giving them
 * the agency key. Runs where `custody decrypt` runs (the agency private
 * key is on this workstation), against a writable ledger.
 *
 *   custody --config F share ID --key AGENCY.key --to RECIPIENT.pub
 *           --case C --until DATE --reason R [--out FILE] [--vault DIR]
 *   custody --config F share revoke SHARE_ID --reason R
 *
 * The item's data key is unwrapped with the agency key (in memory only,
 * wiped by evshare_make), checked against the header MAC, and wrapped to
 * the recipient's public key as a §5 recipient stanza; the binding (item,
 * header hash, plaintext hash, recipient key id, case, until, who, why) is
 * authenticated with a MAC keyed from the data key. The share file format
 * is docs/evidence-format.md §15.
 *
 * Order, as decrypt's: everything that can fail fails first; the `shared`
 * event (details: share_id, recipient_key_id, until, plaintext_sha256,
 * header_sha256, share_sha256, key_id) is made durable BEFORE the share
 * file exists: no record, no share (at a workstation through the dock's
 * query service, or --offline as a signed receipt: exprec.h). A file that cannot be opened with
 * the agency key is an attempt too: a `shared` event with outcome failed.
 * Revocation is another `shared` event naming the share with
 * revoked = true; what it can and cannot undo is in docs/operations.md.
 *
 * Exit: 0 done; 1 the item cannot be shared (unknown, not for this key,
 * tampered) or the share id is unknown / already revoked; 2 usage, files,
 * ledger.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "agencykey.h"
#include "cmd.h"
#include "decrypt.h"
#include "evshare.h"
#include "share.h"
#include "vaultpath.h"

#define SHARE_ID_LEN 16

struct share_opts {
	const char *to, *case_no, *until, *revoke;
	time_t until_t;
};

static int usage(void)
{
	cmd_err("usage: custody [--config F] share ID --key AGENCY.key --to "
		"RECIPIENT.pub --case C --until YYYY-MM-DD[THH:MM:SSZ] --reason R "
		"[--out FILE] [--vault DIR]\n"
		"         [--socket PATH | --offline --receipt-key WS.key --receipts WS.range]\n"
		"       custody [--config F] share revoke SHARE_ID --reason R");
	return CMD_ERROR;
}

void share_hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int share_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) == 10) {	/* a date: valid through its last second, UTC */
		end = strptime(s, "%Y-%m-%d", &tm);
		tm.tm_hour = 23;
		tm.tm_min = tm.tm_sec = 59;
	} else {
		end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (!end || *end || tm.tm_year < 70 || tm.tm_year > 8000)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

void share_fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "?");
}

static int parse_args(int argc, char **argv, struct dec_opts *o,
		      struct share_opts *s)
{
	int i;

	memset(o, 0, sizeof(*o));
	memset(s, 0, sizeof(*s));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **dst = NULL;

		switch (exprec_opt(&o->rec, argc, argv, &i)) {
		case 1: continue;
		case -1: return usage();
		}
		if (!strcmp(a, "--key")) dst = &o->key;
		else if (!strcmp(a, "--reason")) dst = &o->reason;
		else if (!strcmp(a, "--out")) dst = &o->out;
		else if (!strcmp(a, "--vault")) dst = &o->vault;
		else if (!strcmp(a, "--to")) dst = &s->to;
		else if (!strcmp(a, "--case")) dst = &s->case_no;
		else if (!strcmp(a, "--until")) dst = &s->until;
		else if (i == 1 && !strcmp(a, "revoke") && v && v[0] != '-') {
			s->revoke = v;
			i++;
			continue;
		} else if (a[0] != '-' && !o->id && !s->revoke) {
			o->id = a;
			continue;
		} else {
			cmd_err("share: unexpected argument '%s'", a);
			return usage();
		}
		if (!v || !*v || *dst) {
			cmd_err("share: %s needs one non-empty value", a);
			return usage();
		}
		*dst = v;
		i++;
	}
	if (!o->reason || !*o->reason || strlen(o->reason) > CUST_REASON_MAX) {
		cmd_err("share: --reason TEXT (at most %d bytes) is required: a share "
			"is an access to evidence and is recorded", CUST_REASON_MAX);
		return CMD_ERROR;
	}
	if (s->revoke && (o->rec.offline || o->rec.socket)) {
		cmd_err("share revoke: run it where the ledger is writable (on the dock)");
		return CMD_ERROR;
	}
	if (s->revoke)
		return o->key || s->to || s->case_no || s->until || o->out ? usage() : 0;
	if (!o->id || !o->key || !s->to || !s->case_no || !s->until) {
		cmd_err("share: give ID, --key, --to, --case and --until");
		return usage();
	}
	if (strlen(s->case_no) > CUST_CASE_MAX) {
		cmd_err("share: --case is longer than %d bytes", CUST_CASE_MAX);
		return CMD_ERROR;
	}
	if (share_parse_time(s->until, &s->until_t)) {
		cmd_err("share: --until '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ "
			"(UTC)", s->until);
		return CMD_ERROR;
	}
	if (s->until_t <= time(NULL)) {
		cmd_err("share: --until %s is not in the future", s->until);
		return CMD_ERROR;
	}
	return 0;
}

int share_record(struct cmd_ctx *ctx, const char *agency, const char *evid,
		  const char *reason, const char *case_no, json_t *d,
		  const char *error)
{
	struct cust_event ev;
	char user[CUST_ACTOR_ID_MAX + 1], verr[256];
	int r;

	cmd_os_user(user, sizeof(user));
	r = cust_event_init(&ev, agency, CUST_ACTOR_CLERK, user, CUST_A_SHARED,
			    evid, error ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK);
	if (!r)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (!r && case_no)
		r = cust_event_set_text(ev.case_no, sizeof(ev.case_no), case_no);
	if (d && error)
		json_object_set_new(d, "error", json_string(error));
	if (!r)
		r = d ? cust_event_set_details(&ev, d) : -ENOMEM;
	json_decref(d);
	if (!r && (r = cust_event_validate(&ev, verr, sizeof(verr))))
		cmd_err("cannot record the share of %s: %s", evid, verr);
	else if (!r && (r = cust_ledger_append(ctx->ledger, &ev)))
		cmd_err("cannot record the share of %s: %s (%s)", evid,
			strerror(-r), cust_ledger_errmsg(ctx->ledger));
	else if (r)
		cmd_err("cannot record the share of %s: %s", evid, strerror(-r));
	return r ? CMD_ERROR : 0;
}

/* The whole header of the open evidence file into *hdr (malloc'd). */
static int read_header(struct dec_job *j, uint8_t **hdr, uint32_t *hl)
{
	uint8_t *b = malloc(EVFILE_MAX_HEADER);
	uint32_t n = 0;
	int r;

	if (!b)
		return -ENOMEM;
	r = evfile_fd_pread(&j->in_fd, 0, b, EVFILE_PREFIX_LEN);
	if (!r)
		r = evfile_header_peek(b, EVFILE_PREFIX_LEN, &n);
	if (!r)
		r = evfile_fd_pread(&j->in_fd, EVFILE_PREFIX_LEN, b + EVFILE_PREFIX_LEN,
				    n - EVFILE_PREFIX_LEN);
	if (r == -EIO)	/* evfile_fd_pread: the file is shorter than that */
		r = -EPROTO;
	if (r) {
		free(b);
		return r;
	}
	*hdr = b;
	*hl = n;
	return 0;
}

static int write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		r = errno ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	if (r)
		unlink(path);
	return r;
}

/* The binding text, the share file's text and its SHA-256. */
struct made {
	char share_id[2 * SHARE_ID_LEN + 1], rkey[65], hh[65], created[32];
	char *binding, *file;
	char file_sha[65];
};

static int build(struct dec_job *j, const struct share_opts *s, EVP_PKEY *rcpt,
		 const uint8_t *hdr, uint32_t hl, struct made *m)
{
	uint8_t id[SHARE_ID_LEN], kid[AGENCYKEY_ID_LEN], st[EVSHARE_STANZA_MAX];
	uint8_t mac[EVSHARE_MAC_LEN], hh[32], fsha[32];
	char user[CUST_ACTOR_ID_MAX + 1], until[32];
	char st_hex[2 * EVSHARE_STANZA_MAX + 1], mac_hex[65];
	size_t st_len = 0;
	unsigned mdlen = 0;
	json_t *b = NULL, *f = NULL;
	int r;

	if (RAND_bytes(id, sizeof(id)) != 1 || agencykey_id(rcpt, kid))
		return -ENOMEM;
	share_hex(id, sizeof(id), m->share_id);
	share_hex(kid, sizeof(kid), m->rkey);
	/* HH is computed again by evshare_make; the binding needs it first. */
	if (!EVP_Digest(hdr, hl, hh, &mdlen, EVP_sha256(), NULL))
		return -ENOMEM;
	share_hex(hh, sizeof(hh), m->hh);
	cmd_os_user(user, sizeof(user));
	share_fmt_time(time(NULL), m->created, sizeof(m->created));
	share_fmt_time(s->until_t, until, sizeof(until));
	b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		      "version", "1", "share_id", m->share_id, "evidence_id", j->evid,
		      "agency", j->agency, "header_sha256", m->hh,
		      "plaintext_sha256", j->sha_ledger, "recipient_key_id", m->rkey,
		      "case", s->case_no, "until", until, "created", m->created,
		      "by", user, "reason", j->o.reason);
	m->binding = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(b);
	if (!m->binding)
		return -ENOMEM;
	r = evshare_make(j->key, hdr, hl, rcpt, (const uint8_t *)m->binding,
			 strlen(m->binding), st, &st_len, mac, hh);
	if (r)
		return r;
	share_hex(st, st_len, st_hex);
	share_hex(mac, sizeof(mac), mac_hex);
	f = json_pack("{s:s, s:s, s:s, s:s}", "format", SHARE_FORMAT,
		      "binding", m->binding, "stanza", st_hex, "mac", mac_hex);
	m->file = f ? json_dumps(f, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(f);
	if (!m->file)
		return -ENOMEM;
	/* one trailing newline, part of the hashed bytes */
	{
		size_t n = strlen(m->file);
		char *t = realloc(m->file, n + 2);

		if (!t)
			return -ENOMEM;
		t[n] = '\n';
		t[n + 1] = '\0';
		m->file = t;
	}
	if (!EVP_Digest(m->file, strlen(m->file), fsha, &mdlen, EVP_sha256(), NULL))
		return -ENOMEM;
	share_hex(fsha, sizeof(fsha), m->file_sha);
	return 0;
}

static const char *why(int r)
{
	switch (r) {
	case -ENOKEY:
		return "the file is not encrypted to this agency key";
	case -EKEYREJECTED:
	case -EBADMSG:
		return "authentication failed: the file is tampered with or the key "
		       "does not match its recipient stanza";
	case -EPROTO:
		return "not a valid evidence file (format error)";
	default:
		return evfile_strerror(r);
	}
}

/* The `shared` event where it belongs (exprec.h): appended here on the
 * dock, else through the dock's query service, else an offline receipt
 * (error ignored there). Takes d over. */
static int share_rec(struct cmd_ctx *ctx, struct dec_job *j, const struct share_opts *s,
	       const struct made *m, json_t *d, const char *error)
{
	char until[32];
	struct exprec e = { "share", j->evid, j->agency, j->o.reason, s->case_no,
			    m->file_sha, j->out_path, m->rkey, until, d };
	int rc;

	if (j->o.rec.mode == EXPREC_DIRECT)
		return share_record(ctx, j->agency, j->evid, j->o.reason, s->case_no, d,
				    error);
	share_fmt_time(s->until_t, until, sizeof(until));
	rc = exprec_record(ctx, &j->o.rec, &e, error, NULL, NULL);
	json_decref(d);
	return rc;
}

static int do_share(struct cmd_ctx *ctx, struct dec_job *j,
		    const struct share_opts *s)
{
	struct evfile_info info;
	struct made m;
	EVP_PKEY *rcpt = NULL;
	uint8_t *hdr = NULL;
	uint32_t hl = 0;
	char hid[2 * EVFILE_MAX_ID + 2], rec[EVFILE_MAX_ID + 1], until[32];
	json_t *d;
	int r, rc;

	memset(&m, 0, sizeof(m));
	if ((rc = dec_load_key(j)))
		return rc;
	if ((r = agencykey_load_public(s->to, &rcpt))) {
		cmd_err("%s: not a recipient public key (PEM, EC P-256/P-384 or RSA "
			"3072-8192): %s", s->to, strerror(-r));
		return CMD_ERROR;
	}
	/* the dock's ledger, its query service, or an offline receipt */
	rc = exprec_begin(ctx, &j->o.rec);
	if (!rc && (cust_vault_split_id(j->o.id, hid, sizeof(hid), rec, sizeof(rec)) ||
		    strlen(j->o.id) > CUST_EVIDENCE_MAX)) {
		cmd_err("%s: not an evidence id <camera serial>/<recording id>", j->o.id);
		rc = CMD_ERROR;
	}
	if (rc)
		goto out;
	snprintf(j->evid, sizeof(j->evid), "%s", j->o.id);
	if ((rc = dec_lookup_record(ctx, j)) || (rc = dec_locate_file(ctx, j)) ||
	    (rc = dec_open_input(j)))
		goto out;
	r = read_header(j, &hdr, &hl);
	if (!r)
		r = evfile_header_parse(hdr, hl, &info);
	if (!r) {
		snprintf(hid, sizeof(hid), "%s/%s", info.camera_serial, info.recording_id);
		if (strcmp(hid, j->evid))
			r = -EXDEV;
	}
	if (!r)
		r = build(j, s, rcpt, hdr, hl, &m);
	if (r == -ENOMEM || r == -EIO) {
		cmd_err("%s: %s", j->in_path, strerror(-r));
		rc = CMD_ERROR;
		goto out;
	}
	if (r) {
		const char *w = r == -EXDEV ? "the file's header names another item"
					    : why(r);

		cmd_err("%s: %s; no share made", j->in_path, w);
		d = json_pack("{s:s, s:s, s:s}", "file", j->in_path, "key_id",
			      j->key_id, "recipient_key_id", m.rkey);
		rc = share_rec(ctx, j, s, &m, d, w);
		rc = rc ? rc : CMD_FINDINGS;
		goto out;
	}
	if (!j->o.out) {
		snprintf(j->out_path, sizeof(j->out_path), "%s.share.json",
			 info.recording_id);
	} else {
		snprintf(j->out_path, sizeof(j->out_path), "%s", j->o.out);
	}
	if (access(j->out_path, F_OK) == 0) {
		cmd_err("%s: exists; a share file is never replaced", j->out_path);
		rc = CMD_ERROR;
		goto out;
	}
	/* no record, no share */
	share_fmt_time(s->until_t, until, sizeof(until));
	d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		      "share_id", m.share_id, "recipient_key_id", m.rkey,
		      "until", until, "plaintext_sha256", j->sha_ledger,
		      "header_sha256", m.hh, "share_sha256", m.file_sha,
		      "key_id", j->key_id, "out", j->out_path, "file", j->in_path);
	if ((rc = share_rec(ctx, j, s, &m, d, NULL)))
		goto out;
	if ((r = write_file(j->out_path, m.file, strlen(m.file)))) {
		cmd_err("%s: cannot write the share file: %s", j->out_path, strerror(-r));
		d = json_pack("{s:s, s:s}", "share_id", m.share_id, "out", j->out_path);
		(void)share_rec(ctx, j, s, &m, d, "share file could not be written");
		rc = CMD_ERROR;
		goto out;
	}
	printf("%s: share %s for key %s (case %s, until %s) -> %s\nshare file "
	       "sha256 %s, recorded in the ledger\n", j->evid, m.share_id, m.rkey,
	       s->case_no, s->until, j->out_path, m.file_sha);
out:
	free(hdr);
	free(m.binding);
	free(m.file);
	EVP_PKEY_free(rcpt);
	return rc;
}

int cmd_share(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct dec_job j;
	struct share_opts s;
	int rc;

	memset(&j, 0, sizeof(j));
	j.in_fd = j.tmp_fd = -1;
	if ((rc = parse_args(argc, argv, &j.o, &s)))
		return rc;
	if (s.revoke)
		return share_revoke(ctx, s.revoke, j.o.reason);
	rc = do_share(ctx, &j, &s);
	if (j.in_fd >= 0)
		close(j.in_fd);
	EVP_PKEY_free(j.key);
	return rc;
}
