/* store.h - storage targets: where verified copies of encrypted evidence go.
 *
 * A storage target keeps ciphertext objects under keys. Keys are built by
 * dockd from validated ids ("<agency>/<camera>/<recording>.bcde") and are
 * checked again here: 1..512 bytes, '/'-separated components of
 * [A-Za-z0-9._:-], no empty, "." or ".." component.
 *
 * Objects are write-once. put() of a key that already holds identical bytes
 * succeeds (so a crash between put and the ledger event is harmless: the
 * retry finds the object); a key that holds different bytes is -EEXIST and
 * nothing is overwritten.
 *
 * A copy counts as stored only after verify() re-read it from the target
 * (bypassing caches where the target allows) and found the expected size
 * and SHA-256. Only then may dockd write "storage verified" and release.
 *
 * Implementations: file:// (store_file.c: local disk or NAS mount);
 * s3:// (store_s3.c: S3 / GovCloud / Ceph RGW, multipart, resumable);
 * in dockd, s3:// through the storage uploader process (store_remote.c
 * forwards each op over storemsg.h's channels to storew.c, which runs
 * store_s3.c).
 *
 * All functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_STORE_H
#define DOCKD_STORE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

#define STORE_KEY_MAX 512
#define STORE_LOCATION_MAX 256

struct store_target;

/* What the target says about a stored object, for the ledger. */
struct store_info {
	char location[STORE_LOCATION_MAX + 1]; /* e.g. file:///srv/vault/a/b/c.bcde */
	char version_id[129];                  /* "" where the target has none */
	char etag[129];                        /* "" where the target has none */
};

/* What the caller knows about the object; targets use what they can.
 * file:// uses sha256 only; s3:// also tags and locks. */
struct store_put_opts {
	const uint8_t *sha256;        /* ciphertext SHA-256 (32 bytes), required */
	const char *category;         /* tag "category" ("" / NULL = none) */
	const char *case_no;          /* tag "case" */
	const char *retention_class;  /* tag "retention", e.g. "730d", "indefinite" */
	time_t retain_until;          /* Object Lock retain-until (UTC s); 0 = none */
	bool legal_hold;              /* Object Lock legal hold (indefinite retention) */
	_Atomic uint64_t *progress;   /* optional: bytes of this object sent so far */
	const char *part_sums;        /* optional: the ingest's part digests file
					 (dockd/partsum.h; s3:// only) */
	int part_sums_fd;             /* optional, > 0: the same file as an open
					 descriptor, used instead of part_sums
					 (the storage uploader, storemsg.h) */
};

struct store_ops {
	const char *scheme;
	/* Copy size bytes of src_fd (from offset 0, pread: the fd's offset is
	 * not used) to key. The source is hashed as it is read: when it does
	 * not match o->sha256 (the vault copy changed on disk since it was
	 * written) nothing is stored and put returns -EUCLEAN. Idempotent and resumable: a target may keep
	 * durable state (an unfinished multipart upload) across calls and
	 * restarts and continue it. */
	int (*put)(struct store_target *t, const char *key, int src_fd, uint64_t size,
		   const struct store_put_opts *o, struct store_info *out);
	/* Re-read key; -EBADMSG if size or SHA-256 differ, -ENOENT if absent. */
	int (*verify)(struct store_target *t, const char *key, uint64_t size,
		      const uint8_t sha256[32]);
	/* Delete key for good (an approved destruction, dockd/destroy.h):
	 * the version version_id ("" = the target has no versions; s3 then
	 * deletes the unversioned object). 0 deleted, -ENOENT absent,
	 * -EACCES the target refuses (S3 Object Lock retention or legal
	 * hold not yet expired: nothing was deleted). */
	int (*remove)(struct store_target *t, const char *key, const char *version_id);
	/* Object Lock legal hold on (true) or off for the version. -ENOTSUP
	 * where the target has none (file://: NULL; a bucket without Object
	 * Lock). */
	int (*set_hold)(struct store_target *t, const char *key, const char *version_id, bool on);
	void (*close)(struct store_target *t);
	/* Optional (NULL: nothing to do): contact the server now (s3://: the
	 * bucket, Object Lock, the orphan sweep), which put/verify otherwise do
	 * first. Network time: never on a path that start-up or docking waits
	 * for (the storage worker calls it from its own thread). */
	int (*prepare)(struct store_target *t);
	/* Fixity audits (dockd/fixity.h). Each may be NULL (not offered).
	 * hash: read key back now (bypassing caches where the target allows;
	 * s3: GET of the current version) and give its length and SHA-256;
	 * -ENOENT absent. */
	int (*hash)(struct store_target *t, const char *key, uint8_t sha256[32], uint64_t *len);
	/* replace: like put, but whatever key holds is REPLACED (s3: a new
	 * current version; older versions and their locks stay). The one
	 * exception to write-once, used only to repair a copy an audit found
	 * damaged, from a source hashed on the way (-EUCLEAN if it does not
	 * match o->sha256, nothing written). */
	int (*replace)(struct store_target *t, const char *key, int src_fd, uint64_t size,
		       const struct store_put_opts *o, struct store_info *out);
	/* fetch: key's bytes into fd (from offset 0), at most max bytes
	 * (-EFBIG beyond): the current version, or version_id (s3:// only;
	 * NULL or "" = current; file:// has no versions: -ENOTSUP). */
	int (*fetch)(struct store_target *t, const char *key, const char *version_id, int fd,
		     uint64_t max);
};

struct store_target {
	const struct store_ops *ops;
	void *impl;
};

/* Open the target c->storage_target names ("file:///abs/path" or
 * "s3://bucket[/prefix]", with the [s3] section). cancel (may be NULL)
 * makes long operations return -ECANCELED soon after it turns true
 * (SIGTERM). -EINVAL for an unsupported scheme or a malformed url or
 * setting; -errno if the target is unusable. err gets one line. */
int store_open(const struct dock_config *c, const atomic_bool *cancel, struct store_target **out,
	       char *err, size_t errlen);

/* What dockd uses: the same, except that an s3:// target runs in the
 * storage uploader process (dockd/store/storew.h; store_remote.c forwards
 * every op to it), so this process never loads the S3 credentials, the S3
 * client or libcurl's connections. file:// stays in-process (store_open).
 * notify (may be NULL) is called with one line each time the uploader
 * dies and is restarted, and the signal that ended it (0: it exited; 31
 * SIGSYS: its seccomp filter killed it); the daemon records and alerts. */
typedef void (*store_notify_fn)(void *ctx, const char *what, int sig);
int store_open_split(const struct dock_config *c, const atomic_bool *cancel,
		     store_notify_fn notify, void *notify_ctx, struct store_target **out,
		     char *err, size_t errlen);

/* store_open_split() for an s3:// target with the uploader program named:
 * exe (an absolute path to dockd) is run as `EXE --store-worker CONFIG CTL`
 * (store_open_split() passes its own /proc/self/exe). For tools that
 * drive the uploader process outside dockd (tests/tools/storetool
 * --uploader, tests/bench/s3.sh). -EINVAL for another scheme. */
int store_open_uploader(const char *exe, const struct dock_config *c, const atomic_bool *cancel,
			store_notify_fn notify, void *notify_ctx, struct store_target **out,
			char *err, size_t errlen);

/* true when key satisfies the rules above. */
int store_key_valid(const char *key);

static inline int store_put(struct store_target *t, const char *key, int src_fd, uint64_t size,
			    const struct store_put_opts *o, struct store_info *out)
{
	return t->ops->put(t, key, src_fd, size, o, out);
}

static inline int store_verify(struct store_target *t, const char *key, uint64_t size,
			       const uint8_t sha256[32])
{
	return t->ops->verify(t, key, size, sha256);
}

static inline int store_prepare(struct store_target *t)
{
	return t->ops->prepare ? t->ops->prepare(t) : 0;
}

static inline int store_remove(struct store_target *t, const char *key, const char *version_id)
{
	return t->ops->remove(t, key, version_id);
}

static inline int store_set_hold(struct store_target *t, const char *key, const char *version_id,
				 bool on)
{
	return t->ops->set_hold ? t->ops->set_hold(t, key, version_id, on) : -ENOTSUP;
}

static inline void store_close(struct store_target *t)
{
	if (t)
		t->ops->close(t);
}

/* file:// implementation, also usable directly. */
int store_file_open(const char *root, struct store_target **out);

/* s3:// implementation (store_s3.c): c's [s3] settings; durable upload
 * state in <c->state_dir>/uploads.db. */
int store_s3_open(const struct dock_config *c, const atomic_bool *cancel,
		  struct store_target **out, char *err, size_t errlen);

#endif
