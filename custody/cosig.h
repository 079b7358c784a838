/*
 * cosig.h - C2SP tlog-cosignature/v1 witness cosignatures (Ed25519,
 * signature type 0x04, timestamped), c2sp.org/tlog-cosignature.
 *
 * A cosignature is one more signed-note signature line appended to a
 * checkpoint (see checkpoint.h):
 *
 *   — <witness name> base64(key id[4] || timestamp[8] || ed25519 sig[64])
 *
 *   key id    = SHA-256(name || 0x0a || 0x04 || pub)[0:4]
 *   timestamp = big-endian uint64, POSIX seconds, at most 2^63 - 1
 *   signed    = "cosignature/v1\n" "time " <decimal timestamp> "\n"
 *               || the checkpoint's note text (every body line, each
 *                  with its '\n'; no signature line, no blank line)
 *
 * The decimal timestamp has no leading zeroes.  The base64 is standard
 * RFC 4648 with padding (104 characters for the 76 bytes).  Because the
 * Ed25519 message does not name the witness, a witness key must serve one
 * witness name only (spec).
 *
 * Witness verifier key ("vkey") text:
 *   <name>+<8 lowercase hex digits of key id>+base64(0x04 || pub)
 * It is held in a `struct ckpt_vkey` (checkpoint.h) whose key_id is the
 * type-0x04 id; never pass such a key to checkpoint_parse_verify() as a
 * log key, or a 0x01 vkey here (the ids differ, so it would not match).
 *
 * A checkpoint carrying cosignature lines stays a valid signed note:
 * checkpoint_parse_verify() skips lines whose name/id are not among its
 * (type 0x01) keys.
 *
 * Errors (negative errno; out-parameters untouched on failure):
 *   -EINVAL       bad arguments (NULL, bad name, timestamp > 2^63-1)
 *   -E2BIG        input over a hard cap
 *   -EBADMSG      malformed line, vkey or note
 *   -ENOKEY       the line is not from any of the given witness keys
 *   -EKEYREJECTED a given witness key's signature does not verify
 *   -ENOSPC       output buffer too small
 *   -ENOMEM / -EIO allocation / OpenSSL failure
 * checkpoint_strerror() describes these too.
 */
#ifndef CUSTODY_COSIG_H
#define CUSTODY_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "edkey.h"

#define COSIG_SIG_TYPE   0x04
#define COSIG_MAX_TIME   INT64_MAX	/* spec: MUST NOT exceed 2^63 - 1 */
/* "— " name ' ' 104 base64 '\n' NUL */
#define COSIG_B64_LEN    104
#define COSIG_MAX_LINE   (4 + CKPT_MAX_NAME + 1 + COSIG_B64_LEN + 1 + 1)

/* id = SHA-256(name || 0x0a || 0x04 || pub)[0:4]. */
int cosig_key_id(const char *name, const uint8_t pub[EDKEY_PUB_LEN],
		 uint8_t id[4]);

/* The witness vkey for `key` (public part) under `name`. */
int cosig_vkey_from_edkey(const char *name, const struct edkey *key,
			  struct ckpt_vkey *out);
/* NUL-terminated vkey text (cap >= CKPT_MAX_VKEY is enough). */
int cosig_vkey_format(const struct ckpt_vkey *v, char *buf, size_t cap);
/* Parse s[0..len) (no newline).  Type byte must be 0x04, base64
 * canonical, key id consistent with name and key (-EBADMSG). */
int cosig_vkey_parse(const char *s, size_t len, struct ckpt_vkey *out);

/*
 * Cosign the note text text[0..text_len) (must end in '\n', no blank
 * line) with `k` (private) as witness `name` at `timestamp`.  Writes the
 * signature line, ending in '\n' and NUL-terminated, into line[0..cap)
 * (COSIG_MAX_LINE suffices); *line_len (optional) = strlen(line).
 */
int cosig_sign(const struct edkey *k, const char *name, const char *text,
	       size_t text_len, uint64_t timestamp, char *line, size_t cap,
	       size_t *line_len);

/*
 * Verify one signature line line[0..line_len) (a trailing '\n' is
 * allowed) over the note text text[0..text_len) against the witness keys
 * keys[0..n).  On success *which (optional) is the index of the key and
 * *timestamp (optional) the signed time.  -ENOKEY if the line's name and
 * key id match no given key (spec: ignore such lines).
 */
int cosig_verify(const char *text, size_t text_len, const char *line,
		 size_t line_len, const struct ckpt_vkey *keys, size_t n,
		 size_t *which, uint64_t *timestamp);

/*
 * Length of the note text of the signed note note[0..len): the bytes up
 * to and including the '\n' before the last blank line (-EBADMSG if
 * none).  *sigs is set to the offset of the first signature line.
 */
int cosig_note_text(const char *note, size_t len, size_t *text_len,
		    size_t *sigs);

/*
 * Check every signature line of the signed note note[0..len) against the
 * witness keys keys[0..n): ok[i] (n entries, may be NULL) set to 1 for
 * each key with a valid cosignature, *count = number of such distinct
 * keys, *oldest (optional) = smallest valid timestamp (0 if none).  Lines
 * from unknown keys are skipped; a known key whose signature fails, or
 * signs twice, fails the whole call (-EKEYREJECTED / -EBADMSG), as the
 * signed-note spec requires.  The log's own signature is not checked
 * here: use checkpoint_parse_verify() for that.
 */
int cosig_note_check(const char *note, size_t len,
		     const struct ckpt_vkey *keys, size_t n, uint8_t *ok,
		     size_t *count, uint64_t *oldest);

#endif /* CUSTODY_COSIG_H */
