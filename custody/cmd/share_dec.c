/*
 * share_dec.c - the recipient's half of a share (`custody decrypt --share
 * FILE --key THEIR.key --file ITEM.bcde`) and `custody share revoke`.
 *
 * The recipient holds no ledger: the share file's binding carries the
 * plaintext SHA-256 the agency's ledger recorded, and decrypt compares
 * against it. Every field the checks use is authenticated before it is
 * believed: the stanza by unwrapping to the data key that the evidence
 * header's MAC commits to, the binding by its MAC under a key derived
 * from that data key, the file by the binding's header hash. Expiry is
 * checked after authentication, so a changed `until` is reported as
 * tampering, not as a valid share.
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

#include <jansson.h>

#include "evshare.h"
#include "share.h"

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = s ? strlen(s) : 0;

	if (!len || len % 2 || len / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -EINVAL;
		if (i % 2)
			out[i / 2] |= (uint8_t)v;
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	*n = len / 2;
	return 0;
}

static const char *str(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The share file: at most SHARE_FILE_MAX bytes of a regular file. */
static json_t *load_share(const char *path)
{
	char *buf = malloc(SHARE_FILE_MAX + 1);
	json_error_t e;
	json_t *v = NULL;
	struct stat st;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd >= 0 && buf && !fstat(fd, &st) && S_ISREG(st.st_mode))
		n = read(fd, buf, SHARE_FILE_MAX + 1);
	if (fd < 0 || !buf)
		cmd_err("%s: cannot read the share file: %s", path, strerror(errno));
	else if (n < 0)
		cmd_err("%s: not a readable regular file", path);
	else if (n > SHARE_FILE_MAX)
		cmd_err("%s: larger than %d bytes: not a share file", path, SHARE_FILE_MAX);
	else if (!(v = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &e)) ||
		 !json_is_object(v))
		cmd_err("%s: not a share file (JSON: %s)", path, v ? "not an object" : e.text);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return v;
}

/* The binding fields every check needs, each present and in range. */
static int binding_fields(const json_t *b, struct evshare *sh)
{
	static const char *const need[] = { "version", "share_id", "evidence_id",
		"agency", "header_sha256", "plaintext_sha256", "recipient_key_id",
		"case", "until", "created", "by", "reason" };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!str(b, need[i]))
			return -EINVAL;
	if (strcmp(str(b, "version"), "1") || strlen(str(b, "evidence_id")) > CUST_EVIDENCE_MAX ||
	    strlen(str(b, "agency")) > CUST_AGENCY_MAX ||
	    strlen(str(b, "plaintext_sha256")) != 64 ||
	    strlen(str(b, "recipient_key_id")) != 64)
		return -EINVAL;
	if (unhex(str(b, "header_sha256"), sh->header_sha256, 32, &n) || n != 32)
		return -EINVAL;
	return 0;
}

static const char *why_share(int r)
{
	switch (r) {
	case -EXDEV:
		return "the share is for another evidence file (its header SHA-256 "
		       "differs from this file's)";
	case -ENOKEY:
		return "the share's wrapped key is not addressed to this key";
	case -EBADMSG:
		return "authentication failed: the share file was altered (binding, "
		       "stanza or MAC), or the evidence file is tampered with";
	case -EPROTO:
		return "not a valid evidence file or share stanza (format error)";
	case -EPROTONOSUPPORT:
		return "unsupported recipient type in the share";
	default:
		return evfile_strerror(r);
	}
}

int dec_share_open(struct dec_job *j)
{
	uint8_t stanza[EVSHARE_STANZA_MAX];
	struct evshare sh;
	json_t *f = NULL, *b = NULL;
	json_error_t e;
	char hid[2 * EVFILE_MAX_ID + 2], now_s[32];
	time_t until = 0;
	size_t n = 0;
	int r, rc = CMD_FINDINGS;

	memset(&sh, 0, sizeof(sh));
	if (!(f = load_share(j->o.share)))
		return CMD_ERROR;
	if (!str(f, "format") || strcmp(str(f, "format"), SHARE_FORMAT) ||
	    !str(f, "binding") || !str(f, "stanza") || !str(f, "mac")) {
		cmd_err("%s: not a share file (\"format\": \"%s\" with binding, stanza, "
			"mac expected)", j->o.share, SHARE_FORMAT);
		goto out;
	}
	sh.binding = (const uint8_t *)str(f, "binding");
	sh.binding_len = strlen(str(f, "binding"));
	b = json_loads(str(f, "binding"), JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(b) || binding_fields(b, &sh) ||
	    unhex(str(f, "stanza"), stanza, sizeof(stanza), &sh.stanza_len) ||
	    unhex(str(f, "mac"), sh.mac, sizeof(sh.mac), &n) || n != sizeof(sh.mac) ||
	    share_parse_time(str(b, "until"), &until)) {
		cmd_err("%s: malformed share file (binding fields, hex or time)", j->o.share);
		goto out;
	}
	sh.stanza = stanza;
	if (strcmp(str(b, "recipient_key_id"), j->key_id)) {
		cmd_err("%s: the share is for key %s, not for %s (key id %s)",
			j->o.share, str(b, "recipient_key_id"), j->o.key, j->key_id);
		goto out;
	}
	r = evshare_reader_open(&j->rd, j->key, &sh, evfile_fd_read, &j->in_fd, &j->info);
	if (r) {
		cmd_err("%s with %s: %s", j->in_path, j->o.share, why_share(r));
		rc = r == -ENOMEM || r == -EIO ? CMD_ERROR : CMD_FINDINGS;
		goto out;
	}
	snprintf(hid, sizeof(hid), "%s/%s", j->info.camera_serial, j->info.recording_id);
	if (strcmp(hid, str(b, "evidence_id"))) {
		cmd_err("%s: the file holds %s, the share names %s", j->in_path, hid,
			str(b, "evidence_id"));
		goto out;
	}
	/* Authentic from here on; now the policy of the binding. */
	if (time(NULL) >= until) {
		share_fmt_time(time(NULL), now_s, sizeof(now_s));
		cmd_err("%s: share %s expired at %s (now %s): refused. Ask the agency "
			"(%s) for a new share", j->o.share, str(b, "share_id"),
			str(b, "until"), now_s, str(b, "agency"));
		goto out;
	}
	memcpy(j->evid, hid, strlen(hid) + 1);	/* = evidence_id, length checked */
	snprintf(j->agency, sizeof(j->agency), "%s", str(b, "agency"));
	snprintf(j->sha_ledger, sizeof(j->sha_ledger), "%s", str(b, "plaintext_sha256"));
	fprintf(stderr, "custody: share %s of %s from agency %s for case %s, valid "
		"until %s, made by %s: %s\n", str(b, "share_id"), hid, str(b, "agency"),
		str(b, "case"), str(b, "until"), str(b, "by"), str(b, "reason"));
	rc = 0;
out:
	json_decref(b);
	json_decref(f);
	return rc;
}

/* ---- revoke ---------------------------------------------------------- */

struct find {
	const char *id;
	int found, revoked;
	char evid[CUST_EVIDENCE_MAX + 1], agency[CUST_AGENCY_MAX + 1];
	char case_no[CUST_CASE_MAX + 1], rkey[65], until[32];
};

static int find_cb(void *arg, const struct cust_event *ev)
{
	struct find *f = arg;
	json_t *d = NULL;

	if (ev->action != CUST_A_SHARED || ev->outcome != CUST_OUTCOME_OK ||
	    !strstr(ev->details, f->id) || cust_event_details(ev, &d))
		return 0;
	if (str(d, "share_id") && !strcmp(str(d, "share_id"), f->id)) {
		if (json_is_true(json_object_get(d, "revoked"))) {
			f->revoked = 1;
		} else if (!f->found) {
			f->found = 1;
			snprintf(f->evid, sizeof(f->evid), "%s", ev->evidence_id);
			snprintf(f->agency, sizeof(f->agency), "%s", ev->agency_id);
			snprintf(f->case_no, sizeof(f->case_no), "%s", ev->case_no);
			snprintf(f->rkey, sizeof(f->rkey), "%s", str(d, "recipient_key_id") ?: "");
			snprintf(f->until, sizeof(f->until), "%s", str(d, "until") ?: "");
		}
	}
	json_decref(d);
	return 0;
}

int share_revoke(struct cmd_ctx *ctx, const char *share_id, const char *reason)
{
	struct find f;
	json_t *d;
	int r, rc;

	memset(&f, 0, sizeof(f));
	f.id = share_id;
	if (strlen(share_id) != 32 || strspn(share_id, "0123456789abcdef") != 32) {
		cmd_err("share revoke: '%s' is not a share id (32 hex digits)", share_id);
		return CMD_ERROR;
	}
	if ((rc = cmd_open_ledger(ctx, false)))
		return rc;
	if (ctx->read_only || cust_ledger_readonly(ctx->ledger)) {
		cmd_err("%s: read-only ledger: a revocation must be recorded", ctx->db_path);
		return CMD_ERROR;
	}
	/* One pass over the ledger: a rare clerk action, not a hot path. */
	if ((r = cust_ledger_foreach(ctx->ledger, NULL, 1, 0, find_cb, &f))) {
		cmd_err("%s: %s (%s)", ctx->db_path, strerror(-r),
			cust_ledger_errmsg(ctx->ledger));
		return CMD_ERROR;
	}
	if (!f.found) {
		cmd_err("share revoke: no share %s in %s", share_id, ctx->db_path);
		return CMD_FINDINGS;
	}
	if (f.revoked) {
		cmd_err("share revoke: share %s of %s is already revoked", share_id, f.evid);
		return CMD_FINDINGS;
	}
	d = json_pack("{s:s, s:b, s:s, s:s}", "share_id", share_id, "revoked", 1,
		      "recipient_key_id", f.rkey, "until", f.until);
	if ((rc = share_record(ctx, f.agency, f.evid, reason, f.case_no, d, NULL)))
		return rc;
	printf("%s: share %s revoked (recorded). A recipient who already decrypted "
	       "keeps the plaintext; see docs/operations.md\n", f.evid, share_id);
	return CMD_OK;
}
