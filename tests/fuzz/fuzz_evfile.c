/*
 * Fuzz the evidence file reader: header peek/parse, size arithmetic, key
 * unwrap and chunk authentication over arbitrary bytes. The seed corpus
 * (tests/fuzz/corpus/fuzz_evfile/) holds valid files encrypted to the
 * well-known test key below, so mutations of the body get past the header
 * MAC and exercise chunk framing, truncation and extension.
 *
 * tests/unit/test_evfile.c includes this file to replay
 * tests/fuzz/regressions/fuzz_evfile/ (FUZZ_EVFILE_NO_MAIN is then set).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "evfile.h"

/* Test-only P-256 key, published in docs/evidence-format.md. */
static const char fuzz_evfile_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglPnpFgZaKP37J6N/\n"
	"ll+MVeo7D2VEsO5YjAVqt6xYu4ahRANCAAQQNcIfsTky0o/JUsjGJ34vXt+10gh5\n"
	"FfG2Nlyw2NKsQFBAFnr69lPOAtA4QyCynUd0+2rPkJ0RhRi3+ZhaTxfC\n"
	"-----END PRIVATE KEY-----\n";

struct fuzz_src {
	const uint8_t *p;
	size_t len, pos;
};

static ssize_t fuzz_src_read(void *arg, void *buf, size_t len)
{
	struct fuzz_src *s = arg;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	/* Dribble bytes out unevenly to exercise short-read handling. */
	if (n > 1 && (s->pos & 1))
		n = n / 2;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static EVP_PKEY *fuzz_evfile_key(void)
{
	static EVP_PKEY *key;

	if (!key) {
		BIO *b = BIO_new_mem_buf(fuzz_evfile_key_pem, -1);

		key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!key)
			abort();
	}
	return key;
}

/* Returns the reader's final status (0 = a complete authentic file). */
static int fuzz_evfile_one(const uint8_t *data, size_t size)
{
	struct evfile_info *info = malloc(sizeof(*info));
	struct evfile_reader *r = NULL;
	struct fuzz_src src = { data, size, 0 };
	const uint8_t *buf;
	uint64_t pt = 0, ct = 0;
	size_t len;
	int rc;

	if (!info)
		return -ENOMEM;
	if (evfile_header_parse(data, size, info) == 0) {
		if (evfile_plaintext_size(info->header_len, info->chunk_log2, size,
					  &pt) == 0 &&
		    (evfile_ciphertext_size(info->header_len, info->chunk_log2, pt,
					    &ct) != 0 || ct != size))
			abort(); /* the size functions must be inverses */
	}
	rc = evfile_reader_open(&r, fuzz_evfile_key(), fuzz_src_read, &src, info);
	if (rc == 0)
		while ((rc = evfile_reader_next(r, &buf, &len)) == 1)
			if (len > ((size_t)1 << info->chunk_log2))
				abort();
	if (rc == 0 && evfile_reader_plaintext_len(r) != pt)
		abort(); /* a verified file's size must match its length */
	evfile_reader_free(r);
	free(info);
	return rc;
}

#ifndef FUZZ_EVFILE_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_evfile_one(data, size);
	return 0;
}
#endif
