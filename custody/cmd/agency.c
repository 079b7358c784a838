/*
 * agency.c - the agency's trust-root commands (docs/trust.md). They run
 * at the agency, need no dock, no configuration and no ledger:
 *
 *   custody agency-vkey (--pub F | --key F) --agency-id A
 *       print the agency vkey "<A>/agency+<id>+<key>" that auditors hold
 *   custody agency-sign custody-cert --key F --agency-id A --dock-id D
 *       --origin O --checkpoint-vkey FILE --dock-pub HEX
 *       [--not-before TIME] (--days N | --not-after TIME) --out FILE
 *   custody agency-sign recipients --key F --agency-id A --version N
 *       --recipient PUB.pem [--recipient ...] --out FILE
 *   custody agency-sign witnesses --key F --agency-id A --version N
 *       --quorum K --witness VKEY|FILE [--witness ...] --out FILE
 *   custody agency-check --agency VKEYFILE NOTE
 *       verify a statement and print its fields (exit 1 if it fails)
 *
 * --key is the agency's Ed25519 PKCS#8 PEM signing key (agency-sign.key
 * of docs/operations.md, the one `dockd certify` uses). --out is never
 * overwritten. TIME is YYYY-MM-DDTHH:MM:SSZ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agencykey.h"
#include "agencynote.h"
#include "cmd.h"
#include "cosig.h"
#include "signote.h"

#define MAX_OPT 48

struct opt {
	const char *name, *val;
};

/* --name VALUE pairs into o[] (repeatable options keep every value). */
static int opts_parse(int argc, char **argv, int first, struct opt *o, size_t *n)
{
	*n = 0;
	for (int i = first; i < argc; i += 2) {
		if (strncmp(argv[i], "--", 2) || i + 1 >= argc || !*argv[i + 1] || *n == MAX_OPT) {
			cmd_err("unexpected or incomplete argument '%s'", argv[i]);
			return -EINVAL;
		}
		o[(*n)++] = (struct opt){ argv[i] + 2, argv[i + 1] };
	}
	return 0;
}

/* The single value of --name (NULL if absent; twice is an error). */
static const char *opt1(const struct opt *o, size_t n, const char *name, int *err)
{
	const char *v = NULL;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(o[i].name, name)) {
			if (v) {
				cmd_err("--%s given twice", name);
				*err = 1;
			}
			v = o[i].val;
		}
	return v;
}

static int opts_known(const struct opt *o, size_t n, const char *const *known)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], o[i].name))
			k++;
		if (!known[k]) {
			cmd_err("unknown option --%s", o[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static int load_agency_key(const char *path, struct edkey **k)
{
	int r = edkey_load_private(path, k);

	if (r)
		cmd_err("%s: cannot load the agency signing key: %s%s", path, strerror(-r),
			r == -EPERM ? " (must be a regular file, mode 0600)" :
			r == -EINVAL ? " (not an Ed25519 PKCS#8 PEM private key)" : "");
	return r;
}

int cmd_agency_vkey(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const char *const known[] = { "pub", "key", "agency-id", NULL };
	struct opt o[MAX_OPT];
	struct ckpt_vkey v;
	struct edkey *k = NULL;
	char name[AGN_ID_MAX + 16], text[CKPT_MAX_VKEY];
	const char *pub, *priv, *agency;
	size_t n;
	int err = 0, r;

	(void)ctx;
	if (opts_parse(argc, argv, 1, o, &n) || opts_known(o, n, known))
		return CMD_ERROR;
	pub = opt1(o, n, "pub", &err);
	priv = opt1(o, n, "key", &err);
	agency = opt1(o, n, "agency-id", &err);
	if (err || !pub == !priv || !agency) {
		cmd_err("usage: custody agency-vkey (--pub AGENCY.pub | --key AGENCY.key) "
			"--agency-id A");
		return CMD_ERROR;
	}
	if (agn_key_name(agency, name, sizeof(name))) {
		cmd_err("--agency-id: 1..64 characters of A-Z a-z 0-9 . _ : -");
		return CMD_ERROR;
	}
	r = pub ? edkey_load_public(pub, &k) : load_agency_key(priv, &k);
	if (r && pub)
		cmd_err("%s: not an Ed25519 public key PEM: %s", pub, strerror(-r));
	if (!r && (r = ckpt_vkey_from_edkey(name, k, &v)) == 0)
		r = ckpt_vkey_format(&v, text, sizeof(text));
	edkey_free(k);
	if (r)
		return CMD_ERROR;
	printf("%s\n", text);
	return CMD_OK;
}

/* Sign text with the agency key and write the note to out (O_EXCL). */
static int sign_out(const char *keyfile, const char *agency, const char *text, size_t len,
		    const char *out)
{
	char name[AGN_ID_MAX + 16], note[AGN_MAX_NOTE + 1];
	struct edkey *k = NULL;
	size_t nl = 0;
	int fd, r;

	if ((r = agn_key_name(agency, name, sizeof(name))) || (r = load_agency_key(keyfile, &k)))
		return CMD_ERROR;
	r = signote_sign(text, len, name, k, note, sizeof(note), &nl);
	edkey_free(k);
	if (r) {
		cmd_err("cannot sign: %s", r == -ENOSPC ? "statement too long" :
			checkpoint_strerror(r));
		return CMD_ERROR;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		cmd_err("%s: %s", out, errno == EEXIST ? "exists already; refusing to "
			"overwrite it" : strerror(errno));
		return CMD_ERROR;
	}
	if (write(fd, note, nl) != (ssize_t)nl || fsync(fd) || close(fd)) {
		cmd_err("%s: write failed", out);
		unlink(out);
		return CMD_ERROR;
	}
	fputs(note, stdout);
	return CMD_OK;
}

static int parse_time_opt(const char *name, const char *v, int64_t *t)
{
	if (agn_time_parse(v, strlen(v), t)) {
		cmd_err("--%s: not a time YYYY-MM-DDTHH:MM:SSZ", name);
		return -EINVAL;
	}
	return 0;
}

static int parse_ulong(const char *name, const char *v, unsigned long long max,
		       unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || *out < 1 || *out > max) {
		cmd_err("--%s: a whole number from 1 to %llu", name, max);
		return -EINVAL;
	}
	return 0;
}

static int sign_cert(const struct opt *o, size_t n)
{
	static const char *const known[] = { "key", "agency-id", "dock-id", "origin",
		"checkpoint-vkey", "dock-pub", "not-before", "not-after", "days", "out", NULL };
	const char *key, *agency, *dock, *origin, *vk, *dpub, *nb, *na, *days, *out;
	struct agn_cert c;
	char text[AGN_MAX_NOTE];
	unsigned long long d = 0;
	size_t len;
	int err = 0, r;

	if (opts_known(o, n, known))
		return CMD_ERROR;
	key = opt1(o, n, "key", &err);
	agency = opt1(o, n, "agency-id", &err);
	dock = opt1(o, n, "dock-id", &err);
	origin = opt1(o, n, "origin", &err);
	vk = opt1(o, n, "checkpoint-vkey", &err);
	dpub = opt1(o, n, "dock-pub", &err);
	nb = opt1(o, n, "not-before", &err);
	na = opt1(o, n, "not-after", &err);
	days = opt1(o, n, "days", &err);
	out = opt1(o, n, "out", &err);
	if (err || !key || !agency || !dock || !origin || !vk || !dpub || !out || !na == !days) {
		cmd_err("usage: custody agency-sign custody-cert --key F --agency-id A --dock-id D "
			"--origin O --checkpoint-vkey FILE --dock-pub HEX [--not-before T] "
			"(--days N | --not-after T) --out FILE");
		return CMD_ERROR;
	}
	memset(&c, 0, sizeof(c));
	if (!agn_id_valid(agency) || !agn_id_valid(dock)) {
		cmd_err("--agency-id, --dock-id: 1..64 characters of A-Z a-z 0-9 . _ : -");
		return CMD_ERROR;
	}
	snprintf(c.agency, sizeof(c.agency), "%s", agency);
	snprintf(c.dock, sizeof(c.dock), "%s", dock);
	if (strlen(origin) >= sizeof(c.origin) || !ckpt_name_valid(origin)) {
		cmd_err("--origin: not a valid log origin / key name");
		return CMD_ERROR;
	}
	snprintf(c.origin, sizeof(c.origin), "%s", origin);
	if ((r = agn_vkey_file(vk, &c.ckpt_key))) {
		cmd_err("%s: not a checkpoint vkey file (custody keygen --vkey): %s", vk,
			checkpoint_strerror(r));
		return CMD_ERROR;
	}
	if (strcmp(c.ckpt_key.name, origin)) {
		cmd_err("%s: the key is named '%s' but checkpoints are signed under the "
			"origin '%s' (custody keygen --name ORIGIN)", vk, c.ckpt_key.name, origin);
		return CMD_ERROR;
	}
	for (size_t i = 0; i < EDKEY_PUB_LEN; i++) {
		unsigned b;
		if (strlen(dpub) != 2 * EDKEY_PUB_LEN || strspn(dpub, "0123456789abcdef") !=
		    2 * EDKEY_PUB_LEN || sscanf(dpub + 2 * i, "%2x", &b) != 1) {
			cmd_err("--dock-pub: 64 lowercase hex digits (as `dockd keygen` prints)");
			return CMD_ERROR;
		}
		c.dock_key[i] = (uint8_t)b;
	}
	c.not_before = (int64_t)time(NULL);
	if ((nb && parse_time_opt("not-before", nb, &c.not_before)) ||
	    (na && parse_time_opt("not-after", na, &c.not_after)) ||
	    (days && parse_ulong("days", days, 3650, &d)))
		return CMD_ERROR;
	if (days)
		c.not_after = c.not_before + (int64_t)d * 86400;
	if ((r = agn_cert_text(&c, text, sizeof(text), &len))) {
		cmd_err("cannot build the certificate: %s", r == -EINVAL ?
			"invalid field (not-after must be after not-before)" : strerror(-r));
		return CMD_ERROR;
	}
	return sign_out(key, agency, text, len, out);
}

static int sign_recipients(const struct opt *o, size_t n)
{
	static const char *const known[] = { "key", "agency-id", "version", "recipient", "out", NULL };
	static const char *const tname[] = { [AGENCYKEY_P256] = "p256",
		[AGENCYKEY_P384] = "p384", [AGENCYKEY_RSA] = "rsa" };
	struct agn_recipients *p = calloc(1, sizeof(*p));
	const char *key, *agency, *ver, *out;
	char text[AGN_MAX_NOTE];
	unsigned long long v = 0;
	size_t len;
	int err = 0, r = CMD_ERROR;

	if (!p || opts_known(o, n, known))
		goto out;
	key = opt1(o, n, "key", &err);
	agency = opt1(o, n, "agency-id", &err);
	ver = opt1(o, n, "version", &err);
	out = opt1(o, n, "out", &err);
	if (err || !key || !agency || !ver || !out) {
		cmd_err("usage: custody agency-sign recipients --key F --agency-id A --version N "
			"--recipient PUB.pem [--recipient ...] --out FILE");
		goto out;
	}
	if (!agn_id_valid(agency) || parse_ulong("version", ver, AGN_MAX_VERSION, &v))
		goto out;
	snprintf(p->agency, sizeof(p->agency), "%s", agency);
	p->version = v;
	p->issued = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[AGENCYKEY_ID_LEN];
		EVP_PKEY *k = NULL;
		int t;

		if (strcmp(o[i].name, "recipient"))
			continue;
		if (p->n == AGN_MAX_ENTRIES) {
			cmd_err("at most %d recipients", AGN_MAX_ENTRIES);
			goto out;
		}
		if (agencykey_load_public(o[i].val, &k) || (t = agencykey_type(k)) < 0 ||
		    agencykey_id(k, id)) {
			cmd_err("%s: not an agency public key (EC P-256, P-384, RSA 3072-8192)",
				o[i].val);
			EVP_PKEY_free(k);
			goto out;
		}
		EVP_PKEY_free(k);
		snprintf(p->r[p->n].type, sizeof(p->r[p->n].type), "%s", tname[t]);
		for (size_t b = 0; b < AGENCYKEY_ID_LEN; b++)
			snprintf(p->r[p->n].key_id + 2 * b, 3, "%02x", id[b]);
		p->n++;
	}
	if (!p->n) {
		cmd_err("give at least one --recipient");
		goto out;
	}
	if (agn_recipients_text(p, text, sizeof(text), &len)) {
		cmd_err("cannot build the policy (a recipient given twice?)");
		goto out;
	}
	r = sign_out(key, agency, text, len, out);
out:
	free(p);
	return r;
}

/* A witness vkey given as text, or as a file holding one line. */
static int witness_vkey(const char *arg, struct ckpt_vkey *v)
{
	char buf[CKPT_MAX_VKEY + 8];
	size_t len;

	if (cosig_vkey_parse(arg, strlen(arg), v) == 0)
		return 0;
	if (agn_read_file(arg, buf, sizeof(buf), &len) == 0) {
		while (len && buf[len - 1] == '\n')
			len--;
		if (cosig_vkey_parse(buf, len, v) == 0)
			return 0;
	}
	cmd_err("--witness %s: not a witness vkey (name+id+base64 of type 0x04) or a file "
		"holding one", arg);
	return -EINVAL;
}

static int sign_witnesses(const struct opt *o, size_t n)
{
	static const char *const known[] = { "key", "agency-id", "version", "quorum",
					     "witness", "out", NULL };
	struct agn_witnesses *w = calloc(1, sizeof(*w));
	const char *key, *agency, *ver, *q, *out;
	char text[AGN_MAX_NOTE];
	unsigned long long v = 0, k = 0;
	size_t len;
	int err = 0, r = CMD_ERROR;

	if (!w || opts_known(o, n, known))
		goto out;
	key = opt1(o, n, "key", &err);
	agency = opt1(o, n, "agency-id", &err);
	ver = opt1(o, n, "version", &err);
	q = opt1(o, n, "quorum", &err);
	out = opt1(o, n, "out", &err);
	if (err || !key || !agency || !ver || !q || !out) {
		cmd_err("usage: custody agency-sign witnesses --key F --agency-id A --version N "
			"--quorum K --witness VKEY|FILE [--witness ...] --out FILE");
		goto out;
	}
	if (!agn_id_valid(agency) || parse_ulong("version", ver, AGN_MAX_VERSION, &v) ||
	    parse_ulong("quorum", q, AGN_MAX_ENTRIES, &k))
		goto out;
	snprintf(w->agency, sizeof(w->agency), "%s", agency);
	w->version = v;
	w->quorum = (unsigned)k;
	w->issued = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(o[i].name, "witness"))
			continue;
		if (w->n == AGN_MAX_ENTRIES) {
			cmd_err("at most %d witnesses", AGN_MAX_ENTRIES);
			goto out;
		}
		if (witness_vkey(o[i].val, &w->w[w->n]))
			goto out;
		w->n++;
	}
	if (!w->n || w->quorum > w->n) {
		cmd_err("the quorum must be between 1 and the number of --witness keys");
		goto out;
	}
	if (agn_witnesses_text(w, text, sizeof(text), &len)) {
		cmd_err("cannot build the policy (a witness name or key given twice?)");
		goto out;
	}
	r = sign_out(key, agency, text, len, out);
out:
	free(w);
	return r;
}

int cmd_agency_sign(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct opt o[MAX_OPT];
	size_t n;

	(void)ctx;
	if (argc < 2) {
		cmd_err("usage: custody agency-sign custody-cert|recipients|witnesses OPTIONS");
		return CMD_ERROR;
	}
	if (opts_parse(argc, argv, 2, o, &n))
		return CMD_ERROR;
	if (!strcmp(argv[1], "custody-cert"))
		return sign_cert(o, n);
	if (!strcmp(argv[1], "recipients"))
		return sign_recipients(o, n);
	if (!strcmp(argv[1], "witnesses"))
		return sign_witnesses(o, n);
	cmd_err("agency-sign: unknown statement '%s' (custody-cert, recipients, witnesses)",
		argv[1]);
	return CMD_ERROR;
}
