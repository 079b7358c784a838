/* Tests for the ingest-time S3 part digests (dockd/ingest/partsum.c): each part's
 * MD5 and SHA-256 whatever the feeding pattern, and a digest file that is
 * used only when it is whole and made for the same layout and ciphertext. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "partsum.h"

/* head 1000, parts of 4096: [0,5096) [5096,9192) [9192,12345) */
static const struct partsum_plan PLAN = { .size = 12345, .head_len = 1000, .part_size = 4096,
					  .nparts = 3 };
static const uint8_t CT_SHA[32] = { 1, 2, 3 };

static uint8_t data[12345];
static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7919u >> 3);
	snprintf(path, sizeof(path), "/tmp/test-partsum.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char tmp[80];

	(void)state;
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	return 0;
}

static void md5_of(const uint8_t *p, size_t n, uint8_t out[16])
{
	EVP_MD *md = EVP_MD_fetch(NULL, "MD5", "-fips");
	unsigned len = 0;

	assert_non_null(md);
	assert_int_equal(EVP_Digest(p, n, out, &len, md, NULL), 1);
	EVP_MD_free(md);
}

/* Feed data in pieces of `step` bytes (varying), save, load, compare with
 * each part hashed on its own. */
static void feed_save_check(size_t step)
{
	struct partsum *ps = NULL;
	struct partsum_sums *s = NULL;
	static const uint64_t off[] = { 0, 5096, 9192, 12345 };

	assert_int_equal(partsum_new(&PLAN, &ps), 0);
	for (size_t o = 0; o < sizeof(data);) {
		size_t k = sizeof(data) - o < step ? sizeof(data) - o : step;

		assert_int_equal(partsum_feed(ps, data + o, k), 0);
		o += k;
		step = step * 5 % 3001 + 1;
	}
	assert_int_equal(partsum_feed(ps, data, 1), -EFBIG); /* past the end */
	partsum_free(ps);
	/* a clean run again, then saved */
	assert_int_equal(partsum_new(&PLAN, &ps), 0);
	assert_int_equal(partsum_save(ps, path, CT_SHA), -EINVAL); /* nothing fed yet */
	assert_int_equal(partsum_feed(ps, data, sizeof(data)), 0);
	assert_int_equal(partsum_save(ps, path, CT_SHA), 0);
	partsum_free(ps);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), 0);
	assert_int_equal(s->nparts, 3);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t md5[16], sha[32];

		md5_of(data + off[i], off[i + 1] - off[i], md5);
		SHA256(data + off[i], off[i + 1] - off[i], sha);
		assert_memory_equal(s->md5[i], md5, 16);
		assert_memory_equal(s->sha256[i], sha, 32);
	}
	free(s);
}

static void test_parts_any_feeding(void **state)
{
	(void)state;
	feed_save_check(1);
	feed_save_check(4096);
	feed_save_check(5096);
	feed_save_check(sizeof(data));
}

/* Fed in pieces: the same digests as fed at once (the loaded file equal). */
static void test_pieces_equal_whole(void **state)
{
	struct partsum *ps = NULL;
	struct partsum_sums *a = NULL, *b = NULL;

	(void)state;
	feed_save_check(1);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &a), 0);
	assert_int_equal(partsum_new(&PLAN, &ps), 0);
	for (size_t o = 0; o < sizeof(data); o += 1000)
		assert_int_equal(partsum_feed(ps, data + o, sizeof(data) - o < 1000
								 ? sizeof(data) - o : 1000), 0);
	assert_int_equal(partsum_save(ps, path, CT_SHA), 0);
	partsum_free(ps);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &b), 0);
	assert_memory_equal(a->md5, b->md5, 3 * 16);
	assert_memory_equal(a->sha256, b->sha256, 3 * 32);
	free(a);
	free(b);
}

static void test_bad_plans(void **state)
{
	struct partsum *ps = NULL;
	struct partsum_plan p = PLAN;

	(void)state;
	p.nparts = 1; /* a single PUT needs none */
	assert_int_equal(partsum_new(&p, &ps), -EINVAL);
	p = PLAN;
	p.nparts = 4; /* more parts than the size has */
	assert_int_equal(partsum_new(&p, &ps), -EINVAL);
	p = PLAN;
	p.nparts = 2; /* fewer */
	assert_int_equal(partsum_new(&p, &ps), -EINVAL);
	p = PLAN;
	p.part_size = 0;
	assert_int_equal(partsum_new(&p, &ps), -EINVAL);
	p = PLAN;
	p.nparts = PARTSUM_MAX_PARTS + 1;
	assert_int_equal(partsum_new(&p, &ps), -EINVAL);
	assert_null(ps);
}

/* Any difference from what it was made for, any damage: -ESTALE. */
static void test_load_refuses(void **state)
{
	struct partsum_sums *s = NULL;
	struct partsum_plan p = PLAN;
	uint8_t other[32] = { 9 }, buf[400];
	FILE *f;
	size_t n;

	(void)state;
	feed_save_check(777);
	assert_int_equal(partsum_load(path, &PLAN, other, &s), -ESTALE);
	p.part_size = 4097;
	assert_int_equal(partsum_load(path, &p, CT_SHA, &s), -ESTALE);
	p = PLAN;
	p.size = 12346;
	assert_int_equal(partsum_load(path, &p, CT_SHA, &s), -ESTALE);
	p = PLAN;
	p.head_len = 999;
	assert_int_equal(partsum_load(path, &p, CT_SHA, &s), -ESTALE);
	/* one flipped bit anywhere in the file */
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 72 + 3 * 48 + 32);
	for (size_t i = 0; i < n; i += 13) {
		buf[i] ^= 0x10;
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, n, f), n);
		fclose(f);
		assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), -ESTALE);
		buf[i] ^= 0x10;
	}
	/* cut short, and one byte too long */
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n - 1, f), n - 1);
	fclose(f);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), -ESTALE);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fwrite("x", 1, 1, f), 1);
	fclose(f);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), -ESTALE);
	/* restored: loads again */
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), 0);
	free(s);
	unlink(path);
	assert_int_equal(partsum_load(path, &PLAN, CT_SHA, &s), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parts_any_feeding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pieces_equal_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
