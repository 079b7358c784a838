/*
 * signote.h - C2SP signed notes (c2sp.org/signed-note) with Ed25519
 * signatures (type 0x01) over an arbitrary text: the layer under
 * checkpoints, for the agency's statements (custody certificate,
 * recipient policy, witness policy; see agencynote.h, docs/trust.md).
 *
 * A signed note (every line ends in '\n'):
 *
 *   <text: one or more non-empty lines>
 *   <blank line>
 *   — <key name> base64(4-byte key id || 64-byte Ed25519 signature)
 *   [more signature lines]
 *
 * The signature covers the text including the '\n' of its last line
 * (not the blank line).  The dash is U+2014 (bytes e2 80 94).  Key id =
 * SHA-256(name || 0x0a || 0x01 || pub)[0:4]; keys are `struct ckpt_vkey`
 * (vkey text "<name>+<8 hex id>+base64(0x01 || pub)", see checkpoint.h).
 *
 * Texts accepted (for signing and on verify): 1..SIGNOTE_MAX_TEXT bytes,
 * valid UTF-8, no control character other than '\n', ending in '\n',
 * with no empty line (so the separator is unambiguous).
 *
 * Verification is exactly checkpoint_parse_verify's (the same code, in
 * checkpoint.c): whole note <= CKPT_MAX_NOTE, <= CKPT_MAX_SIGS signature
 * lines, strict canonical base64, signature lines by unknown keys (name
 * or id not among the given vkeys) skipped, a given key that signed
 * twice or whose signature fails rejects the whole note, and at least
 * one given key must have signed.
 *
 * Errors (negative errno; out-parameters untouched on failure):
 *   -EINVAL       bad arguments, or a text that breaks the rules above
 *   -E2BIG        over a cap
 *   -EBADMSG      malformed note or signature line
 *   -ENOKEY       no signature by any given key (or no key given)
 *   -EKEYREJECTED a given key's signature does not verify
 *   -ENOSPC       output buffer too small
 *   -ENOMEM / -EIO allocation / OpenSSL failure
 * checkpoint_strerror() describes them.
 */
#ifndef CUSTODY_SIGNOTE_H
#define CUSTODY_SIGNOTE_H

#include <stddef.h>

#include "checkpoint.h"
#include "edkey.h"

/* Text cap: leaves room for a few signature lines under CKPT_MAX_NOTE. */
#define SIGNOTE_MAX_TEXT (CKPT_MAX_NOTE - 4096)
/* One signature line with the longest key name, plus the blank line. */
#define SIGNOTE_MAX_SIGLINE (1 + 4 + CKPT_MAX_NAME + 1 + 92 + 1)

/* 1 if text[0..len) is a valid note text (rules above), else 0. */
int signote_text_valid(const char *text, size_t len);

/* text, blank line, one signature by `key` (private) under key_name into
 * buf, NUL-terminated; *out_len (optional) = strlen.  A cap of
 * len + SIGNOTE_MAX_SIGLINE + 1 always suffices.  On failure buf holds
 * "" (an unsigned text is never handed out). */
int signote_sign(const char *text, size_t len, const char *key_name,
		 const struct edkey *key, char *buf, size_t cap,
		 size_t *out_len);

/* Verify note[0..len) (need not be NUL-terminated) against
 * keys[0..n_keys).  On success *text_len = length of the signed text
 * (note[0..*text_len), ending in '\n', obeying the text rules) and, if
 * signer is not NULL, *signer = index of the first key that verified. */
int signote_verify(const char *note, size_t len,
		   const struct ckpt_vkey *keys, size_t n_keys,
		   size_t *text_len, size_t *signer);

#endif /* CUSTODY_SIGNOTE_H */
