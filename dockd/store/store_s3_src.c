/* store_s3_src.c - the source check of an s3:// put: the vault file must
 * still be the ciphertext whose SHA-256 was recorded at stored_local.
 *
 * Ingest no longer re-reads the vault file from the device (docs/dockd.md),
 * and an S3 upload's own checks (Content-MD5, x-amz-content-sha256, the
 * multipart ETag) only prove the server holds what we sent. Without this
 * check a vault copy damaged on disk after stored_local would be uploaded
 * and, with read-back off, counted as storage verified. The whole file is
 * hashed in order on a thread of its own while the parts go up (they are
 * read out of order by several threads), and the result is compared
 * before CompleteMultipartUpload; a single PUT is checked before it is
 * sent, because a write-once (Object Lock) key cannot be taken back.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "store_s3_int.h"

#define SRC_SLICE (1u << 20)

struct s3_srccheck {
	pthread_t th;
	int fd;
	uint64_t size;
	uint8_t md[32];
	int r;
};

static int hash_file(int fd, uint64_t size, uint8_t md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(SRC_SLICE);
	int r = -ENOMEM;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < SRC_SLICE ? (size_t)(size - done) : SRC_SLICE;

		r = s3t_read_range(fd, done, buf, n);
		if (r < 0)
			goto out;
		r = -ENOMEM;
		if (!EVP_DigestUpdate(ctx, buf, n))
			goto out;
		done += n;
	}
	r = EVP_DigestFinal_ex(ctx, md, NULL) ? 0 : -ENOMEM;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

static void *run(void *arg)
{
	struct s3_srccheck *sc = arg;

	sc->r = hash_file(sc->fd, sc->size, sc->md);
	return NULL;
}

int s3t_srccheck_start(int fd, uint64_t size, struct s3_srccheck **out)
{
	struct s3_srccheck *sc = calloc(1, sizeof(*sc));
	int r;

	if (!sc)
		return -ENOMEM;
	sc->fd = fd;
	sc->size = size;
	r = pthread_create(&sc->th, NULL, run, sc);
	if (r) {
		free(sc);
		return -r;
	}
	*out = sc;
	return 0;
}

int s3t_srccheck_end(struct s3_srccheck *sc, const char *okey, const uint8_t want[32])
{
	int r;

	pthread_join(sc->th, NULL);
	r = sc->r;
	if (r == 0 && memcmp(sc->md, want, 32) != 0) {
		log_error("s3: %s: the local source no longer matches its recorded SHA-256 "
			  "(%" PRIu64 " bytes): not stored", okey, sc->size);
		r = -EUCLEAN;
	} else if (r < 0) {
		log_error("s3: %s: reading the local source: %s", okey, strerror(-r));
	}
	free(sc);
	return r;
}

int s3t_srccheck(int fd, uint64_t size, const char *okey, const uint8_t want[32])
{
	struct s3_srccheck *sc;
	int r = s3t_srccheck_start(fd, size, &sc);

	return r < 0 ? r : s3t_srccheck_end(sc, okey, want);
}
