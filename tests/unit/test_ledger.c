/*
 * test_ledger.c - custody event encoding, ledger append/read, derived
 * evidence records, queries and verify on real SQLite files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "evstate.h"
#include "ledger.h"
#include "query.h"
#include "verify.h"

static char dir[64], path[128];

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/test_ledger.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/l.db", dir);
	return 0;
}

static int teardown(void **st)
{
	char cmd[160];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void mk(struct cust_event *ev, const char *item, enum cust_action a)
{
	assert_int_equal(cust_event_init(ev, "pd-1", CUST_ACTOR_DOCK, "dock-1", a,
					 item, CUST_OUTCOME_OK), 0);
}

static void test_names_roundtrip(void **st)
{
	enum cust_action a;
	int v;

	(void)st;
	for (v = 0; v < 100; v++) {
		if (!cust_action_valid(v))
			continue;
		assert_int_equal(cust_action_parse(cust_action_name(v), &a), 0);
		assert_int_equal((int)a, v);
	}
	assert_string_equal(cust_action_name(CUST_A_STORAGE_VERIFIED), "storage_verified");
	assert_int_equal(cust_action_parse("nope", &a), -EINVAL);
}

static void test_encode_decode(void **st)
{
	struct cust_event ev, back;
	uint8_t buf[CUST_CANON_MAX];
	json_t *d = json_pack("{s:i, s:s}", "size", 5, "sha256", "ab");
	size_t len, i;

	(void)st;
	mk(&ev, "EV-1", CUST_A_INGESTED);
	assert_int_equal(cust_event_set_details(&ev, d), 0);
	json_decref(d);
	assert_string_equal(ev.details, "{\"sha256\":\"ab\",\"size\":5}");
	ev.seq = 7;
	assert_int_equal(cust_event_encode(&ev, buf, sizeof(buf), &len), 0);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[8], 7);	/* u64 seq big-endian */
	assert_int_equal(cust_event_decode(buf, len, &back), 0);
	assert_memory_equal(&back.seq, &ev.seq, sizeof(ev.seq));
	assert_string_equal(back.details, ev.details);
	assert_string_equal(back.evidence_id, "EV-1");
	/* every truncation and a trailing byte are rejected */
	for (i = 0; i < len; i++)
		assert_int_equal(cust_event_decode(buf, i, &back), -EBADMSG);
	buf[len] = 0;
	assert_int_equal(cust_event_decode(buf, len + 1, &back), -EBADMSG);
	/* invalid text */
	strcpy(ev.reason, "bad\x01");
	assert_int_equal(cust_event_encode(&ev, buf, sizeof(buf), &len), -EINVAL);
	strcpy(ev.reason, "\xc3\x28");
	assert_int_equal(cust_event_validate(&ev, NULL, 0), -EINVAL);
	strcpy(ev.reason, "");
	strcpy(ev.details, "{\"b\":1,\"a\":2}");	/* not sorted */
	assert_int_equal(cust_event_validate(&ev, NULL, 0), -EINVAL);
}

static void test_append_state_query(void **st)
{
	struct cust_ledger *l;
	struct cust_event ev[3];
	struct cust_search q;
	struct stat sb;
	json_t *h = NULL, *r = NULL, *d;
	char err[256], ag[65];
	uint64_t n;

	(void)st;
	assert_int_equal(cust_ledger_open(path, 0, &l, err, sizeof(err)), -ENOENT);
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_CREATE, &l, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	mk(&ev[0], "EV-1", CUST_A_DOCKED);
	d = json_pack("{s:s, s:s}", "officer", "o-7", "camera", "cam-2");
	cust_event_set_details(&ev[0], d);
	json_decref(d);
	mk(&ev[1], "EV-1", CUST_A_HOLD_SET);
	strcpy(ev[1].case_no, "C-42");
	mk(&ev[2], NULL, CUST_A_LOGON);
	assert_int_equal(cust_ledger_append_batch(l, ev, 3), 0);
	assert_int_equal(ev[2].seq, 3);
	assert_int_equal(cust_ledger_size(l, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cust_ledger_item_agency(l, "EV-1", ag, sizeof(ag)), 0);
	assert_string_equal(ag, "pd-1");
	assert_int_equal(cust_ledger_item_agency(l, "EV-2", ag, sizeof(ag)), -ENOENT);
	/* another agency may not write to this item */
	mk(&ev[0], "EV-1", CUST_A_VIEWED);
	strcpy(ev[0].agency_id, "pd-2");
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EXDEV);
	assert_int_equal(cust_ledger_size(l, &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(cust_query_history(l, "pd-2", "EV-1", &h), -EACCES);
	assert_int_equal(cust_query_history(l, "pd-1", "EV-9", &h), -ENOENT);
	assert_int_equal(cust_query_history(l, "pd-1", "EV-1", &h), 0);
	assert_int_equal(json_array_size(json_object_get(h, "events")), 2);
	assert_true(json_is_true(json_object_get(json_object_get(h, "record"), "legal_hold")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "record"),
							      "officer")), "o-7");
	json_decref(h);
	memset(&q, 0, sizeof(q));
	q.case_no = "C-42";
	assert_int_equal(cust_query_search(l, "pd-1", &q, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	q.case_no = NULL;
	q.camera = "cam-9";
	assert_int_equal(cust_query_search(l, "pd-1", &q, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 0);
	json_decref(r);
	assert_int_equal(cust_query_events(l, "pd-1", "logon", 0, 0, 0, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	cust_ledger_close(l);

	/* read-only handle refuses appends */
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_RDONLY, &l, err, sizeof(err)), 0);
	mk(&ev[0], "EV-1", CUST_A_VIEWED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EROFS);
	cust_ledger_close(l);
}

static void no_finding(void *arg, const char *cls, uint64_t seq, const char *msg)
{
	(void)arg;
	fail_msg("unexpected finding %s %llu %s", cls, (unsigned long long)seq, msg);
}

static void test_verify_clean(void **st)
{
	struct cust_ledger *l;
	struct cust_event ev[50];
	struct cust_verify_opts o = { 0 };
	struct cust_verify_result res;
	char err[256];
	int i;

	(void)st;
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_CREATE, &l, err, sizeof(err)), 0);
	for (i = 0; i < 50; i++)
		mk(&ev[i], i % 2 ? "EV-A" : "EV-B", CUST_A_VIEWED);
	assert_int_equal(cust_ledger_append_batch(l, ev, 50), 0);
	assert_int_equal(cust_verify(l, &o, no_finding, NULL, &res), 0);
	assert_int_equal(res.events, 50);
	assert_int_equal(res.items, 2);
	assert_int_equal(res.findings, 0);
	cust_ledger_close(l);
}

/* Apply one event with raw details text (as verify replays a row) to a
 * fresh record; returns cust_evstate_apply's result. */
static int apply_raw(struct cust_evstate *st, enum cust_action a, const char *details)
{
	struct cust_event ev;

	mk(&ev, "EV-1", a);
	ev.seq = 1;
	snprintf(ev.details, sizeof(ev.details), "%s", details);
	memset(st, 0, sizeof(*st));
	return cust_evstate_apply(st, &ev, NULL);
}

/* evstate reads flat ASCII details itself and everything else through
 * jansson: both paths must give jansson's values and errors. */
static void test_details_paths(void **st)
{
	static char big[600];
	struct cust_evstate s;

	(void)st;
	/* fast path, including the escapes it decodes itself */
	assert_int_equal(apply_raw(&s, CUST_A_UPLOADED, "{\"etag\":\"\\\"e1\\\"\","
				   "\"object_key\":\"a\\/b\\\\c\",\"version_id\":\"v1\"}"), 0);
	assert_string_equal(s.etag, "\"e1\"");
	assert_string_equal(s.object_key, "a/b\\c");
	assert_string_equal(s.version_id, "v1");
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED,
				   "{\"sha256\":\"ab\",\"size\":123456789012}"), 0);
	assert_true(s.size == INT64_C(123456789012));
	assert_string_equal(s.sha256, "ab");
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":-0}"), 0);
	assert_true(s.size == 0);
	/* wrong types are ignored on both paths */
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"sha256\":5,\"size\":\"5\"}"), 0);
	assert_true(s.size == -1);
	assert_string_equal(s.sha256, "");
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":1.5}"), 0);
	assert_true(s.size == -1);
	assert_int_equal(apply_raw(&s, CUST_A_DOCKED, "{\"camera\":{\"x\":1},"
				   "\"officer\":\"o\",\"z\":[1,true,null]}"), 0);
	assert_string_equal(s.camera, "");
	assert_string_equal(s.officer, "o");
	assert_int_equal(apply_raw(&s, CUST_A_DOCKED, "{\"camera\":null,\"officer\":true}"), 0);
	assert_string_equal(s.camera, "");
	assert_string_equal(s.officer, "");
	/* jansson path: unicode escapes, raw UTF-8, control escapes, spaces,
	 * unsorted keys */
	assert_int_equal(apply_raw(&s, CUST_A_CATEGORIZED, "{\"category\":\"caf\\u00e9\"}"), 0);
	assert_string_equal(s.category, "caf\xc3\xa9");
	assert_int_equal(apply_raw(&s, CUST_A_CATEGORIZED, "{\"category\":\"caf\xc3\xa9\"}"), 0);
	assert_string_equal(s.category, "caf\xc3\xa9");
	assert_int_equal(apply_raw(&s, CUST_A_CATEGORIZED, "{\"category\":\"a\\nb\"}"), 0);
	assert_string_equal(s.category, "a\nb");
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{ \"size\" : 7 , \"sha256\":\"x\"}"), 0);
	assert_true(s.size == 7);
	assert_string_equal(s.sha256, "x");
	/* both: errors */
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":99999999999999999999}"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":1,\"size\":2}"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":01}"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":1"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":1}x"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "[1]"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"a\":\"\\q\"}"), -EBADMSG);
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, "{\"size\":-}"), -EBADMSG);
	/* empty details are "{}"; long values are cut at the field cap */
	assert_int_equal(apply_raw(&s, CUST_A_INGESTED, ""), 0);
	assert_true(s.size == -1);
	memset(big, 'x', sizeof(big) - 1);
	{
		char d[700];
		snprintf(d, sizeof(d), "{\"officer\":\"%s\"}", big);
		assert_int_equal(apply_raw(&s, CUST_A_DOCKED, d), 0);
		assert_int_equal(strlen(s.officer), sizeof(s.officer) - 1);
		snprintf(d, sizeof(d), "{\"officer\":\"\\u0078%s\"}", big);
		assert_int_equal(apply_raw(&s, CUST_A_DOCKED, d), 0);
		assert_int_equal(strlen(s.officer), sizeof(s.officer) - 1);
	}
}

/* The worked example of docs/custody-ledger.md, byte for byte. */
static void test_doc_example(void **st)
{
	static const char want[] =
		"01" "0000000000000005" "17cb344fafbc0000" "02" "00000004" "70642d31"
		"02" "00000005" "43414d2d37" "0001" "00000004" "45562d31" "01"
		"00000000" "00000000" "00000012"
		"7b2263616d657261223a2243414d2d37227d";
	struct cust_event ev;
	uint8_t buf[CUST_CANON_MAX];
	merkle_hash leaf;
	char hex[2 * sizeof(buf) + 1];
	size_t len, i;
	json_t *d = json_pack("{s:s}", "camera", "CAM-7");

	(void)st;
	assert_int_equal(cust_event_init(&ev, "pd-1", CUST_ACTOR_CAMERA, "CAM-7",
					 CUST_A_DOCKED, "EV-1", CUST_OUTCOME_OK), 0);
	ev.seq = 5;
	ev.time_ns = INT64_C(1714521600000000000);
	ev.clock = CUST_CLOCK_NTP;
	assert_int_equal(cust_event_set_details(&ev, d), 0);
	json_decref(d);
	assert_int_equal(cust_event_encode(&ev, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 77);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	assert_string_equal(hex, want);
	assert_int_equal(merkle_leaf_hash(buf, len, leaf), 0);
	for (i = 0; i < MERKLE_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", leaf[i]);
	assert_string_equal(hex, "5fb81b9dbde15d2c81b396187ccedd34dede7e3f579c92c075a805b797ce5fdd");
}

/* A failed append (disk full, a refused event) must not poison the handle
 * of a long-running process: the next append works and verify is clean. */
static void test_append_after_failure(void **st)
{
	struct cust_ledger *l;
	struct cust_event ev[3];
	struct cust_verify_opts o = { 0 };
	struct cust_verify_result res;
	char err[256], sql[128];
	sqlite3_stmt *s;
	int pages = 0, i, r;

	(void)st;
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_CREATE, &l, err, sizeof(err)), 0);
	mk(&ev[0], "EV-1", CUST_A_DOCKED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), 0);
	/* refused in the middle of a batch: another agency's event */
	mk(&ev[0], "EV-2", CUST_A_DOCKED);
	mk(&ev[1], "EV-1", CUST_A_VIEWED);
	snprintf(ev[1].agency_id, sizeof(ev[1].agency_id), "pd-other");
	assert_int_equal(cust_ledger_append_batch(l, ev, 2), -EXDEV);
	mk(&ev[0], "EV-2", CUST_A_DOCKED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), 0);
	assert_int_equal(ev[0].seq, 2);
	/* disk full: cap the file at its current size */
	assert_int_equal(sqlite3_prepare_v2(cust_ledger_db(l), "PRAGMA page_count", -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	pages = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", pages);
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL), 0);
	for (i = 0, r = 0; i < 200 && r == 0; i++) {
		mk(&ev[0], "EV-3", CUST_A_VIEWED);
		snprintf(ev[0].reason, sizeof(ev[0].reason), "%0500d", i);
		r = cust_ledger_append(l, &ev[0]);
	}
	assert_int_equal(r, -ENOSPC);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", 1 << 30);
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), sql, NULL, NULL, NULL), 0);
	mk(&ev[0], "EV-3", CUST_A_VIEWED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), 0);
	/* inside a caller's transaction too */
	assert_int_equal(cust_ledger_begin(l), 0);
	mk(&ev[0], "EV-1", CUST_A_VIEWED);
	snprintf(ev[0].agency_id, sizeof(ev[0].agency_id), "pd-other");
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EXDEV);
	mk(&ev[0], "EV-1", CUST_A_VIEWED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), 0);
	assert_int_equal(cust_ledger_commit(l), 0);
	/* a caller's commit that fails (deferred foreign key) is rolled back
	 * and does not leave an open transaction behind */
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), "CREATE TABLE dock_x(id TEXT"
				      " REFERENCES evidence(evidence_id) DEFERRABLE INITIALLY"
				      " DEFERRED)", NULL, NULL, NULL), 0);
	assert_int_equal(cust_ledger_begin(l), 0);
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), "INSERT INTO dock_x VALUES ('none')",
				      NULL, NULL, NULL), 0);
	mk(&ev[0], "EV-1", CUST_A_VIEWED);
	assert_int_equal(cust_ledger_append(l, &ev[0]), 0);
	assert_int_equal(cust_ledger_commit(l), -EUCLEAN);
	assert_int_not_equal(sqlite3_get_autocommit(cust_ledger_db(l)), 0);
	mk(&ev[2], "EV-4", CUST_A_DOCKED);
	assert_int_equal(cust_ledger_append(l, &ev[2]), 0);
	{	/* durable: another handle sees it */
		struct cust_ledger *l2;
		struct cust_event got;
		assert_int_equal(cust_ledger_open(path, CUST_LEDGER_RDONLY, &l2, err, sizeof(err)), 0);
		assert_int_equal(cust_ledger_get(l2, ev[2].seq, &got), 0);
		assert_string_equal(got.evidence_id, "EV-4");
		cust_ledger_close(l2);
	}
	/* dockd's own dock_* tables do not disturb verify */
	assert_int_equal(sqlite3_exec(cust_ledger_db(l), "INSERT INTO dock_x VALUES ('EV-1')",
				      NULL, NULL, NULL), 0);
	assert_int_equal(cust_verify(l, &o, no_finding, NULL, &res), 0);
	assert_int_equal(res.findings, 0);
	cust_ledger_close(l);
}

static void test_parse_time(void **st)
{
	int64_t t;

	(void)st;
	assert_int_equal(cust_parse_time("2024-05-01T00:00:00Z", 0, &t), 0);
	assert_true(t == INT64_C(1714521600) * 1000000000);
	assert_int_equal(cust_parse_time("2024-05-01", 1, &t), 0);
	assert_int_equal(cust_parse_time("2024-02-30", 0, &t), -EINVAL);
	assert_int_equal(cust_parse_time("2024-13-01", 0, &t), -EINVAL);
	assert_int_equal(cust_parse_time("yesterday", 0, &t), -EINVAL);
	assert_int_equal(cust_parse_time("2024-05-01T10:00+02:00", 0, &t), 0);
	assert_true(t == INT64_C(1714550400) * 1000000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_roundtrip),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test_setup_teardown(test_append_state_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_clean, setup, teardown),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_details_paths),
		cmocka_unit_test(test_doc_example),
		cmocka_unit_test_setup_teardown(test_append_after_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
