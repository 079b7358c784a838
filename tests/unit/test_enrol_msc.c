/*
 * test_enrol_msc.c - the USB mass-storage camera enrolment list
 * (dockd/ingest/enrol_msc.h) on a real SQLite custody ledger: VID:PID:SERIAL
 * parsing, enroll / check / revoke / re-enroll, the events' details, a row
 * changed around the ledger refused, another agency's row refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "enrol_msc.h"
#include "event.h"
#include "ledger.h"

#define AG "pd-a"
#define ACTOR "user:tester(1000)"

struct fx {
	char dir[64], path[128];
	struct cust_ledger *l;
};

static int setup(void **st)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_enrol_msc.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	if (cust_ledger_open(f->path, CUST_LEDGER_CREATE, &f->l, err, sizeof(err)) < 0)
		return -1;
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;
	char cmd[160];

	cust_ledger_close(f->l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_parse_id(void **st)
{
	char s[PROTO_ID_MAX + 1] = "untouched";
	uint16_t v = 7, p = 7;

	(void)st;
	assert_int_equal(dock_msc_parse_id("1209:0002:BC200-0042", &v, &p, s, sizeof(s)), 0);
	assert_int_equal(v, 0x1209);
	assert_int_equal(p, 0x0002);
	assert_string_equal(s, "BC200-0042");
	v = p = 7;
	strcpy(s, "untouched");
	assert_int_equal(dock_msc_parse_id("1209:2:X", &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(dock_msc_parse_id("1209:0002:", &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(dock_msc_parse_id("12g9:0002:X", &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(dock_msc_parse_id("1209:0002:a b", &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(dock_msc_parse_id("1209-0002:X", &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(dock_msc_parse_id(NULL, &v, &p, s, sizeof(s)), -EINVAL);
	assert_int_equal(v, 7); /* out-params untouched on failure */
	assert_string_equal(s, "untouched");
}

static struct dock_msc_req req(const char *serial, bool replace)
{
	struct dock_msc_req rq = { .agency_id = AG, .vid = 0x1209, .pid = 0x0002,
				   .serial = serial, .officer = "ofc-7", .profile = "generic-dcim",
				   .reason = "issued", .actor_id = ACTOR, .replace = replace };
	return rq;
}

static int check(struct fx *f, const char *agency, const char *serial, char *why)
{
	struct dock_msc_camera m;

	why[0] = '\0';
	return dock_msc_check(f->l, agency, 0x1209, 0x0002, serial, &m, why, 96);
}

static void test_enroll_check_revoke(void **st)
{
	struct fx *f = *st;
	struct dock_msc_req rq = req("CAM-S1", false);
	struct dock_msc_camera m;
	struct cust_event ev;
	json_t *d = NULL;
	char why[96];
	uint64_t seq = 0, seq2 = 0;

	assert_int_equal(check(f, AG, "CAM-S1", why), -EACCES);
	assert_string_equal(why, "unknown device");
	assert_int_equal(dock_msc_add(f->l, &rq, &seq, why, sizeof(why)), 0);
	assert_int_equal(dock_msc_check(f->l, AG, 0x1209, 0x0002, "CAM-S1", &m, why, 96), 0);
	assert_string_equal(m.cam.officer, "ofc-7");
	assert_string_equal(m.profile, "generic-dcim");
	assert_int_equal(m.cam.changed_seq, seq);
	/* other pid, other agency */
	assert_int_equal(dock_msc_check(f->l, AG, 0x1209, 0x0003, "CAM-S1", &m, why, 96), -EACCES);
	assert_int_equal(check(f, "pd-b", "CAM-S1", why), -EACCES);
	assert_string_equal(why, "other agency");
	/* the event */
	assert_int_equal(cust_ledger_get(f->l, seq, &ev), 0);
	assert_int_equal(ev.action, CUST_A_DEVICE_ENROLLED);
	assert_int_equal(cust_event_details(&ev, &d), 0);
	assert_string_equal(json_string_value(json_object_get(d, "kind")), "storage");
	assert_string_equal(json_string_value(json_object_get(d, "vid")), "1209");
	assert_string_equal(json_string_value(json_object_get(d, "pid")), "0002");
	assert_string_equal(json_string_value(json_object_get(d, "profile")), "generic-dcim");
	json_decref(d);
	/* twice without replace */
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), -EEXIST);
	/* revoke */
	assert_int_equal(dock_msc_revoke(f->l, AG, 0x1209, 0x0002, "CAM-S1", "", ACTOR, NULL, why,
					 sizeof(why)), -EINVAL);
	assert_int_equal(dock_msc_revoke(f->l, AG, 0x1209, 0x0002, "CAM-S1", "lost", ACTOR, &seq2,
					 why, sizeof(why)), 0);
	assert_int_equal(check(f, AG, "CAM-S1", why), -EACCES);
	assert_string_equal(why, "revoked");
	assert_int_equal(dock_msc_revoke(f->l, AG, 0x1209, 0x0002, "CAM-S1", "lost", ACTOR, NULL,
					 why, sizeof(why)), -EALREADY);
	/* re-enrol needs replace */
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), -EEXIST);
	rq.replace = true;
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), 0);
	assert_int_equal(check(f, AG, "CAM-S1", why), 0);
}

static void test_row_around_ledger(void **st)
{
	struct fx *f = *st;
	struct dock_msc_req rq = req("CAM-S2", false);
	char why[96], sql[256];
	uint64_t seq = 0;

	assert_int_equal(dock_msc_add(f->l, &rq, &seq, why, sizeof(why)), 0);
	/* a row copied under another serial, and an officer changed by SQL */
	snprintf(sql, sizeof(sql), "INSERT INTO dock_storage_cameras VALUES('1209', '0002', "
		 "'FORGED', 'ofc-7', 'generic-dcim', 'pd-a', 'enrolled', %llu)",
		 (unsigned long long)seq);
	assert_int_equal(sqlite3_exec(cust_ledger_db(f->l), sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(check(f, AG, "FORGED", why), -EACCES);
	assert_string_equal(why, "enrolment row has no device_enrolled event");
	assert_int_equal(sqlite3_exec(cust_ledger_db(f->l), "UPDATE dock_storage_cameras SET "
				      "officer = 'ofc-x' WHERE serial = 'CAM-S2'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(check(f, AG, "CAM-S2", why), -EACCES);
	assert_string_equal(why, "enrolment row has no device_enrolled event");
	/* an invalid serial is simply unknown */
	assert_int_equal(check(f, AG, "a b", why), -EACCES);
	assert_string_equal(why, "unknown device");
}

static void test_bad_fields(void **st)
{
	struct fx *f = *st;
	struct dock_msc_req rq = req("CAM-S3", false);
	char why[96];

	rq.officer = "has space";
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), -EINVAL);
	rq = req("CAM-S3", false);
	rq.profile = "";
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), -EINVAL);
	rq = req("", false);
	assert_int_equal(dock_msc_add(f->l, &rq, NULL, why, sizeof(why)), -EINVAL);
	assert_int_equal(check(f, AG, "CAM-S3", why), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test_setup_teardown(test_enroll_check_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_around_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fields, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
