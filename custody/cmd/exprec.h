/*
 * exprec.h - where `custody export`, `share` and `decrypt` record the
 * evidence that leaves (docs/custody-access.md "Exports from a
 * workstation"). Internal to the custody command.
 *
 *   direct   the caller can write the dock's ledger (on the dock, as the
 *            service account): the command appends its own event, as
 *            before;
 *   remote   --socket PATH, or [query] socket configured and the ledger
 *            file not writable by the caller (a workstation with a
 *            read-only ledger copy): the event is written by the dock's
 *            query service ("op":"export") BEFORE any output byte; a
 *            refusal or an unreachable dock means no output;
 *   offline  --offline --receipt-key WS.key --receipts WS.range: no dock;
 *            a signed receipt (custody/receipt.h) under the next unused
 *            number of the range is written and fsync'ed before the
 *            output, to be filed back with `custody receipt file`.
 * In remote and offline mode the local ledger (a copy) is opened
 * read-only and never written.
 */
#ifndef CUSTODY_CMD_EXPREC_H
#define CUSTODY_CMD_EXPREC_H

#include <jansson.h>

#include "cmd.h"

enum exprec_mode { EXPREC_DIRECT = 0, EXPREC_REMOTE, EXPREC_OFFLINE };

struct exprec_opts {
	const char *socket;		/* --socket */
	int offline;			/* --offline */
	const char *receipt_key;	/* --receipt-key: workstation Ed25519 key */
	const char *receipts;		/* --receipts: range file (receipt issue) */
	const char *on_behalf;		/* --on-behalf USER (remote only): the web
					 * console asking for its logged-in user;
					 * the service accepts it only from its
					 * console_account (docs/console.md) */
	enum exprec_mode mode;		/* set by exprec_begin */
	char sock[108];			/* the socket used in remote mode */
};

/* One thing that leaves. details: the keys of the direct event (only the
 * string members the wire allows are sent; borrowed). */
struct exprec {
	const char *command;		/* "export" | "share" | "decrypt" */
	const char *item, *agency, *reason, *case_no;
	const char *sha256;		/* for the receipt: what left */
	const char *output;		/* the output file's path */
	const char *rkey, *until;	/* share only (may be NULL) */
	json_t *details;
};

/* If argv[*i] is one of the options above, consume it (and its value) and
 * return 1; 0 when it is not ours; CMD_ERROR (<0 never) when it lacks
 * its value (message printed) - returned as -1. */
int exprec_opt(struct exprec_opts *o, int argc, char **argv, int *i);

/* Choose the mode (o->mode) and open the ledger: read-only in remote and
 * offline mode; in direct mode a read-only ledger is refused with a
 * message that names the other modes. 0 or a CMD_* status. */
int exprec_begin(struct cmd_ctx *ctx, struct exprec_opts *o);

/* Record e (error NULL: before any output; else the failure that
 * followed, sent to the dock in remote mode, nothing in offline mode).
 * Remote: dock_sha (65 bytes, may be NULL) gets the dock's SHA-256 of
 * the item. Offline: receipt_path (may be NULL, cap 1024) gets the
 * receipt written. 0 or a CMD_* status (message printed): nothing may be
 * written then. */
int exprec_record(struct cmd_ctx *ctx, struct exprec_opts *o,
		  const struct exprec *e, const char *error, char *dock_sha,
		  char *receipt_path);

#endif
