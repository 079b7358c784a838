/* The query service against a real ledger file and a real Unix socket,
 * driven in one thread (everything is non-blocking): slow and hostile
 * clients, audit-before-answer, refusal when the audit record cannot be
 * written, user changes as events, the embedding hooks (status function,
 * ledger lock - checked with SQLite's statement trace), asynchronous
 * bounded alert commands. The caller's identity is our own uid
 * (SO_PEERCRED), mapped to a role with users_add. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ledger.h"
#include "qrequest.h"
#include "qservice.h"
#include "users.h"

struct fx {
	char dir[32], db[64], sock[64];
	char me[USERS_NAME_MAX + 1];
	struct cust_ledger *l;
	struct qservice *svc;
	/* embedding hooks */
	int in_handle;		/* inside qservice_handle() */
	int held;		/* our "host mutex" is held */
	int locks, unlocks, status_calls;
	int stmts_locked, stmts_unlocked;	/* SQL run inside handle() */
	int status_saw_lock;
};

static const struct users_actor local = { CUST_ACTOR_SYSTEM, "local:test",
					  0, "test setup" };

static void add_item(struct cust_ledger *l, const char *agency,
		     const char *id)
{
	struct cust_event ev;

	assert_int_equal(cust_event_init(&ev, agency, CUST_ACTOR_DOCK,
					 "dock-1", CUST_A_DOCKED, id,
					 CUST_OUTCOME_OK), 0);
	assert_int_equal(cust_ledger_append(l, &ev), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct qservice_config cfg;
	struct passwd *pw = getpwuid(getuid());
	char err[256];

	assert_non_null(f);
	assert_non_null(pw);
	snprintf(f->me, sizeof(f->me), "%s", pw->pw_name);
	snprintf(f->dir, sizeof(f->dir), "/tmp/qsvc-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/l.db", f->dir);
	snprintf(f->sock, sizeof(f->sock), "%s/q.sock", f->dir);
	assert_int_equal(cust_ledger_open(f->db, CUST_LEDGER_CREATE, &f->l,
					  err, sizeof(err)), 0);
	add_item(f->l, "pd-a", "EV-A1");
	add_item(f->l, "pd-b", "EV-B1");
	assert_int_equal(users_add(f->l, &local, f->me, CUSTODY_ROLE_CLERK,
				   "pd-a", NULL), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket_path = f->sock;
	cfg.socket_mode = 0666;
	cfg.socket_gid = (gid_t)-1;
	cfg.client_timeout_ms = 300;
	cfg.max_clients = 4;
	cfg.home_agency = "pd-a";
	assert_int_equal(qservice_open(&cfg, f->l, &f->svc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[160];

	qservice_close(f->svc);
	cust_ledger_close(f->l);
	/* the service removed its socket */
	assert_int_not_equal(access(f->sock, F_OK), 0);
	snprintf(path, sizeof(path), "%s/l.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/l.db-shm", f->dir);
	unlink(path);
	unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client(const struct fx *f)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Run the service until fd has a whole reply (EOF); parse it. */
static json_t *await_reply(struct fx *f, int fd)
{
	char buf[65536];
	size_t len = 0;
	json_error_t e;
	json_t *r;

	for (int spins = 0; spins < 2000; spins++) {
		struct pollfd p[2] = { { qservice_fd(f->svc), POLLIN, 0 },
				       { fd, POLLIN, 0 } };
		assert_true(poll(p, 2, 50) >= 0);
		if (p[0].revents) {
			f->in_handle = 1;
			assert_int_equal(qservice_handle(f->svc), 0);
			f->in_handle = 0;
		}
		if (p[1].revents) {
			ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len,
					 MSG_DONTWAIT);
			if (n == 0)
				break;
			if (n > 0)
				len += (size_t)n;
		}
	}
	close(fd);
	r = json_loadb(buf, len, 0, &e);
	assert_non_null(r);
	return r;
}

static json_t *ask(struct fx *f, const char *req)
{
	int fd = client(f);

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	shutdown(fd, SHUT_WR);	/* end of request without a newline */
	return await_reply(f, fd);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The event the reply points at, as written in the ledger. */
static void audit_event(struct fx *f, json_t *reply, struct cust_event *ev)
{
	json_int_t seq = json_integer_value(json_object_get(reply,
							    "audit_seq"));

	assert_true(seq > 0);
	assert_int_equal(cust_ledger_get(f->l, (uint64_t)seq, ev), 0);
}

static void test_history_recorded_before_answer(void **state)
{
	struct fx *f = *state;
	struct cust_event ev;
	json_t *r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\","
			"\"reason\":\"case 7\"}\n");

	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(str(json_object_get(r, "result"), "evidence_id"),
			    "EV-A1");
	audit_event(f, r, &ev);
	assert_int_equal(ev.action, CUST_A_LEDGER_READ);
	assert_int_equal(ev.outcome, CUST_OUTCOME_OK);
	assert_string_equal(ev.actor_id, f->me);
	assert_string_equal(ev.evidence_id, "EV-A1");
	assert_string_equal(ev.reason, "case 7");
	assert_non_null(strstr(ev.details, "\"uid\""));
	json_decref(r);
}

static void test_cross_agency_and_missing_look_alike(void **state)
{
	struct fx *f = *state;
	struct cust_event ev;
	json_t *a = ask(f, "{\"op\":\"history\",\"item\":\"EV-B1\","
			"\"reason\":\"x\"}");
	json_t *b = ask(f, "{\"op\":\"history\",\"item\":\"EV-NONE\","
			"\"reason\":\"x\"}");

	assert_string_equal(str(a, "error"), "denied");
	assert_string_equal(str(a, "message"), str(b, "message"));
	assert_null(json_object_get(a, "result"));
	audit_event(f, a, &ev);
	assert_int_equal(ev.action, CUST_A_ACCESS_DENIED);
	assert_int_equal(ev.outcome, CUST_OUTCOME_DENIED);
	assert_string_equal(ev.agency_id, "pd-b");	/* the owner sees it */
	assert_non_null(strstr(ev.details, "deny-agency"));
	audit_event(f, b, &ev);
	assert_string_equal(ev.evidence_id, "");	/* no phantom item */
	assert_non_null(strstr(ev.details, "deny-no-target"));
	json_decref(a);
	json_decref(b);
}

static void test_silent_client_does_not_block(void **state)
{
	struct fx *f = *state;
	int silent = client(f);
	json_t *r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\","
			"\"reason\":\"r\"}");

	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = await_reply(f, silent);	/* cut off after 300 ms */
	assert_string_equal(str(r, "error"), "timeout");
	json_decref(r);
}

static void test_hostile_requests(void **state)
{
	struct fx *f = *state;
	char *big = malloc(20000);
	json_t *r;
	int fd;

	r = ask(f, "this is not json\n");
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);
	r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\",\"reason\":\"r\","
		"\"sql\":\"drop\"}");
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);
	r = ask(f, "{\"op\":\"history\",\"op\":\"search\"}");
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);
	r = ask(f, "[1,2,3]");
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);
	r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\"}");
	/* no reason: a usage error, not a denial (issue 15) */
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);

	assert_non_null(big);
	memset(big, 'A', 20000);
	fd = client(f);
	assert_true(send(fd, big, 20000, MSG_NOSIGNAL | MSG_DONTWAIT) > 0);
	free(big);
	r = await_reply(f, fd);
	assert_string_equal(str(r, "error"), "too-large");
	json_decref(r);

	/* still serving */
	r = ask(f, "{\"op\":\"search\",\"reason\":\"r\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

static void test_no_audit_no_answer(void **state)
{
	struct fx *f = *state;
	uint64_t before, after;
	json_t *r;

	assert_int_equal(cust_ledger_size(f->l, &before), 0);
	assert_int_equal(sqlite3_exec(cust_ledger_db(f->l),
		"CREATE TEMP TRIGGER no_audit BEFORE INSERT ON main.events "
		"BEGIN SELECT RAISE(ABORT, 'disk on fire'); END", NULL, NULL,
		NULL), SQLITE_OK);
	r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\",\"reason\":\"r\"}");
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(str(r, "error"), "audit-failed");
	assert_null(json_object_get(r, "result"));
	json_decref(r);
	assert_int_equal(sqlite3_exec(cust_ledger_db(f->l),
		"DROP TRIGGER temp.no_audit", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(cust_ledger_size(f->l, &after), 0);
	assert_int_equal(before, after);
}

static void test_roles_and_user_admin(void **state)
{
	struct fx *f = *state;
	struct cust_event ev;
	struct cust_user u;
	json_t *r;

	/* a clerk cannot change roles (not even their own) */
	r = ask(f, "{\"op\":\"user-admin\",\"action\":\"set-role\","
		"\"user\":\"root\",\"role\":\"admin\"}");
	assert_string_equal(str(r, "error"), "denied");
	audit_event(f, r, &ev);
	assert_non_null(strstr(ev.details, "deny-role"));
	json_decref(r);

	assert_int_equal(users_set_role(f->l, &local, f->me,
					CUSTODY_ROLE_ADMIN, NULL), 0);
	r = ask(f, "{\"op\":\"user-admin\",\"action\":\"add\",\"user\":"
		"\"clerk9\",\"role\":\"clerk\",\"agency\":\"pd-a\","
		"\"reason\":\"hired\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	audit_event(f, r, &ev);
	assert_int_equal(ev.action, CUST_A_USER_ADDED);
	assert_string_equal(ev.actor_id, f->me);
	json_decref(r);
	assert_int_equal(users_lookup(f->l, "clerk9", &u), 0);
	assert_int_equal(u.role, CUSTODY_ROLE_CLERK);

	/* an admin of pd-a cannot create users in pd-b */
	r = ask(f, "{\"op\":\"user-admin\",\"action\":\"add\",\"user\":"
		"\"spy\",\"role\":\"admin\",\"agency\":\"pd-b\"}");
	assert_string_equal(str(r, "error"), "denied");
	json_decref(r);
	assert_int_equal(users_lookup(f->l, "spy", &u), -ENOENT);

	/* an admin cannot read evidence history */
	r = ask(f, "{\"op\":\"history\",\"item\":\"EV-A1\",\"reason\":\"r\"}");
	assert_string_equal(str(r, "error"), "denied");
	json_decref(r);

	/* unknown user: nothing */
	assert_int_equal(users_remove(f->l, &local, f->me, NULL), 0);
	r = ask(f, "{\"op\":\"user-list\"}");
	assert_string_equal(str(r, "error"), "denied");
	audit_event(f, r, &ev);
	assert_non_null(strstr(ev.details, "deny-unknown-user"));
	assert_string_equal(ev.agency_id, "pd-a");	/* home agency */
	json_decref(r);
}

/* ---- embedding: status function, lock hook, alerts ---------------- */

static json_t *fake_status(void *ctx)
{
	struct fx *f = ctx;

	f->status_calls++;
	f->status_saw_lock |= f->held;	/* must be called unlocked */
	return json_pack("{s:s, s:s, s:[{s:s, s:[{s:s, s:I, s:I}]}]}",
			 "dock_id", "dock-7", "agency_id", "pd-a", "cameras",
			 "serial", "CAM-1", "recordings", "evidence_id",
			 "CAM-1/r1", "bytes", (json_int_t)10, "size",
			 (json_int_t)100);
}

static json_t *broken_status(void *ctx)
{
	(void)ctx;
	return json_string("not an object");
}

static void host_lock(void *ctx)
{
	struct fx *f = ctx;

	assert_false(f->held);		/* never taken twice */
	f->held = 1;
	f->locks++;
}

static void host_unlock(void *ctx)
{
	struct fx *f = ctx;

	assert_true(f->held);
	f->held = 0;
	f->unlocks++;
}

/* Every SQL statement the service runs must run under the host's lock. */
static int on_stmt(unsigned type, void *ctx, void *p, void *x)
{
	struct fx *f = ctx;

	(void)type; (void)p; (void)x;
	if (f->in_handle) {
		if (f->held)
			f->stmts_locked++;
		else
			f->stmts_unlocked++;
	}
	return 0;
}

static void set_me(struct fx *f, enum custody_role role, const char *agency)
{
	struct cust_user u;

	if (users_lookup(f->l, f->me, &u) == 0)
		assert_int_equal(users_remove(f->l, &local, f->me, NULL), 0);
	assert_int_equal(users_add(f->l, &local, f->me, role, agency, NULL), 0);
}

static void test_status_any_role_of_the_agency(void **state)
{
	static const enum custody_role roles[] = {
		CUSTODY_ROLE_CLERK, CUSTODY_ROLE_SUPERVISOR,
		CUSTODY_ROLE_AUDITOR, CUSTODY_ROLE_ADMIN };
	struct fx *f = *state;
	struct cust_event ev;
	json_t *r, *res;

	qservice_set_status_fn(f->svc, fake_status, f);
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		set_me(f, roles[i], "pd-a");
		r = ask(f, "{\"op\":\"status\"}\n");
		assert_true(json_is_true(json_object_get(r, "ok")));
		res = json_object_get(r, "result");
		assert_string_equal(str(res, "dock_id"), "dock-7");
		assert_int_equal(json_array_size(json_object_get(res,
							"cameras")), 1);
		/* recorded before the answer, as a read by this user */
		audit_event(f, r, &ev);
		assert_int_equal(ev.action, CUST_A_LEDGER_READ);
		assert_int_equal(ev.outcome, CUST_OUTCOME_OK);
		assert_string_equal(ev.actor_id, f->me);
		assert_string_equal(ev.agency_id, "pd-a");
		assert_non_null(strstr(ev.details, "\"op\":\"status\""));
		json_decref(r);
	}
	assert_int_equal(f->status_calls, 4);
	/* status takes no parameters */
	r = ask(f, "{\"op\":\"status\",\"agency\":\"pd-b\"}");
	assert_string_equal(str(r, "error"), "bad-request");
	json_decref(r);
	/* a broken status function is an error, not a crash or a leak */
	qservice_set_status_fn(f->svc, broken_status, NULL);
	r = ask(f, "{\"op\":\"status\"}");
	assert_string_equal(str(r, "error"), "error");
	assert_non_null(strstr(str(r, "message"), "status unavailable"));
	json_decref(r);
}

/* Wait (bounded) until the service has collected its alert commands. */
static void settle_alerts(struct fx *f)
{
	for (int spins = 0; spins < 1000 && qservice_alerts_running(f->svc);
	     spins++) {
		struct pollfd p = { qservice_fd(f->svc), POLLIN, 0 };
		assert_true(poll(&p, 1, 20) >= 0);
		assert_int_equal(qservice_handle(f->svc), 0);
	}
	assert_int_equal(qservice_alerts_running(f->svc), 0);
}

static void write_script(const char *path, const char *body)
{
	FILE *s = fopen(path, "w");

	assert_non_null(s);
	fprintf(s, "#!/bin/sh\n%s\n", body);
	fclose(s);
	assert_int_equal(chmod(path, 0755), 0);
}

static void test_status_other_agency_denied(void **state)
{
	struct fx *f = *state;
	struct alert_config ac = { NULL, 10000 };
	char cmd[128], out[128], body[300], line[512] = "";
	struct cust_event ev;
	FILE *in;
	json_t *r;

	snprintf(cmd, sizeof(cmd), "%s/alert.sh", f->dir);
	snprintf(out, sizeof(out), "%s/alerts", f->dir);
	snprintf(body, sizeof(body), "echo \"$1 $CUSTODY_ALERT_OP "
		 "$CUSTODY_ALERT_DETAIL\" >> %s", out);
	write_script(cmd, body);
	ac.command = cmd;
	assert_int_equal(qservice_set_alert(f->svc, &ac), 0);
	qservice_set_status_fn(f->svc, fake_status, f);
	set_me(f, CUSTODY_ROLE_ADMIN, "pd-b");
	r = ask(f, "{\"op\":\"status\"}");
	assert_string_equal(str(r, "error"), "denied");
	assert_null(json_object_get(r, "result"));
	audit_event(f, r, &ev);
	assert_int_equal(ev.action, CUST_A_ACCESS_DENIED);
	assert_string_equal(ev.agency_id, "pd-a");	/* the dock's agency */
	assert_non_null(strstr(ev.details, "deny-agency"));
	json_decref(r);
	assert_int_equal(f->status_calls, 0);	/* not even asked */
	settle_alerts(f);
	in = fopen(out, "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	fclose(in);
	assert_string_equal(line, "access-denied status deny-agency\n");
	unlink(cmd);
	unlink(out);
}

static void test_status_without_fn(void **state)
{
	struct fx *f = *state;
	struct cust_event ev;
	json_t *r = ask(f, "{\"op\":\"status\"}");

	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(str(r, "error"), "unsupported");
	assert_string_equal(str(r, "message"),
			    "status unavailable: no dock in this service");
	audit_event(f, r, &ev);	/* still recorded */
	assert_int_equal(ev.action, CUST_A_LEDGER_READ);
	assert_int_equal(ev.outcome, CUST_OUTCOME_ERROR);
	json_decref(r);
}

static void test_lock_around_ledger_use(void **state)
{
	static const char *const reqs[] = {
		"{\"op\":\"history\",\"item\":\"EV-A1\",\"reason\":\"r\"}",
		"{\"op\":\"history\",\"item\":\"EV-B1\",\"reason\":\"r\"}",
		"{\"op\":\"search\",\"reason\":\"r\"}",
		"{\"op\":\"status\"}",
		"{\"op\":\"no-such-op\"}",
		"not json",
	};
	struct fx *f = *state;
	char big[QREQ_MAX + 100];
	json_t *r;
	int fd;

	qservice_set_lock(f->svc, host_lock, host_unlock, f);
	qservice_set_status_fn(f->svc, fake_status, f);
	assert_int_equal(sqlite3_trace_v2(cust_ledger_db(f->l),
					  SQLITE_TRACE_STMT, on_stmt, f),
			 SQLITE_OK);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		r = ask(f, reqs[i]);
		assert_non_null(json_object_get(r, "audit_seq"));
		json_decref(r);
	}
	/* a request that never arrives whole is recorded under the lock */
	memset(big, 'x', sizeof(big));
	fd = client(f);
	assert_true(send(fd, big, sizeof(big), MSG_NOSIGNAL | MSG_DONTWAIT) > 0);
	r = await_reply(f, fd);
	assert_string_equal(str(r, "error"), "too-large");
	json_decref(r);
	sqlite3_trace_v2(cust_ledger_db(f->l), 0, NULL, NULL);

	assert_false(f->held);
	assert_int_equal(f->locks, f->unlocks);
	/* one turn per request, the status request a second one around its
	 * record (the function itself runs unlocked) */
	assert_int_equal(f->locks, 7 + 1);
	assert_int_equal(f->status_calls, 1);
	assert_false(f->status_saw_lock);
	assert_true(f->stmts_locked > 10);
	assert_int_equal(f->stmts_unlocked, 0);
	qservice_set_lock(f->svc, NULL, NULL, NULL);
}

/* A flood of refusals: the replies are not held up by the alert command,
 * at most max_alerts (default 4) commands run at once, every refusal is
 * still an event. The command waits for a "go" file, so the test does not
 * depend on timing. */
static void test_alert_flood_bounded(void **state)
{
	struct fx *f = *state;
	struct alert_config ac = { NULL, 60000 };
	char cmd[128], go[128], body[300];
	uint64_t before, after;
	json_t *r;

	snprintf(cmd, sizeof(cmd), "%s/slow.sh", f->dir);
	snprintf(go, sizeof(go), "%s/go", f->dir);
	snprintf(body, sizeof(body), "while [ ! -e %s ]; do sleep 0.02; done",
		 go);
	write_script(cmd, body);
	ac.command = cmd;
	assert_int_equal(qservice_set_alert(f->svc, &ac), 0);
	assert_int_equal(cust_ledger_size(f->l, &before), 0);
	for (int i = 0; i < 6; i++) {
		r = ask(f, "{\"op\":\"drop-everything\"}");
		assert_string_equal(str(r, "error"), "denied");
		json_decref(r);
	}
	assert_int_equal(cust_ledger_size(f->l, &after), 0);
	assert_int_equal(after - before, 6);
	assert_int_equal(qservice_alerts_running(f->svc),
			 ALERT_DEFAULT_MAX_RUNNING);
	close(open(go, O_WRONLY | O_CREAT, 0600));
	settle_alerts(f);		/* collected from the service's loop */
	unlink(go);
	unlink(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_history_recorded_before_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cross_agency_and_missing_look_alike, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_silent_client_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_audit_no_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_roles_and_user_admin,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_status_any_role_of_the_agency, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_status_other_agency_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_without_fn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock_around_ledger_use,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_flood_bounded,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
