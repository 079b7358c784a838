/*
 * admin.c - `custody init`, `custody keygen`, `custody append` (an
 * admin/test tool: each use is itself recorded as privileged_action).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cosig.h"
#include "keyspec.h"
#include "publish.h"

int cmd_init(struct cmd_ctx *ctx, int argc, char **argv)
{
	uint64_t n = 0;
	int r;

	if (argc != 1) {
		cmd_err("usage: custody [--db PATH | --config FILE] init");
		return CMD_ERROR;
	}
	if (ctx->db_path && access(ctx->db_path, F_OK) == 0) {
		cmd_err("%s: exists already", ctx->db_path);
		return CMD_ERROR;
	}
	if ((r = cmd_open_ledger(ctx, true)))
		return r;
	if (cust_ledger_size(ctx->ledger, &n) == 0 && n == 0 &&
	    cmd_audit(ctx, CUST_A_LEDGER_CREATED, NULL, "init", NULL))
		return CMD_ERROR;
	printf("created %s\n", ctx->db_path);
	return CMD_OK;
}

int cmd_vkey_keygen(int argc, char **argv, int first, const char *name,
		    bool witness, const char *what, const char *usage)
{
	const char *key = NULL, *vk = NULL;
	struct edkey *k = NULL;
	struct ckpt_vkey v;
	char text[CKPT_MAX_VKEY], err[600] = "";
	FILE *f;
	int i, r, e;

	for (i = first; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--key")) key = argv[i + 1];
		else if (!strcmp(argv[i], "--vkey")) vk = argv[i + 1];
		else if (!strcmp(argv[i], "--name")) name = argv[i + 1];
		else break;
	}
	if (i != argc || !key || !vk || !name || !ckpt_name_valid(name)) {
		cmd_err("%s", usage);
		return CMD_ERROR;
	}
	/* Before the key exists: a refusal must leave no key without its vkey
	 * (a rerun would then refuse the key too). */
	e = access(vk, F_OK) == 0 ? EEXIST : errno;
	if (e != ENOENT) {
		cmd_err("%s: %s: %s; refusing to overwrite it, no key was made; fix: choose "
			"another --vkey path or remove the old file if it is not in use", what, vk,
			e == EEXIST ? "the vkey file exists already" : strerror(e));
		return CMD_ERROR;
	}
	/* --key is a new PEM file or a PKCS#11 URI (keyspec.h) */
	if ((r = keyspec_create(key, witness ? "witness key" : "checkpoint key", &k, err,
				sizeof(err)))) {
		cmd_err("%s: %s", what, err);
		return CMD_ERROR;
	}
	if ((r = witness ? cosig_vkey_from_edkey(name, k, &v)
			 : ckpt_vkey_from_edkey(name, k, &v)) ||
	    (r = witness ? cosig_vkey_format(&v, text, sizeof(text))
			 : ckpt_vkey_format(&v, text, sizeof(text)))) {
		cmd_err("%s: %s", what, strerror(-r));
		edkey_free(k);
		return CMD_ERROR;
	}
	edkey_free(k);
	if (!(f = fopen(vk, "wx")) || fprintf(f, "%s\n", text) < 0 || fclose(f)) {
		cmd_err("%s: %s: %s (the key %s was made: remove it before a rerun)", what, vk,
			strerror(errno), key);
		return CMD_ERROR;
	}
	printf("%s\n", text);
	return CMD_OK;
}

int cmd_keygen(struct cmd_ctx *ctx, int argc, char **argv)
{
	return cmd_vkey_keygen(argc, argv, 1, ctx->cfg.checkpoint_origin, false,
			       "keygen", "usage: custody keygen --key PRIVATE.pem|PKCS11-URI "
			       "--vkey PUBLIC.vkey [--name ORIGIN] (name defaults "
			       "to [ledger] checkpoint_origin)");
}

static int set_field(struct cust_event *ev, const char *o, const char *v)
{
	json_t *j;
	int r;

	if (!strcmp(o, "--action")) return cust_action_parse(v, &ev->action);
	if (!strcmp(o, "--actor-kind")) return cust_actor_parse(v, &ev->actor_kind);
	if (!strcmp(o, "--outcome")) return cust_outcome_parse(v, &ev->outcome);
	if (!strcmp(o, "--actor-id")) return cust_event_set_text(ev->actor_id, sizeof(ev->actor_id), v);
	if (!strcmp(o, "--evidence")) return cust_event_set_text(ev->evidence_id, sizeof(ev->evidence_id), v);
	if (!strcmp(o, "--reason")) return cust_event_set_text(ev->reason, sizeof(ev->reason), v);
	if (!strcmp(o, "--case")) return cust_event_set_text(ev->case_no, sizeof(ev->case_no), v);
	if (!strcmp(o, "--agency")) return cust_event_set_text(ev->agency_id, sizeof(ev->agency_id), v);
	if (!strcmp(o, "--details")) {
		if (!(j = json_loads(v, JSON_REJECT_DUPLICATES, NULL)))
			return -EINVAL;
		r = cust_event_set_details(ev, j);
		json_decref(j);
		return r;
	}
	return -ENOENT;
}

/* custody append --action A --actor-kind K --actor-id ID [--evidence ID]
 *   [--outcome O] [--reason R] [--case C] [--details JSON] [--agency A] */
int cmd_append(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cust_event ev[2];
	char user[CUST_ACTOR_ID_MAX + 1], why[256];
	const char *agency = cmd_agency(ctx) ? cmd_agency(ctx) : "local";
	int i, r;

	cmd_os_user(user, sizeof(user));
	cust_event_init(&ev[0], agency, CUST_ACTOR_CLERK, user, CUST_A_PRIVILEGED,
			NULL, CUST_OUTCOME_OK);
	cust_event_init(&ev[1], agency, CUST_ACTOR_SYSTEM, user, 0, NULL, CUST_OUTCOME_OK);
	for (i = 1; i < argc; i += 2) {
		r = i + 1 < argc ? set_field(&ev[1], argv[i], argv[i + 1]) : -ENOENT;
		if (r) {
			cmd_err("append: %s '%s'", r == -ENOENT ? "unknown or incomplete option" :
				"bad value for", argv[i]);
			return CMD_ERROR;
		}
	}
	if (cust_event_validate(&ev[1], why, sizeof(why))) {
		cmd_err("append: %s", why);
		return CMD_ERROR;
	}
	{
		json_t *d = json_pack("{s:s, s:s, s:i}", "command", "append", "action",
				      cust_action_name(ev[1].action), "uid", (int)getuid());
		r = cust_event_set_details(&ev[0], d);
		json_decref(d);
	}
	if (r || (r = cmd_open_ledger(ctx, false)))
		return CMD_ERROR;
	if ((r = cust_ledger_append_batch(ctx->ledger, ev, 2))) {
		cmd_err("append: %s (%s)", strerror(-r), cust_ledger_errmsg(ctx->ledger));
		return CMD_ERROR;
	}
	printf("%llu\n", (unsigned long long)ev[1].seq);
	return CMD_OK;
}
