/* partsum.c - per-part MD5 and SHA-256 taken at ingest (see partsum.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "evfile.h"
#include "partsum.h"

#define MAGIC "BCPS"
#define VERSION 1u
#define HEAD_LEN (4 + 4 + 8 + 8 + 8 + 4 + 4 + 32)
#define PER_PART (16 + 32)

struct partsum {
	struct partsum_plan plan;
	uint64_t fed;      /* bytes fed so far */
	unsigned part;     /* 0-based part being hashed */
	uint64_t part_end; /* file offset where it ends */
	EVP_MD *md5md;
	EVP_MD_CTX *md5, *sha;
	struct partsum_sums *sums;
	int err;
};

int partsum_path(const char *path, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s.parts", path);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static bool plan_ok(const struct partsum_plan *p)
{
	return p->nparts >= 2 && p->nparts <= PARTSUM_MAX_PARTS && p->part_size > 0 &&
	       p->head_len < p->size &&
	       p->head_len + (uint64_t)(p->nparts - 1) * p->part_size < p->size &&
	       p->head_len + (uint64_t)p->nparts * p->part_size >= p->size;
}

static uint64_t end_of(const struct partsum_plan *p, unsigned part)
{
	uint64_t e = p->head_len + (uint64_t)(part + 1) * p->part_size;

	return e < p->size ? e : p->size;
}

static struct partsum_sums *sums_alloc(unsigned n)
{
	struct partsum_sums *s = calloc(1, sizeof(*s) + (size_t)n * PER_PART);

	if (!s)
		return NULL;
	s->nparts = n;
	s->md5 = (uint8_t(*)[16])(s + 1);
	s->sha256 = (uint8_t(*)[32])((uint8_t *)(s + 1) + (size_t)n * 16);
	return s;
}

static int start_part(struct partsum *ps)
{
	if (EVP_DigestInit_ex(ps->md5, ps->md5md, NULL) != 1 ||
	    EVP_DigestInit_ex(ps->sha, EVP_sha256(), NULL) != 1)
		return -EIO;
	ps->part_end = end_of(&ps->plan, ps->part);
	return 0;
}

int partsum_new(const struct partsum_plan *plan, struct partsum **out)
{
	struct partsum *ps;
	int r = -ENOMEM;

	if (!plan || !out || !plan_ok(plan))
		return -EINVAL;
	if (!(ps = calloc(1, sizeof(*ps))))
		return -ENOMEM;
	ps->plan = *plan;
	/* MD5 only because S3 defines Content-MD5 and ETags with it: an
	 * integrity checksum, never a security function ("-fips"). */
	ps->md5md = EVP_MD_fetch(NULL, "MD5", "-fips");
	ps->md5 = EVP_MD_CTX_new();
	ps->sha = EVP_MD_CTX_new();
	ps->sums = sums_alloc(plan->nparts);
	if (!ps->md5md || !ps->md5 || !ps->sha || !ps->sums)
		goto fail;
	if ((r = start_part(ps)) < 0)
		goto fail;
	*out = ps;
	return 0;
fail:
	partsum_free(ps);
	return r;
}

static int end_part(struct partsum *ps)
{
	unsigned n = 0;

	if (EVP_DigestFinal_ex(ps->md5, ps->sums->md5[ps->part], &n) != 1 ||
	    EVP_DigestFinal_ex(ps->sha, ps->sums->sha256[ps->part], &n) != 1)
		return -EIO;
	ps->part++;
	return ps->part < ps->plan.nparts ? start_part(ps) : 0;
}

int partsum_feed(struct partsum *ps, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!ps || (len && !buf))
		return -EINVAL;
	if (ps->err)
		return ps->err;
	if (len > ps->plan.size - ps->fed)
		return ps->err = -EFBIG;
	while (len) {
		uint64_t room = ps->part_end - ps->fed;
		size_t n = len < room ? len : (size_t)room;

		if (EVP_DigestUpdate(ps->md5, p, n) != 1 || EVP_DigestUpdate(ps->sha, p, n) != 1)
			return ps->err = -EIO;
		ps->fed += n;
		p += n;
		len -= n;
		if (ps->fed == ps->part_end) {
			int r = end_part(ps);

			if (r < 0)
				return ps->err = r;
		}
	}
	return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The file's bytes for plan, ct_sha256 and sums, trailer included. */
static uint8_t *encode(const struct partsum_plan *pl, const uint8_t ct[32],
		       const struct partsum_sums *s, size_t *len)
{
	size_t n = HEAD_LEN + (size_t)pl->nparts * PER_PART + 32;
	uint8_t *b = calloc(1, n), *q;

	if (!b)
		return NULL;
	memcpy(b, MAGIC, 4);
	put32(b + 4, VERSION);
	put64(b + 8, pl->size);
	put64(b + 16, pl->head_len);
	put64(b + 24, pl->part_size);
	put32(b + 32, pl->nparts); /* then 4 bytes reserved, zero */
	memcpy(b + 40, ct, 32);
	q = b + HEAD_LEN;
	for (unsigned i = 0; i < pl->nparts; i++, q += PER_PART) {
		memcpy(q, s->md5[i], 16);
		memcpy(q + 16, s->sha256[i], 32);
	}
	if (EVP_Digest(b, n - 32, q, NULL, EVP_sha256(), NULL) != 1) {
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

int partsum_save(struct partsum *ps, const char *path, const uint8_t ct_sha256[32])
{
	char tmp[PATH_MAX];
	uint8_t *b;
	size_t n = 0;
	int fd, r;

	if (!ps || !path || !ct_sha256)
		return -EINVAL;
	if (ps->err)
		return ps->err;
	if (ps->fed != ps->plan.size || ps->part != ps->plan.nparts)
		return -EINVAL; /* not every byte fed */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!(b = encode(&ps->plan, ct_sha256, ps->sums, &n)))
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	r = fd < 0 ? -errno : evfile_fd_write(&fd, b, n);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	/* No fsync: a file lost or cut short by a crash fails its trailer and
	 * the upload hashes the vault file instead. */
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	free(b);
	return r;
}

void partsum_free(struct partsum *ps)
{
	if (!ps)
		return;
	EVP_MD_CTX_free(ps->md5);
	EVP_MD_CTX_free(ps->sha);
	EVP_MD_free(ps->md5md);
	free(ps->sums);
	free(ps);
}

/* want bytes from offset 0 of fd (pread: its offset is not used); one
 * byte more than that is too long. */
static int read_whole_fd(int fd, uint8_t *buf, size_t want)
{
	size_t got = 0;

	while (got <= want) {
		ssize_t n = pread(fd, buf + got, want + 1 - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got == want ? 0 : -ESTALE;
}

static int read_whole(const char *path, int fd, uint8_t *buf, size_t want)
{
	int r;

	if (!path)
		return read_whole_fd(fd, buf, want);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_whole_fd(fd, buf, want);
	close(fd);
	return r;
}

static int load(const char *path, int fd, const struct partsum_plan *plan,
		const uint8_t ct_sha256[32], struct partsum_sums **out);

int partsum_load(const char *path, const struct partsum_plan *plan, const uint8_t ct_sha256[32],
		 struct partsum_sums **out)
{
	return path ? load(path, -1, plan, ct_sha256, out) : -EINVAL;
}

int partsum_load_fd(int fd, const struct partsum_plan *plan, const uint8_t ct_sha256[32],
		    struct partsum_sums **out)
{
	return fd >= 0 ? load(NULL, fd, plan, ct_sha256, out) : -EINVAL;
}

static int load(const char *path, int fd, const struct partsum_plan *plan,
		const uint8_t ct_sha256[32], struct partsum_sums **out)
{
	struct partsum_sums *s;
	uint8_t *b, *want = NULL, md[32];
	size_t n;
	int r;

	if (!plan || !ct_sha256 || !out || !plan_ok(plan))
		return -EINVAL;
	n = HEAD_LEN + (size_t)plan->nparts * PER_PART + 32;
	if (!(b = malloc(n + 1)))
		return -ENOMEM;
	r = read_whole(path, fd, b, n);
	if (r == 0 && (EVP_Digest(b, n - 32, md, NULL, EVP_sha256(), NULL) != 1 ||
		       memcmp(md, b + n - 32, 32) != 0))
		r = -ESTALE;
	if (r == 0 && !(s = sums_alloc(plan->nparts)))
		r = -ENOMEM;
	if (r == 0) {
		const uint8_t *q = b + HEAD_LEN;

		for (unsigned i = 0; i < plan->nparts; i++, q += PER_PART) {
			memcpy(s->md5[i], q, 16);
			memcpy(s->sha256[i], q + 16, 32);
		}
		want = encode(plan, ct_sha256, s, &n);
		/* same plan, same ciphertext, same trailer: byte for byte */
		if (!want || memcmp(want, b, n) != 0) {
			free(s);
			r = want ? -ESTALE : -ENOMEM;
		} else {
			*out = s;
		}
	}
	free(want);
	free(b);
	return r;
}
