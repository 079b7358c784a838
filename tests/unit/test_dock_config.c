/* Tests for dockd/core/config.c: defaults, every key kind, and clear errors. */
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

	assert_int_equal(load(BASE, &c, err), 0);
	assert_string_equal(c.dock_id, "dock-01");
	assert_int_equal(c.max_cameras, 16);
	assert_int_equal(c.release_policy, DOCK_RELEASE_STORAGE);
	assert_string_equal(c.vault_dir, "/var/lib/evidence-dock/vault");
	assert_int_equal(c.n_usb_ids, 1);
	assert_int_equal(c.usb_ids[0].vid, 0x1209);
	assert_int_equal(c.chunk_size, 1u << 20);
	assert_int_equal(dock_config_retention_days(&c, "anything", NULL), 60);
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
	assert_int_equal(dock_config_retention_days(&c, "use_of_force", NULL), 730);
	assert_int_equal(dock_config_retention_days(&c, "homicide", NULL), -1);
	assert_int_equal(dock_config_retention_days(&c, "traffic", NULL), 90);
	/* issue 12: a camera's "Homicide" is the table's "homicide"; an
	 * unknown category is reported as unknown, not silently defaulted */
	{
		int known = -1;
		assert_int_equal(dock_config_retention_days(&c, "Homicide", &known), -1);
		assert_int_equal(known, 1);
		assert_int_equal(dock_config_retention_days(&c, "USE_OF_FORCE", &known), 730);
		assert_int_equal(dock_config_retention_days(&c, "dui", &known), 90);
		assert_int_equal(known, 0);
	}
	/* statutory minimums: the agency may not keep less; names match in
	 * any case, so two spellings of one category are a duplicate */
	assert_int_equal(load(BASE "[retention]\ntraffic = 1y\ntraffic.min = 2y\n", &c, err), -EINVAL);
	assert_non_null(strstr(err, "statutory minimum"));
	assert_int_equal(load(BASE "[retention]\ntraffic.min = 2y\n", &c, err), -EINVAL);
	assert_int_equal(load(BASE "[retention]\nhomicide = 2y\nHomicide = 3y\n", &c, err), -EINVAL);
	assert_int_equal(load(BASE "[retention]\ntraffic.max = 2y\n", &c, err), -EINVAL);
	assert_int_equal(load(BASE "[retention]\ntraffic.min = 2y\ntraffic = 3y\nwith_case = 5y\n",
			      &c, err), 0);
	assert_int_equal(dock_config_retention_days(&c, "TRAFFIC", NULL), 1095);
	assert_int_equal(c.retention.case_days, 1825);
	assert_int_equal(load(t, &c, err), 0);
	assert_string_equal(c.vault_dir, "/srv/d/vault");
	assert_string_equal(c.storage_target, "file:///srv/vault");
	assert_string_equal(c.recipient_policy, "");
	assert_int_equal(load(BASE "[encryption]\nrecipient_policy = /p.note\nagency_vkey = /a.vkey\n",
			      &c, err), 0);
	assert_string_equal(c.recipient_policy, "/p.note");
	assert_string_equal(c.agency_vkey, "/a.vkey");
	/* a policy without the key to check it is refused */
	assert_int_equal(load(BASE "[encryption]\nrecipient_policy = /p.note\n", &c, err), -EINVAL);
	assert_non_null(strstr(err, "[encryption] agency_vkey"));
}

static void test_storage_defaults(void **state)
{
	struct dock_config c;
	char err[256];
	unsigned wait = 99;

	(void)state;
	assert_int_equal(load(BASE, &c, err), 0);
	assert_int_equal(c.parallel_uploads, 2);
	assert_int_equal(c.bandwidth_mbit, 0);
	assert_int_equal(c.n_windows, 0);
	assert_int_equal(c.n_priority, 0);
	assert_true(c.upload_checkpoints);
	assert_string_equal(c.s3_region, "us-east-1");
	assert_true(c.s3_path_style);
	assert_int_equal(c.s3_part_size_mb, 16);
	assert_int_equal(c.s3_parallel_parts, 4);
	assert_true(c.s3_read_back);
	assert_string_equal(c.s3_lock_mode, "");
	assert_false(c.s3_lock_required);
	assert_int_equal(c.s3_max_attempts, 8);
	assert_int_equal(c.s3_low_speed_time_s, 30);
	assert_true(dock_config_upload_window(&c, 0, &wait));
	assert_int_equal(wait, 0);
}

static void test_storage_s3_all_keys(void **state)
{
	struct dock_config c;
	char err[256];
	const char *t = BASE "[storage]\ntarget = s3://evidence.pd-1/dock-7/\xc3\xa9t\xc3\xa9\n"
			     "parallel_uploads = 16\nbandwidth_mbit = 40\n"
			     "upload_windows = 19:00-07:00, 12:00-13:00\n"
			     "upload_priority = homicide, use-of-force ,traffic\n"
			     "upload_checkpoints = no\n"
			     "[s3]\nendpoint = https://s3.us-gov-west-1.amazonaws.com:443\n"
			     "region = us-gov-west-1\naddressing = virtual\nca_file = /etc/ca.pem\n"
			     "credentials_file = /etc/evidence-dock/s3.cred\npart_size_mb = 5120\n"
			     "parallel_parts = 1\nread_back_verify = off\nobject_lock = compliance\n"
			     "object_lock_required = yes\nmax_attempts = 100\nlow_speed_time_s = 5\n";

	(void)state;
	if (load(t, &c, err) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.storage_target, "s3://evidence.pd-1/dock-7/\xc3\xa9t\xc3\xa9");
	assert_int_equal(c.parallel_uploads, 16);
	assert_int_equal(c.bandwidth_mbit, 40);
	assert_int_equal(c.n_windows, 2);
	assert_int_equal(c.windows[0].start_min, 19 * 60);
	assert_int_equal(c.windows[0].end_min, 7 * 60);
	assert_int_equal(c.windows[1].start_min, 12 * 60);
	assert_int_equal(c.n_priority, 3);
	assert_string_equal(c.priority[0], "homicide");
	assert_string_equal(c.priority[1], "use-of-force");
	assert_string_equal(c.priority[2], "traffic");
	assert_false(c.upload_checkpoints);
	assert_string_equal(c.s3_endpoint, "https://s3.us-gov-west-1.amazonaws.com:443");
	assert_string_equal(c.s3_region, "us-gov-west-1");
	assert_false(c.s3_path_style);
	assert_string_equal(c.s3_ca_file, "/etc/ca.pem");
	assert_string_equal(c.s3_credentials_file, "/etc/evidence-dock/s3.cred");
	assert_int_equal(c.s3_part_size_mb, 5120);
	assert_int_equal(c.s3_parallel_parts, 1);
	assert_false(c.s3_read_back);
	assert_string_equal(c.s3_lock_mode, "COMPLIANCE");
	assert_true(c.s3_lock_required);
	assert_int_equal(c.s3_max_attempts, 100);
	assert_int_equal(c.s3_low_speed_time_s, 5);

	/* loopback http, governance, a bare bucket */
	assert_int_equal(load(BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = http://127.0.0.1:9000\n"
			      "credentials_file = /c\nobject_lock = governance\n", &c, err), 0);
	assert_string_equal(c.s3_lock_mode, "GOVERNANCE");
	assert_int_equal(load(BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = http://[::1]:9000\n"
			      "credentials_file = /c\n", &c, err), 0);
	assert_int_equal(load(BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = http://localhost\n"
			      "credentials_file = /c\n", &c, err), 0);
}

static void test_upload_windows(void **state)
{
	struct dock_config c;
	char err[256];
	unsigned wait = 0;

	(void)state;
	assert_int_equal(load(BASE "[storage]\nupload_windows = 19:00-07:00, 12:00-13:00\n", &c, err), 0);
	assert_true(dock_config_upload_window(&c, 19 * 60, &wait));
	assert_true(dock_config_upload_window(&c, 23 * 60 + 59, &wait));
	assert_true(dock_config_upload_window(&c, 0, &wait));
	assert_true(dock_config_upload_window(&c, 6 * 60 + 59, &wait));
	assert_true(dock_config_upload_window(&c, 12 * 60 + 30, &wait));
	assert_false(dock_config_upload_window(&c, 7 * 60, &wait));
	assert_int_equal(wait, 5 * 60); /* 07:00 -> 12:00 */
	assert_false(dock_config_upload_window(&c, 13 * 60, &wait));
	assert_int_equal(wait, 6 * 60); /* 13:00 -> 19:00 */
	assert_int_equal(load(BASE "[storage]\nupload_windows = 22:00-24:00\n", &c, err), 0);
	assert_true(dock_config_upload_window(&c, 23 * 60, &wait));
	assert_false(dock_config_upload_window(&c, 0, &wait));
	assert_int_equal(wait, 22 * 60);
	assert_int_equal(load(BASE "[storage]\nupload_windows = \n", &c, err), 0);
	assert_int_equal(c.n_windows, 0);
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
		{ BASE "[storage]\ntarget = s3://ab\n", "t.conf:7: [storage] target: s3:// bucket must be 3-63" },
		{ BASE "[storage]\ntarget = s3://Upper\n", "[storage] target: s3:// bucket" },
		{ BASE "[storage]\ntarget = s3://-abc\n", "[storage] target: s3:// bucket" },
		{ BASE "[storage]\ntarget = s3://a..b\n", "[storage] target: s3:// bucket" },
		{ BASE "[storage]\ntarget = s3://abc/x//y\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = s3://abc/x/\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = s3://abc/a\x01b\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = s3://abc/\xc2\x9b\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = s3://abc/\xc0\xaf\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = s3://abc/../x\n", "[storage] target: s3:// prefix" },
		{ BASE "[storage]\ntarget = file://relative\n", "[storage] target: must be file:///" },
		{ BASE "[storage]\nparallel_uploads = 0\n", "t.conf:7: [storage] parallel_uploads: must be between 1 and 16" },
		{ BASE "[storage]\nparallel_uploads = 17\n", "[storage] parallel_uploads" },
		{ BASE "[storage]\nbandwidth_mbit = -1\n", "[storage] bandwidth_mbit" },
		{ BASE "[storage]\nupload_windows = 19-07\n", "[storage] upload_windows: must be" },
		{ BASE "[storage]\nupload_windows = 19:00-19:00\n", "[storage] upload_windows" },
		{ BASE "[storage]\nupload_windows = 19:60-20:00\n", "[storage] upload_windows" },
		{ BASE "[storage]\nupload_windows = 25:00-01:00\n", "[storage] upload_windows" },
		{ BASE "[storage]\nupload_windows = 01:00-02:00,,\n", "[storage] upload_windows" },
		{ BASE "[storage]\nupload_priority = a, b, a\n", "[storage] upload_priority: must be" },
		{ BASE "[storage]\nupload_checkpoints = sometimes\n", "[storage] upload_checkpoints" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = http://s3.example.com\n",
		  "t.conf:9: [s3] endpoint: must be https://" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = https://h/path\n", "[s3] endpoint" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = https://u@h\n", "[s3] endpoint" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = https://h:0\n", "[s3] endpoint" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = http://127.0.0.1.evil.com\n",
		  "[s3] endpoint" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nregion = US_EAST\n", "[s3] region" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\naddressing = dns\n", "[s3] addressing: must be" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\npart_size_mb = 4\n", "[s3] part_size_mb: must be between 5 and 5120" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nparallel_parts = 17\n", "[s3] parallel_parts" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nread_back_verify = 2\n", "[s3] read_back_verify" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nobject_lock = strict\n", "[s3] object_lock: must be" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nmax_attempts = 0\n", "[s3] max_attempts" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nlow_speed_time_s = 601\n", "[s3] low_speed_time_s" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nsecret_key = x\n", "[s3] secret_key: unknown key" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\ncredentials_file = /c\n",
		  "[s3] endpoint is required with an s3:// target" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = https://h\n",
		  "[s3] credentials_file is required" },
		{ BASE "[storage]\ntarget = s3://abc\n[s3]\nendpoint = https://h\ncredentials_file = /c\n"
		  "object_lock_required = true\n", "[s3] object_lock_required" },
		{ BASE "[storage]\ntarget = file:///srv\n[s3]\nregion = us-east-1\n",
		  "t.conf:8: [s3]: only used with an s3:// [storage] target (target is file:///srv)" },
		{ BASE "[s3]\n", "t.conf:6: [s3]: only used with an s3:// [storage] target (target is not set)" },
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

/* [dock] volume_driver (issue 14): fuse by default, kernel on request,
 * anything else refused naming the key and the values. */
static void test_volume_driver(void **state)
{
	struct dock_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(BASE, &c, err), 0);
	assert_false(c.volume_kernel);
	assert_int_equal(load(BASE "[dock]\nvolume_driver = kernel\n", &c, err), 0);
	assert_true(c.volume_kernel);
	assert_int_equal(load(BASE "[dock]\nvolume_driver = fuse\n", &c, err), 0);
	assert_false(c.volume_kernel);
	assert_true(load(BASE "[dock]\nvolume_driver = Kernel\n", &c, err) < 0);
	assert_non_null(strstr(err, "[dock] volume_driver: must be 'fuse' or 'kernel'"));
	assert_true(load(BASE "[dock]\nvolume_driver =\n", &c, err) < 0);
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
		cmocka_unit_test(test_storage_defaults),
		cmocka_unit_test(test_storage_s3_all_keys),
		cmocka_unit_test(test_upload_windows),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_volume_driver),
		cmocka_unit_test(test_long_line_refused),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests_name("dock_config", tests, NULL, NULL);
}
