/*
 * witness.h - a C2SP tlog-witness (c2sp.org/tlog-witness) for custody
 * ledgers: the add-checkpoint logic and its durable state, without HTTP
 * (custody/cmd/witness.c serves it with libmicrohttpd).  Protocol, state
 * format and operation: docs/witness.md.
 *
 * The witness knows a fixed set of logs, each an origin and the log's
 * Ed25519 checkpoint vkey(s) (type 0x01).  For each log it keeps only
 * the latest checkpoint it cosigned, in one file per log:
 *   STATE/<64 lowercase hex of SHA-256(origin)>
 * holding the signed note: note text, blank line, the log's signature
 * line(s) that verified, and the witness's own cosignature line.  Files
 * are replaced atomically and durably (write temp, fsync, rename, fsync
 * the directory) BEFORE a cosignature is returned.  A state file that
 * does not verify against the configured log key stops the witness from
 * starting (never silently reset: that would allow a rollback).
 *
 * add-checkpoint outcome (HTTP status the server answers):
 *   200 cosigned: resp holds the cosignature line(s)
 *   400 malformed request, or old size > checkpoint size
 *   403 no valid signature by the log's key (or a bad one)
 *   404 unknown origin
 *   409 old size is not the size the witness holds: resp "<size>\n"
 *   422 consistency proof fails, fork at equal size, non-empty proof
 *       from size 0, or a size-0 checkpoint whose root is not SHA-256("")
 *   500 the state could not be stored (nothing cosigned)
 * Checks and the state update run under one mutex: a request is checked
 * against the state that the update replaces (spec: no rollback race).
 *
 * Errors of the setup functions: 0 or negative errno, reason in err.
 */
#ifndef CUSTODY_WITNESS_H
#define CUSTODY_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "edkey.h"
#include "merkle.h"

#define WITNESS_MAX_LOGS    32
#define WITNESS_MAX_LOGKEYS 4
#define WITNESS_MAX_PROOF   63		/* spec: at most 63 proof lines */
/* "old " 20 digits, 63 proof lines of 45, blank line, note */
#define WITNESS_MAX_BODY    (32 + WITNESS_MAX_PROOF * 45 + 1 + 16384)
#define WITNESS_MAX_RESP    512

/* A parsed add-checkpoint request body.  note points into the body. */
struct witness_req {
	uint64_t old_size;
	size_t n_proof;
	merkle_hash proof[WITNESS_MAX_PROOF];
	const char *note;
	size_t note_len;
};

/*
 * Parse body[0..len) (untrusted): "old <decimal>\n" (no leading zero
 * unless 0), 0..63 lines each the canonical base64 of one 32-byte hash,
 * an empty line, then the checkpoint note (non-empty, not checked here).
 * -EBADMSG malformed, -E2BIG over WITNESS_MAX_BODY or 63 proof lines.
 */
int witness_req_parse(const char *body, size_t len, struct witness_req *out);

struct witness;

/* A witness named `name` signing with `key` (private, borrowed: keep it
 * alive while the witness lives), state in directory `dir` (created 0700
 * if absent). */
int witness_new(const char *name, const struct edkey *key, const char *dir,
		struct witness **out, char *err, size_t errlen);
/* Trust a log: spec "ORIGIN VKEY" (one space).  A second spec with the
 * same origin adds a key.  Call before witness_load(). */
int witness_add_log(struct witness *w, const char *spec, char *err,
		    size_t errlen);
/* Read every known log's state file, verifying each. */
int witness_load(struct witness *w, char *err, size_t errlen);
void witness_free(struct witness *w);

/* The witness's cosignature vkey text (type 0x04). */
int witness_vkey(const struct witness *w, char *buf, size_t cap);

/*
 * Handle one add-checkpoint body.  Returns the HTTP status; resp (cap >=
 * WITNESS_MAX_RESP) gets the response body (NUL-terminated) and *ctype
 * its content type.  A one-line reason for the operator's log goes to
 * why (may be "" on success).
 */
int witness_add_checkpoint(struct witness *w, const char *body, size_t len,
			   char *resp, size_t cap, const char **ctype,
			   char *why, size_t whylen);

/*
 * The latest cosigned checkpoint of the log whose origin hashes to
 * `origin_hex` (64 lowercase hex), for GET <prefix>/<hex>/checkpoint:
 * malloc'd note in *out.  -ENOENT unknown or never cosigned.
 */
int witness_get_checkpoint(struct witness *w, const char *origin_hex,
			   char **out, size_t *len);

/* Helpers shared with witness_audit.c.  dir/name := data atomically and
 * durably (temp, fsync, rename, fsync dir); excl: never replace an
 * existing file (link, -EEXIST).  Read dir/name, a regular file of at
 * most cap bytes (-EFBIG), into a malloc'd NUL-terminated buffer. */
int witness_write_file(const char *dir, const char *name, const char *data,
		       size_t len, int excl);
int witness_read_file(const char *dir, const char *name, size_t cap,
		      char **out, size_t *len);
/* Lowercase hex SHA-256 of origin[0..len). */
int witness_origin_hex(const char *origin, size_t len, char hex[65]);

#endif /* CUSTODY_WITNESS_H */
