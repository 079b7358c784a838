/* admin_int.h - helpers shared by dockd's admin subcommands (admin.c,
 * admin_keys.c); not an API for anything else. */
#ifndef DOCKD_ADMIN_INT_H
#define DOCKD_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ledger.h"
#include "wire.h"

#define ADMIN_OK 0
#define ADMIN_FAIL 1
#define ADMIN_USAGE 2

/* What an admin command works with: both parts of the configuration
 * file, the ledger and who is acting. */
struct admin_env {
	const char *cmd; /* subcommand name, for messages */
	struct dock_config dc;
	char ledger_path[DOCK_CONFIG_PATH_MAX];
	struct cust_ledger *l;
	char actor[CUST_ACTOR_ID_MAX + 1];
	const char *config;	/* the config file given */
	uint64_t size_at_open;	/* admin_close() signs what was added since */
};

/* Print "dockd CMD: message" to stderr. */
void admin_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Load config (required: exit 2 without it), compute the actor, switch to
 * the state directory's owner when run as root, then open the
 * ledger (created if absent when `write`, with its ledger_created event;
 * read-only otherwise). Returns an exit status; on non-zero the message was
 * printed and nothing needs closing. */
int admin_open(struct admin_env *e, const char *cmd, const char *config, bool write);
/* Close the ledger; first, when the command appended events, sign a
 * checkpoint covering them (no unprotected tail; without the checkpoint
 * key a note on stderr says they stay in the unsigned tail). */
void admin_close(struct admin_env *e);

/* The acting OS user, "user:<name>(<uid>)" (see admin.h). */
void admin_actor(char *buf, size_t cap);

/* When running as root, become the owner (uid and gid) of dir. 0 when
 * nothing had to be done or it worked; -errno otherwise. */
int admin_become_owner(const char *dir);

/* A 32-byte Ed25519 public key from 64 hex digits, or from a file holding
 * either a PEM public key (as camsim's device.pub) or the hex on one line.
 * Exactly one of hex and file is non-NULL. Message in why on failure. */
int admin_read_pubkey(const char *hex, const char *file, uint8_t out[PROTO_PUBKEY_LEN],
		      char *why, size_t whylen);

#endif
