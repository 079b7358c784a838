/* pull.c - resumable, verified pull of one recording into a file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pull.h"

#define REHASH_BUF (1024 * 1024)

struct pull_ctx {
	int fd;
	EVP_MD_CTX *md;
	uint64_t size;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sink(void *ctx, const uint8_t *data, size_t len, uint64_t offset)
{
	struct pull_ctx *pc = ctx;
	int r;

	if (offset != pc->size)
		return -PROTO_E_SEQ; /* session.c guarantees order; be sure */
	r = write_all(pc->fd, data, len);
	if (r < 0)
		return r;
	if (EVP_DigestUpdate(pc->md, data, len) != 1)
		return -EIO;
	pc->size += len;
	return 0;
}

/* Hash the bytes already in the file (a previous, interrupted pull). */
static int rehash(struct pull_ctx *pc)
{
	uint8_t *buf = malloc(REHASH_BUF);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(pc->fd, buf, REHASH_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(pc->md, buf, (size_t)n) != 1) {
			r = -EIO;
			break;
		}
		pc->size += (uint64_t)n;
	}
	free(buf);
	return r;
}

static int finish(struct pull_ctx *pc, const struct proto_manifest_entry *e)
{
	uint8_t sha[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (fsync(pc->fd) < 0)
		return -errno;
	if (EVP_DigestFinal_ex(pc->md, sha, &n) != 1 || n != PROTO_SHA256_LEN)
		return -EIO;
	if (pc->size != e->size || memcmp(sha, e->sha256, PROTO_SHA256_LEN) != 0)
		return -PROTO_E_MISMATCH;
	return 0;
}

int pull_to_file(struct session *s, const struct proto_manifest_entry *e, const char *path,
		 uint64_t *done_out)
{
	struct pull_ctx pc = { .fd = -1 };
	int r;

	if (!s || !e || !path)
		return -EINVAL;
	pc.fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (pc.fd < 0)
		return -errno;
	pc.md = EVP_MD_CTX_new();
	r = -ENOMEM;
	if (!pc.md || EVP_DigestInit_ex(pc.md, EVP_sha256(), NULL) != 1)
		goto out;
	r = rehash(&pc);
	if (r < 0)
		goto out;
	if (pc.size > e->size) {
		r = -PROTO_E_MISMATCH; /* more than the camera signed for */
		goto out;
	}
	r = session_read(s, e->recording_id, pc.size, e->size - pc.size, sink, &pc);
	if (r == 0)
		r = finish(&pc, e);
	else
		fsync(pc.fd); /* keep what arrived: the next pull resumes there */
out:
	if (done_out) {
		struct stat st;

		if (fstat(pc.fd, &st) == 0)
			*done_out = (uint64_t)st.st_size;
	}
	EVP_MD_CTX_free(pc.md);
	close(pc.fd);
	return r;
}
