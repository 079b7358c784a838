/* The [retention] table and date (custody/retention.h) and the replay of
 * the metadata-edit events (custody/evstate.c): case-insensitive names,
 * statutory minimums, with_case, hold, and case_unassigned removing a
 * case wherever it sits in the list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "evstate.h"
#include "retention.h"

static void load(struct cust_retention *r, const char *const *kv)
{
	const char *why;
	char err[256];

	cust_retention_init(r);
	for (; *kv; kv += 2)
		assert_int_equal(cust_retention_key(r, kv[0], kv[1], &why), 0);
	assert_int_equal(cust_retention_check(r, err, sizeof(err)), 0);
}

static void test_table(void **state)
{
	static const char *const kv[] = { "homicide", "indefinite", "traffic", "1y",
		"traffic.min", "1y", "uncategorized", "90d", "with_case", "2y", NULL };
	struct cust_retention r;
	const struct cust_retention_rule *x;
	const char *why, *basis;
	char err[256];
	int known = -1;
	int32_t d;

	(void)state;
	load(&r, kv);
	x = cust_retention_resolve(&r, "HoMiCiDe", &known);
	assert_int_equal(known, 1);
	assert_string_equal(x->category, "homicide");
	assert_int_equal(cust_retention_days(&r, x, 1, &basis), -1);
	assert_string_equal(basis, "category");	/* indefinite beats with_case */
	x = cust_retention_resolve(&r, "dui", &known);
	assert_int_equal(known, 0);
	assert_string_equal(x->category, "uncategorized");
	assert_int_equal(cust_retention_days(&r, x, 0, NULL), 90);
	x = cust_retention_resolve(&r, "", &known);
	assert_int_equal(known, 0);
	x = cust_retention_resolve(&r, "traffic", &known);
	d = cust_retention_days(&r, x, 1, &basis);
	assert_int_equal(d, 730);
	assert_string_equal(basis, "case");
	/* errors */
	assert_int_equal(cust_retention_key(&r, "Traffic", "2y", &why), -EEXIST);
	assert_int_equal(cust_retention_key(&r, "a b", "2y", &why), -EINVAL);
	assert_int_equal(cust_retention_key(&r, "x.max", "2y", &why), -EINVAL);
	assert_int_equal(cust_retention_key(&r, "x", "2w", &why), -EINVAL);
	assert_int_equal(cust_retention_key(&r, "x", "101y", &why), -EINVAL);
	assert_int_equal(cust_retention_key(&r, "x", "99999999999999999999d", &why), -EINVAL);
	assert_int_equal(cust_retention_key(&r, "short", "30d", &why), 0);
	assert_int_equal(cust_retention_key(&r, "short.min", "60d", &why), 0);
	assert_int_equal(cust_retention_check(&r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "statutory minimum"));
}

static void test_until(void **state)
{
	char a[64], b[64];

	(void)state;
	assert_int_equal(cust_retention_until(0, 1, 0, a, sizeof(a)), 0);
	assert_string_equal(a, "1970-01-02T00:00:00.000000000Z");
	assert_int_equal(cust_retention_until(0, 1, 1, b, sizeof(b)), 0);
	assert_string_equal(b, "indefinite");
	assert_true(cust_retention_cmp(b, a) > 0);
	assert_true(cust_retention_cmp(a, b) < 0);
	assert_true(cust_retention_cmp(a, "") > 0);
	assert_int_equal(cust_retention_cmp(b, "indefinite"), 0);
	assert_int_equal(cust_retention_until(0, -1, 0, a, sizeof(a)), 0);
	assert_string_equal(a, "indefinite");
}

static void ev(struct cust_evstate *st, uint64_t seq, enum cust_action a,
	       const char *case_no, const char *details)
{
	struct cust_event e;

	assert_int_equal(cust_event_init(&e, "pd-a", CUST_ACTOR_CLERK, "u", a,
					 "EV-1", CUST_OUTCOME_OK), 0);
	e.seq = seq;
	snprintf(e.case_no, sizeof(e.case_no), "%s", case_no);
	snprintf(e.details, sizeof(e.details), "%s", details);
	assert_int_equal(cust_evstate_apply(st, &e, NULL), 0);
}

static void test_cases_replay(void **state)
{
	struct cust_evstate st;
	char c[80];
	struct cust_event e;

	(void)state;
	memset(&st, 0, sizeof(st));
	ev(&st, 1, CUST_A_DOCKED, "", "{\"camera\":\"C\"}");
	ev(&st, 2, CUST_A_CASE_ASSIGNED, "b, 2", "{\"case\":\"b, 2\"}");
	ev(&st, 3, CUST_A_CASE_ASSIGNED, "a", "{\"case\":\"a\"}");
	ev(&st, 4, CUST_A_CASE_ASSIGNED, "c", "{\"case\":\"c\"}");
	assert_string_equal(st.cases, "a\x1f" "b, 2\x1f" "c");
	ev(&st, 5, CUST_A_CASE_UNASSIGNED, "", "{\"case\":\"b, 2\"}");	/* middle */
	assert_string_equal(st.cases, "a\x1f" "c");
	ev(&st, 6, CUST_A_CASE_UNASSIGNED, "", "{\"case\":\"c\"}");	/* last */
	assert_string_equal(st.cases, "a");
	ev(&st, 7, CUST_A_CASE_UNASSIGNED, "", "{\"case\":\"zz\"}");	/* absent */
	assert_string_equal(st.cases, "a");
	ev(&st, 8, CUST_A_CASE_UNASSIGNED, "", "{\"case\":\"a\"}");	/* only */
	assert_string_equal(st.cases, "");
	ev(&st, 9, CUST_A_HOLD_SET, "", "{}");
	assert_int_equal(st.legal_hold, 1);
	ev(&st, 10, CUST_A_RETENTION_EXTENDED, "", "{\"until\":\"indefinite\"}");
	assert_string_equal(st.retention_until, "indefinite");
	ev(&st, 11, CUST_A_ANNOTATED, "", "{\"field\":\"title\",\"value\":\"x\"}");
	ev(&st, 12, CUST_A_HOLD_CLEARED, "", "{}");
	assert_int_equal(st.legal_hold, 0);
	assert_int_equal(st.n_events, 12);
	/* the ledger's index follows the same rule */
	memset(&e, 0, sizeof(e));
	e.action = CUST_A_CASE_UNASSIGNED;
	e.outcome = CUST_OUTCOME_OK;
	snprintf(e.details, sizeof(e.details), "%s", "{\"case\":\"a, b\"}");
	assert_int_equal(cust_evstate_unassigned_case(&e, c, sizeof(c)), 1);
	assert_string_equal(c, "a, b");
	e.outcome = CUST_OUTCOME_FAILED;
	assert_int_equal(cust_evstate_unassigned_case(&e, c, sizeof(c)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_until),
		cmocka_unit_test(test_cases_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
