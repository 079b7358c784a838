/* test_fuzz_session.c - replay the session fuzzer's seed corpus and every
 * crash regression (tests/fuzz/{corpus,regressions}/fuzz_session/) through
 * the same harness in the normal and ASan builds: each must run to the end
 * without crashing. (Signature checks are real here: the skip hook exists
 * only in the fuzzer build.) */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fuzz/fuzz_session.c"

#define INPUT_MAX (4u * 1024 * 1024)

static int replay_dir(const char *sub)
{
	const char *top = getenv("TOP");
	char dir[PATH_MAX], path[PATH_MAX + 256];
	uint8_t *buf = malloc(INPUT_MAX);
	struct dirent *de;
	int n = 0;
	DIR *d;

	assert_non_null(buf);
	assert_true(snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/fuzz_session", top ? top : ".",
			     sub) < (int)sizeof(dir));
	d = opendir(dir);
	if (!d) {
		free(buf);
		return 0; /* no regressions yet */
	}
	while ((de = readdir(d)) != NULL) {
		FILE *f;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		assert_true(snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
			    (int)sizeof(path));
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(buf, 1, INPUT_MAX, f);
		fclose(f);
		assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
		n++;
	}
	closedir(d);
	free(buf);
	return n;
}

static void test_corpus(void **state)
{
	assert_true(replay_dir("corpus") > 0);
}

static void test_regressions(void **state)
{
	replay_dir("regressions");
}

/* Replaying a recorded camera conversation to a new session is refused at
 * HELLO_REPLY: the camera signed its identity over another dock nonce. */
static void test_replay_is_rejected(void **state)
{
	const char *top = getenv("TOP");
	char path[PATH_MAX];
	uint8_t *buf = malloc(INPUT_MAX);
	struct mem m;
	struct transport t = { .ops = &mem_ops, .impl = &m, .peer = "replay" };
	struct session_cfg cfg = { .cert = &g_cert, .enrol = accept_any, .timeout_ms = 1000 };
	struct session *s = NULL;
	size_t len;
	FILE *f;

	assert_non_null(buf);
	assert_true(snprintf(path, sizeof(path),
			     "%s/tests/fuzz/corpus/fuzz_session/camsim-conversation-real-sigs",
			     top ? top : ".") < (int)sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	len = fread(buf, 1, INPUT_MAX, f);
	fclose(f);
	assert_true(len > 100);
	if (!g_dock)
		assert_int_equal(init_keys(), 0);
	cfg.dock_key = g_dock;
	m.p = buf + 2;
	m.left = len - 2;
	m.max_chunk = 0;
	assert_int_equal(session_open(&t, &cfg, &s), -PROTO_E_AUTH);
	assert_null(s);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_regressions),
		cmocka_unit_test(test_replay_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
