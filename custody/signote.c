/*
 * signote.c - C2SP signed notes over an arbitrary text (see signote.h).
 * The note grammar and the signature checks are checkpoint.c's
 * (note_int.h); this file only adds the text rules for non-checkpoint
 * bodies.
 */
#define _GNU_SOURCE	/* memmem */
#include "signote.h"

#include <errno.h>
#include <string.h>

#include "note_int.h"

int signote_text_valid(const char *text, size_t len)
{
	return text && len > 0 && len <= SIGNOTE_MAX_TEXT &&
	       text[0] != '\n' && text[len - 1] == '\n' &&
	       !memmem(text, len, "\n\n", 2) && ckpt_note_text_ok(text, len);
}

int signote_sign(const char *text, size_t len, const char *key_name,
		 const struct edkey *key, char *buf, size_t cap,
		 size_t *out_len)
{
	size_t n;
	int rc;

	if (!buf || !key)
		return -EINVAL;
	if (!signote_text_valid(text, len) || !ckpt_name_valid(key_name)) {
		rc = -EINVAL;
		goto fail;
	}
	if (cap <= len) {
		rc = -ENOSPC;
		goto fail;
	}
	memcpy(buf, text, len);
	if ((rc = ckpt_note_sigline(key_name, key, text, len, buf + len,
				    cap - len, &n)) < 0)
		goto fail;
	if (out_len)
		*out_len = len + n;
	return 0;
fail:
	if (cap > 0)
		buf[0] = '\0';
	return rc;
}

int signote_verify(const char *note, size_t len,
		   const struct ckpt_vkey *keys, size_t n_keys,
		   size_t *text_len, size_t *signer)
{
	const char *sep;
	size_t tlen, who = 0;
	int rc;

	if (!note || !text_len || (!keys && n_keys))
		return -EINVAL;
	if ((rc = ckpt_note_split(note, len, n_keys, &sep)) < 0)
		return rc;
	tlen = (size_t)(sep + 1 - note);
	/* the split found the LAST blank line; an empty line in the text
	 * itself is refused rather than guessed around */
	if (!signote_text_valid(note, tlen))
		return tlen > SIGNOTE_MAX_TEXT ? -E2BIG : -EBADMSG;
	if ((rc = ckpt_note_verify_sigs(sep + 2, note + len, note, tlen, keys,
					n_keys, &who)) < 0)
		return rc;
	*text_len = tlen;
	if (signer)
		*signer = who;
	return 0;
}
