/* upstate.h - durable state of unfinished S3 multipart uploads.
 *
 * One SQLite file, <state_dir>/uploads.db (WAL, synchronous=FULL):
 *
 *   uploads(key PRIMARY KEY, upload_id UNIQUE, size, ct_sha256, part_size,
 *           head_len, created_ns)
 *   parts(upload_id, number, size, etag, md5, sha256,
 *         PRIMARY KEY(upload_id, number))
 *
 * `key` is the full object key in the bucket (prefix included), so it can
 * be compared with what ListMultipartUploads reports. `head_len` is how many
 * bytes part 1 carries in addition to part_size (the evidence file header,
 * docs/storage-s3.md "Part size"): part n >= 2 starts at
 * head_len + (n - 1) * part_size.
 *
 * Commit order (what makes resume safe):
 *   1. upstate_begin() is committed BEFORE the first UploadPart, so no
 *      upload id we created is ever unknown to us after a crash (an id the
 *      server holds but we do not know is an orphan and gets aborted).
 *   2. upstate_part_done() is committed only after the server answered 200
 *      with the part's ETag. A crash before that commit loses only the
 *      record: the part is uploaded again (its bytes are regenerated from
 *      the vault file byte-for-byte, so the ETag is the same).
 *   3. upstate_forget() runs after CompleteMultipartUpload and the HEAD
 *      check (or an abort).
 * "Done" means recorded here; nothing else counts.
 *
 * Thread-safe: one connection behind a mutex; part workers of several
 * uploads may call upstate_part_done() at once. All functions return 0 or
 * -errno (-ENOENT: no such row, -EIO: SQLite failed); out-parameters are
 * untouched on failure.
 */
#ifndef DOCKD_UPSTATE_H
#define DOCKD_UPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPSTATE_KEY_MAX 1024
#define UPSTATE_ID_MAX 1024
#define UPSTATE_ETAG_MAX 128

struct upstate;

struct upstate_upload {
	char key[UPSTATE_KEY_MAX + 1];
	char upload_id[UPSTATE_ID_MAX + 1];
	uint64_t size;         /* object size in bytes */
	uint8_t ct_sha256[32]; /* SHA-256 of the whole object */
	uint64_t part_size;
	uint64_t head_len;     /* extra bytes in part 1 */
	int64_t created_ns;
};

struct upstate_part {
	unsigned number;  /* 1..10000 */
	uint64_t size;
	char etag[UPSTATE_ETAG_MAX + 1]; /* as the server answered, quotes removed */
	uint8_t md5[16];
	uint8_t sha256[32];
};

/* Open (creating if needed, mode 0600) the database at path. */
int upstate_open(const char *path, struct upstate **out);
void upstate_close(struct upstate *u);

/* Record a new upload. -EEXIST if key already has one (forget it first). */
int upstate_begin(struct upstate *u, const struct upstate_upload *up);
/* The upload recorded for key; -ENOENT if none. */
int upstate_get(struct upstate *u, const char *key, struct upstate_upload *out);
/* *known = whether (key, upload_id) is a recorded upload. */
int upstate_known(struct upstate *u, const char *key, const char *upload_id, bool *known);
/* All recorded uploads (at most cap; *n = how many were returned). */
int upstate_list(struct upstate *u, struct upstate_upload *out, size_t cap, size_t *n);
/* Delete the upload of key and all its parts (one transaction). Absent is 0. */
int upstate_forget(struct upstate *u, const char *key);

/* Record a finished part (replaces an earlier record of the same number).
 * -ENOENT if upload_id is not a recorded upload (it was forgotten). */
int upstate_part_done(struct upstate *u, const char *upload_id, const struct upstate_part *p);
/* Recorded parts of upload_id in ascending number order. */
int upstate_parts(struct upstate *u, const char *upload_id, struct upstate_part *out, size_t cap,
		  size_t *n);

#endif
