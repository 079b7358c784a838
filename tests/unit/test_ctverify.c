/* Tests for the ingest's device read-back (dockd/ingest/ctverify.c) and the
 * evfile check under it (custody/evfile_check.c): a file written by an
 * evfile writer authenticates when read back intact; one flipped bit in
 * the header, in a middle chunk or in a tag, a truncation at a chunk
 * boundary, a byte appended or two chunks swapped fail with -EBADMSG.
 * Every case runs on a file system with O_DIRECT (the current directory,
 * normally the build tree's disk) and on tmpfs (/dev/shm: the buffered
 * fallback), with the file reported durable in several stretches as the
 * ingest does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agencykey.h"
#include "ctverify.h"
#include "evfile.h"

#define LOG2 16                              /* 64 KiB chunks: several per file */
#define PT_LEN (5u * 65536 + 3000)           /* 6 chunks, a short final one */
#define CC ((1u << LOG2) + EVFILE_TAG_LEN)

static EVP_PKEY *agency;

struct fx {
	char path[128];
	uint8_t key[EVFILE_KEY_LEN];
	uint32_t hlen;
	uint64_t ct_len;
	uint64_t pt_len;
};

static int fd_out(void *arg, const void *buf, size_t len)
{
	return evfile_fd_write(arg, buf, len);
}

/* A fresh evidence file of pt_len bytes in dir, as the ingest writes it
 * (streaming writer), with its data key. */
static void make_file(struct fx *f, const char *dir, uint64_t pt_len)
{
	struct evfile_meta meta = { .recording_id = "REC-1", .camera_serial = "CAM-1",
				    .chunk_log2 = LOG2 };
	struct evfile_writer *w = NULL;
	uint8_t *pt = malloc(pt_len + 1);
	uint64_t chunks = 0, ct = 0;
	size_t hl = 0;
	int fd;

	assert_non_null(pt);
	for (uint64_t i = 0; i < pt_len; i++)
		pt[i] = (uint8_t)(i * 2654435761u >> 11);
	snprintf(f->path, sizeof(f->path), "%s/test-ctverify.XXXXXX", dir);
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(evfile_writer_open(&w, &agency, 1, &meta, fd_out, &fd), 0);
	assert_int_equal(evfile_writer_set_size(w, pt_len), 0);
	assert_int_equal(evfile_writer_checkpoint(w, f->key, &chunks), 0);
	assert_non_null(evfile_writer_header(w, &hl));
	/* odd pieces, as frames arrive */
	for (uint64_t off = 0; off < pt_len;) {
		size_t n = pt_len - off < 7777 ? (size_t)(pt_len - off) : 7777;

		assert_int_equal(evfile_writer_write(w, pt + off, n), 0);
		off += n;
	}
	assert_int_equal(evfile_writer_finish(w, NULL, &ct), 0);
	evfile_writer_free(w);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	free(pt);
	f->hlen = (uint32_t)hl;
	f->ct_len = ct;
	f->pt_len = pt_len;
}

static void flip_bit(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x10; /* always a change, whatever the byte was */
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

/* Read the file back as the ingest does: durable in three stretches,
 * then finish. Returns ctverify_finish's result; *len its length. */
static int read_back(const struct fx *f, uint64_t *len)
{
	struct ctverify *v = NULL;
	struct stat st;
	int r;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(ctverify_start(f->path, f->key, f->pt_len, &v), 0);
	ctverify_durable(v, (uint64_t)st.st_size / 3);
	ctverify_durable(v, (uint64_t)st.st_size / 3 * 2 + 4097);
	r = ctverify_finish(v, len);
	ctverify_free(v);
	return r;
}

static const char *const dirs[] = { ".", "/dev/shm" };

static void each_dir(void (*fn)(struct fx *f), uint64_t pt_len)
{
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct fx f = { 0 };

		if (access(dirs[i], W_OK) != 0)
			continue;
		make_file(&f, dirs[i], pt_len);
		fn(&f);
		unlink(f.path);
		evfile_key_wipe(f.key);
	}
}

static void intact(struct fx *f)
{
	uint64_t len = 0;

	assert_int_equal(read_back(f, &len), 0);
	assert_int_equal(len, f->ct_len);
}

static void header_flip(struct fx *f)
{
	uint64_t len = 12345;

	/* a field (the recording id area), then the header MAC's last byte */
	flip_bit(f->path, EVFILE_PREFIX_LEN + 20);
	assert_int_equal(read_back(f, &len), -EBADMSG);
	assert_int_equal(len, 12345); /* untouched on failure */
	flip_bit(f->path, EVFILE_PREFIX_LEN + 20); /* restored: intact again */
	assert_int_equal(read_back(f, &len), 0);
	flip_bit(f->path, f->hlen - 1);
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void middle_chunk_flip(struct fx *f)
{
	uint64_t len = 0;

	flip_bit(f->path, evfile_chunk_offset(f->hlen, LOG2, 2) + 40000);
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void tag_flip(struct fx *f)
{
	uint64_t len = 0;

	flip_bit(f->path, f->ct_len - 1); /* the final chunk's tag */
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void truncated_at_boundary(struct fx *f)
{
	uint64_t len = 0;

	/* whole chunks 0..3 and nothing else: every byte left is authentic,
	 * but the final chunk (and with it the length) is missing */
	assert_int_equal(truncate(f->path, (off_t)evfile_chunk_offset(f->hlen, LOG2, 4)), 0);
	assert_int_equal(read_back(f, &len), -EBADMSG);
	assert_int_equal(truncate(f->path, (off_t)f->hlen), 0); /* the header alone */
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void appended(struct fx *f)
{
	uint64_t len = 0;
	int fd = open(f->path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void chunks_swapped(struct fx *f)
{
	uint8_t *a = malloc(CC), *b = malloc(CC);
	uint64_t len = 0, o1 = evfile_chunk_offset(f->hlen, LOG2, 1),
		 o2 = evfile_chunk_offset(f->hlen, LOG2, 2);
	int fd = open(f->path, O_RDWR);

	assert_true(fd >= 0 && a && b);
	assert_int_equal(pread(fd, a, CC, (off_t)o1), CC);
	assert_int_equal(pread(fd, b, CC, (off_t)o2), CC);
	assert_int_equal(pwrite(fd, b, CC, (off_t)o1), CC);
	assert_int_equal(pwrite(fd, a, CC, (off_t)o2), CC);
	close(fd);
	free(a);
	free(b);
	assert_int_equal(read_back(f, &len), -EBADMSG);
}

static void test_intact(void **state)
{
	(void)state;
	each_dir(intact, PT_LEN);
	each_dir(intact, 0);            /* a 0-byte recording: one empty final chunk */
	each_dir(intact, 4u * 65536);   /* a full final chunk */
}

static void test_header_flip(void **state)
{
	(void)state;
	each_dir(header_flip, PT_LEN);
}

static void test_middle_chunk_flip(void **state)
{
	(void)state;
	each_dir(middle_chunk_flip, PT_LEN);
}

static void test_tag_flip(void **state)
{
	(void)state;
	each_dir(tag_flip, PT_LEN);
}

static void test_truncated(void **state)
{
	(void)state;
	each_dir(truncated_at_boundary, PT_LEN);
}

static void test_appended(void **state)
{
	(void)state;
	each_dir(appended, PT_LEN);
	each_dir(appended, 0);
}

static void test_swapped(void **state)
{
	(void)state;
	each_dir(chunks_swapped, PT_LEN);
}

/* The wrong plaintext size (the signed one is what the ingest passes): the
 * final chunk's AAD holds the size, so the file does not authenticate. */
static void wrong_size(struct fx *f)
{
	uint64_t len = 0;

	f->pt_len -= 1;
	assert_int_equal(read_back(f, &len), -EBADMSG);
	f->pt_len += 1;
}

static void test_wrong_size(void **state)
{
	(void)state;
	each_dir(wrong_size, PT_LEN);
}

/* Without a key: syncs only, nothing read, finish refuses. */
static void test_syncs_only(void **state)
{
	struct ctverify *v = NULL;
	char path[] = "test-ctverify.XXXXXX";
	uint64_t len = 7, mark = 1;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(ctverify_start(path, NULL, 0, &v), 0);
	ctverify_sync_async(v, 3, 5);
	ctverify_free(v); /* joins: the sync request ran or was dropped */
	assert_int_equal(ctverify_start(path, NULL, 0, &v), 0);
	assert_int_equal(ctverify_synced(v, &mark), 0);
	assert_int_equal(ctverify_finish(v, &len), -EINVAL);
	assert_int_equal(len, 7);
	ctverify_free(v);
	close(fd);
	unlink(path);
}

/* The check alone, fed one byte at a time: the same verdicts. */
/* The read buffers share CTV_BUDGET alike (ctverify.h): the rule, and a
 * verifier started alone (1 MiB) reads with 128 KiB once sixteen read
 * back, while the last one left reads with 1 MiB again; every verdict
 * stays right. */
#define NV 16

static void test_buffers_share_alike(void **state)
{
	static const struct {
		unsigned n;
		size_t b;
	} want[] = { { 0, 1024u << 10 }, { 1, 1024u << 10 }, { 2, 1024u << 10 },
		     { 3, 512u << 10 },  { 4, 512u << 10 },  { 5, 256u << 10 },
		     { 8, 256u << 10 },  { 9, 128u << 10 },  { 16, 128u << 10 },
		     { 17, 128u << 10 }, { 100000, 128u << 10 } };
	struct ctverify *v[NV] = { NULL };
	struct fx f;
	uint64_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(ctverify_buf_for(want[i].n), want[i].b);
	make_file(&f, ".", 40u * 65536 + 99); /* 2.6 MiB: several reads */
	assert_int_equal(ctverify_start(f.path, f.key, f.pt_len, &v[0]), 0);
	assert_int_equal(ctverify_buf_size(v[0]), CTV_BUF_MAX);
	for (unsigned i = 1; i < NV; i++) {
		assert_int_equal(ctverify_start(f.path, f.key, f.pt_len, &v[i]), 0);
		assert_true(ctverify_buf_size(v[i]) <= (CTV_BUDGET / i > CTV_BUF_MIN
								? CTV_BUDGET / i : CTV_BUF_MIN));
	}
	assert_int_equal(ctverify_finish(v[0], &len), 0);
	assert_int_equal(len, f.ct_len);
	assert_int_equal(ctverify_buf_size(v[0]), CTV_BUF_MIN);
	for (unsigned i = 0; i < NV - 1; i++)
		ctverify_free(v[i]);
	/* alone now: back to the whole share */
	assert_int_equal(ctverify_finish(v[NV - 1], &len), 0);
	assert_int_equal(len, f.ct_len);
	assert_int_equal(ctverify_buf_size(v[NV - 1]), CTV_BUF_MAX);
	ctverify_free(v[NV - 1]);
	unlink(f.path);
}

static void test_check_bytewise(void **state)
{
	struct fx f = { 0 };
	struct evfile_check *c = NULL;
	uint64_t len = 0;
	uint8_t *buf;
	int fd, r = 0;

	(void)state;
	make_file(&f, ".", PT_LEN);
	buf = malloc(f.ct_len);
	fd = open(f.path, O_RDONLY);
	assert_true(fd >= 0 && buf);
	assert_int_equal(pread(fd, buf, f.ct_len, 0), (ssize_t)f.ct_len);
	close(fd);
	for (int pass = 0; pass < 2; pass++) {
		uint8_t *copy = malloc(f.ct_len);

		assert_non_null(copy);
		memcpy(copy, buf, f.ct_len);
		if (pass == 1)
			copy[evfile_chunk_offset(f.hlen, LOG2, 3) + 5] ^= 1;
		assert_int_equal(evfile_check_new(&c, f.key, f.pt_len), 0);
		for (uint64_t i = 0; i < f.ct_len && r == 0; i++)
			r = evfile_check_feed(c, copy + i, 1);
		if (r == 0)
			r = evfile_check_end(c, &len);
		evfile_check_free(c);
		free(copy);
		if (pass == 0) {
			assert_int_equal(r, 0);
			assert_int_equal(len, f.ct_len);
		} else {
			assert_int_equal(r, -EBADMSG);
		}
		r = 0;
	}
	free(buf);
	unlink(f.path);
	evfile_key_wipe(f.key);
}

static int group_setup(void **state)
{
	(void)state;
	return agencykey_generate(AGENCYKEY_P256, &agency) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agency);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_header_flip),
		cmocka_unit_test(test_middle_chunk_flip),
		cmocka_unit_test(test_tag_flip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_appended),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_wrong_size),
		cmocka_unit_test(test_syncs_only),
		cmocka_unit_test(test_check_bytewise),
		cmocka_unit_test(test_buffers_share_alike),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
