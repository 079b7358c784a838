/*
 * checkpoint.h - signed tree heads for the custody ledger, in the C2SP
 * tlog-checkpoint format (c2sp.org/tlog-checkpoint) inside a C2SP signed
 * note (c2sp.org/signed-note) with Ed25519 signatures (type 0x01).
 *
 * A signed checkpoint looks like this (every line ends in '\n'):
 *
 *   evidence-dock.example/precinct-7        <- origin
 *   20852163                                <- tree size, decimal
 *   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=   <- root, base64
 *   [extension lines, optional, non-empty]
 *   <blank line>
 *   — <key name> base64(4-byte key id || 64-byte Ed25519 signature)
 *
 * The signature covers the note text: everything before the blank line,
 * including the final '\n' of the last body line.  The dash is U+2014
 * (bytes e2 80 94).  key id = SHA-256(name || 0x0a || 0x01 || pub)[0:4].
 *
 * Verifier key ("vkey") text, for publishing the public key:
 *   <key name>+<8 lowercase hex digits of key id>+base64(0x01 || pub)
 *
 * Parsing is strict and capped: the note is untrusted input.  Per the
 * signed-note spec, signature lines from unknown keys (name or id not
 * matching a given vkey) are skipped; a known key whose signature fails
 * rejects the whole note; at least one known key must have signed.
 * The module holds no key beyond the caller's `struct edkey` it is
 * handed for signing; verification uses only public vkeys.
 *
 * Errors (negative errno; out-parameters untouched on failure):
 *   -EINVAL       bad arguments (NULL, illegal origin / key name / ext)
 *   -E2BIG        input over a hard cap (note, line, signatures count)
 *   -EBADMSG      malformed note, body, signature line or vkey
 *   -ENOKEY       no signature from any of the given keys
 *   -EKEYREJECTED a signature from a given key does not verify
 *   -ENOSPC       output buffer too small
 *   -ENOMEM / -EIO allocation / OpenSSL failure
 * checkpoint_strerror() turns these into a short English reason.
 *
 * Code: checkpoint.c (the note: format, parse, verify, strict helpers),
 * ckpt_key.c (key ids and vkeys), note_int.h (shared with signote.c,
 * cosig.c, witness_req.c).
 */
#ifndef CUSTODY_CHECKPOINT_H
#define CUSTODY_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "edkey.h"
#include "merkle.h"

#define CKPT_MAX_ORIGIN 255	/* bytes, excluding NUL */
#define CKPT_MAX_NAME   255	/* key name bytes, excluding NUL */
#define CKPT_MAX_EXT    1024	/* all extension lines together */
#define CKPT_MAX_NOTE   65536	/* whole signed note */
#define CKPT_MAX_SIGS   100	/* signature lines per note */
/* vkey text: name '+' 8 hex '+' base64(33 bytes) = 44 chars, plus NUL. */
#define CKPT_MAX_VKEY   (CKPT_MAX_NAME + 1 + 8 + 1 + 44 + 1)
/* Buffer large enough for any checkpoint_format() output with one
 * signature (and NUL). */
#define CKPT_MAX_SIGNED (CKPT_MAX_ORIGIN + 21 + 45 + CKPT_MAX_EXT + 1 + \
			 4 + CKPT_MAX_NAME + 1 + 92 + 1 + 1)

struct checkpoint {
	char origin[CKPT_MAX_ORIGIN + 1];	/* NUL-terminated */
	uint64_t size;				/* tree size */
	merkle_hash root;			/* RFC 6962 root */
	/* "" or extension lines, each ending in '\n', NUL-terminated. */
	char extensions[CKPT_MAX_EXT + 1];
};

/* A trusted Ed25519 verifier key (from a vkey string or an edkey). */
struct ckpt_vkey {
	char name[CKPT_MAX_NAME + 1];
	uint8_t key_id[4];	/* big-endian uint32 as in signature lines */
	uint8_t pub[EDKEY_PUB_LEN];
};

/* Key names accepted by this module: 1..CKPT_MAX_NAME printable ASCII
 * bytes 0x21..0x7e except '+' (stricter than the spec, which allows any
 * UTF-8 without spaces or '+').  Origins: 1..CKPT_MAX_ORIGIN bytes of
 * valid UTF-8 with no control characters.  Returns 1 if valid. */
int ckpt_name_valid(const char *name);
int ckpt_origin_valid(const char *origin);

/* id = SHA-256(name || 0x0a || 0x01 || pub)[0:4]. */
int ckpt_key_id(const char *name, const uint8_t pub[EDKEY_PUB_LEN],
		uint8_t id[4]);

/* Build the vkey for `key` (public part) under `name`. */
int ckpt_vkey_from_edkey(const char *name, const struct edkey *key,
			 struct ckpt_vkey *out);
/* NUL-terminated vkey text into buf (cap >= CKPT_MAX_VKEY is enough). */
int ckpt_vkey_format(const struct ckpt_vkey *v, char *buf, size_t cap);
/* Parse vkey text s[0..len) (no trailing newline or spaces).  Checks the
 * type byte is 0x01, base64 is canonical, and that the key id matches
 * the name and public key (-EBADMSG otherwise). */
int ckpt_vkey_parse(const char *s, size_t len, struct ckpt_vkey *out);

/* The unsigned note text (body) of cp into buf, NUL-terminated; *len
 * (optional) = strlen.  Validates origin and extensions (-EINVAL). */
int checkpoint_body(const struct checkpoint *cp, char *buf, size_t cap,
		    size_t *len);

/* Body, blank line and one signature line by `key` (must hold a private
 * key) under `key_name`.  buf of CKPT_MAX_SIGNED always suffices. */
int checkpoint_format(const struct checkpoint *cp, const char *key_name,
		      const struct edkey *key, char *buf, size_t cap,
		      size_t *len);

/* Parse and verify the signed note note[0..len) (need not be NUL-
 * terminated) against keys[0..n_keys).  On success fills *out and, if
 * signer is not NULL, sets *signer to the index in keys of the first
 * key whose signature verified. */
int checkpoint_parse_verify(const char *note, size_t len,
			    const struct ckpt_vkey *keys, size_t n_keys,
			    struct checkpoint *out, size_t *signer);

/* Static English description of a checkpoint_* / ckpt_* error. */
const char *checkpoint_strerror(int err);

#endif /* CUSTODY_CHECKPOINT_H */
