/*
 * dockkey.h - where dockd's private keys live: the dock key ([dock] key)
 * and, for the checkpoint key ([ledger] checkpoint_key), the file check.
 *
 * A key is named either by a file path (PKCS#8 PEM, the simple default)
 * or by an RFC 7512 PKCS#11 URI ("pkcs11:token=...;object=...?module-path=
 * ...&pin-source=file:...", custody/p11key.h, docs/dockd-config.md): then
 * the private key stays in the token and every signature (AUTH_DOCK,
 * release receipts) is made by the token.
 *
 * File keys are checked before use: dockd refuses to start when a private
 * key file is not a regular file, is owned by another user than the one
 * dockd runs as, or grants any permission to group or others (mode more
 * open than 0600).  The message names the file, the cause and the fix.
 *
 * Errors: 0 or a negative errno, reason in err; out untouched on failure.
 */
#ifndef DOCKD_DOCKKEY_H
#define DOCKD_DOCKKEY_H

#include <stddef.h>

#include "edsig.h"

/* -EPERM (with the fix in err) unless path is a regular file owned by the
 * effective user, mode & 077 == 0. what names the key ("dock key"). */
int dockkey_check_file(const char *path, const char *what, char *err, size_t errlen);

/* Open the dock key named by spec (file: checked as above, then loaded). */
int dockkey_open(const char *spec, struct edsig_key **out, char *err, size_t errlen);

/* Create a new dock key at spec: a new 0600 file (-EEXIST if one exists)
 * or a new key pair in the token (-EEXIST if the label is taken). */
int dockkey_create(const char *spec, struct edsig_key **out, char *err, size_t errlen);

/* Undo dockkey_create (its ledger event could not be written): remove
 * the new file or the new pair from the token, then free k. */
int dockkey_discard(const char *spec, struct edsig_key *k);

#endif /* DOCKD_DOCKKEY_H */
