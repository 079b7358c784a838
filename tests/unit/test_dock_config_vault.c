/* Tests for dockd/core/config_vault.c: the [vault] section (keep windows,
 * free-space marks, holds, state directory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../dockd/core/config.h" /* custody/ has a config.h too */

#define BASE "[dock]\nid = dock-01\nagency_id = metro\n[encryption]\nrecipients = /k/a.pub\n"

static int load(const char *text, struct dock_config *c, char *err)
{
	return dock_config_load_string("t.conf", text, c, err, 256);
}

static void test_defaults(void **state)
{
	struct dock_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(BASE, &c, err), 0);
	assert_int_equal(c.keep_days, 30);
	assert_int_equal(dock_config_keep_days(&c, "anything"), 30);
	assert_true(c.purge_low.percent);
	assert_int_equal(c.purge_low.value, 10);
	assert_int_equal(c.purge_high.value, 20);
	assert_true(c.keep_held_local);
	assert_int_equal(c.purge_interval_s, 600);
	assert_int_equal(c.state_min_free_mb, 256);
	/* the lifecycle jobs' bounds on waiting for ingest */
	assert_int_equal(c.purge_max_defer_s, 3600);
	assert_int_equal(c.fixity_max_pause_s, 3600);
	assert_true(c.fixity_busy_bytes_per_s == 4ull << 20);
	/* 10% of 1000 MiB */
	assert_true(dock_config_mark_bytes(&c.purge_low, 1000ull << 20) == 100ull << 20);
}

static void test_keys(void **state)
{
	struct dock_config c;
	char err[256];
	const char *t = BASE "[vault]\nkeep = 7d\nkeep.Homicide = indefinite\nkeep.dui = 2m\n"
			     "low_free = 512\nhigh_free = 2048\nkeep_held_local = false\n"
			     "purge_interval_s = 60\nstate_min_free_mb = 0\npurge_max_defer_s = 0\n"
			     "[fixity]\nmax_pause_s = 5\nbusy_bytes_per_s = 2 MiB\n";

	(void)state;
	assert_int_equal(load(t, &c, err), 0);
	assert_int_equal(dock_config_keep_days(&c, "patrol"), 7);
	/* categories match case-insensitively */
	assert_int_equal(dock_config_keep_days(&c, "homicide"), -1);
	assert_int_equal(dock_config_keep_days(&c, "HOMICIDE"), -1);
	assert_int_equal(dock_config_keep_days(&c, "DUI"), 60);
	assert_false(c.purge_low.percent);
	assert_true(dock_config_mark_bytes(&c.purge_low, 1ull << 40) == 512ull << 20);
	assert_true(dock_config_mark_bytes(&c.purge_high, 1ull << 40) == 2048ull << 20);
	assert_false(c.keep_held_local);
	assert_int_equal(c.purge_interval_s, 60);
	assert_int_equal(c.state_min_free_mb, 0);
	assert_int_equal(c.purge_max_defer_s, 0);
	assert_int_equal(c.fixity_max_pause_s, 5);
	assert_true(c.fixity_busy_bytes_per_s == 2ull << 20);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "[vault]\nkeep = 7 days\n", "[vault] keep: must be a duration" },
		{ "[vault]\nkeep.homicide = 1y\nkeep.Homicide = 2y\n", "already has a keep window" },
		{ "[vault]\nkeep. = 1y\n", "category name empty" },
		{ "[vault]\nlow_free = 100%\n", "[vault] low_free: must be a percentage" },
		{ "[vault]\nlow_free = -1\n", "[vault] low_free" },
		{ "[vault]\nlow_free = 30%\nhigh_free = 20%\n", "high_free: must be at least low_free" },
		{ "[vault]\nlow_free = 10%\nhigh_free = 4096\n", "use the same unit" },
		{ "[vault]\npurge_interval_s = 0\n", "[vault] purge_interval_s" },
		{ "[vault]\nkeep_held_local = maybe\n", "[vault] keep_held_local: must be true or false" },
		{ "[vault]\npurge = yes\n", "[vault] purge: unknown key" },
		{ "[vault]\npurge_max_defer_s = 604801\n", "[vault] purge_max_defer_s" },
		{ "[fixity]\nmax_pause_s = -1\n", "[fixity] max_pause_s" },
		{ "[fixity]\nbusy_bytes_per_s = 0\n", "[fixity] busy_bytes_per_s" },
		{ "[fixity]\nbusy_bytes_per_s = 1000\n", "[fixity] busy_bytes_per_s" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dock_config c;
		char err[256] = "", text[512];

		snprintf(text, sizeof(text), "%s%s", BASE, bad[i].text);
		assert_int_not_equal(load(text, &c, err), 0);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
