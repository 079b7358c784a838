/*
 * note_int.h - the C2SP signed-note layer of checkpoint.c and ckpt_key.c,
 * shared with signote.c, cosig.c and witness_req.c so that checkpoints,
 * other signed notes, witness keys and witness requests go through one
 * strict parser.
 * Internal to custody/: use checkpoint.h, signote.h, cosig.h or witness.h.
 */
#ifndef CUSTODY_NOTE_INT_H
#define CUSTODY_NOTE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

/* ckpt_key_id, ckpt_vkey_from_edkey, ckpt_vkey_format and ckpt_vkey_parse
 * (checkpoint.h) for any Ed25519-based signature type: `type` is the
 * signature-type byte in the key id hash and the vkey's key bytes (0x01
 * for log keys, COSIG_SIG_TYPE 0x04 for witness keys).  Same errors. */
int ckpt_note_key_id(const char *name, uint8_t type,
		     const uint8_t pub[EDKEY_PUB_LEN], uint8_t id[4]);
int ckpt_note_vkey_from_edkey(const char *name, uint8_t type,
			      const struct edkey *key, struct ckpt_vkey *out);
int ckpt_note_vkey_format(const struct ckpt_vkey *v, uint8_t type, char *buf,
			  size_t cap);
int ckpt_note_vkey_parse(const char *s, size_t len, uint8_t type,
			 struct ckpt_vkey *out);

/* NUL-terminated base64 of in[0..n) into out (cap >= 4 * ((n + 2) / 3)
 * + 1).  (checkpoint.c; vkeys in ckpt_key.c.) */
void ckpt_note_b64_encode(const uint8_t *in, size_t n, char *out);

/* Strict RFC 4648 section 4 base64 of s[0..len) (at most 8192
 * characters; canonical, padding only at the end) into out[0..cap),
 * *outlen = its length; else -EBADMSG (or -ENOMEM). */
int ckpt_note_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap,
			 size_t *outlen);

/* 1 if p[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * > U+10FFFF) without control characters other than '\n'. */
int ckpt_note_text_ok(const char *p, size_t len);

/* A tree size line: decimal, no leading zero unless "0", at most
 * MERKLE_MAX_SIZE; else -EBADMSG.  (Checkpoints, witness requests.) */
int ckpt_note_parse_size(const char *s, size_t n, uint64_t *out);

/* A hash line: canonical padded base64 (RFC 4648 section 4) of exactly
 * MERKLE_HASH_LEN bytes, 44 characters; else -EBADMSG.  Allocates
 * nothing.  (Checkpoint roots, witness request proof hashes.) */
int ckpt_note_hash_b64(const char *s, size_t len, merkle_hash out);

/* Checks the whole note (cap CKPT_MAX_NOTE: -E2BIG; n_keys 0: -ENOKEY;
 * ends in '\n', valid UTF-8, no control character but '\n', has an empty
 * line that is not its first line: else -EBADMSG) and points *sep at the
 * '\n' that ends the text: the signed text is note[0 .. *sep - note + 1),
 * the signature lines start at *sep + 2. */
int ckpt_note_split(const char *note, size_t len, size_t n_keys,
		    const char **sep);

/* Verify the signature lines [p, end) over text[0..text_len) against
 * keys (unknown keys skipped, a known key twice or failing rejects, at
 * least one known key needed); *signer = first verifying key's index. */
int ckpt_note_verify_sigs(const char *p, const char *end, const char *text,
			  size_t text_len, const struct ckpt_vkey *keys,
			  size_t n_keys, size_t *signer);

/* The blank line and one signature line ("\n— name b64\n") over
 * text[0..tlen) into out (NUL-terminated), *n = its length. */
int ckpt_note_sigline(const char *key_name, const struct edkey *key,
		      const char *text, size_t tlen, char *out, size_t cap,
		      size_t *n);

#endif
