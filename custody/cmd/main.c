/*
 * main.c - `custody`: global options and the subcommand dispatch table.
 *
 *   custody [--config FILE] [--db PATH] [--read-only] [--utc] COMMAND [ARGS...]
 *   custody [COMMAND] --help | --version     usage or version on stdout, exit 0
 *
 * To add a subcommand: declare it in cmd.h and add one line to cmds[].
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "query.h"
#include "publish.h"
#include "version.h"

struct cmd_entry {
	const char *name;
	cmd_fn fn;
	const char *help;
};

static const struct cmd_entry cmds[] = {
	{ "init", cmd_init, "create an empty ledger" },
	{ "keygen", cmd_keygen, "--key FILE --vkey FILE [--name N]: checkpoint key pair" },
	{ "history", cmd_history, "ID [--json] [--utc] [--reason R]: timeline of one item" },
	{ "search", cmd_search, "[--officer O] [--camera C] [--from D] [--to D] (recording time) [--docked-from D] [--docked-to D] [--category C] [--case N] [--status S|released] [--hold yes|no] [--due] [--json] [--utc] [--reason R] | --refused [--camera C] [--from D] [--to D]" },
	{ "verify", cmd_verify, "[--quiet]: recompute hashes, checkpoints, records" },
	{ "checkpoint", cmd_checkpoint, "[--if-due]: write a signed checkpoint" },
	{ "proof", cmd_proof, "ID [--out FILE | --tlog-proof DIR]: inclusion proofs of an item's events" },
	{ "check-proof", cmd_check_proof, "FILE [--vkey FILE] | --agency F --witnesses F [--quorum K] FILE...: verify proof files (no database)" },
	{ "export", cmd_export, "ID... --out FILE.tar|FILE.zip --reason R [--case C] [--vault DIR]: BagIt court package (recorded first)" },
	{ "verify-package", cmd_verify_package, "FILE.tar|.zip [--agency VKEY] [--witnesses F] [--quorum K]: check a court package offline" },
	{ "decrypt", cmd_decrypt, "--key PRIV --reason R [--out F] ID|--file F.bcde (or --share S --key YOURS --file F.bcde): decrypt a recording" },
	{ "receipt", cmd_receipt, "issue --workstation W --key WS.pub --count N --reason R --out WS.range | file RECEIPT...: offline export receipts (through the query service)" },
	{ "share", cmd_share, "ID --key PRIV --to RECIPIENT.pub --case C --until DATE --reason R [--out F] | revoke SHARE_ID --reason R: re-wrap one item's key to a recipient" },
	{ "agency-keygen", cmd_agency_keygen, "--type p256|p384|rsa3072 --private F --public F: agency encryption key pair" },
	{ "agency-keyid", cmd_agency_keyid, "FILE: key id (SHA-256 of the public key DER)" },
	{ "append", cmd_append, "(admin/test) append one event, see docs" },
	{ "demo-fill", cmd_demo_fill, "(admin/test) N: generate N recordings' lifecycles" },
	{ "bench", cmd_bench, "(test) history N: time N history queries" },
	{ "serve", cmd_serve, "[--socket P] [--socket-mode M] [--alert-command P]: query service" },
	{ "user", cmd_users, "add|remove|set-role|list: user -> role mapping (docs/custody-access.md)" },
	{ "console-totp", cmd_console_totp, "NAME [--revoke] --file TOTP_FILE --reason R: enrol (or revoke) a console user's second factor (recorded; docs/console.md)" },
	{ "remote", cmd_remote, "[--socket P] [--json] history|search|access-events|user-list ...: via the query service" },
	{ "witness", cmd_witness, "--listen H:P --state DIR --key F --name N --log 'ORIGIN VKEY'...| keygen: C2SP witness (docs/witness.md)" },
	{ "audit", cmd_audit_log, "--state DIR --vkey F [--note FILE [--proof FILE]]: auditor's consistency check" },
	{ "consistency-proof", cmd_consistency_proof, "OLD NEW: RFC 6962 consistency proof, base64 lines" },
	{ "agency-vkey", cmd_agency_vkey, "(--pub F | --key F) --agency-id A: the agency vkey auditors hold" },
	{ "agency-sign", cmd_agency_sign, "custody-cert|recipients|witnesses ...: sign an agency statement (docs/trust.md)" },
	{ "agency-check", cmd_agency_check, "--agency VKEY NOTE: verify an agency statement" },
	{ "categorize", cmd_categorize, "ID CATEGORY --reason R: change the category (supervisor; via the query service)" },
	{ "case", cmd_case, "assign|unassign ID CASE --reason R: case numbers (clerk, supervisor)" },
	{ "hold", cmd_hold, "set|release ID --reason R: legal hold (supervisor)" },
	{ "annotate", cmd_annotate, "ID (--title T | --notes N) --reason R: title / notes (clerk, supervisor)" },
	{ "due", cmd_due, "[--json]: items past their retention date, not under hold (clerk, supervisor, auditor)" },
	{ "destroy", cmd_destroy, "request|approve|plan ID --reason R [--dry-run]: two-person destruction (supervisors)" },
	{ "status", cmd_status, "[--socket P] [--json] [--utc] [--watch SECONDS]: the dock's cameras, pulls, queue" },
};

void cmd_err(const char *fmt, ...)
{
	va_list ap;

	fputs("custody: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cmd_os_user(char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	uid_t uid = getuid();

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res &&
	    res->pw_name && *res->pw_name)
		snprintf(buf, cap, "%s", res->pw_name);
	else
		snprintf(buf, cap, "uid-%u", (unsigned)uid);
}

const char *cmd_agency(const struct cmd_ctx *ctx)
{
	return ctx->cfg.agency_id[0] ? ctx->cfg.agency_id : NULL;
}

int cmd_open_ledger(struct cmd_ctx *ctx, bool create)
{
	char err[512];
	unsigned flags = 0;
	int r;

	if (ctx->ledger)
		return 0;
	if (!ctx->db_path || !*ctx->db_path) {
		cmd_err("no ledger: give --db PATH or --config FILE with [ledger] path");
		return CMD_ERROR;
	}
	if (create)
		flags |= CUST_LEDGER_CREATE;
	if (!create && !ctx->read_only && access(ctx->db_path, W_OK) != 0 &&
	    access(ctx->db_path, R_OK) == 0)
		ctx->read_only = true;	/* a defense expert's read-only copy */
	if (ctx->read_only)
		flags |= CUST_LEDGER_RDONLY;
	r = cust_ledger_open(ctx->db_path, flags, &ctx->ledger, err, sizeof(err));
	if (r < 0) {
		cmd_err("%s", err);
		return CMD_ERROR;
	}
	if (cust_ledger_size(ctx->ledger, &ctx->size_at_open) < 0)
		ctx->size_at_open = 0;	/* then any non-empty ledger is signed */
	return 0;
}

/* No unprotected tail: the events this run appended (the audit event of
 * a read, a user change, a decryption...) are covered by a signed
 * checkpoint before the process exits, so deleting them is detected
 * (docs/custody-ledger.md, "Writing checkpoints"). Only the service
 * account can sign (the checkpoint key is its 0600 file); anyone else's
 * events stay in the unsigned tail until dockd, the query service or
 * `custody checkpoint` signs one, and stderr says so. Returns rc, or
 * CMD_ERROR when a configured key failed to sign a successful run. */
static int publish_tail(struct cmd_ctx *ctx, int rc)
{
	struct cust_signer s;
	char err[768];
	uint64_t n = 0;

	if (!ctx->ledger || ctx->read_only ||
	    cust_ledger_size(ctx->ledger, &n) < 0 || n <= ctx->size_at_open)
		return rc;
	if (!ctx->cfg.checkpoint_key[0]) {
		snprintf(err, sizeof(err), "no [ledger] checkpoint_key configured");
	} else if (cmd_signer_load(ctx, &s, err, sizeof(err)) == 0) {
		int r = cust_checkpoint_write(ctx->ledger, &s, NULL, err, sizeof(err));

		cust_signer_free(&s);
		if (r == 0)
			return rc;
		cmd_err("the %llu event(s) this command wrote are not covered by a "
			"signed checkpoint: %s", (unsigned long long)(n - ctx->size_at_open),
			err);
		return rc == CMD_OK ? CMD_ERROR : rc;
	}
	cmd_err("note: cannot sign a checkpoint (%s): the %llu event(s) this command "
		"wrote stay in the unsigned tail of the ledger until dockd, the query "
		"service or `custody checkpoint` signs one",
		err, (unsigned long long)(n - ctx->size_at_open));
	return rc;
}

int cmd_audit(struct cmd_ctx *ctx, enum cust_action action,
	      const char *evidence_id, const char *what, json_t *details)
{
	struct cust_event ev;
	char user[CUST_ACTOR_ID_MAX + 1];
	const char *agency = cmd_agency(ctx);
	json_t *d = details ? json_incref(details) : json_object();
	int r;

	if (!ctx->ledger || ctx->read_only) {
		json_decref(d);
		return 0;
	}
	cmd_os_user(user, sizeof(user));
	r = cust_event_init(&ev, agency ? agency : "local", CUST_ACTOR_CLERK,
			    user, action, NULL, CUST_OUTCOME_OK);
	if (r == 0 && evidence_id)
		r = cust_event_set_text(ev.evidence_id, sizeof(ev.evidence_id),
					evidence_id);
	if (r == 0 && ctx->reason)	/* validated with the event below */
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), ctx->reason);
	if (r == 0 && d) {
		json_object_set_new(d, "command", json_string(what));
		json_object_set_new(d, "uid", json_integer((json_int_t)getuid()));
		r = cust_event_set_details(&ev, d);
	}
	json_decref(d);
	if (r == 0)
		r = cust_ledger_append(ctx->ledger, &ev);
	if (r < 0) {
		cmd_err("cannot record the audit event for '%s': %s (%s)", what,
			strerror(-r), cust_ledger_errmsg(ctx->ledger));
		return CMD_ERROR;
	}
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: custody [--config FILE] [--db PATH] [--read-only] [--utc] COMMAND [ARGS]\n"
		   "commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].help);
}

/* `custody COMMAND --help` (anywhere; or -h right after COMMAND) and
 * `custody COMMAND --version` (alone: `agency-sign ... --version N` is a
 * policy version): answered here, before any option parsing or
 * configuration, so that every subcommand has them (its own parser would
 * call --help a value or an unexpected argument). True when it printed. */
static bool sub_help(int argc, char **argv)
{
	const struct cmd_entry *e = NULL;
	bool help = argc > 1 && !strcmp(argv[1], "-h");
	bool version = argc == 2 && !strcmp(argv[1], "--version");

	for (int a = 1; a < argc; a++)
		help = help || !strcmp(argv[a], "--help");
	if (!help && !version)
		return false;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, argv[0]))
			e = &cmds[k];
	if (!e)
		return false; /* unknown command: the caller says so */
	if (version && !help)
		printf("custody %s\n", EVIDENCE_DOCK_VERSION);
	else
		printf("usage: custody [--config FILE] %s %s\n"
		       "(global options: custody --help; reference: docs/, man custody-%s)\n",
		       e->name, e->help, e->name);
	if (help && e->fn == cmd_decrypt) /* why --no-ledger records nothing */
		printf("\n%s", dec_no_ledger_banner());
	return true;
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx;
	const char *config = NULL;
	char err[1024];
	int i = 1, rc;
	size_t k;

	memset(&ctx, 0, sizeof(ctx));
	cust_config_init(&ctx.cfg);
	while (i < argc && argv[i][0] == '-') {
		const char *o = argv[i];
		if (!strcmp(o, "--read-only")) {
			ctx.read_only = true; i++;
		} else if (!strcmp(o, "--utc")) {	/* times shown as UTC (Z) */
			cust_time_style(1); i++;
		} else if ((!strcmp(o, "--config") || !strcmp(o, "--db")) && i + 1 < argc) {
			if (!strcmp(o, "--config"))
				config = argv[i + 1];
			else
				ctx.db_path = argv[i + 1];
			i += 2;
		} else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--version")) {
			printf("custody %s\n", EVIDENCE_DOCK_VERSION);
			return 0;
		} else {
			cmd_err("unknown or incomplete option '%s'", o);
			usage(stderr);
			return CMD_ERROR;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CMD_ERROR;
	}
	if (sub_help(argc - i, argv + i))
		return 0;
	if (config) {
		if (cust_config_load(config, &ctx.cfg, err, sizeof(err)) < 0) {
			cmd_err("%s", err);
			return CMD_ERROR;
		}
		ctx.have_config = true;
	}
	if (!ctx.db_path && ctx.cfg.ledger_path[0])
		ctx.db_path = ctx.cfg.ledger_path;
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(cmds[k].name, argv[i]))
			continue;
		rc = cmds[k].fn(&ctx, argc - i, argv + i);
		rc = publish_tail(&ctx, rc);
		cust_ledger_close(ctx.ledger);
		return rc;
	}
	cmd_err("unknown command '%s'", argv[i]);
	usage(stderr);
	return CMD_ERROR;
}
