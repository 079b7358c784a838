/* Tests for the s3:// part layout (dockd/store/store_s3_mpu.c, s3t_layout): parts
 * fall on encrypted chunk boundaries of a real evidence file, stay within
 * part_size_mb and S3's limits, and cover the object exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evfile.h"
#include "store_s3_int.h"

/* Write an evidence file with 2^log2-byte chunks and pt_len bytes of
 * plaintext to a temporary file; returns its fd (positioned anywhere). */
static int make_evfile(unsigned log2, uint64_t pt_len, uint64_t *size)
{
	char path[] = "/tmp/s3layout-XXXXXX";
	int fd = mkstemp(path);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct evfile_meta meta = { .recording_id = "rec-1", .chunk_log2 = log2 };
	struct evfile_writer *w = NULL;
	static uint8_t buf[1 << 16];
	uint64_t done = 0, ct = 0;

	assert_true(fd >= 0);
	unlink(path);
	assert_non_null(k);
	assert_int_equal(evfile_writer_open(&w, &k, 1, &meta, evfile_fd_write, &fd), 0);
	memset(buf, 0x5a, sizeof(buf));
	while (done < pt_len) {
		size_t n = pt_len - done < sizeof(buf) ? (size_t)(pt_len - done) : sizeof(buf);
		assert_int_equal(evfile_writer_write(w, buf, n), 0);
		done += n;
	}
	assert_int_equal(evfile_writer_finish(w, NULL, &ct), 0);
	evfile_writer_free(w);
	EVP_PKEY_free(k);
	*size = (uint64_t)lseek(fd, 0, SEEK_END);
	assert_int_equal(*size, ct);
	return fd;
}

static void check_cover(const struct s3_layout *l)
{
	uint64_t expect = 0, off, len;

	for (unsigned n = 1; n <= l->nparts; n++) {
		s3t_part_range(l, n, &off, &len);
		assert_int_equal(off, expect);
		assert_true(len > 0);
		if (n < l->nparts)
			assert_true(len >= S3_MIN_PART);
		expect += len;
	}
	assert_int_equal(expect, l->size);
	s3t_part_range(l, l->nparts + 1, &off, &len);
	assert_int_equal(len, 0);
}

static void test_evfile_chunk_aligned(void **state)
{
	struct s3_target st = { .part_max = 6u << 20 };
	struct s3_layout l;
	uint64_t size, off, len, cc = (1u << 16) + 16;
	uint8_t hdr[EVFILE_MAX_HEADER];
	struct evfile_info info;
	int fd = make_evfile(16, 20u << 20, &size);

	(void)state;
	assert_int_equal(s3t_layout(&st, fd, size, &l), 0);
	assert_int_equal(s3t_read_range(fd, 0, hdr, 4096 < size ? 4096 : size), 0);
	assert_int_equal(evfile_header_parse(hdr, 4096, &info), 0);
	assert_int_equal(l.head_len, info.header_len);
	assert_int_equal(l.part_size % cc, 0);        /* whole chunks */
	assert_true(l.part_size <= st.part_max);       /* the largest multiple ... */
	assert_true(l.part_size + cc > st.part_max);   /* ... not above part_max */
	check_cover(&l);
	assert_true(l.nparts >= 4);
	for (unsigned n = 2; n <= l.nparts; n++) {     /* part n starts on a chunk */
		s3t_part_range(&l, n, &off, &len);
		assert_int_equal(evfile_chunk_offset(info.header_len, 16,
						     (uint64_t)(n - 1) * (l.part_size / cc)),
				 off);
	}
	close(fd);
}

static void test_min_part_and_single(void **state)
{
	/* 16 MiB chunks: 5 MiB part_max is below one chunk: one chunk per part */
	struct s3_target st = { .part_max = 5u << 20 };
	struct s3_layout l;
	uint64_t size;
	int fd = make_evfile(24, 40u << 20, &size);

	(void)state;
	assert_int_equal(s3t_layout(&st, fd, size, &l), 0);
	assert_int_equal(l.part_size, (16u << 20) + 16);
	check_cover(&l);
	assert_int_equal(l.nparts, 3);
	close(fd);

	/* a small file is one PUT */
	fd = make_evfile(16, 100000, &size);
	st.part_max = 16u << 20;
	assert_int_equal(s3t_layout(&st, fd, size, &l), 0);
	assert_int_equal(l.nparts, 1);
	check_cover(&l);
	close(fd);
}

static void test_plain_file_and_part_limit(void **state)
{
	struct s3_target st = { .part_max = 5u << 20 };
	struct s3_layout l;
	char path[] = "/tmp/s3layout-XXXXXX";
	int fd = mkstemp(path);
	uint64_t big = 100ull << 30; /* sparse 100 GiB: 20480 parts of 5 MiB */

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)big), 0);
	assert_int_equal(s3t_layout(&st, fd, 12u << 20, &l), 0);
	assert_int_equal(l.head_len, 0); /* not an evidence file: plain pieces */
	assert_int_equal(l.part_size, 5u << 20);
	assert_int_equal(l.nparts, 3);
	check_cover(&l);
	assert_int_equal(s3t_layout(&st, fd, big, &l), 0);
	assert_true(l.nparts <= S3_MAX_PARTS);
	assert_true(l.part_size > (5u << 20));
	check_cover(&l);
	/* beyond S3's 5 TiB object limit */
	assert_int_equal(s3t_layout(&st, fd, 60ull << 40, &l), -EFBIG);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evfile_chunk_aligned),
		cmocka_unit_test(test_min_part_and_single),
		cmocka_unit_test(test_plain_file_and_part_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
