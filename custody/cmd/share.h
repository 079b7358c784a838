/*
 * share.h - `custody share` (share.c) and its other half, decrypting with
 * a share file and revoking a share (share_dec.c). Internal to the custody
 * command. Share file format: docs/evidence-format.md §15.
 */
#ifndef CUSTODY_CMD_SHARE_H
#define CUSTODY_CMD_SHARE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cmd.h"
#include "decrypt.h"

#define SHARE_FORMAT "evidence-dock share v1"
#define SHARE_FILE_MAX 16384	/* bytes; a real one is about 1.5 KiB */

/* Lower-case hex of b[0..n) into out (2n + 1 bytes). */
void share_hex(const uint8_t *b, size_t n, char *out);
/* "YYYY-MM-DD" (through 23:59:59 that day) or "YYYY-MM-DDTHH:MM:SSZ",
 * UTC. 0 or -EINVAL. */
int share_parse_time(const char *s, time_t *out);
/* t as "YYYY-MM-DDTHH:MM:SSZ". */
void share_fmt_time(time_t t, char *buf, size_t cap);

/* Append a `shared` event by the OS user for evid: details d (consumed;
 * NULL = out of memory), outcome ok when error is NULL, else failed with
 * details.error = error. 0 or CMD_ERROR (printed). */
int share_record(struct cmd_ctx *ctx, const char *agency, const char *evid,
		 const char *reason, const char *case_no, json_t *d,
		 const char *error);

/* `custody decrypt --share FILE`: read and check the share file o.share
 * (format, binding fields, recipient key id = j->key_id), open j->rd on
 * j->in_fd with its stanza (evshare_reader_open), then refuse an expired
 * share. Fills j->evid, j->agency and j->sha_ledger (the binding's
 * plaintext_sha256) and j->info. Returns a CMD_* status. */
int dec_share_open(struct dec_job *j);

/* `custody share revoke SHARE_ID --reason R`: append a `shared` event
 * with revoked = true for that share. Returns a CMD_* status. */
int share_revoke(struct cmd_ctx *ctx, const char *share_id, const char *reason);

#endif /* CUSTODY_CMD_SHARE_H */
