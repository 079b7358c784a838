/* alert: the command runs without a shell with the alert in its
 * environment, a hanging command is killed, failures are not fatal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "alert.h"

static char dir[64];

static void script(const char *name, const char *body, char *path,
		   size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static void test_command_gets_alert(void **state)
{
	char cmd[128], body[512], out[128], line[1024];
	struct alert_config cfg = { cmd, 5000 };
	struct alert a = { "access-denied", "clerk\nb", 1001, "pd-a",
			   "history", "EV-1; rm -rf /", "deny-agency" };
	FILE *f;

	(void)state;
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(body, sizeof(body),
		 "echo \"$1|$CUSTODY_ALERT_USER|$CUSTODY_ALERT_UID|"
		 "$CUSTODY_ALERT_TARGET|$CUSTODY_ALERT_DETAIL|${HOME:-nohome}\""
		 " > %s", out);
	script("ok.sh", body, cmd, sizeof(cmd));
	assert_int_equal(alert_raise(&cfg, &a), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* newline replaced, no shell interpretation, nothing inherited */
	assert_string_equal(line, "access-denied|clerk?b|1001|EV-1; rm -rf /|"
			    "deny-agency|nohome\n");
}

static void test_failures_not_fatal(void **state)
{
	char cmd[128];
	struct alert_config cfg = { cmd, 200 };
	struct alert a = { "unknown-user", NULL, -1, NULL, NULL, NULL, NULL };

	(void)state;
	script("hang.sh", "exec sleep 30", cmd, sizeof(cmd));
	assert_int_equal(alert_raise(&cfg, &a), -ETIMEDOUT);
	script("fail.sh", "exit 3", cmd, sizeof(cmd));
	assert_int_equal(alert_raise(&cfg, &a), -EIO);
	snprintf(cmd, sizeof(cmd), "%s/missing", dir);
	assert_true(alert_raise(&cfg, &a) < 0);
	/* relative paths are refused, not searched */
	cfg.command = "sh";
	assert_int_equal(alert_config_check(&cfg), -EINVAL);
	assert_int_equal(alert_raise(&cfg, &a), -EINVAL);
	/* no command: log only */
	cfg.command = NULL;
	assert_int_equal(alert_raise(&cfg, &a), 0);
	assert_int_equal(alert_raise(NULL, &a), 0);
	assert_int_equal(alert_raise(&cfg, NULL), -EINVAL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/alert-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_gets_alert),
		cmocka_unit_test(test_failures_not_fatal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
