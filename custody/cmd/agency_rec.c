/*
 * agency_rec.c - the CLI side of custody/agencyrec.h: a `custody`
 * command that signs checkpoints checks [ledger] custody_cert and
 * witness_policy first (refusing to sign on failure), records them once,
 * and warns - on stderr and through the [alert] command - about a
 * certificate that expired or expires within CUST_CERT_WARN_DAYS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agencyrec.h"
#include "alert.h"
#include "cmd.h"
#include "qcmd.h"

void cmd_cert_warn(struct cmd_ctx *ctx, const struct cust_trust_status *st)
{
	struct qconfig qc;
	struct alert_config ac = { NULL, 0 };
	char user[64], detail[160];

	if (!st->have_cert || st->days_left >= CUST_CERT_WARN_DAYS)
		return;
	snprintf(detail, sizeof(detail), "agency custody certificate of %s %s %lld day(s): "
		 "renew it", st->cert.dock, st->days_left < 0 ? "expired" : "expires in",
		 (long long)(st->days_left < 0 ? -st->days_left : st->days_left));
	cmd_err("WARNING: %s", detail);
	if (ctx->have_config && cmd_qconfig(ctx, &qc) == 0) {
		ac.command = qc.alert_command;
		ac.timeout_ms = qc.alert_timeout_ms;
	}
	cmd_os_user(user, sizeof(user));
	alert_raise(&ac, &(struct alert){ .kind = "custody-cert", .user = user,
		    .uid = (long)getuid(), .agency = st->cert.agency, .op = "custody",
		    .target = st->cert.dock, .detail = detail });
}

int cmd_signer_load(struct cmd_ctx *ctx, struct cust_signer *s, char *err, size_t errlen)
{
	int r = cust_signer_load(&ctx->cfg, s, err, errlen);

	if (r)
		return r;
	if (cmd_trust(ctx, s)) {
		cust_signer_free(s);
		snprintf(err, errlen, "the agency's custody certificate does not allow this "
			 "key to sign (above)");
		return -EKEYREJECTED;
	}
	return 0;
}

int cmd_trust(struct cmd_ctx *ctx, const struct cust_signer *s)
{
	struct cust_trust_status st;
	char err[768], user[CUST_ACTOR_ID_MAX + 1];

	if (!ctx->ledger || ctx->read_only)
		return 0;
	cmd_os_user(user, sizeof(user));
	if (cust_trust_apply(ctx->ledger, &ctx->cfg, s, NULL, NULL, CUST_ACTOR_CLERK, user,
			     (int64_t)time(NULL), &st, err, sizeof(err))) {
		cmd_err("%s; refusing to sign checkpoints", err);
		return CMD_ERROR;
	}
	cmd_cert_warn(ctx, &st);
	return 0;
}
