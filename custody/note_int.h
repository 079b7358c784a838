/*
 * note_int.h - the C2SP signed-note layer of checkpoint.c, shared with
 * signote.c so that checkpoints and other signed notes go through one
 * strict parser.  Internal to custody/: use checkpoint.h or signote.h.
 */
#ifndef CUSTODY_NOTE_INT_H
#define CUSTODY_NOTE_INT_H

#include <stddef.h>

#include "checkpoint.h"

/* 1 if p[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * > U+10FFFF) without control characters other than '\n'. */
int ckpt_note_text_ok(const char *p, size_t len);

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
