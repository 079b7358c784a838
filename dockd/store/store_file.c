/* store_file.c - the file:// storage target: a local disk or a NAS mount.
 *
 * put: copy into "<key>.part-<pid>" (O_EXCL), fdatasync, then link(2) it to
 * the final name - link never replaces an existing file, which makes the
 * object write-once - and fsync the directory. verify: re-read the object
 * with O_DIRECT where the filesystem allows it, otherwise after dropping
 * its pages from the cache (POSIX_FADV_DONTNEED on clean, synced pages), so
 * the check reads what is on the device, not what we just wrote to memory.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define COPY_BUF (1u << 20)
#define DIRECT_ALIGN 4096

struct file_target {
	struct store_target t;
	char root[PATH_MAX];
};

static int join(char *dst, size_t cap, const char *a, const char *b, const char *suffix)
{
	int n = snprintf(dst, cap, "%s/%s%s", a, b, suffix);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* mkdir -p for the directories of key below root, fsyncing each parent so a
 * new directory entry survives a power cut. */
static int make_parents(const char *root, const char *key)
{
	char path[PATH_MAX];
	const char *slash = key;

	while ((slash = strchr(slash, '/'))) {
		char parent[PATH_MAX];
		int r;

		if (join(path, sizeof(path), root, key, "") < 0)
			return -ENAMETOOLONG;
		path[strlen(root) + 1 + (size_t)(slash - key)] = '\0';
		if (mkdir(path, 0750) == 0) {
			snprintf(parent, sizeof(parent), "%s", path);
			char *p = strrchr(parent, '/');
			if (p) {
				*p = '\0';
				int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (dfd >= 0) {
					r = fsync(dfd) < 0 ? -errno : 0;
					close(dfd);
					if (r < 0)
						return r;
				}
			}
		} else if (errno != EEXIST) {
			return -errno;
		}
		slash++;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *p;
	int fd, r;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p)
		return -EINVAL;
	*p = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Copy size bytes src -> dst. The source is hashed on the way: when the
 * caller knows its SHA-256 (the ciphertext hash recorded at stored_local),
 * a vault copy that changed on disk since is refused (-EUCLEAN) instead of
 * being propagated to the target. */
static int copy_fd(int src, int dst, uint64_t size, const struct store_put_opts *o)
{
	uint8_t *buf = malloc(COPY_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t md[32];
	uint64_t left = size;
	int r = 0;

	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	while (left) {
		size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
		ssize_t n = read(src, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* source shorter than announced */
			break;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			r = -ENOMEM;
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = -errno;
				goto out;
			}
			off += w;
		}
		left -= (uint64_t)n;
		if (o && o->progress)
			atomic_store(o->progress, size - left);
	}
	if (r == 0 && o && o->sha256) {
		if (!EVP_DigestFinal_ex(ctx, md, NULL))
			r = -ENOMEM;
		else if (memcmp(md, o->sha256, sizeof(md)))
			r = -EUCLEAN;
	}
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

/* SHA-256 and length of up to limit bytes of fd from offset start (to end
 * of file when limit is UINT64_MAX). With direct (O_DIRECT fd), start is 0
 * and the buffer is aligned. */
static int hash_range(int fd, off_t start, uint64_t limit, bool direct, uint8_t md[32],
		      uint64_t *len_out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = NULL;
	uint64_t len = 0;
	int r = -ENOMEM;

	if (!ctx || posix_memalign((void **)&buf, DIRECT_ALIGN, COPY_BUF) != 0) {
		buf = NULL;
		goto out;
	}
	r = -EIO;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (len < limit) {
		size_t want = limit - len < COPY_BUF ? (size_t)(limit - len) : COPY_BUF;
		ssize_t n = pread(fd, buf, want, start + (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		len += (uint64_t)n;
		if (direct && (size_t)n < want)
			break; /* O_DIRECT: a short read is the end of file */
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	*len_out = len;
	r = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

static int file_hash(struct store_target *t, const char *key, uint8_t md[32], uint64_t *len_out)
{
	struct file_target *ft = t->impl;
	char path[PATH_MAX];
	uint64_t len = 0;
	bool direct = true;
	int fd, r;

	if (!store_key_valid(key))
		return -EINVAL;
	if (join(path, sizeof(path), ft->root, key, "") < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
	if (fd < 0 && errno == EINVAL) { /* filesystem without O_DIRECT (tmpfs) */
		direct = false;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			(void)fdatasync(fd);
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		}
	}
	if (fd < 0)
		return -errno;
	r = hash_range(fd, 0, UINT64_MAX, direct, md, &len);
	if (r == -EINVAL && direct) { /* O_DIRECT refused the buffer: fall back */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		r = hash_range(fd, 0, UINT64_MAX, false, md, &len);
	}
	close(fd);
	if (r == 0)
		*len_out = len;
	return r;
}

static int file_verify(struct store_target *t, const char *key, uint64_t size,
		       const uint8_t sha256[32])
{
	uint8_t md[32];
	uint64_t len = 0;
	int r = file_hash(t, key, md, &len);

	if (r < 0)
		return r;
	if (len != size || memcmp(md, sha256, 32) != 0)
		return -EBADMSG;
	return 0;
}

/* The key exists already: identical bytes are success, anything else is
 * -EEXIST (write-once: never replaced). */
static int existing_matches(int src_fd, off_t start, uint64_t size, int dst_fd)
{
	uint8_t a[32], b[32];
	uint64_t la = 0, lb = 0;
	int r;

	r = hash_range(src_fd, start, size, false, a, &la);
	if (r == 0)
		r = hash_range(dst_fd, 0, UINT64_MAX, false, b, &lb);
	if (r < 0)
		return r;
	return (la == size && la == lb && memcmp(a, b, 32) == 0) ? 0 : -EEXIST;
}

static int file_put(struct store_target *t, const char *key, int src_fd, uint64_t size,
		    const struct store_put_opts *o, struct store_info *out)
{
	struct file_target *ft = t->impl;
	char final[PATH_MAX], part[PATH_MAX], suffix[32];
	off_t start = lseek(src_fd, 0, SEEK_CUR);
	int fd = -1, r;

	if (!store_key_valid(key) || start < 0)
		return -EINVAL;
	snprintf(suffix, sizeof(suffix), ".part-%ld", (long)getpid());
	if (join(final, sizeof(final), ft->root, key, "") < 0 ||
	    join(part, sizeof(part), ft->root, key, suffix) < 0)
		return -ENAMETOOLONG;
	r = make_parents(ft->root, key);
	if (r < 0)
		return r;
	(void)unlink(part); /* left over by a crash of this same pid number */
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	r = copy_fd(src_fd, fd, size, o);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && link(part, final) < 0) {
		r = -errno;
		if (r == -EEXIST) {
			int efd = open(final, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			r = efd < 0 ? -errno : existing_matches(src_fd, start, size, efd);
			if (efd >= 0)
				close(efd);
		}
	}
	(void)unlink(part);
	if (r == 0)
		r = fsync_parent(final);
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		int n = snprintf(out->location, sizeof(out->location), "file://%s", final);
		if (n < 0 || (size_t)n >= sizeof(out->location))
			r = -ENAMETOOLONG;
	}
	return r;
}

/* Repair (store.h replace): a new file beside the damaged one, synced,
 * then renamed over it. */
static int file_replace(struct store_target *t, const char *key, int src_fd, uint64_t size,
			const struct store_put_opts *o, struct store_info *out)
{
	struct file_target *ft = t->impl;
	char final[PATH_MAX], part[PATH_MAX], suffix[32];
	int fd, r, n;

	if (!store_key_valid(key) || !o || !o->sha256 || lseek(src_fd, 0, SEEK_SET) < 0)
		return -EINVAL;
	snprintf(suffix, sizeof(suffix), ".repair-%ld", (long)getpid());
	if (join(final, sizeof(final), ft->root, key, "") < 0 ||
	    join(part, sizeof(part), ft->root, key, suffix) < 0)
		return -ENAMETOOLONG;
	if ((r = make_parents(ft->root, key)) < 0)
		return r;
	(void)unlink(part);
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	r = copy_fd(src_fd, fd, size, o);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(part, final) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(part);
	if (r == 0)
		r = fsync_parent(final);
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		n = snprintf(out->location, sizeof(out->location), "file://%s", final);
		if (n < 0 || (size_t)n >= sizeof(out->location))
			r = -ENAMETOOLONG;
	}
	return r;
}

static int file_fetch(struct store_target *t, const char *key, const char *version_id, int dst_fd,
		      uint64_t max)
{
	struct file_target *ft = t->impl;
	char path[PATH_MAX];
	struct stat st;
	int fd, r;

	if (!store_key_valid(key))
		return -EINVAL;
	if (version_id && version_id[0])
		return -ENOTSUP;
	if (join(path, sizeof(path), ft->root, key, "") < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	else if (lseek(dst_fd, 0, SEEK_SET) < 0)
		r = -errno;
	else
		r = copy_fd(fd, dst_fd, (uint64_t)st.st_size, NULL);
	close(fd);
	return r;
}

static int file_remove(struct store_target *t, const char *key, const char *version_id)
{
	struct file_target *ft = t->impl;
	char path[PATH_MAX];

	(void)version_id;
	if (!store_key_valid(key))
		return -EINVAL;
	if (join(path, sizeof(path), ft->root, key, "") < 0)
		return -ENAMETOOLONG;
	if (unlink(path) < 0)
		return -errno;
	return fsync_parent(path);
}

static void file_close(struct store_target *t)
{
	free(t->impl);
}

static const struct store_ops file_ops = {
	.scheme = "file",
	.put = file_put,
	.verify = file_verify,
	.remove = file_remove,
	.close = file_close,
	.hash = file_hash,
	.replace = file_replace,
	.fetch = file_fetch,
};

int store_file_open(const char *root, struct store_target **out)
{
	struct file_target *ft;
	struct stat st;

	if (root[0] != '/' || strlen(root) >= sizeof(ft->root) - STORE_KEY_MAX - 32)
		return -EINVAL;
	if (stat(root, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(root, W_OK) < 0)
		return -errno;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	snprintf(ft->root, sizeof(ft->root), "%s", root);
	ft->t.ops = &file_ops;
	ft->t.impl = ft;
	*out = &ft->t;
	return 0;
}

int store_open(const struct dock_config *c, const atomic_bool *cancel, struct store_target **out,
	       char *err, size_t errlen)
{
	const char *url = c->storage_target;
	int r;

	if (!strncmp(url, "s3://", 5))
		return store_s3_open(c, cancel, out, err, errlen);
	if (strncmp(url, "file:///", 8)) {
		snprintf(err, errlen, "[storage] target %s: use file:///path or s3://bucket/prefix", url);
		return -EINVAL;
	}
	r = store_file_open(url + 7, out);
	if (r < 0)
		snprintf(err, errlen, "[storage] target %s: %s", url, strerror(-r));
	return r;
}
