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
 * s3:// follows behind the same interface.
 *
 * All functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_STORE_H
#define DOCKD_STORE_H

#include <stdint.h>

#define STORE_KEY_MAX 512
#define STORE_LOCATION_MAX 256

struct store_target;

/* What the target says about a stored object, for the ledger. */
struct store_info {
	char location[STORE_LOCATION_MAX + 1]; /* e.g. file:///srv/vault/a/b/c.bcde */
	char version_id[129];                  /* "" where the target has none */
	char etag[129];                        /* "" where the target has none */
};

struct store_ops {
	const char *scheme;
	/* Copy size bytes read from src_fd (from its current offset) to key. */
	int (*put)(struct store_target *t, const char *key, int src_fd, uint64_t size,
		   struct store_info *out);
	/* Re-read key; -EBADMSG if size or SHA-256 differ, -ENOENT if absent. */
	int (*verify)(struct store_target *t, const char *key, uint64_t size,
		      const uint8_t sha256[32]);
	void (*close)(struct store_target *t);
};

struct store_target {
	const struct store_ops *ops;
	void *impl;
};

/* Open the target named by url ("file:///abs/path"). -EINVAL for an
 * unsupported scheme or a malformed url; -errno if the root is unusable. */
int store_open(const char *url, struct store_target **out);

/* true when key satisfies the rules above. */
int store_key_valid(const char *key);

static inline int store_put(struct store_target *t, const char *key, int src_fd, uint64_t size,
			    struct store_info *out)
{
	return t->ops->put(t, key, src_fd, size, out);
}

static inline int store_verify(struct store_target *t, const char *key, uint64_t size,
			       const uint8_t sha256[32])
{
	return t->ops->verify(t, key, size, sha256);
}

static inline void store_close(struct store_target *t)
{
	if (t)
		t->ops->close(t);
}

/* file:// implementation, also usable directly. */
int store_file_open(const char *root, struct store_target **out);

#endif
