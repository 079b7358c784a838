/* Tests for the ingest's writer thread (dockd/ingest/dwrite.c) and the evfile
 * streaming mode that feeds it (custody/evfile_stream.c). */
#define _GNU_SOURCE /* O_DIRECT */
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "dwrite.h"
#include "evfile.h"

#define BIG (3u * 1024 * 1024 + 12345) /* several blocks and an odd tail */

struct fx {
	char path[64];
	int fd;
	uint8_t *data;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/test-dwrite.XXXXXX");
	f->fd = mkstemp(f->path);
	f->data = malloc(BIG);
	if (f->fd < 0 || !f->data)
		return -1;
	for (size_t i = 0; i < BIG; i++)
		f->data[i] = (uint8_t)(i * 2654435761u >> 13);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->fd >= 0)
		close(f->fd);
	unlink(f->path);
	free(f->data);
	free(f);
	return 0;
}

/* The whole file must be exactly want[0, len). */
static void assert_file(int fd, const uint8_t *want, size_t len)
{
	struct stat st;
	uint8_t *got = malloc(len + 1);

	assert_non_null(got);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, len);
	assert_int_equal(pread(fd, got, len + 1, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* Odd-sized appends (1 byte .. 200 KiB), flushes in between: every byte
 * lands once, in order, and the running SHA-256 is that of the file. */
static void test_identical_and_sha(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	uint8_t sha[32], want[32];
	uint64_t len = 0;
	size_t off = 0, step = 1, n = 0;

	assert_int_equal(dwrite_open(f->fd, 0, true, &w), 0);
	while (off < BIG) {
		size_t k = step < BIG - off ? step : BIG - off;

		assert_int_equal(dwrite_append(w, f->data + off, k), 0);
		off += k;
		step = (step * 7 + 13) % 200000 + 1;
		if (++n % 9 == 0) /* a sync point in the middle of a block */
			assert_int_equal(dwrite_flush(w), 0);
	}
	assert_int_equal(dwrite_flush(w), 0);
	assert_file(f->fd, f->data, BIG);
	assert_int_equal(dwrite_sha256(w, &len, sha), 0);
	assert_int_equal(len, BIG);
	SHA256(f->data, BIG, want);
	assert_memory_equal(sha, want, 32);
	assert_int_equal(dwrite_sha256(w, &len, sha), -EINVAL); /* once */
	dwrite_free(w);
}

/* The ring rule (dwrite.h): a lone writer 16 x 1 MiB, else DWRITE_BUDGET
 * shared by the writers open, by powers of two, 2 x 128 KiB at least. */
static void test_ring_rule(void **state)
{
	static const struct {
		unsigned n, nblk;
		size_t bsize;
	} want[] = {
		{ 0, 16, 1024u << 10 }, { 1, 16, 1024u << 10 },  { 2, 4, 1024u << 10 },
		{ 3, 2, 1024u << 10 },  { 4, 2, 1024u << 10 },  { 5, 2, 512u << 10 },
		{ 8, 2, 512u << 10 },   { 9, 2, 256u << 10 },   { 16, 2, 256u << 10 },
		{ 17, 2, 128u << 10 },  { 32, 2, 128u << 10 },  { 64, 2, 128u << 10 },
		{ 100000, 2, 128u << 10 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t bsize = 0;
		unsigned nblk = 0;

		dwrite_ring_for(want[i].n, &bsize, &nblk);
		assert_int_equal(bsize, want[i].bsize);
		assert_int_equal(nblk, want[i].nblk);
		/* within the budget from two writers up to its floor (17 and more) */
		if (want[i].n >= 2 && want[i].n <= 16)
			assert_true(bsize * nblk * want[i].n <= DWRITE_BUDGET);
	}
}

/* More blocks than the ring holds, in big appends and no flush: the caller
 * runs ahead of the thread and must wait for free blocks, never overwrite
 * a queued one. A lone writer holds 16 x 1 MiB; a second one opening midway
 * gets 4 x 1 MiB and the first changes to the same at its next block; with
 * sixteen open every one, the first two included, has 2 x 256 KiB (the
 * rule of dwrite.h: sixteen cameras share alike, and with more than the
 * 128 KiB floor), without losing or reordering a byte. */
#define RING_LEN ((size_t)(DWRITE_LONE_BLOCKS + 5) * DWRITE_BLOCK_MAX + 777)
#define NW 16

static void append_all(struct dwrite *w, const uint8_t *data, size_t from, size_t to)
{
	while (from < to) {
		size_t k = to - from < 3000000 ? to - from : 3000000;

		assert_int_equal(dwrite_append(w, data + from, k), 0);
		from += k;
	}
}

static void test_ring_runs_ahead(void **state)
{
	struct fx *f = *state;
	char path[NW][64];
	int fd[NW];
	struct dwrite *w[NW] = { NULL };
	uint8_t *data = malloc(RING_LEN), sha[32], want[32];
	uint64_t len = 0;

	assert_non_null(data);
	for (size_t i = 0; i < RING_LEN; i++)
		data[i] = (uint8_t)(i * 40503u >> 7);
	fd[0] = f->fd;
	for (unsigned i = 1; i < NW; i++) {
		snprintf(path[i], sizeof(path[i]), "/tmp/test-dwrite%u.XXXXXX", i);
		fd[i] = mkstemp(path[i]);
		assert_true(fd[i] >= 0);
	}
	assert_int_equal(dwrite_open(fd[0], 0, true, &w[0]), 0);
	assert_int_equal(dwrite_block_size(w[0]), DWRITE_BLOCK_MAX);
	assert_int_equal(dwrite_ring_blocks(w[0]), DWRITE_LONE_BLOCKS);
	/* alone: the first quarter through the big ring */
	append_all(w[0], data, 0, RING_LEN / 4);
	assert_int_equal(dwrite_block_size(w[0]), DWRITE_BLOCK_MAX);
	assert_int_equal(dwrite_ring_blocks(w[0]), DWRITE_LONE_BLOCKS);
	assert_int_equal(dwrite_open(fd[1], 0, true, &w[1]), 0);
	assert_int_equal(dwrite_ring_blocks(w[1]), 4);
	/* three million bytes: past each one's next block boundary */
	append_all(w[0], data, RING_LEN / 4, RING_LEN / 4 + 3000000);
	append_all(w[1], data, 0, 3000000);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(dwrite_block_size(w[i]), DWRITE_BLOCK_MAX);
		assert_int_equal(dwrite_ring_blocks(w[i]), 4);
	}
	/* sixteen open: each one's ring is 2 x 256 KiB after its next block */
	for (unsigned i = 2; i < NW; i++) {
		assert_int_equal(dwrite_open(fd[i], 0, true, &w[i]), 0);
		assert_true(dwrite_block_size(w[i]) * dwrite_ring_blocks(w[i]) <= 2u << 20);
	}
	append_all(w[0], data, RING_LEN / 4 + 3000000, RING_LEN);
	append_all(w[1], data, 3000000, RING_LEN);
	for (unsigned i = 2; i < NW; i++)
		append_all(w[i], data, 0, RING_LEN);
	for (unsigned i = 0; i < NW; i++) {
		assert_int_equal(dwrite_block_size(w[i]), 256u << 10);
		assert_int_equal(dwrite_ring_blocks(w[i]), 2);
	}
	SHA256(data, RING_LEN, want);
	for (unsigned i = 0; i < NW; i++) {
		assert_int_equal(dwrite_flush(w[i]), 0);
		assert_file(fd[i], data, RING_LEN);
		assert_int_equal(dwrite_sha256(w[i], &len, sha), 0);
		assert_int_equal(len, RING_LEN);
		assert_memory_equal(sha, want, 32);
	}
	for (unsigned i = 1; i < NW; i++)
		dwrite_free(w[i]);
	/* alone again: a new writer gets the lone ring */
	assert_int_equal(ftruncate(fd[0], 0), 0);
	dwrite_free(w[0]);
	assert_int_equal(dwrite_open(fd[0], 0, false, &w[0]), 0);
	assert_int_equal(dwrite_block_size(w[0]), DWRITE_BLOCK_MAX);
	assert_int_equal(dwrite_ring_blocks(w[0]), DWRITE_LONE_BLOCKS);
	dwrite_free(w[0]);
	for (unsigned i = 1; i < NW; i++) {
		close(fd[i]);
		unlink(path[i]);
	}
	free(data);
}

/* The tap sees every byte of the file once, in order: the bytes already
 * in the file (read back), blocks on its own thread, partial blocks the
 * caller writes at flushes. Checked by hashing what it sees. */
static void tap_sha(void *ctx, const uint8_t *buf, size_t len)
{
	assert_int_equal(EVP_DigestUpdate(ctx, buf, len), 1);
}

static void test_tap_sees_everything(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	EVP_MD_CTX *t = EVP_MD_CTX_new();
	uint8_t got[32], want[32];
	size_t pre = 70001, off = pre, step = 3;
	unsigned n = 0;

	assert_non_null(t);
	assert_int_equal(EVP_DigestInit_ex(t, EVP_sha256(), NULL), 1);
	assert_int_equal(pwrite(f->fd, f->data, pre, 0), (ssize_t)pre);
	assert_int_equal(dwrite_open(f->fd, pre, true, &w), 0);
	assert_int_equal(dwrite_append(w, f->data + off, 100), 0); /* before the tap: fine */
	off += 100;
	assert_int_equal(dwrite_set_tap(w, tap_sha, t), 0);
	assert_int_equal(dwrite_set_tap(w, tap_sha, t), -EINVAL); /* once */
	while (off < BIG) {
		size_t k = step < BIG - off ? step : BIG - off;

		assert_int_equal(dwrite_append(w, f->data + off, k), 0);
		off += k;
		step = (step * 11 + 7) % 700000 + 1;
		if (++n % 5 == 0)
			assert_int_equal(dwrite_flush(w), 0);
	}
	assert_int_equal(dwrite_flush(w), 0);
	assert_file(f->fd, f->data, BIG);
	dwrite_free(w);
	assert_int_equal(EVP_DigestFinal_ex(t, got, NULL), 1);
	SHA256(f->data, BIG, want);
	assert_memory_equal(got, want, 32);
	EVP_MD_CTX_free(t);
}

/* Resume: the first bytes are in the file already (unaligned end); the
 * hash covers them too. */
static void test_resume_prefix(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	const size_t pre = 1048576 + 4097;
	uint8_t sha[32], want[32];
	uint64_t len = 0;

	assert_int_equal(pwrite(f->fd, f->data, pre, 0), (ssize_t)pre);
	assert_int_equal(dwrite_open(f->fd, pre, true, &w), 0);
	assert_int_equal(dwrite_append(w, f->data + pre, BIG - pre), 0);
	assert_int_equal(dwrite_sha256(w, &len, sha), -EINVAL); /* a tail is not flushed */
	assert_int_equal(dwrite_flush(w), 0);
	assert_int_equal(dwrite_sha256(w, &len, sha), 0);
	assert_int_equal(len, BIG);
	SHA256(f->data, BIG, want);
	assert_memory_equal(sha, want, 32);
	assert_file(f->fd, f->data, BIG);
	dwrite_free(w);
}

/* Where the file system takes O_DIRECT, the page-aligned middle of the
 * file goes to it without passing through the page cache (the copy that
 * cost ~1 s CPU per GiB): after the writes, none of those pages is
 * resident, only the unaligned head and tail may be. The old writer left
 * every page it wrote in the cache until 128 MiB later. */
static void test_direct_bypasses_cache(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	const size_t pre = 1000, len = BIG - pre, pg = 4096;
	size_t npg = (BIG + pg - 1) / pg, resident = 0;
	unsigned char *vec = malloc(npg);
	int fl = fcntl(f->fd, F_GETFL);
	void *map;

	assert_non_null(vec);
	if (fcntl(f->fd, F_SETFL, fl | O_DIRECT) < 0) {
		free(vec);
		skip(); /* tmpfs and the like: buffered writes, as before */
	}
	assert_int_equal(fcntl(f->fd, F_SETFL, fl), 0);
	assert_int_equal(pwrite(f->fd, f->data, pre, 0), (ssize_t)pre);
	assert_int_equal(fdatasync(f->fd), 0);
	assert_int_equal(posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	assert_int_equal(dwrite_open(f->fd, pre, false, &w), 0);
	assert_int_equal(dwrite_append(w, f->data + pre, len), 0);
	assert_int_equal(dwrite_flush(w), 0);
	/* the caller's flags are back after a flush */
	assert_int_equal(fcntl(f->fd, F_GETFL), fl);
	dwrite_free(w);
	map = mmap(NULL, BIG, PROT_READ, MAP_SHARED, f->fd, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mincore(map, BIG, vec), 0);
	for (size_t i = 1; i + 1 < npg; i++) /* not the first and last pages */
		resident += vec[i] & 1;
	munmap(map, BIG);
	free(vec);
	assert_int_equal(resident, 0);
	assert_file(f->fd, f->data, BIG);
}

/* Without sha256: no digest. */
static void test_no_sha(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	uint8_t sha[32];
	uint64_t len = 0;

	assert_int_equal(dwrite_open(f->fd, 0, false, &w), 0);
	assert_int_equal(dwrite_append(w, f->data, 1000), 0);
	assert_int_equal(dwrite_flush(w), 0);
	assert_int_equal(dwrite_sha256(w, &len, sha), -EINVAL);
	assert_file(f->fd, f->data, 1000);
	dwrite_free(w);
	assert_int_equal(dwrite_open(-1, 0, false, &w), -EINVAL);
	dwrite_free(NULL);
}

/* A full device: the thread's ENOSPC reaches the caller and sticks. */
static void test_enospc_sticks(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	int fd = open("/dev/full", O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		skip();
	assert_int_equal(dwrite_open(fd, 0, true, &w), 0);
	/* Appends fail once a block was handed over and failed: at the latest
	 * when the ring is full and the caller waits for the thread. The
	 * bytes repeat the first 3 MiB of data (the loop once read past the
	 * end of data when the thread had not failed by then: a loaded
	 * machine, AddressSanitizer). */
	for (size_t off = 0; off < (64u << 20) && r == 0; off += 65536)
		r = dwrite_append(w, f->data + off % (3u << 20), 65536);
	if (r == 0)
		r = dwrite_flush(w);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(dwrite_append(w, f->data, 1), -ENOSPC);
	assert_int_equal(dwrite_flush(w), -ENOSPC);
	dwrite_free(w);
	close(fd);
	/* A resume whose prefix cannot be read back fails at open. */
	w = NULL;
	assert_int_equal(pwrite(f->fd, f->data, 100, 0), 100);
	fd = open(f->path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(dwrite_open(fd, 100, true, &w), -EBADF);
	assert_null(w);
	close(fd);
}

/* A descriptor that is not open: -EBADF from the flush, nothing hangs. */
static void test_bad_fd(void **state)
{
	struct fx *f = *state;
	struct dwrite *w = NULL;
	int fd = dup(f->fd);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dwrite_open(fd, 0, false, &w), 0);
	assert_int_equal(dwrite_append(w, f->data, 5000), 0);
	assert_int_equal(dwrite_flush(w), -EBADF);
	dwrite_free(w);
}

/* ---- evfile streaming into dwrite ----------------------------------------- */

static EVP_PKEY *p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

struct mem {
	uint8_t *p;
	size_t len, cap;
};

static int mem_write(void *arg, const void *buf, size_t len)
{
	struct mem *m = arg;

	if (m->len + len > m->cap) {
		size_t cap = (m->len + len) * 2;
		uint8_t *p = realloc(m->p, cap);

		if (!p)
			return -ENOMEM;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static int dw_out(void *arg, const void *buf, size_t len)
{
	return dwrite_append(arg, buf, len);
}

/* Same header and key, one writer buffered and one streaming (through
 * dwrite into a file): the outputs are byte-identical, for sizes around
 * chunk boundaries, and the streamed file decrypts to the plaintext. */
static void test_stream_identical(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = { 0, 1, 4096, 4097, 65536, 65536 * 3, 65536 * 3 + 1, BIG };
	const struct evfile_meta meta = { .recording_id = "REC-1", .camera_serial = "CAM",
					  .chunk_log2 = 16 };
	EVP_PKEY *k = p256();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], hl = 0;
		struct evfile_writer *w = NULL, *a = NULL, *b = NULL;
		struct mem hdr = { 0 }, ma = { 0 };
		struct dwrite *dw = NULL;
		uint8_t key[EVFILE_KEY_LEN];
		const uint8_t *h;
		uint64_t chunks = 1, pt = 0, ct = 0;

		assert_int_equal(ftruncate(f->fd, 0), 0);
		assert_int_equal(evfile_writer_open(&w, &k, 1, &meta, mem_write, &hdr), 0);
		assert_int_equal(evfile_writer_checkpoint(w, key, &chunks), 0);
		assert_int_equal(chunks, 0);
		h = evfile_writer_header(w, &hl);
		assert_int_equal(hl, hdr.len);
		assert_int_equal(pwrite(f->fd, h, hl, 0), (ssize_t)hl);
		/* a: buffered, in memory */
		assert_int_equal(evfile_writer_resume(&a, h, hl, key, 0, mem_write, &ma), 0);
		assert_int_equal(evfile_writer_write(a, f->data, n), 0);
		assert_int_equal(evfile_writer_finish(a, NULL, NULL), 0);
		/* b: streaming, through dwrite, in odd pieces */
		assert_int_equal(dwrite_open(f->fd, hl, false, &dw), 0);
		assert_int_equal(evfile_writer_resume(&b, h, hl, key, 0, dw_out, dw), 0);
		assert_int_equal(evfile_writer_set_size(b, n), 0);
		for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 + 1)
			assert_int_equal(evfile_writer_write(b, f->data + off,
							     step < n - off ? step : n - off), 0);
		assert_int_equal(evfile_writer_finish(b, &pt, &ct), 0);
		assert_int_equal(pt, n);
		assert_int_equal(ct, hl + ma.len);
		assert_int_equal(dwrite_flush(dw), 0);
		ma.p = realloc(ma.p, hl + ma.len);
		memmove(ma.p + hl, ma.p, ma.len);
		memcpy(ma.p, h, hl);
		assert_file(f->fd, ma.p, hl + ma.len);
		evfile_key_wipe(key);
		dwrite_free(dw);
		evfile_writer_free(a);
		evfile_writer_free(b);
		evfile_writer_free(w);
		free(hdr.p);
		free(ma.p);
	}
	EVP_PKEY_free(k);
}

/* The announced size is binding: more bytes, or fewer at finish, fail
 * (and keep failing); set_size only before the first write. */
static void test_stream_size_binding(void **state)
{
	struct fx *f = *state;
	const struct evfile_meta meta = { .recording_id = "REC-2", .chunk_log2 = 12 };
	EVP_PKEY *k = p256();
	struct evfile_writer *w = NULL;
	struct mem m = { 0 };

	assert_int_equal(evfile_writer_open(&w, &k, 1, &meta, mem_write, &m), 0);
	assert_int_equal(evfile_writer_set_size(w, 10000), 0);
	assert_int_equal(evfile_writer_set_size(w, 10000), -EINVAL);
	assert_int_equal(evfile_writer_write(w, f->data, 9999), 0);
	assert_int_equal(evfile_writer_write(w, f->data, 2), -EINVAL);
	assert_int_equal(evfile_writer_write(w, f->data, 1), -EINVAL); /* sticky */
	evfile_writer_free(w);
	free(m.p);
	m = (struct mem){ 0 };
	assert_int_equal(evfile_writer_open(&w, &k, 1, &meta, mem_write, &m), 0);
	assert_int_equal(evfile_writer_set_size(w, 10000), 0);
	assert_int_equal(evfile_writer_write(w, f->data, 5000), 0);
	assert_int_equal(evfile_writer_finish(w, NULL, NULL), -EINVAL);
	evfile_writer_free(w);
	free(m.p);
	m = (struct mem){ 0 };
	assert_int_equal(evfile_writer_open(&w, &k, 1, &meta, mem_write, &m), 0);
	assert_int_equal(evfile_writer_write(w, f->data, 10), 0);
	assert_int_equal(evfile_writer_set_size(w, 10000), -EINVAL); /* after a write */
	evfile_writer_free(w);
	free(m.p);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identical_and_sha, setup, teardown),
		cmocka_unit_test(test_ring_rule),
		cmocka_unit_test_setup_teardown(test_ring_runs_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_sees_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_bypasses_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_sha, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_sticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_size_binding, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
