/*
 * users.c - `custody user`: the user -> role mapping (users.h).
 *
 *   custody [--config F] [--db P] user [--socket PATH] [--json] CMD ...
 *     add NAME --role ROLE --agency AGENCY [--reason R]
 *     remove NAME [--reason R]
 *     set-role NAME --role ROLE [--reason R]
 *     list [--agency AGENCY]
 *
 * Two routes:
 *  - local: the caller can write the ledger file (the service account or
 *    root). No role check - the file permissions are the authority; the
 *    event's actor is "local:<os user>" (kind system). This is how the
 *    first admin is created (bootstrap).
 *  - service: with --socket, or when [query] socket is set and the ledger
 *    file is not readable: the request goes to the query service, which
 *    allows it only to an admin of the same agency (access.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "qclient.h"
#include "qcmd.h"
#include "users.h"

struct uargs {
	const char *sub, *name, *role, *agency, *reason;
};

static int parse(int argc, char **argv, struct uargs *a)
{
	a->sub = argv[0];
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (!strcmp(argv[i], "--role"))
			slot = &a->role;
		else if (!strcmp(argv[i], "--agency"))
			slot = &a->agency;
		else if (!strcmp(argv[i], "--reason"))
			slot = &a->reason;
		if (slot) {
			if (i + 1 >= argc) {
				cmd_err("user %s: %s needs a value", a->sub,
					argv[i]);
				return CMD_ERROR;
			}
			*slot = argv[++i];
		} else if (argv[i][0] != '-' && !a->name) {
			a->name = argv[i];
		} else {
			cmd_err("user %s: unexpected argument '%s'", a->sub,
				argv[i]);
			return CMD_ERROR;
		}
	}
	if (strcmp(a->sub, "list") && !a->name) {
		cmd_err("user %s: NAME missing", a->sub);
		return CMD_ERROR;
	}
	return 0;
}

static int remote(const char *socket, const struct uargs *a, int as_json)
{
	json_t *req;
	int rc;

	if (!strcmp(a->sub, "list"))
		req = json_pack("{s:s, s:s*}", "op", "user-list",
				"agency", a->agency);
	else
		req = json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:s*}",
				"op", "user-admin", "action", a->sub,
				"user", a->name, "role", a->role,
				"agency", a->agency, "reason", a->reason);
	if (!req) {
		cmd_err("user %s: bad argument (not UTF-8?)", a->sub);
		return CMD_ERROR;
	}
	rc = cmd_qcall(socket, req, !strcmp(a->sub, "list") ? "user-list" :
		       "user-admin", as_json);
	json_decref(req);
	return rc;
}

static int local_list(struct cmd_ctx *ctx, const struct uargs *a,
		      int as_json)
{
	json_t *res = NULL, *wrap;
	int rc = users_list(ctx->ledger, a->agency, &res);

	if (rc < 0) {
		cmd_err("user list: %s", strerror(-rc));
		return CMD_ERROR;
	}
	wrap = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	rc = wrap ? qclient_print(wrap, "user-list", stdout, as_json) :
	     CMD_ERROR;
	json_decref(wrap);
	return rc;
}

static int local_change(struct cmd_ctx *ctx, const struct uargs *a)
{
	char os[CUST_ACTOR_ID_MAX - 8], actor[CUST_ACTOR_ID_MAX];
	struct users_actor who;
	enum custody_role role = CUSTODY_ROLE_NONE;
	uint64_t seq = 0;
	int rc;

	if (strcmp(a->sub, "remove") &&
	    (!a->role || access_role_parse(a->role, &role) < 0)) {
		cmd_err("user %s: --role clerk|supervisor|auditor|admin needed",
			a->sub);
		return CMD_ERROR;
	}
	cmd_os_user(os, sizeof(os));
	snprintf(actor, sizeof(actor), "local:%s", os);
	who = (struct users_actor){ CUST_ACTOR_SYSTEM, actor, (long)getuid(),
				    a->reason };
	if (!strcmp(a->sub, "add"))
		rc = users_add(ctx->ledger, &who, a->name, role, a->agency,
			       &seq);
	else if (!strcmp(a->sub, "remove"))
		rc = users_remove(ctx->ledger, &who, a->name, &seq);
	else
		rc = users_set_role(ctx->ledger, &who, a->name, role, &seq);
	if (rc < 0) {
		cmd_err("user %s %s: %s", a->sub, a->name,
			rc == -EEXIST ? "already a user" :
			rc == -ENOENT ? "no such user" :
			rc == -EINVAL ? "bad name, role or agency (--agency "
					"needed for add)" :
			rc == -EROFS ? "ledger is read-only" : strerror(-rc));
		return CMD_ERROR;
	}
	printf("user %s %s: recorded as event %llu\n", a->sub, a->name,
	       (unsigned long long)seq);
	return 0;
}

int cmd_users(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct qconfig qc;
	struct uargs a;
	const char *socket = NULL;
	int as_json = 0, i = 1, rc;

	if ((rc = cmd_qconfig(ctx, &qc)))
		return rc;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--json")) {
			as_json = 1;
			i++;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			socket = argv[i + 1];
			i += 2;
		} else {
			break;
		}
	}
	memset(&a, 0, sizeof(a));
	if (i >= argc || (strcmp(argv[i], "add") && strcmp(argv[i], "remove")
			  && strcmp(argv[i], "set-role") &&
			  strcmp(argv[i], "list"))) {
		cmd_err("usage: custody user [--socket PATH] [--json] "
			"add|remove|set-role|list ...");
		return CMD_ERROR;
	}
	if ((rc = parse(argc - i, argv + i, &a)))
		return rc;
	if (qclient_should_use(socket, qc.socket, ctx->db_path))
		return remote(socket ? socket : qc.socket, &a, as_json);
	if ((rc = cmd_open_ledger(ctx, false)))
		return rc;
	if (!strcmp(a.sub, "list"))
		return local_list(ctx, &a, as_json);
	return local_change(ctx, &a);
}
