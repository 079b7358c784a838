/* store_s3_layout.c - how the s3:// target cuts an object into parts,
 * and the digests and ETags of those parts (docs/storage-s3.md, "Part
 * size"; see store_s3_int.h). */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evfile.h"
#include "log.h"
#include "partsum.h"
#include "store_s3_int.h"

/* ---- layout ---------------------------------------------------------------- */

int s3t_layout_count(struct s3_layout *l)
{
	uint64_t first = l->head_len + l->part_size, n;

	if (l->part_size == 0)
		return -EINVAL;
	if (l->size <= first) {
		l->nparts = 1;
		return 0;
	}
	n = 1 + (l->size - first + l->part_size - 1) / l->part_size;
	if (n > S3_MAX_PARTS)
		return -EFBIG;
	l->nparts = (unsigned)n;
	return 0;
}

/* Part size: the largest whole multiple of the encrypted chunk (CC = chunk
 * + GCM tag) not above part_max, at least 5 MiB, grown (in whole chunks)
 * when the object would need more than 10000 parts. Part 1 also carries
 * the header, so every later part starts on a chunk boundary and is exactly
 * chunks [(n-1)*m, n*m) (docs/evidence-format.md section 8). A file that is
 * not an evidence file (a checkpoint) is cut in plain part_max pieces. */
int s3t_plan(uint64_t part_max, uint64_t size, uint64_t head_len, uint64_t cc, struct s3_layout *l)
{
	struct s3_layout t = { .size = size, .head_len = head_len };
	uint64_t m;
	int r;

	if (part_max < S3_MIN_PART)
		part_max = S3_MIN_PART;
	m = part_max / cc;
	if (m * cc < S3_MIN_PART)
		m = (S3_MIN_PART + cc - 1) / cc;
	t.part_size = m * cc;
	while ((r = s3t_layout_count(&t)) == -EFBIG) {
		uint64_t body = size - t.head_len;
		uint64_t per = (body + S3_MAX_PARTS - 1) / S3_MAX_PARTS;

		m = (per + cc - 1) / cc;
		if (m * cc <= t.part_size)
			m = t.part_size / cc + 1;
		t.part_size = m * cc;
		if (t.part_size > (5ull << 30))
			return -EFBIG; /* beyond S3's 5 TiB object limit */
	}
	if (r < 0)
		return r;
	*l = t;
	return 0;
}

int s3t_layout(const struct s3_target *st, int fd, uint64_t size, struct s3_layout *l)
{
	uint8_t *hdr = NULL;
	struct evfile_info info;
	uint32_t hlen = 0;
	uint64_t cc = 1, head_len = 0;
	uint8_t pre[EVFILE_PREFIX_LEN];

	if (size >= EVFILE_PREFIX_LEN && s3t_read_range(fd, 0, pre, sizeof(pre)) == 0 &&
	    evfile_header_peek(pre, sizeof(pre), &hlen) == 0 && hlen <= size) {
		hdr = malloc(hlen);
		if (!hdr)
			return -ENOMEM;
		if (s3t_read_range(fd, 0, hdr, hlen) == 0 &&
		    evfile_header_parse(hdr, hlen, &info) == 0) {
			head_len = info.header_len;
			cc = ((uint64_t)1 << info.chunk_log2) + EVFILE_TAG_LEN;
		}
		free(hdr);
	}
	return s3t_plan(st->part_max, size, head_len, cc, l);
}

void s3t_part_range(const struct s3_layout *l, unsigned n, uint64_t *off, uint64_t *len)
{
	uint64_t o = n <= 1 ? 0 : l->head_len + (uint64_t)(n - 1) * l->part_size;
	uint64_t want = n <= 1 ? l->head_len + l->part_size : l->part_size;

	*off = o;
	*len = o >= l->size ? 0 : (l->size - o < want ? l->size - o : want);
}

int s3t_read_range(int fd, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, (size_t)(len - done), (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the vault file is shorter than recorded */
		done += (uint64_t)n;
	}
	return 0;
}

static int digest(const char *name, const char *props, const uint8_t *buf, size_t len,
		  uint8_t *out)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, props);
	int ok;

	if (!md)
		return -EIO;
	ok = EVP_Digest(buf, len, out, NULL, md, NULL);
	EVP_MD_free(md);
	return ok == 1 ? 0 : -EIO;
}

int s3t_digests(const uint8_t *buf, size_t len, uint8_t md5[16], uint8_t sha256[32])
{
	/* MD5 only because S3 defines Content-MD5 and ETags with it: an
	 * integrity checksum, never a security function ("-fips"). */
	int r = digest("MD5", "-fips", buf, len, md5);

	return r < 0 ? r : digest("SHA256", NULL, buf, len, sha256);
}

/* One pass: each slice is hashed right after it is read, while it is still
 * in the CPU cache, instead of reading the whole part and then walking it
 * twice more (MD5, then SHA-256) from RAM. */
#define HASH_SLICE (256u << 10)

int s3t_read_digest(int fd, uint64_t off, uint8_t *buf, uint64_t len, uint8_t md5[16],
		    uint8_t sha256[32])
{
	EVP_MD *md5md = EVP_MD_fetch(NULL, "MD5", "-fips"); /* a checksum, not security */
	EVP_MD_CTX *m = EVP_MD_CTX_new(), *s = sha256 ? EVP_MD_CTX_new() : NULL;
	uint8_t *slice = buf ? NULL : malloc(HASH_SLICE);
	int r = -ENOMEM;

	if (!md5md || !m || (sha256 && !s) || (!buf && !slice))
		goto out;
	r = -EIO;
	if (!EVP_DigestInit_ex(m, md5md, NULL) || (s && !EVP_DigestInit_ex(s, EVP_sha256(), NULL)))
		goto out;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < HASH_SLICE ? (size_t)(len - done) : HASH_SLICE;
		uint8_t *p = buf ? buf + done : slice;

		r = s3t_read_range(fd, off + done, p, n);
		if (r < 0)
			goto out;
		r = -EIO;
		if (!EVP_DigestUpdate(m, p, n) || (s && !EVP_DigestUpdate(s, p, n)))
			goto out;
		done += n;
	}
	r = -EIO;
	if (EVP_DigestFinal_ex(m, md5, NULL) && (!s || EVP_DigestFinal_ex(s, sha256, NULL)))
		r = 0;
out:
	free(slice);
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(s);
	EVP_MD_free(md5md);
	return r;
}

void s3t_hex(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* hex(MD5(md5_1 || ... || md5_n)) + "-n", S3's multipart ETag. */
int s3t_multipart_etag(const uint8_t *md5s, unsigned n, char etag[S3_ETAG_MAX + 1])
{
	uint8_t md[32], sha[32];
	int r = s3t_digests(md5s, (size_t)n * 16, md, sha);

	if (r < 0)
		return r;
	s3t_hex(md, 16, etag);
	snprintf(etag + 32, S3_ETAG_MAX + 1 - 32, "-%u", n);
	return 0;
}

int s3t_local_etag(int fd, const struct s3_layout *l, char etag[S3_ETAG_MAX + 1])
{
	uint64_t off, len;
	uint8_t *md5s = calloc(l->nparts, 16);
	int r = -ENOMEM;

	if (!md5s)
		goto out;
	for (unsigned n = 1; n <= l->nparts; n++) {
		s3t_part_range(l, n, &off, &len);
		r = s3t_read_digest(fd, off, NULL, len, md5s + (n - 1) * 16, NULL);
		if (r < 0)
			goto out;
	}
	if (l->nparts == 1)
		s3t_hex(md5s, 16, etag);
	else
		r = s3t_multipart_etag(md5s, l->nparts, etag);
out:
	free(md5s);
	return r;
}

void s3t_log_err(const char *what, const char *key, int r, const struct s3_error *e)
{
	log_error("s3: %s %s: %s (HTTP %ld %s: %s; request id %s; %u attempts)", what, key,
		  strerror(-r), e->http_status, e->code[0] ? e->code : "-",
		  e->message[0] ? e->message : "-", e->request_id[0] ? e->request_id : "-",
		  e->attempts);
}


uint64_t s3t_part_max(const struct dock_config *c)
{
	uint64_t m = (uint64_t)(c->s3_part_size_mb ? c->s3_part_size_mb : 16) << 20;

	return m < S3_MIN_PART ? S3_MIN_PART : m;
}

int s3t_evfile_plan(const struct dock_config *c, uint64_t hlen, unsigned log2, uint64_t pt_size,
		    struct partsum_plan *out)
{
	struct s3_layout l;
	uint64_t ct = 0;

	if (strncmp(c->storage_target, "s3://", 5) != 0 ||
	    evfile_ciphertext_size((uint32_t)hlen, log2, pt_size, &ct) < 0 ||
	    s3t_plan(s3t_part_max(c), ct, hlen, ((uint64_t)1 << log2) + EVFILE_TAG_LEN, &l) < 0 ||
	    l.nparts < 2)
		return -ENOENT;
	*out = (struct partsum_plan){ .size = ct, .head_len = hlen, .part_size = l.part_size,
				      .nparts = l.nparts };
	return 0;
}
