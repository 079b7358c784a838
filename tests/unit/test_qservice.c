/* The query service against a real ledger file and a real Unix socket,
 * driven in one thread (everything is non-blocking): slow and hostile
 * clients, audit-before-answer, refusal when the audit record cannot be
 * written, user changes as events. The caller's identity is our own uid
 * (SO_PEERCRED), mapped to a role with users_add. */
#include <errno.h>
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
#include "qservice.h"
#include "users.h"

struct fx {
	char dir[32], db[64], sock[64];
	char me[USERS_NAME_MAX + 1];
	struct cust_ledger *l;
	struct qservice *svc;
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
		if (p[0].revents)
			assert_int_equal(qservice_handle(f->svc), 0);
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
	assert_string_equal(str(r, "error"), "denied");	/* no reason */
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
