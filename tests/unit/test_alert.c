/* alert: the command runs without a shell with the alert in its
 * environment, a hanging command is killed, failures are not fatal; the
 * asynchronous runner does not wait, bounds the commands running at once
 * and collects/kills them from the owner's loop. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* Call reap until nothing runs (bounded: ~20 s, far above any deadline
 * used here; reaching it is a failure, not a timing assertion). */
static void reap_all(struct alert_runner *r)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 2000 && alert_runner_running(r) > 0; i++) {
		alert_runner_reap(r);
		nanosleep(&nap, NULL);
	}
	assert_int_equal(alert_runner_running(r), 0);
}

static int lines(const char *path)
{
	char buf[512];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f))
		n++;
	fclose(f);
	return n;
}

static void test_async_bounded(void **state)
{
	char cmd[128], body[512], out[128], go[128];
	struct alert_config cfg = { cmd, 30000 };
	struct alert a = { "access-denied", "u", 7, "pd-a", "history", "EV",
			   "deny-agency" };
	struct alert_runner *r = NULL;

	(void)state;
	snprintf(out, sizeof(out), "%s/async.out", dir);
	snprintf(go, sizeof(go), "%s/go", dir);
	/* blocks until we say go: no timing in the test */
	snprintf(body, sizeof(body), "while [ ! -e %s ]; do sleep 0.02; done\n"
		 "echo \"$CUSTODY_ALERT_USER\" >> %s", go, out);
	script("async.sh", body, cmd, sizeof(cmd));
	assert_int_equal(alert_runner_new(&cfg, 2, &r), 0);
	assert_int_equal(alert_raise_async(r, &a), 0);	/* returns at once */
	assert_int_equal(alert_raise_async(r, &a), 0);
	assert_int_equal(alert_runner_running(r), 2);
	assert_int_equal(alert_raise_async(r, &a), -EBUSY);	/* bound */
	assert_int_equal(alert_runner_skipped(r), 1);
	assert_int_equal(lines(out), 0);	/* both still waiting */
	close(open(go, O_WRONLY | O_CREAT, 0600));
	reap_all(r);
	assert_int_equal(lines(out), 2);
	/* room again */
	assert_int_equal(alert_raise_async(r, &a), 0);
	reap_all(r);
	assert_int_equal(lines(out), 3);
	alert_runner_free(r);
	unlink(go);
}

static void test_async_overdue_killed(void **state)
{
	char cmd[128];
	struct alert_config cfg = { cmd, 100 };
	struct alert a = { "unknown-user", NULL, -1, NULL, NULL, NULL, NULL };
	struct alert_runner *r = NULL;

	(void)state;
	script("sleepy.sh", "exec sleep 30", cmd, sizeof(cmd));
	assert_int_equal(alert_runner_new(&cfg, 0, &r), 0);
	assert_int_equal(alert_raise_async(r, &a), 0);
	assert_int_equal(alert_runner_running(r), 1);
	reap_all(r);		/* killed at its deadline, then collected */
	/* the runner never waits for other children of its owner */
	{
		pid_t other = fork();
		assert_true(other >= 0);
		if (other == 0)
			_exit(0);
		assert_int_equal(alert_raise_async(r, &a), 0);
		alert_runner_free(r);	/* waits for (kills) ours only */
		assert_int_equal(waitpid(other, NULL, 0), other);
	}
	/* bad configurations and no command */
	assert_int_equal(alert_runner_new(&cfg, 0, NULL), -EINVAL);
	cfg.command = "relative.sh";
	assert_int_equal(alert_runner_new(&cfg, 0, &r), -EINVAL);
	assert_int_equal(alert_runner_new(NULL, 0, &r), 0);
	assert_int_equal(alert_raise_async(r, &a), 0);	/* log only */
	assert_int_equal(alert_runner_running(r), 0);
	assert_int_equal(alert_runner_set_config(r, &cfg), -EINVAL);
	alert_runner_free(r);
	assert_int_equal(alert_raise_async(NULL, &a), 0);
	assert_int_equal(alert_raise_async(NULL, NULL), -EINVAL);
	alert_runner_free(NULL);
}

/* A forwarding runner (dockd's locked-down query process): every alert
 * goes to the forwarder, no command is ever started here, even with one
 * configured; a failing forwarder's error comes back. */
struct fwd_seen {
	int calls, rc;
	char user[32];
};

static int fwd(void *ctx, const struct alert *a)
{
	struct fwd_seen *f = ctx;

	f->calls++;
	snprintf(f->user, sizeof(f->user), "%s", a->user ? a->user : "");
	return f->rc;
}

static void test_forwarded(void **state)
{
	char cmd[128], out[128], body[256];
	struct alert_config cfg = { cmd, 30000 };
	struct alert a = { "access-denied", "u7", 7, "pd-a", "history", "EV", "deny-agency" };
	struct alert_runner *r = NULL;
	struct fwd_seen f = { 0, 0, "" };

	(void)state;
	snprintf(out, sizeof(out), "%s/fwd.out", dir);
	snprintf(body, sizeof(body), "echo ran >> %s", out);
	script("fwd.sh", body, cmd, sizeof(cmd));
	assert_int_equal(alert_runner_new(&cfg, 2, &r), 0);
	alert_runner_set_forward(r, fwd, &f);
	assert_int_equal(alert_raise_async(r, &a), 0);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.user, "u7");
	assert_int_equal(alert_runner_running(r), 0);	/* nothing spawned */
	f.rc = -EPIPE;
	assert_int_equal(alert_raise_async(r, &a), -EPIPE);
	assert_int_equal(alert_runner_running(r), 0);
	/* off again: the command runs */
	alert_runner_set_forward(r, NULL, NULL);
	assert_int_equal(alert_raise_async(r, &a), 0);
	reap_all(r);
	assert_int_equal(f.calls, 2);
	assert_int_equal(lines(out), 1);
	alert_runner_free(r);
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
		cmocka_unit_test(test_async_bounded),
		cmocka_unit_test(test_async_overdue_killed),
		cmocka_unit_test(test_forwarded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
