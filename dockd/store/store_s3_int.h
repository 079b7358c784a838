/* store_s3_int.h - shared between the pieces of the s3:// target:
 * store_s3.c (open, probe and orphans, verify, remove, holds),
 * store_s3_put.c (put, replace), store_s3_mpu.c (the resumable multipart
 * upload), store_s3_layout.c (part layout, digests), store_s3_src.c (the
 * source check) and store_s3_fix.c (fixity reads).
 * Not an API: docs/storage-s3.md describes the behaviour. */
#ifndef DOCKD_STORE_S3_INT_H
#define DOCKD_STORE_S3_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "s3.h"
#include "store.h"
#include "upstate.h"

struct s3_target {
	struct store_target t;
	struct s3_conf conf;     /* holds the credentials: wiped on close */
	struct s3_rate *rate;
	struct s3_pool *pool;    /* reused clients and connections (s3.h) */
	struct upstate *up;
	char prefix[DOCK_CONFIG_PATH_MAX]; /* no leading/trailing '/'; "" = bucket root */
	uint64_t part_max;       /* s3_part_size_mb in bytes */
	unsigned parallel;       /* parts in flight per upload */
	bool read_back, lock_required;
	char lock_mode[16];
	pthread_mutex_t mu;      /* probe state below */
	bool probed, lock_enabled;
	atomic_bool warned_nolock;   /* "no Object Lock" said once */
	_Atomic uint64_t wire_bytes; /* request bodies sent, retries included */
	_Atomic uint64_t part_bytes; /* bytes of parts uploaded (each attempt of a part once) */
};

/* How an object is cut into parts. Part 1 is [0, head_len + part_size);
 * part n >= 2 is [head_len + (n-1)*part_size, + part_size), the last one
 * shorter. nparts == 1 means a single PUT. */
struct s3_layout {
	uint64_t size, part_size, head_len;
	unsigned nparts;
};

/* The layout for size bytes of fd under st's part size (reads the evidence
 * header, if any, to align parts on encrypted chunks). */
int s3t_layout(const struct s3_target *st, int fd, uint64_t size, struct s3_layout *l);
/* The layout itself: an object of size bytes whose first head_len bytes
 * are a header followed by whole cc-byte encrypted chunks (cc = 1 and
 * head_len = 0 for any other file), parts of at most part_max bytes.
 * s3t_layout() reads head_len and cc from the file; the ingest calls this
 * with the figures it is writing (dockd/partsum.h). */
int s3t_plan(uint64_t part_max, uint64_t size, uint64_t head_len, uint64_t cc, struct s3_layout *l);
/* [s3] part_size_mb in bytes (16 MiB by default, at least 5 MiB). */
uint64_t s3t_part_max(const struct dock_config *c);
/* The part digests plan (partsum.h) for an evidence file of pt_size
 * plaintext bytes, an hlen-byte header and 2^log2-byte chunks, under c's
 * target: what the upload's s3t_layout() will find in that file. -ENOENT
 * when the target is not s3:// or the object goes up in one PUT. */
struct partsum_plan;
int s3t_evfile_plan(const struct dock_config *c, uint64_t hlen, unsigned log2, uint64_t pt_size,
		    struct partsum_plan *out);
/* Fill nparts from size/part_size/head_len; -EFBIG beyond 10000 parts. */
int s3t_layout_count(struct s3_layout *l);
void s3t_part_range(const struct s3_layout *l, unsigned n, uint64_t *off, uint64_t *len);
/* Exactly len bytes at off (pread); -EIO if the file is shorter. */
int s3t_read_range(int fd, uint64_t off, uint8_t *buf, uint64_t len);
/* Read len bytes at off into buf (NULL: through a small internal buffer,
 * not kept) and compute their MD5 and, when sha256 is not NULL, SHA-256 in
 * the same pass. -EIO if the file is shorter. */
int s3t_read_digest(int fd, uint64_t off, uint8_t *buf, uint64_t len, uint8_t md5[16],
		    uint8_t sha256[32]);
/* Source check (store_s3_src.c): SHA-256 of the first size bytes of fd on
 * a thread of its own. end joins it: 0 when it equals want, -EUCLEAN
 * (logged) when the file changed, -errno when it could not be read.
 * s3t_srccheck does both at once. */
struct s3_srccheck;
int s3t_srccheck_start(int fd, uint64_t size, struct s3_srccheck **out);
int s3t_srccheck_end(struct s3_srccheck *sc, const char *okey, const uint8_t want[32]);
int s3t_srccheck(int fd, uint64_t size, const char *okey, const uint8_t want[32]);
/* MD5 (Content-MD5 / ETag: an S3 integrity checksum, not security) and
 * SHA-256 of buf. */
int s3t_digests(const uint8_t *buf, size_t len, uint8_t md5[16], uint8_t sha256[32]);
void s3t_hex(const uint8_t *b, size_t n, char *out);
/* hex(MD5(md5_1 || ... || md5_n)) + "-n": S3's ETag of a multipart object
 * from its parts' MD5s (16 bytes each). */
int s3t_multipart_etag(const uint8_t *md5s, unsigned n, char etag[S3_ETAG_MAX + 1]);
/* The ETag S3 gives the object when uploaded with layout l: hex MD5 (one
 * part) or hex MD5 of the concatenated part MD5s + "-N". Reads fd. */
int s3t_local_etag(int fd, const struct s3_layout *l, char etag[S3_ETAG_MAX + 1]);
/* One log line for a failed request. */
void s3t_log_err(const char *what, const char *key, int r, const struct s3_error *e);
/* "<prefix>/<key>" (or key) after store_key_valid(): the object's name. */
int s3t_object_key(const struct s3_target *st, const char *key, char *out, size_t cap);
/* okey = s3t_object_key(key) and a new client (not pooled: free it with
 * s3_client_free); a client error is logged. */
int s3t_client(struct s3_target *st, const char *key, char okey[S3_KEY_MAX + 1],
	       struct s3_client **c);
/* A client from st's pool (give it back with s3_pool_put); an error is logged. */
int s3t_pooled(struct s3_target *st, struct s3_client **c);
/* Once per process (until it succeeds): reach the bucket, learn whether it
 * has Object Lock, sweep orphaned uploads (store_s3.c). *lock_enabled gets
 * whether the bucket has Object Lock; the probe's error (permanent ones:
 * store_s3.c's top comment) until it succeeds. */
int s3t_probe(struct s3_target *st, struct s3_client *c, bool *lock_enabled);
/* store.h put and replace (store_s3_put.c). */
int s3t_put(struct store_target *t, const char *key, int fd, uint64_t size,
	    const struct store_put_opts *o, struct store_info *out);
int s3t_replace(struct store_target *t, const char *key, int fd, uint64_t size,
		const struct store_put_opts *o, struct store_info *out);
/* store.h hash and fetch (store_s3_fix.c). */
int s3t_hash(struct store_target *t, const char *key, uint8_t sha256[32], uint64_t *len);
int s3t_fetch(struct store_target *t, const char *key, const char *version_id, int fd,
	      uint64_t max);

/* The multipart path of put(): create or resume the upload of okey,
 * upload the missing parts, complete, HEAD-check size and ETag. head gets
 * the HEAD result. */
int s3t_multipart(struct s3_target *st, struct s3_client *c, const char *okey, int fd,
		  const struct s3_layout *l, const struct store_put_opts *o,
		  const struct s3_put_opts *po, struct s3_obj_info *head);

#endif
