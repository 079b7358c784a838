/* cfgfacts.h - the dock's configuration as ledger events (issue #10:
 * every fact that governs evidence is an event).
 *
 * config_changed (action 47), at every start and on each SIGHUP that
 * changed the file, details (docs/custody-ledger.md):
 *
 *   {"file": PATH, "sha256": HEX(SHA-256 of the file's bytes),
 *    "trigger": "start" | "sighup",
 *    "keys": {"<section>.<key>": first 16 hex of SHA-256 of its value(s)},
 *    "changed": ["<section>.<key>", ...]}
 *
 * "keys" lists every key of the file (several lines of one key are hashed
 * joined by '\n', in file order); "changed" names the keys added, removed
 * or changed since the previous config_changed event in the ledger (all
 * keys when there is none). The values themselves are not recorded (a path
 * or a host is not a secret, but the hash is enough to show a change; the
 * file itself is evidence an operator keeps).
 *
 * Results: 0 or -errno (an unreadable file, the ledger); the caller logs.
 */
#ifndef DOCKD_CFGFACTS_H
#define DOCKD_CFGFACTS_H

#include <stdbool.h>

#include "ledgerw.h"

/* Append config_changed for the file at path unless (on_sighup) its
 * SHA-256 equals the last recorded one. *recorded (may be NULL) = 1 when
 * an event was written. */
int cfgfacts_record(struct ledgerw *w, const char *path, bool on_sighup, int *recorded);

#endif
