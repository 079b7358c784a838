/* qstatus: the dock status reply (docs/dockd.md "Status") as text - the
 * readable table, and hostile replies (wrong types, escape sequences,
 * huge lists) printed safely. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "qstatus.h"
#include "query.h"

/* Render status (a JSON text) into a malloc'd string. */
static char *render(const char *json, int *rc)
{
	json_error_t e;
	json_t *st = json_loads(json, 0, &e);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(st);
	assert_non_null(out);
	*rc = qstatus_format(st, out);
	fclose(out);
	json_decref(st);
	return buf;
}

static void test_table(void **state)
{
	int rc;
	char *s = render(
		"{\"dock_id\":\"dock-1\",\"agency_id\":\"pd-a\","
		"\"time\":\"2024-05-01T13:45:10Z\",\"cameras\":["
		"{\"serial\":\"CAM-0001\",\"officer\":\"o1\",\"transport\":"
		"\"usb\",\"since\":\"2024-05-01T13:40:00Z\",\"recordings\":["
		"{\"evidence_id\":\"CAM-0001/rec-0001\",\"state\":\"pulling\","
		"\"bytes\":1073741824,\"size\":4294967296,\"rate_bps\":"
		"47400000,\"eta_s\":68}]},"
		"{\"serial\":\"CAM-0002\",\"officer\":\"o2\",\"transport\":"
		"\"socket\",\"since\":\"2024-05-01T13:44:00Z\",\"recordings\":[]}],"
		"\"queue\":{\"storage\":3,\"release_pending\":1},"
		"\"alerts\":[\"camera CAM-9 refused: unknown device\"]}", &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "Dock dock-1 (agency pd-a), 2024-05-01 13:45:10 Z"));
	assert_non_null(strstr(s, "CAMERAS (2)"));
	assert_non_null(strstr(s, "CAM-0001/rec-0001"));
	assert_non_null(strstr(s, "pulling"));
	assert_non_null(strstr(s, "1.0 GiB / 4.0 GiB  25%"));
	assert_non_null(strstr(s, "45.2 MiB/s"));
	assert_non_null(strstr(s, "0:01:08"));
	assert_non_null(strstr(s, "(no recording in progress)"));
	assert_non_null(strstr(s, "QUEUE  storage: 3  release pending: 1"));
	assert_non_null(strstr(s, "camera CAM-9 refused: unknown device"));
	free(s);
}

static void test_storage_and_uploads(void **state)
{
	int rc;
	char *s = render(
		"{\"dock_id\":\"dock-1\",\"agency_id\":\"pd-a\",\"time\":\"t\","
		"\"cameras\":[],\"uploads\":[{\"evidence_id\":\"CAM-1/rec-9\","
		"\"object_key\":\"pd-a/CAM-1/rec-9.bcde\",\"bytes\":100663296,"
		"\"size\":1073741824,\"rate_bps\":1048576,\"eta_s\":928,"
		"\"since\":\"2024-05-01T13:40:00Z\"}],"
		"\"storage\":{\"target\":\"s3://evidence/dock-1\",\"state\":\"blocked\","
		"\"workers\":2,\"last_error\":\"access denied\\u001b[2J\","
		"\"since\":\"2024-05-01T13:00:00Z\",\"retry_at\":\"2024-05-01T13:05:00Z\"},"
		"\"queue\":{\"storage\":3,\"uploading\":1,\"release_pending\":0},"
		"\"alerts\":[]}", &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "STORAGE  s3://evidence/dock-1  state: blocked  workers: 2"
				  "  since 2024-05-01 13:00:00 Z  next attempt 2024-05-01 13:05:00 Z"));
	assert_non_null(strstr(s, "  last error: access denied?[2J"));
	assert_null(strchr(s, '\033'));
	assert_non_null(strstr(s, "UPLOADS (1)"));
	assert_non_null(strstr(s, "CAM-1/rec-9"));
	assert_non_null(strstr(s, "uploading"));
	assert_non_null(strstr(s, "96.0 MiB / 1.0 GiB   9%"));
	assert_non_null(strstr(s, "1.0 MiB/s"));
	assert_non_null(strstr(s, "0:15:28"));
	assert_non_null(strstr(s, "QUEUE  storage: 3  release pending: 0  uploading: 1"));
	free(s);

	/* an older dockd: no storage object, no uploads, no uploading count */
	s = render("{\"queue\":{\"storage\":1,\"release_pending\":2},\"storage\":[]}", &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "STORAGE"));
	assert_null(strstr(s, "UPLOADS"));
	assert_non_null(strstr(s, "QUEUE  storage: 1  release pending: 2\n"));
	free(s);
}

static void test_hostile_reply(void **state)
{
	char big[64 + 20 * (QSTATUS_MAX_ROWS + 5)];
	size_t off;
	int rc;
	char *s;

	(void)state;
	/* escape sequences (C0 ESC, C1 CSI U+009B), wrong types, nulls */
	s = render("{\"dock_id\":\"\\u001b[2Jx\",\"agency_id\":7,"
		   "\"cameras\":[{\"serial\":\"\\u009b31m\",\"recordings\":"
		   "[{\"evidence_id\":null,\"bytes\":\"lots\",\"size\":-5,"
		   "\"rate_bps\":1e300,\"eta_s\":-1}, 17]}, \"x\"],"
		   "\"queue\":[],\"alerts\":{}}", &rc);
	assert_int_equal(rc, 0);
	assert_null(strchr(s, '\033'));
	assert_null(strstr(s, "\xc2\x9b"));
	assert_non_null(strstr(s, "Dock ?[2Jx (agency -)"));
	assert_non_null(strstr(s, "?31m"));
	assert_non_null(strstr(s, "QUEUE  storage: -  release pending: -"));
	free(s);

	/* lists are capped */
	off = (size_t)snprintf(big, sizeof(big), "{\"alerts\":[");
	for (int i = 0; i < QSTATUS_MAX_ROWS + 5; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
					"%s\"a%d\"", i ? "," : "", i);
	snprintf(big + off, sizeof(big) - off, "]}");
	s = render(big, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "... 5 more"));
	assert_null(strstr(s, "a200\n"));
	free(s);

	assert_int_equal(qstatus_format(NULL, stdout), -EINVAL);
}

static void test_units(void **state)
{
	char b[32];

	(void)state;
	qstatus_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	qstatus_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5 KiB");
	qstatus_bytes(UINT64_MAX, b, sizeof(b));
	assert_string_equal(b, "16384.0 PiB");
	qstatus_duration(3661, b, sizeof(b));
	assert_string_equal(b, "1:01:01");
	qstatus_duration(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	qstatus_duration(1000000, b, sizeof(b));
	assert_string_equal(b, "> 99 h");
}

/* Times in the one form people read (query.h), and a local one with its offset. */
static void test_time_forms(void **state)
{
	char buf[64];
	int64_t ns = 1714570987LL * 1000000000;	/* 2024-05-01T13:43:07Z */

	(void)state;
	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	cust_time_style(0);
	assert_int_equal(cust_format_time(ns, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2024-05-01 06:43:07 -0700");
	assert_int_equal(cust_format_time_text("2024-05-01T13:43:07.123456789Z", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2024-05-01 06:43:07 -0700");
	assert_int_equal(cust_format_time_text("indefinite", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "indefinite");
	cust_time_style(1);
	assert_int_equal(cust_format_time(ns, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2024-05-01 13:43:07 Z");
}

int main(void)
{
	cust_time_style(1);	/* the tables below are checked in UTC */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_forms),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_storage_and_uploads),
		cmocka_unit_test(test_hostile_reply),
		cmocka_unit_test(test_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
