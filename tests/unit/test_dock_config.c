/* Tests for dockd/config.c: defaults, every key kind, and clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../dockd/config.h" /* custody/ has a config.h too */

#define BASE "[dock]\nid = dock-01\nagency_id = metro\n[encryption]\nrecipients = /k/a.pub\n"

static int load(const char *text, struct dock_config *c, char *err)
{
	return dock_config_load_string("t.conf", text, c, err, 256);
}

static void test_defaults(void **state)
{
	struct dock_config c;
	char err[256];

	assert_int_equal(load(BASE, &c, err), 0);
	assert_string_equal(c.dock_id, "dock-01");
	assert_int_equal(c.max_cameras, 16);
	assert_int_equal(c.release_policy, DOCK_RELEASE_STORAGE);
	assert_string_equal(c.vault_dir, "/var/lib/evidence-dock/vault");
	assert_int_equal(c.n_usb_ids, 1);
	assert_int_equal(c.usb_ids[0].vid, 0x1209);
	assert_int_equal(c.chunk_size, 1u << 20);
	assert_int_equal(dock_config_retention_days(&c, "anything"), 60);
}

static void test_all_kinds(void **state)
{
	struct dock_config c;
	char err[256];
	const char *t = BASE "[dock]\nstate_dir = /srv/d\nusb = no\nusb_ids = 1209:0001, abcd:EF01\n"
			     "max_cameras = 32\nrelease_policy = local\n"
			     "[encryption]\nrecipients = /a.pub, /b.pub\nchunk_size = 65536\n"
			     "[retention]\nuncategorized = 90d\nuse_of_force = 2y\nhomicide = indefinite\n"
			     "[storage]\ntarget = file:///srv/vault\n"
			     "[ledger]\nwhatever = belongs to custody\n";

	assert_int_equal(load(t, &c, err), 0);
	assert_false(c.usb);
	assert_int_equal(c.n_usb_ids, 2);
	assert_int_equal(c.usb_ids[1].vid, 0xabcd);
	assert_int_equal(c.usb_ids[1].pid, 0xef01);
	assert_int_equal(c.max_cameras, 32);
	assert_int_equal(c.release_policy, DOCK_RELEASE_LOCAL);
	assert_int_equal(c.n_recipients, 2);
	assert_string_equal(c.recipients[1], "/b.pub");
	assert_int_equal(c.chunk_size, 65536);
	assert_int_equal(dock_config_retention_days(&c, "use_of_force"), 730);
	assert_int_equal(dock_config_retention_days(&c, "homicide"), -1);
	assert_int_equal(dock_config_retention_days(&c, "traffic"), 90);
	assert_string_equal(c.vault_dir, "/srv/d/vault");
	assert_string_equal(c.storage_target, "file:///srv/vault");
}

struct bad_case {
	const char *text;
	const char *expect; /* substring of the error */
};

static void test_errors_name_line_and_key(void **state)
{
	static const struct bad_case cases[] = {
		{ BASE "[dock]\nbogus = 1\n", "t.conf:7: [dock] bogus: unknown key" },
		{ BASE "[dock]\nmax_cameras = 0\n", "t.conf:7: [dock] max_cameras: must be between 1 and 64" },
		{ BASE "[dock]\nmax_cameras = 12x\n", "[dock] max_cameras" },
		{ BASE "[dock]\nmax_cameras = -1\n", "[dock] max_cameras" },
		{ BASE "[dock]\nusb = maybe\n", "[dock] usb: must be true or false" },
		{ BASE "[dock]\nid = bad id\n", "[dock] id: must be" },
		{ BASE "[dock]\nusb_ids = 12:34\n", "[dock] usb_ids" },
		{ BASE "[dock]\nusb_ids = 1209:0001,,\n", "[dock] usb_ids" },
		{ BASE "[dock]\nrelease_policy = never\n", "[dock] release_policy" },
		{ BASE "[encryption]\nchunk_size = 5000\n", "[encryption] chunk_size" },
		{ BASE "[retention]\nx = 5 weeks\n", "[retention] x: must be a duration" },
		{ BASE "[storage]\ntarget = ftp://x\n", "[storage] target" },
		{ BASE "[nosuch]\na = b\n", "t.conf:7: [nosuch] a: unknown section" },
		{ BASE "garbage line\n", "t.conf:6: syntax error" },
		{ "[dock]\nid = d\n", "[dock] agency_id is required" },
		{ "[dock]\nid = d\nagency_id = a\n", "[encryption] recipients is required" },
	};
	struct dock_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(err, 0, sizeof(err));
		assert_int_equal(load(cases[i].text, &c, err), -EINVAL);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].expect);
	}
}

static void test_long_line_refused(void **state)
{
	char text[1024];
	struct dock_config c;
	char err[256];

	snprintf(text, sizeof(text), BASE "[dock]\nalert_command = /%0250d\n", 0);
	assert_int_equal(load(text, &c, err), -EINVAL);
	assert_non_null(strstr(err, "t.conf:7: line longer than"));
}

static void test_missing_file(void **state)
{
	struct dock_config c;
	char err[256];

	assert_int_equal(dock_config_load("/nonexistent/dockd.conf", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dockd.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_kinds),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_long_line_refused),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests_name("dock_config", tests, NULL, NULL);
}
