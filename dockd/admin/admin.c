/* admin.c - dockd's camera administration (enroll, revoke, cameras) and the
 * helpers every admin subcommand shares (see admin.h, admin_int.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "admin.h"
#include "admin_storage.h"
#include "admin_int.h"
#include "config.h"
#include "edsig.h"
#include "enrol.h"

/* custody/config.h: the [ledger] section of the same file. */
#include "../custody/config.h"
#include "publish.h"

void admin_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dockd %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void user_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res && res->pw_name &&
	    *res->pw_name)
		snprintf(buf, cap, "%s", res->pw_name);
	else
		snprintf(buf, cap, "uid-%u", (unsigned)uid);
}

void admin_actor(char *buf, size_t cap)
{
	char name[64], sname[64];
	uid_t uid = getuid();
	const char *su = getenv("SUDO_USER"), *suid = getenv("SUDO_UID");

	user_name(uid, name, sizeof(name));
	/* Only root can have been started by sudo; anyone else could set the
	 * variables, so they are ignored for other users. */
	if (uid == 0 && su && suid && proto_id_valid(su) && strspn(suid, "0123456789") == strlen(suid) &&
	    *suid && strlen(suid) < 11) {
		snprintf(sname, sizeof(sname), "%s", su);
		snprintf(buf, cap, "user:%s(%u) sudo:%s(%s)", name, (unsigned)uid, sname, suid);
		return;
	}
	snprintf(buf, cap, "user:%s(%u)", name, (unsigned)uid);
}

int admin_become_owner(const char *dir)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
		return -errno;
	return 0;
}

/* An empty ledger gets its ledger_created event first, as `custody init`
 * would write it. Called inside no transaction: a batch of one. */
static int ensure_created(struct admin_env *e)
{
	struct cust_event ev;
	uint64_t n = 0;
	int r = cust_ledger_size(e->l, &n);

	if (r < 0 || n > 0)
		return r;
	r = cust_event_init(&ev, e->dc.agency_id, CUST_ACTOR_CLERK, e->actor, CUST_A_LEDGER_CREATED,
			    NULL, CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_ledger_append(e->l, &ev);
	return r;
}

static int load_configs(struct admin_env *e, const char *config)
{
	struct cust_config *cc;
	char err[512];
	int r;

	if (!config) {
		admin_err(e->cmd, "--config FILE is required");
		return ADMIN_USAGE;
	}
	if (dock_config_load(config, &e->dc, err, sizeof(err)) < 0) {
		admin_err(e->cmd, "%s", err);
		return ADMIN_USAGE;
	}
	cc = malloc(sizeof(*cc));
	if (!cc) {
		admin_err(e->cmd, "out of memory");
		return ADMIN_FAIL;
	}
	r = cust_config_load(config, cc, err, sizeof(err));
	if (r < 0) {
		admin_err(e->cmd, "%s", err);
	} else if (!cc->ledger_path[0]) {
		admin_err(e->cmd, "%s: [ledger] path is required", config);
		r = -EINVAL;
	} else if (cc->agency_id[0] && strcmp(cc->agency_id, e->dc.agency_id) != 0) {
		admin_err(e->cmd, "%s: [ledger] agency_id '%s' differs from [dock] agency_id '%s'",
			  config, cc->agency_id, e->dc.agency_id);
		r = -EINVAL;
	} else {
		snprintf(e->ledger_path, sizeof(e->ledger_path), "%s", cc->ledger_path);
	}
	free(cc);
	return r < 0 ? ADMIN_USAGE : ADMIN_OK;
}

int admin_open(struct admin_env *e, const char *cmd, const char *config, bool write)
{
	char err[512];
	struct stat st;
	int r, se;

	memset(e, 0, sizeof(*e));
	e->cmd = cmd;
	admin_actor(e->actor, sizeof(e->actor));
	if ((r = load_configs(e, config)) != ADMIN_OK)
		return r;
	/* before the ledger: "custody.db: cannot create" hid the cause */
	se = stat(e->dc.state_dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (se) {
		admin_err(cmd, "%s: [dock] state_dir %s: %s; fix: create it for the account that "
			  "runs dockd (install -d -m 0700 -o evidence-dock %s; the Debian package "
			  "does this) or correct state_dir", config ? config : "(no --config)",
			  e->dc.state_dir, strerror(se), e->dc.state_dir);
		return ADMIN_FAIL;
	}
	/* Also for reading: SQLite may create the -wal/-shm files, which
	 * must not end up owned by root. */
	if ((r = admin_become_owner(e->dc.state_dir)) < 0) {
		admin_err(cmd, "cannot switch to the owner of %s: %s", e->dc.state_dir, strerror(-r));
		return ADMIN_FAIL;
	}
	if (!write && access(e->ledger_path, F_OK) < 0) {
		admin_err(cmd, "%s: %s", e->ledger_path, strerror(errno));
		return ADMIN_FAIL;
	}
	r = cust_ledger_open(e->ledger_path, write ? CUST_LEDGER_CREATE : CUST_LEDGER_RDONLY, &e->l,
			     err, sizeof(err));
	if (r < 0) {
		admin_err(cmd, "%s", err);
		return ADMIN_FAIL;
	}
	e->config = config;
	if (cust_ledger_size(e->l, &e->size_at_open) < 0)
		e->size_at_open = 0;
	if (write && (r = ensure_created(e)) < 0) {
		admin_err(cmd, "%s: cannot record ledger_created: %s", e->ledger_path,
			  cust_ledger_errmsg(e->l));
		admin_close(e);
		return ADMIN_FAIL;
	}
	return ADMIN_OK;
}

/* The checkpoint signer of the config's [ledger] section. */
static int admin_signer(const struct admin_env *e, struct cust_signer *sg, char *err,
			size_t cap)
{
	struct cust_config *cc = malloc(sizeof(*cc));
	int r;

	if (!cc) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	r = cust_config_load(e->config, cc, err, cap);
	if (r == 0 && !cc->checkpoint_key[0]) {
		snprintf(err, cap, "no [ledger] checkpoint_key configured");
		r = -ENOKEY;
	}
	if (r == 0)
		r = cust_signer_load(cc, sg, err, cap);
	free(cc);
	return r;
}

/* No unprotected tail (docs/custody-ledger.md "Writing checkpoints"). */
static void admin_publish(struct admin_env *e)
{
	struct cust_signer sg;
	char err[768] = "";
	uint64_t n = 0;

	if (!e->l || cust_ledger_readonly(e->l) || cust_ledger_size(e->l, &n) < 0 ||
	    n <= e->size_at_open)
		return;
	if (admin_signer(e, &sg, err, sizeof(err)) < 0) {
		admin_err(e->cmd, "note: cannot sign a checkpoint (%s): the %llu event(s) this "
			  "command wrote stay in the unsigned tail until dockd signs one", err,
			  (unsigned long long)(n - e->size_at_open));
		return;
	}
	if (cust_checkpoint_write(e->l, &sg, NULL, err, sizeof(err)) < 0)
		admin_err(e->cmd, "the %llu event(s) this command wrote are not covered by a "
			  "signed checkpoint: %s", (unsigned long long)(n - e->size_at_open), err);
	cust_signer_free(&sg);
}

void admin_close(struct admin_env *e)
{
	admin_publish(e);
	cust_ledger_close(e->l);
	e->l = NULL;
}

/* Read at most cap-1 bytes of a small public file. */
static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	if (got + 1 >= cap) {
		close(fd);
		return -EFBIG;
	}
	close(fd);
	buf[got] = '\0';
	return memchr(buf, '\0', got) ? -EBADMSG : 0;
}

int admin_read_pubkey(const char *hex, const char *file, uint8_t out[PROTO_PUBKEY_LEN],
		      char *why, size_t whylen)
{
	char text[EDSIG_FILE_MAX];
	struct edsig_key *k = NULL;
	size_t n;
	int r;

	if (hex) {
		if (edsig_unhex(hex, out, PROTO_PUBKEY_LEN) < 0) {
			snprintf(why, whylen, "public key must be 64 hex digits");
			return -EINVAL;
		}
		return 0;
	}
	r = read_small(file, text, sizeof(text));
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", file, r == -EFBIG ? "too large for a public key" : strerror(-r));
		return r;
	}
	if (!strncmp(text, "-----BEGIN", 10)) {
		r = edsig_load_public(file, &k);
		if (r == 0)
			r = edsig_public_raw(k, out);
		edsig_key_free(k);
		if (r < 0)
			snprintf(why, whylen, "%s: %s", file, edsig_strerror(r));
		return r;
	}
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (edsig_unhex(text, out, PROTO_PUBKEY_LEN) < 0) {
		snprintf(why, whylen, "%s: neither a PEM public key nor 64 hex digits", file);
		return -EINVAL;
	}
	return 0;
}

/* ---- enroll --------------------------------------------------------------- */

static int enroll_usage(void)
{
	fputs("usage: dockd --config FILE enroll --serial S (--pubkey HEX | --pubkey-file F)\n"
	      "             --officer O [--model M] [--reason TEXT] [--replace]\n",
	      stderr);
	return ADMIN_USAGE;
}

struct enroll_args {
	const char *serial, *hex, *file, *officer, *model, *reason;
	int replace;
};

static int enroll_parse(int argc, char **argv, struct enroll_args *a)
{
	static const struct option opts[] = {
		{ "serial", required_argument, NULL, 's' }, { "pubkey", required_argument, NULL, 'p' },
		{ "pubkey-file", required_argument, NULL, 'f' }, { "officer", required_argument, NULL, 'o' },
		{ "model", required_argument, NULL, 'm' },  { "reason", required_argument, NULL, 'r' },
		{ "replace", no_argument, NULL, 'R' },      { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->serial = optarg; break;
		case 'p': a->hex = optarg; break;
		case 'f': a->file = optarg; break;
		case 'o': a->officer = optarg; break;
		case 'm': a->model = optarg; break;
		case 'r': a->reason = optarg; break;
		case 'R': a->replace = 1; break;
		default: return enroll_usage();
		}
	}
	if (optind < argc) {
		admin_err("enroll", "unexpected argument '%s'", argv[optind]);
		return enroll_usage();
	}
	if (!a->serial || !a->officer || !a->hex == !a->file) {
		admin_err("enroll", "%s", !a->serial ? "--serial is required" :
			  !a->officer ? "--officer is required" :
			  "give exactly one of --pubkey and --pubkey-file");
		return enroll_usage();
	}
	if (!proto_id_valid(a->serial) || !proto_id_valid(a->officer)) {
		admin_err("enroll", "--serial and --officer must be 1-64 characters of A-Z a-z 0-9 . _ : -");
		return ADMIN_USAGE;
	}
	return ADMIN_OK;
}

int admin_enroll(const char *config, int argc, char **argv)
{
	struct enroll_args a = { 0 };
	struct dock_enrol_req rq = { 0 };
	struct admin_env e;
	char why[256], hex[DOCK_ENROL_HEX_LEN + 1];
	uint64_t seq = 0;
	int r;

	if (admin_storage_wanted(argc, argv)) /* a mass-storage camera: no key */
		return admin_storage_enroll(config, argc, argv);
	if ((r = enroll_parse(argc, argv, &a)) != ADMIN_OK)
		return r;
	if (admin_read_pubkey(a.hex, a.file, rq.pubkey, why, sizeof(why)) < 0) {
		admin_err("enroll", "%s", why);
		return ADMIN_USAGE;
	}
	if ((r = admin_open(&e, "enroll", config, true)) != ADMIN_OK)
		return r;
	rq.agency_id = e.dc.agency_id;
	rq.serial = a.serial;
	rq.officer = a.officer;
	rq.model = a.model;
	rq.reason = a.reason;
	rq.actor_id = e.actor;
	rq.replace = a.replace;
	r = dock_enrol_add(e.l, &rq, &seq, why, sizeof(why));
	admin_close(&e);
	if (r < 0) {
		admin_err("enroll", "%s", why);
		return r == -EINVAL ? ADMIN_USAGE : ADMIN_FAIL;
	}
	edsig_hex(rq.pubkey, PROTO_PUBKEY_LEN, hex, sizeof(hex));
	printf("enrolled camera %s for officer %s%s%s (agency %s, key %s): ledger event %llu\n",
	       a.serial, a.officer, a.model ? ", model " : "", a.model ? a.model : "", rq.agency_id,
	       hex, (unsigned long long)seq);
	return ADMIN_OK;
}

/* ---- revoke --------------------------------------------------------------- */

static int revoke_usage(void)
{
	fputs("usage: dockd --config FILE revoke --serial S --reason TEXT\n", stderr);
	return ADMIN_USAGE;
}

int admin_revoke(const char *config, int argc, char **argv)
{
	static const struct option opts[] = { { "serial", required_argument, NULL, 's' },
					      { "reason", required_argument, NULL, 'r' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *serial = NULL, *reason = NULL;
	struct admin_env e;
	char why[256];
	uint64_t seq = 0;
	int c, r;

	if (admin_storage_wanted(argc, argv))
		return admin_storage_revoke(config, argc, argv);
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's') serial = optarg;
		else if (c == 'r') reason = optarg;
		else return revoke_usage();
	}
	if (optind < argc || !serial || !reason || !*reason) {
		admin_err("revoke", "%s", optind < argc ? "unexpected argument" :
			  !serial ? "--serial is required" : "--reason is required");
		return revoke_usage();
	}
	if (!proto_id_valid(serial)) {
		admin_err("revoke", "--serial must be 1-64 characters of A-Z a-z 0-9 . _ : -");
		return ADMIN_USAGE;
	}
	if ((r = admin_open(&e, "revoke", config, true)) != ADMIN_OK)
		return r;
	r = dock_enrol_revoke(e.l, e.dc.agency_id, serial, reason, e.actor, &seq, why, sizeof(why));
	admin_close(&e);
	if (r < 0) {
		admin_err("revoke", "%s", why);
		return r == -EINVAL ? ADMIN_USAGE : ADMIN_FAIL;
	}
	printf("revoked camera %s: ledger event %llu\n", serial, (unsigned long long)seq);
	return ADMIN_OK;
}

/* ---- cameras -------------------------------------------------------------- */

static int print_row(void *arg, const struct dock_camera *c)
{
	json_t *arr = arg, *o;

	if (!arr) {
		printf("%-20s %-8s %-16s %-16s %8llu %s protocol\n", c->serial, dock_cam_status_name(c->status),
		       c->officer, c->model[0] ? c->model : "-", (unsigned long long)c->changed_seq,
		       c->pubkey);
		return 0;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "protocol", "serial", c->serial, "status",
		      dock_cam_status_name(c->status), "officer", c->officer, "model", c->model,
		      "agency", c->agency, "pubkey", c->pubkey, "changed_seq",
		      (json_int_t)c->changed_seq);
	if (!o || json_array_append_new(arr, o) < 0)
		return -ENOMEM;
	return 0;
}

int admin_cameras(const char *config, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct admin_env e;
	json_t *arr = NULL;
	int c, r, json = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j') {
			fputs("usage: dockd --config FILE cameras [--json]\n", stderr);
			return ADMIN_USAGE;
		}
		json = 1;
	}
	if (optind < argc) {
		admin_err("cameras", "unexpected argument '%s'", argv[optind]);
		return ADMIN_USAGE;
	}
	if ((r = admin_open(&e, "cameras", config, false)) != ADMIN_OK)
		return r;
	if (json && !(arr = json_array())) {
		admin_close(&e);
		return ADMIN_FAIL;
	}
	if (!json)
		printf("%-20s %-8s %-16s %-16s %8s %-64s %s\n", "SERIAL", "STATUS", "OFFICER",
		       "MODEL/PROFILE", "SEQ", "PUBKEY", "KIND");
	r = dock_enrol_list(e.l, print_row, arr);
	if (r == 0) /* USB mass-storage cameras, kind "storage" */
		r = admin_storage_list(e.l, arr);
	admin_close(&e);
	if (r == 0 && json && json_dumpf(arr, stdout, JSON_INDENT(2)) == 0)
		fputc('\n', stdout);
	json_decref(arr);
	if (r < 0) {
		admin_err("cameras", "cannot read the camera list: %s", strerror(-r));
		return ADMIN_FAIL;
	}
	return ADMIN_OK;
}
