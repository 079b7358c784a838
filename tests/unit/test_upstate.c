/* Tests for the durable multipart upload state (dockd/store/upstate.c), on a
 * real SQLite file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upstate.h"

struct fx {
	char dir[64];
	char path[128];
	struct upstate *u;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/upstate-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/uploads.db", f->dir);
	if (upstate_open(f->path, &f->u) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	upstate_close(f->u);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct upstate_upload mk_upload(const char *key, const char *id)
{
	struct upstate_upload up;

	memset(&up, 0, sizeof(up));
	snprintf(up.key, sizeof(up.key), "%s", key);
	snprintf(up.upload_id, sizeof(up.upload_id), "%s", id);
	up.size = 20u << 20;
	memset(up.ct_sha256, 0xab, 32);
	up.part_size = 6u << 20;
	up.head_len = 123;
	up.created_ns = 42;
	return up;
}

static struct upstate_part mk_part(unsigned n)
{
	struct upstate_part p;

	memset(&p, 0, sizeof(p));
	p.number = n;
	p.size = 6u << 20;
	snprintf(p.etag, sizeof(p.etag), "etag-%u", n);
	memset(p.md5, (int)n, 16);
	memset(p.sha256, (int)(n + 100), 32);
	return p;
}

static void test_roundtrip_and_reopen(void **state)
{
	struct fx *f = *state;
	struct upstate_upload up = mk_upload("pre fix/ä/k1.bcde", "id-1"), got;
	struct upstate_part parts[4], p3 = mk_part(3), p1 = mk_part(1);
	struct stat st;
	size_t n = 99;
	bool known;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0); /* 0600: upload ids are not for others */
	assert_int_equal(upstate_get(f->u, up.key, &got), -ENOENT);
	assert_int_equal(upstate_begin(f->u, &up), 0);
	assert_int_equal(upstate_begin(f->u, &up), -EEXIST);
	assert_int_equal(upstate_part_done(f->u, "id-1", &p3), 0);
	assert_int_equal(upstate_part_done(f->u, "id-1", &p1), 0);
	/* a part of an upload nobody recorded is refused */
	assert_int_equal(upstate_part_done(f->u, "id-zzz", &p1), -ENOENT);

	upstate_close(f->u);
	assert_int_equal(upstate_open(f->path, &f->u), 0);

	assert_int_equal(upstate_get(f->u, up.key, &got), 0);
	assert_string_equal(got.upload_id, "id-1");
	assert_int_equal(got.size, up.size);
	assert_int_equal(got.part_size, up.part_size);
	assert_int_equal(got.head_len, 123);
	assert_memory_equal(got.ct_sha256, up.ct_sha256, 32);
	assert_int_equal(upstate_parts(f->u, "id-1", parts, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(parts[0].number, 1); /* ascending */
	assert_int_equal(parts[1].number, 3);
	assert_string_equal(parts[1].etag, "etag-3");
	assert_memory_equal(parts[1].md5, p3.md5, 16);
	assert_memory_equal(parts[1].sha256, p3.sha256, 32);
	assert_int_equal(upstate_parts(f->u, "id-1", parts, 1, &n), -E2BIG);

	/* re-recording a part replaces it */
	snprintf(p3.etag, sizeof(p3.etag), "other");
	assert_int_equal(upstate_part_done(f->u, "id-1", &p3), 0);
	assert_int_equal(upstate_parts(f->u, "id-1", parts, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(parts[1].etag, "other");

	assert_int_equal(upstate_known(f->u, up.key, "id-1", &known), 0);
	assert_true(known);
	assert_int_equal(upstate_known(f->u, up.key, "id-2", &known), 0);
	assert_false(known);

	assert_int_equal(upstate_forget(f->u, up.key), 0);
	assert_int_equal(upstate_forget(f->u, up.key), 0);
	assert_int_equal(upstate_get(f->u, up.key, &got), -ENOENT);
	assert_int_equal(upstate_parts(f->u, "id-1", parts, 4, &n), 0);
	assert_int_equal(n, 0); /* the parts went with the upload */
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct upstate_upload a = mk_upload("a", "ida"), b = mk_upload("b", "idb"), l[4];
	size_t n = 0;

	b.created_ns = 1;
	assert_int_equal(upstate_begin(f->u, &a), 0);
	assert_int_equal(upstate_begin(f->u, &b), 0);
	/* one upload id belongs to one key */
	struct upstate_upload dup = mk_upload("c", "ida");
	assert_int_equal(upstate_begin(f->u, &dup), -EEXIST);
	assert_int_equal(upstate_list(f->u, l, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].key, "b"); /* oldest first */
	assert_string_equal(l[1].key, "a");
	assert_int_equal(upstate_list(f->u, l, 1, &n), 0);
	assert_int_equal(n, 1);
}

/* A process killed (SIGKILL, no cleanup) between commits leaves exactly
 * what it committed: the upload (recorded before the first part) and the
 * parts recorded before the kill; nothing half-written. */
static void test_crash_between_commits(void **state)
{
	struct fx *f = *state;
	struct upstate_upload got;
	int pipefd[2], status;
	char ch;
	pid_t pid;

	upstate_close(f->u);
	f->u = NULL;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct upstate *u;
		struct upstate_upload up = mk_upload("rec/x.bcde", "crash-id");

		close(pipefd[0]);
		if (upstate_open(f->path, &u) != 0 || upstate_begin(u, &up) != 0)
			_exit(2);
		for (unsigned i = 1; i <= 5; i++) {
			struct upstate_part p = mk_part(i);
			if (upstate_part_done(u, "crash-id", &p) != 0)
				_exit(3);
		}
		/* tell the parent, then die while (maybe) inside the next commit */
		if (write(pipefd[1], "x", 1) != 1)
			_exit(4);
		for (unsigned i = 6;; i = i % 10000 + 6) {
			struct upstate_part p = mk_part(i);
			(void)upstate_part_done(u, "crash-id", &p);
		}
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &ch, 1), 1);
	usleep(20000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(pipefd[0]);

	assert_int_equal(upstate_open(f->path, &f->u), 0);
	assert_int_equal(upstate_get(f->u, "rec/x.bcde", &got), 0);
	assert_string_equal(got.upload_id, "crash-id");
	/* parts 1..5 were committed before the signal: all there, intact */
	size_t k = 0;
	struct upstate_part *all = calloc(10000, sizeof(*all));
	assert_non_null(all);
	assert_int_equal(upstate_parts(f->u, "crash-id", all, 10000, &k), 0);
	assert_true(k >= 5);
	for (unsigned i = 1; i <= 5; i++) {
		struct upstate_part want = mk_part(i);
		assert_int_equal(all[i - 1].number, i);
		assert_string_equal(all[i - 1].etag, want.etag);
		assert_memory_equal(all[i - 1].md5, want.md5, 16);
	}
	for (size_t i = 5; i < k; i++) { /* later ones: whole records or none */
		struct upstate_part want = mk_part(all[i].number);
		assert_string_equal(all[i].etag, want.etag);
		assert_memory_equal(all[i].sha256, want.sha256, 32);
	}
	free(all);
}

static void test_open_errors(void **state)
{
	struct fx *f = *state;
	struct upstate *u = NULL;
	char p[160];

	snprintf(p, sizeof(p), "%s/missing-dir/uploads.db", f->dir);
	assert_int_equal(upstate_open(p, &u), -ENOENT);
	assert_null(u);
	/* a file that is not a database */
	snprintf(p, sizeof(p), "%s/junk.db", f->dir);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not sqlite at all\n", fp);
	fclose(fp);
	assert_int_equal(upstate_open(p, &u), -EIO);
	assert_null(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_between_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
