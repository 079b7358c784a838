/*
 * cmd.h - shared context of the `custody` subcommands.
 *
 * main.c parses the global options (--config FILE, --db PATH,
 * --read-only) into a struct cmd_ctx and calls the subcommand from its
 * dispatch table with the remaining arguments (argv[0] = subcommand name).
 * A subcommand returns the process exit status:
 *   0 success, 1 findings (verify/check-proof) or "not found",
 *   2 usage / configuration / file errors.
 * Messages go to stderr prefixed "custody: ".
 */
#ifndef CUSTODY_CMD_H
#define CUSTODY_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ledger.h"

#define CMD_OK 0
#define CMD_FINDINGS 1
#define CMD_ERROR 2

struct cmd_ctx {
	struct cust_config cfg;		/* from --config (or defaults) */
	bool have_config;
	bool read_only;			/* --read-only, or file not writable */
	const char *db_path;		/* --db, else cfg.ledger_path */
	struct cust_ledger *ledger;	/* set by cmd_open_ledger() */
	uint64_t size_at_open;		/* events then: main() signs what the
					 * command added (no unprotected tail) */
	const char *reason;		/* --reason of a read: the audit event's */
};

typedef int (*cmd_fn)(struct cmd_ctx *ctx, int argc, char **argv);

/* Open the ledger named by ctx (read-only when asked for or when the file
 * is not writable by us). create: make it if absent. Prints the error and
 * returns CMD_ERROR, or 0. */
int cmd_open_ledger(struct cmd_ctx *ctx, bool create);
/* The agency to confine queries to: cfg.agency_id, or NULL if unset. */
const char *cmd_agency(const struct cmd_ctx *ctx);
/* Append the audit event of a read (history/search/proof/verify run) by
 * the OS user, unless the ledger is read-only. 0 or CMD_ERROR. */
int cmd_audit(struct cmd_ctx *ctx, enum cust_action action,
	      const char *evidence_id, const char *what, json_t *details);
/* OS user name of the caller ("uid-N" if unknown). */
void cmd_os_user(char *buf, size_t cap);
/* Print "custody: " + message to stderr. */
void cmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `custody keygen` and `custody witness keygen` (admin.c): options from
 * argv[first]: --key F (new Ed25519 private key) --vkey F (its vkey text,
 * created, never overwritten; also printed) --name N (default `name`).
 * witness: a cosignature (type 0x04) vkey, else a log (0x01) one.  Errors
 * print `usage` or "what: reason" and give CMD_ERROR. */
int cmd_vkey_keygen(int argc, char **argv, int first, const char *name,
		    bool witness, const char *what, const char *usage);

/* Subcommands, one group per file. */
int cmd_init(struct cmd_ctx *ctx, int argc, char **argv);	/* admin.c */
int cmd_keygen(struct cmd_ctx *ctx, int argc, char **argv);	/* admin.c */
int cmd_append(struct cmd_ctx *ctx, int argc, char **argv);	/* admin.c */
int cmd_demo_fill(struct cmd_ctx *ctx, int argc, char **argv);	/* fill.c */
int cmd_history(struct cmd_ctx *ctx, int argc, char **argv);	/* read.c */
int cmd_search(struct cmd_ctx *ctx, int argc, char **argv);	/* read.c */
int cmd_bench(struct cmd_ctx *ctx, int argc, char **argv);	/* read.c */
int cmd_checkpoint(struct cmd_ctx *ctx, int argc, char **argv); /* integrity.c */
int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv);	/* integrity.c */
int cmd_proof(struct cmd_ctx *ctx, int argc, char **argv);	/* integrity.c */
int cmd_check_proof(struct cmd_ctx *ctx, int argc, char **argv);/* integrity.c */
/* tlog-proof files (tlogproof.c): proof ID --tlog-proof DIR; check-proof
 * --agency F --witnesses F [--quorum K] FILE... */
int cmd_proof_tlog(struct cmd_ctx *ctx, const char *id, const char *dir);
int cmd_check_tlog(struct cmd_ctx *ctx, int argc, char **argv);
/* issue 13: court packages (export.c, verifypkg.c; docs/court-package.md) */
int cmd_export(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_verify_package(struct cmd_ctx *ctx, int argc, char **argv);
/* h6: access control */
int cmd_serve(struct cmd_ctx *ctx, int argc, char **argv);	/* serve.c */
int cmd_users(struct cmd_ctx *ctx, int argc, char **argv);	/* users.c */
int cmd_console_totp(struct cmd_ctx *ctx, int argc, char **argv);	/* totp.c */
int cmd_remote(struct cmd_ctx *ctx, int argc, char **argv);	/* remote.c */
int cmd_status(struct cmd_ctx *ctx, int argc, char **argv);	/* status.c */
/* issue 12: metadata edits through the query service (edit.c) */
int cmd_categorize(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_case(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_hold(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_annotate(struct cmd_ctx *ctx, int argc, char **argv);
/* issue 12: retention engine and two-person destruction (edit.c) */
int cmd_due(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_destroy(struct cmd_ctx *ctx, int argc, char **argv);
/* h10: evidence decryption and agency encryption keys */
int cmd_decrypt(struct cmd_ctx *ctx, int argc, char **argv);	/* decrypt.c */
/* The warning `decrypt --no-ledger` prints (and `decrypt --help` shows). */
const char *dec_no_ledger_banner(void);	/* decrypt.c */
int cmd_share(struct cmd_ctx *ctx, int argc, char **argv);	/* share.c */
/* offline export receipts, issue / file (receipt.c) */
int cmd_receipt(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_agency_keygen(struct cmd_ctx *ctx, int argc, char **argv); /* keys.c */
int cmd_agency_keyid(struct cmd_ctx *ctx, int argc, char **argv); /* keys.c */
/* issue 10: witness and auditors' consistency checks */
int cmd_witness(struct cmd_ctx *ctx, int argc, char **argv);	/* witness.c */
int cmd_audit_log(struct cmd_ctx *ctx, int argc, char **argv);	/* audit.c */
int cmd_consistency_proof(struct cmd_ctx *ctx, int argc, char **argv); /* audit.c */
/* agency trust root: statements signed at the agency (docs/trust.md) */
int cmd_agency_vkey(struct cmd_ctx *ctx, int argc, char **argv); /* agency.c */
int cmd_agency_sign(struct cmd_ctx *ctx, int argc, char **argv); /* agency.c */
int cmd_agency_check(struct cmd_ctx *ctx, int argc, char **argv); /* agency_check.c */
/* Before signing checkpoints with s: check and record [ledger]
 * custody_cert / witness_policy (custody/agencyrec.h); 0 or CMD_ERROR
 * (printed; do not sign). Skipped on a read-only ledger. agency_rec.c */
struct cust_signer;
struct cust_trust_status;
int cmd_trust(struct cmd_ctx *ctx, const struct cust_signer *s);
/* cust_signer_load() of ctx->cfg followed by cmd_trust() (with the ledger
 * already open): every command that signs checkpoints loads its signer
 * this way. 0 or -errno with a reason in err (signer freed). */
int cmd_signer_load(struct cmd_ctx *ctx, struct cust_signer *s, char *err, size_t errlen);
/* Warn (stderr + [alert] command) when the certificate in st expires
 * within CUST_CERT_WARN_DAYS or has expired. agency_rec.c */
void cmd_cert_warn(struct cmd_ctx *ctx, const struct cust_trust_status *st);
/* history/search through the query service when the caller cannot read
 * the ledger file and a socket is configured (or --socket is given):
 * returns 1 with *rc = exit status if it handled the command, else 0
 * (go on locally). remote.c */
int cmd_route_remote(struct cmd_ctx *ctx, const char *op, int argc,
		     char **argv, int *rc);

#endif /* CUSTODY_CMD_H */
