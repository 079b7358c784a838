/* Decision table of the role model (custody/access.h): every role x every
 * operation, same agency and other agency, with and without a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "access.h"

#define NOPS (ACCESS_OP_WITNESS_STATUS + 1)
#define NROLES (CUSTODY_ROLE_ADMIN + 1)

/* Expected: 1 = allowed within own agency with a reason. */
static const int allowed[NROLES][NOPS] = {
	[CUSTODY_ROLE_CLERK] = { [ACCESS_OP_HISTORY] = 1, [ACCESS_OP_SEARCH] = 1,
		[ACCESS_OP_STATUS] = 1, [ACCESS_OP_CASE] = 1,
		[ACCESS_OP_ANNOTATE] = 1, [ACCESS_OP_DUE] = 1,
		[ACCESS_OP_EXPORT] = 1, [ACCESS_OP_RECEIPT_FILE] = 1,
		[ACCESS_OP_PROOF] = 1 },
	[CUSTODY_ROLE_SUPERVISOR] = { [ACCESS_OP_HISTORY] = 1,
		[ACCESS_OP_SEARCH] = 1, [ACCESS_OP_HOLD] = 1,
		[ACCESS_OP_CATEGORIZE] = 1, [ACCESS_OP_STATUS] = 1,
		[ACCESS_OP_CASE] = 1, [ACCESS_OP_ANNOTATE] = 1,
		[ACCESS_OP_DUE] = 1, [ACCESS_OP_DESTROY] = 1,
		[ACCESS_OP_EXPORT] = 1, [ACCESS_OP_RECEIPT_ISSUE] = 1,
		[ACCESS_OP_RECEIPT_FILE] = 1, [ACCESS_OP_PROOF] = 1 },
	[CUSTODY_ROLE_AUDITOR] = { [ACCESS_OP_ACCESS_EVENTS] = 1,
		[ACCESS_OP_VERIFY] = 1, [ACCESS_OP_PROOF] = 1,
		[ACCESS_OP_USER_LIST] = 1, [ACCESS_OP_STATUS] = 1,
		[ACCESS_OP_DUE] = 1, [ACCESS_OP_ALERTS] = 1,
		[ACCESS_OP_WITNESS_STATUS] = 1 },
	[CUSTODY_ROLE_ADMIN] = { [ACCESS_OP_USER_LIST] = 1,
		[ACCESS_OP_USER_ADMIN] = 1, [ACCESS_OP_STATUS] = 1 },
};

static enum access_verdict decide(enum custody_role role, const char *agency,
				  enum access_op op, const char *target,
				  const char *reason)
{
	struct access_subject s = { "u", role, agency };
	struct access_request r = { op, target, reason };

	return access_decide(&s, &r);
}

static void test_full_table(void **state)
{
	(void)state;
	for (int role = 0; role < NROLES; role++) {
		for (int op = 0; op < NOPS; op++) {
			enum access_verdict own = decide(role, "pd-a", op,
							 "pd-a", "case 42");
			enum access_verdict other = decide(role, "pd-a", op,
							   "pd-b", "case 42");
			if (allowed[role][op]) {
				assert_int_equal(own, ACCESS_ALLOW);
				assert_int_equal(other, ACCESS_DENY_AGENCY);
			} else {
				assert_int_not_equal(own, ACCESS_ALLOW);
				assert_int_not_equal(other, ACCESS_ALLOW);
			}
		}
	}
}

static void test_unknown_user_denied(void **state)
{
	(void)state;
	for (int op = 0; op < NOPS; op++) {
		assert_int_equal(decide(CUSTODY_ROLE_NONE, "pd-a", op, "pd-a",
					"x"), ACCESS_DENY_UNKNOWN_USER);
		/* a role without an agency is no identity either */
		assert_int_equal(decide(CUSTODY_ROLE_ADMIN, NULL, op, "pd-a",
					"x"), ACCESS_DENY_UNKNOWN_USER);
		assert_int_equal(decide(CUSTODY_ROLE_ADMIN, "", op, "pd-a",
					"x"), ACCESS_DENY_UNKNOWN_USER);
	}
	assert_int_equal(decide((enum custody_role)99, "pd-a",
				ACCESS_OP_HISTORY, "pd-a", "x"),
			 ACCESS_DENY_UNKNOWN_USER);
	assert_int_equal(access_decide(NULL, NULL), ACCESS_DENY_UNKNOWN_USER);
}

static void test_specific_verdicts(void **state)
{
	(void)state;
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_USER_ADMIN,
				"pd-a", "x"), ACCESS_DENY_ROLE);
	assert_int_equal(decide(CUSTODY_ROLE_ADMIN, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", "x"), ACCESS_DENY_ROLE);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_NONE,
				"pd-a", "x"), ACCESS_DENY_UNKNOWN_OP);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a",
				(enum access_op)1234, "pd-a", "x"),
			 ACCESS_DENY_UNKNOWN_OP);
	/* missing item: no target agency */
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				NULL, "x"), ACCESS_DENY_NO_TARGET);
	/* agency comparison is exact */
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"PD-A", "x"), ACCESS_DENY_AGENCY);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a ", "x"), ACCESS_DENY_NO_TARGET);
}

static void test_reasons(void **state)
{
	char big[ACCESS_REASON_MAX + 100];

	(void)state;
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", NULL), ACCESS_DENY_NO_REASON);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", ""), ACCESS_DENY_NO_REASON);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", "   "), ACCESS_DENY_NO_REASON);
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", "a\nWARNING forged"),
			 ACCESS_DENY_NO_REASON);
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", big), ACCESS_DENY_NO_REASON);
	big[ACCESS_REASON_MAX] = '\0';
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_HISTORY,
				"pd-a", big), ACCESS_ALLOW);
	/* verify needs no reason; user admin neither */
	assert_int_equal(decide(CUSTODY_ROLE_AUDITOR, "pd-a", ACCESS_OP_VERIFY,
				"pd-a", NULL), ACCESS_ALLOW);
	assert_int_equal(decide(CUSTODY_ROLE_ADMIN, "pd-a", ACCESS_OP_USER_ADMIN,
				"pd-a", NULL), ACCESS_ALLOW);
	/* the dock's status: any role, no reason, own agency only */
	assert_int_equal(decide(CUSTODY_ROLE_CLERK, "pd-a", ACCESS_OP_STATUS,
				"pd-a", NULL), ACCESS_ALLOW);
	assert_int_equal(decide(CUSTODY_ROLE_AUDITOR, "pd-b", ACCESS_OP_STATUS,
				"pd-a", NULL), ACCESS_DENY_AGENCY);
	assert_int_equal(access_op_needs_reason(ACCESS_OP_STATUS), 0);
	assert_int_equal(access_op_needs_reason(ACCESS_OP_ACCESS_EVENTS), 1);
	assert_int_equal(access_op_needs_reason(ACCESS_OP_NONE), 1);
	/* the due list needs none; destroying evidence does */
	assert_int_equal(access_op_needs_reason(ACCESS_OP_DUE), 0);
	assert_int_equal(access_op_needs_reason(ACCESS_OP_DESTROY), 1);
}

static void test_names(void **state)
{
	enum custody_role r = CUSTODY_ROLE_NONE;
	enum access_op op = ACCESS_OP_NONE;

	(void)state;
	for (int i = CUSTODY_ROLE_CLERK; i <= CUSTODY_ROLE_ADMIN; i++) {
		assert_int_equal(access_role_parse(access_role_name(i), &r), 0);
		assert_int_equal(r, i);
	}
	r = CUSTODY_ROLE_CLERK;
	assert_int_equal(access_role_parse("none", &r), -EINVAL);
	assert_int_equal(access_role_parse("Admin", &r), -EINVAL);
	assert_int_equal(access_role_parse(NULL, &r), -EINVAL);
	assert_int_equal(r, CUSTODY_ROLE_CLERK);
	for (int i = ACCESS_OP_HISTORY; i < NOPS; i++) {
		assert_int_equal(access_op_parse(access_op_name(i), &op), 0);
		assert_int_equal(op, i);
	}
	assert_int_equal(access_op_parse("drop-table", &op), -EINVAL);
	assert_string_equal(access_verdict_name(ACCESS_DENY_AGENCY),
			    "deny-agency");
	assert_true(access_agency_valid("pd_A.1-x"));
	assert_false(access_agency_valid("pd a"));
	assert_false(access_agency_valid("pd/a"));
	assert_false(access_agency_valid(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_unknown_user_denied),
		cmocka_unit_test(test_specific_verdicts),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
