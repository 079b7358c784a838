/* Tests for the file:// storage target (dockd/store/store_file.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* store_open() takes the whole configuration; only the url matters here. */
static int open_url(const char *url, struct store_target **out)
{
	static struct dock_config c;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.storage_target, sizeof(c.storage_target), "%s", url);
	return store_open(&c, NULL, out, err, sizeof(err));
}

struct fixture {
	char root[128];
	char src[160];
	uint8_t data[200000];
	uint8_t sha[32];
	struct store_target *t;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->root, sizeof(f->root), "/tmp/store-test.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->src, sizeof(f->src), "%s.src", f->root);
	for (size_t i = 0; i < sizeof(f->data); i++)
		f->data[i] = (uint8_t)(i * 131 + 7);
	SHA256(f->data, sizeof(f->data), f->sha);
	fd = open(f->src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, f->data, sizeof(f->data)) != (ssize_t)sizeof(f->data))
		return -1;
	close(fd);
	char url[200];
	snprintf(url, sizeof(url), "file://%s", f->root);
	if (open_url(url, &f->t) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[300];

	store_close(f->t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->root, f->src);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static int put_src(struct fixture *f, const char *key, uint64_t size, struct store_info *info)
{
	int fd = open(f->src, O_RDONLY);
	/* The source's hash is known only for the whole file. */
	struct store_put_opts po = { .sha256 = size == sizeof(f->data) ? f->sha : NULL };
	int r = store_put(f->t, key, fd, size, &po, info);

	close(fd);
	return r;
}

static void test_put_verify(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	char path[300];
	struct stat st;

	assert_int_equal(put_src(f, "metro/CAM1/rec-1.bcde", sizeof(f->data), &info), 0);
	snprintf(path, sizeof(path), "file://%s/metro/CAM1/rec-1.bcde", f->root);
	assert_string_equal(info.location, path);
	assert_int_equal(store_verify(f->t, "metro/CAM1/rec-1.bcde", sizeof(f->data), f->sha), 0);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), "%s/metro/CAM1/rec-1.bcde.part-%ld", f->root, (long)getpid());
	assert_int_equal(stat(path, &st), -1);
}

static void test_write_once(void **state)
{
	struct fixture *f = *state;
	struct store_info info;

	assert_int_equal(put_src(f, "a/b", sizeof(f->data), &info), 0);
	/* identical retry (a crash after put, before the ledger event) is fine */
	assert_int_equal(put_src(f, "a/b", sizeof(f->data), &info), 0);
	/* different bytes under the same key are refused, nothing replaced */
	assert_int_equal(put_src(f, "a/b", 1000, &info), -EEXIST);
	assert_int_equal(store_verify(f->t, "a/b", sizeof(f->data), f->sha), 0);
}

static void test_verify_detects_damage(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	char path[300];
	uint8_t bad = 0xff;
	int fd;

	assert_int_equal(put_src(f, "x/y", sizeof(f->data), &info), 0);
	snprintf(path, sizeof(path), "%s/x/y", f->root);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &bad, 1, 12345), 1);
	close(fd);
	assert_int_equal(store_verify(f->t, "x/y", sizeof(f->data), f->sha), -EBADMSG);
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(store_verify(f->t, "x/y", sizeof(f->data), f->sha), -EBADMSG);
	assert_int_equal(store_verify(f->t, "x/none", sizeof(f->data), f->sha), -ENOENT);
}

static void test_short_source_fails(void **state)
{
	struct fixture *f = *state;
	struct store_info info;

	assert_int_equal(put_src(f, "short", sizeof(f->data) + 1, &info), -EIO);
	assert_int_equal(store_verify(f->t, "short", sizeof(f->data), f->sha), -ENOENT);
}

static void test_bad_keys(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	static const char *const bad[] = { "", "/abs", "a//b", "a/../b", "..", ".", "a/", "a b",
					   "a/./b", "a\\b", "a\nb" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(store_key_valid(bad[i]));
		assert_int_equal(put_src(f, bad[i], 10, &info), -EINVAL);
	}
	assert_true(store_key_valid("metro/CAM-1/2026-11-22T10:00:00.bcde"));
}

/* A vault copy that no longer matches its recorded hash never reaches the
 * target, and the progress counter follows the copy. */
static void test_source_hash(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	_Atomic uint64_t progress = 0;
	uint8_t wrong[32];
	char path[600];
	int fd = open(f->src, O_RDONLY);

	memcpy(wrong, f->sha, sizeof(wrong));
	wrong[0] ^= 1;
	struct store_put_opts po = { .sha256 = wrong, .progress = &progress };
	assert_true(fd >= 0);
	assert_int_equal(store_put(f->t, "h/bad", fd, sizeof(f->data), &po, &info), -EUCLEAN);
	snprintf(path, sizeof(path), "%s/h/bad", f->root);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	po.sha256 = f->sha;
	progress = 0;
	assert_int_equal(store_put(f->t, "h/good", fd, sizeof(f->data), &po, &info), 0);
	assert_int_equal(progress, sizeof(f->data));
	close(fd);
}

static void test_bad_urls(void **state)
{
	struct store_target *t;

	assert_int_equal(open_url("s3x://bucket", &t), -EINVAL);
	assert_int_equal(open_url("file://relative", &t), -EINVAL);
	assert_int_equal(open_url("file:///nonexistent-dir-xyz", &t), -ENOENT);
	assert_int_equal(open_url("file:///etc/passwd", &t), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_detects_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_source_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
		cmocka_unit_test(test_bad_urls),
	};
	return cmocka_run_group_tests_name("store_file", tests, NULL, NULL);
}
