/*
 * test_ledger_forward.c - cust_ledger_set_forward() (ledger.h): on a
 * read-only handle, appends are validated and handed to the forwarder,
 * which assigns the seqs; nothing is written through the handle; a
 * forwarder's failure resets the seqs; an invalid event never reaches it.
 * And the query-service channel codec (dockd/query/qmsg.h): events survive
 * the round trip, the action list refuses what the service never writes;
 * its alerts (QM_ALERT) survive the round trip, malformed ones are
 * refused. And the export-package launcher's request (qlaunch.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "ledger.h"
#include "alert.h"
#include "qlaunch.h"
#include "qmsg.h"

static char dir[64], path[128];

static int setup(void **st)
{
	struct cust_ledger *l = NULL;
	struct cust_event ev;

	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/test_lfwd.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/l.db", dir);
	if (cust_ledger_open(path, CUST_LEDGER_CREATE, &l, NULL, 0) ||
	    cust_event_init(&ev, "pd-1", CUST_ACTOR_DOCK, "dock-1", CUST_A_LEDGER_CREATED, "",
			    CUST_OUTCOME_OK) || cust_ledger_append(l, &ev))
		return -1;
	cust_ledger_close(l);
	return 0;
}

static int teardown(void **st)
{
	char cmd[160];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct fwd { int calls, fail; size_t n; struct cust_event last; };

static int forward(void *ctx, struct cust_event *evs, size_t n)
{
	struct fwd *f = ctx;

	f->calls++;
	f->n = n;
	f->last = evs[n - 1];
	for (size_t i = 0; i < n; i++)
		evs[i].seq = 100 + i;
	return f->fail;
}

static void clerk_event(struct cust_event *ev, enum cust_action a)
{
	assert_int_equal(cust_event_init(ev, "pd-1", CUST_ACTOR_CLERK, "alice", a, "CAM-1/REC-1",
					 CUST_OUTCOME_OK), 0);
}

static void test_forward_readonly(void **st)
{
	struct cust_ledger *l = NULL;
	struct cust_event ev[2];
	struct fwd f = { 0 };
	uint64_t n = 0;

	(void)st;
	assert_int_equal(cust_ledger_open(path, CUST_LEDGER_RDONLY, &l, NULL, 0), 0);
	clerk_event(&ev[0], CUST_A_LEDGER_READ);
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EROFS);	/* not forwarded yet */
	cust_ledger_set_forward(l, forward, &f);
	assert_true(cust_ledger_forwarded(l));
	clerk_event(&ev[1], CUST_A_CATEGORIZED);
	assert_int_equal(cust_ledger_append_batch(l, ev, 2), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.last.action, CUST_A_CATEGORIZED);
	assert_int_equal(ev[0].seq, 100);
	assert_int_equal(ev[1].seq, 101);
	/* nothing written through the read-only handle */
	assert_int_equal(cust_ledger_size(l, &n), 0);
	assert_int_equal(n, 1);
	/* the forwarder fails: seqs back to 0 */
	f.fail = -EPERM;
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EPERM);
	assert_int_equal(ev[0].seq, 0);
	/* an invalid event never reaches the forwarder */
	f.calls = 0;
	ev[0].outcome = 99;
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EINVAL);
	assert_int_equal(f.calls, 0);
	/* off again: read-only */
	cust_ledger_set_forward(l, NULL, NULL);
	clerk_event(&ev[0], CUST_A_LEDGER_READ);
	assert_int_equal(cust_ledger_append(l, &ev[0]), -EROFS);
	cust_ledger_close(l);
}

static void test_qmsg_roundtrip(void **st)
{
	static uint8_t buf[QMSG_APPEND_MAX];
	struct cust_event in[2], out[QMSG_MAX_EVENTS];
	uint64_t seqs[2] = { 7, 8 }, back[2];
	uint8_t hdr[QMSG_HDR], sb[2 + 8 * QMSG_MAX_EVENTS];
	uint16_t t;
	uint32_t len;
	size_t n = 0, blen = 0;

	(void)st;
	clerk_event(&in[0], CUST_A_LEDGER_READ);
	clerk_event(&in[1], CUST_A_HOLD_SET);
	assert_int_equal(cust_event_set_text(in[1].reason, sizeof(in[1].reason), "complaint"), 0);
	assert_int_equal(qmsg_encode_append(in, 2, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qmsg_decode_append(buf, blen, out, QMSG_MAX_EVENTS, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[1].reason, "complaint");
	assert_int_equal(out[1].action, CUST_A_HOLD_SET);
	/* one byte short, one too many: refused */
	assert_int_equal(qmsg_decode_append(buf, blen - 1, out, QMSG_MAX_EVENTS, &n), -EPROTO);
	buf[blen] = 0;
	assert_int_equal(qmsg_decode_append(buf, blen + 1, out, QMSG_MAX_EVENTS, &n), -EPROTO);
	assert_int_equal(qmsg_encode_appended(seqs, 2, sb, sizeof(sb), &blen), 0);
	assert_int_equal(qmsg_decode_appended(sb, blen, back, 2), 0);
	assert_int_equal(back[1], 8);
	assert_int_equal(qmsg_decode_appended(sb, blen, back, 1), -EPROTO);
	/* header: version and caps */
	qmsg_put_header(hdr, QM_STATUS, 0);
	assert_int_equal(qmsg_header(hdr, &t, &len), 0);
	qmsg_put_header(hdr, QM_STATUS, 1);
	assert_int_equal(qmsg_header(hdr, &t, &len), -E2BIG);
	qmsg_put_header(hdr, 0x7f, 0);
	assert_int_equal(qmsg_header(hdr, &t, &len), -EPROTO);
	qmsg_put_header(hdr, QM_STATUS, 0);
	hdr[1] = QMSG_VERSION + 1;
	assert_int_equal(qmsg_header(hdr, &t, &len), -EPROTO);
	hdr[1] = 1;	/* before QM_ALERT */
	assert_int_equal(qmsg_header(hdr, &t, &len), -EPROTO);
}

/* QM_ALERT: the query service's alerts, raised by dockd. */
static void test_qmsg_alert(void **st)
{
	static uint8_t buf[QMSG_ALERT_MAX + 1];
	static char strs[6 * (QMSG_ALERT_FIELD_MAX + 1)], longd[QMSG_ALERT_FIELD_MAX + 100];
	struct alert in = { .kind = "access-denied", .user = "clerk1", .uid = 1001,
			    .agency = NULL, .op = "view", .target = "CAM-1/REC-1",
			    .detail = "deny-view" }, out;
	uint8_t hdr[QMSG_HDR];
	uint16_t t;
	uint32_t len;
	size_t blen = 0;

	(void)st;
	assert_int_equal(qmsg_encode_alert(&in, buf, sizeof(buf), &blen), 0);
	assert_true(blen <= QMSG_ALERT_MAX);
	assert_int_equal(qmsg_decode_alert(buf, blen, &out, strs, sizeof(strs)), 0);
	assert_string_equal(out.kind, "access-denied");
	assert_string_equal(out.user, "clerk1");
	assert_int_equal(out.uid, 1001);
	assert_null(out.agency);	/* absent stays absent */
	assert_string_equal(out.target, "CAM-1/REC-1");
	assert_string_equal(out.detail, "deny-view");
	/* one byte short, one too many: refused */
	assert_int_equal(qmsg_decode_alert(buf, blen - 1, &out, strs, sizeof(strs)), -EPROTO);
	buf[blen] = 'x';
	assert_int_equal(qmsg_decode_alert(buf, blen + 1, &out, strs, sizeof(strs)), -EPROTO);
	/* an embedded NUL (last byte of detail) */
	buf[blen - 1] = 0;
	assert_int_equal(qmsg_decode_alert(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
	/* unknown uid -1 passes, -2 does not */
	in.uid = -1;
	assert_int_equal(qmsg_encode_alert(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qmsg_decode_alert(buf, blen, &out, strs, sizeof(strs)), 0);
	assert_int_equal(out.uid, -1);
	buf[7] = 0xfe;
	assert_int_equal(qmsg_decode_alert(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
	/* a detail over the cap is cut, not refused */
	memset(longd, 'd', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = 0;
	in.detail = longd;
	assert_int_equal(qmsg_encode_alert(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qmsg_decode_alert(buf, blen, &out, strs, sizeof(strs)), 0);
	assert_int_equal(strlen(out.detail), QMSG_ALERT_FIELD_MAX);
	/* the kinds the query service raises, and no other */
	assert_true(qmsg_alert_kind_allowed("access-denied"));
	assert_true(qmsg_alert_kind_allowed("unknown-user"));
	assert_true(qmsg_alert_kind_allowed("console-lockout"));
	assert_false(qmsg_alert_kind_allowed("custodian"));
	assert_false(qmsg_alert_kind_allowed("query-service"));
	assert_false(qmsg_alert_kind_allowed(NULL));
	/* header cap */
	qmsg_put_header(hdr, QM_ALERT, QMSG_ALERT_MAX);
	assert_int_equal(qmsg_header(hdr, &t, &len), 0);
	qmsg_put_header(hdr, QM_ALERT, QMSG_ALERT_MAX + 1);
	assert_int_equal(qmsg_header(hdr, &t, &len), -E2BIG);
	qmsg_put_header(hdr, QM_ALERTED, 1);
	assert_int_equal(qmsg_header(hdr, &t, &len), -E2BIG);
}

/* The export-package launcher's request (qlaunch.h). */
static void test_qlaunch_codec(void **st)
{
	static uint8_t buf[QLAUNCH_REQ_MAX + 1];
	static char strs[QLAUNCH_REQ_MAX];
	struct qpackage_job in = { NULL, NULL, NULL, "clerk1", "CAM-1/REC-1", "court", NULL },
			    out = { "/bin/custody", "/etc/c.conf", "/run/q.sock", NULL, NULL,
				    NULL, NULL };
	size_t blen = 0;

	(void)st;
	assert_int_equal(qlaunch_encode(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qlaunch_decode(buf, blen, &out, strs, sizeof(strs)), 0);
	assert_string_equal(out.user, "clerk1");
	assert_string_equal(out.item, "CAM-1/REC-1");
	assert_string_equal(out.reason, "court");
	assert_null(out.case_no);
	assert_string_equal(out.custody_bin, "/bin/custody");	/* never from a request */
	assert_int_equal(qlaunch_decode(buf, blen - 1, &out, strs, sizeof(strs)), -EPROTO);
	assert_int_equal(qlaunch_decode(buf, blen + 1, &out, strs, sizeof(strs)), -EPROTO);
	/* an item that would be an option to the exporter */
	in.item = "--out=/etc/x";
	assert_int_equal(qlaunch_encode(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qlaunch_decode(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
	/* a control character */
	in.item = "CAM-1/REC-1";
	in.reason = "a\nb";
	assert_int_equal(qlaunch_encode(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qlaunch_decode(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
	/* an empty user */
	in.reason = "court";
	in.user = "";
	assert_int_equal(qlaunch_encode(&in, buf, sizeof(buf), &blen), 0);
	assert_int_equal(qlaunch_decode(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
	/* another version */
	in.user = "clerk1";
	assert_int_equal(qlaunch_encode(&in, buf, sizeof(buf), &blen), 0);
	buf[1]++;
	assert_int_equal(qlaunch_decode(buf, blen, &out, strs, sizeof(strs)), -EPROTO);
}

static void test_action_list(void **st)
{
	(void)st;
	assert_true(qmsg_action_allowed(CUST_A_LEDGER_READ, CUST_OUTCOME_OK));
	assert_true(qmsg_action_allowed(CUST_A_DESTRUCTION_APPROVED, CUST_OUTCOME_OK));
	assert_true(qmsg_action_allowed(CUST_A_CONSOLE_LOGIN, CUST_OUTCOME_DENIED));
	assert_true(qmsg_action_allowed(CUST_A_USER_ADDED, CUST_OUTCOME_DENIED));
	assert_false(qmsg_action_allowed(CUST_A_USER_ADDED, CUST_OUTCOME_OK));
	assert_false(qmsg_action_allowed(CUST_A_DESTROYED, CUST_OUTCOME_OK));
	assert_false(qmsg_action_allowed(CUST_A_INGESTED, CUST_OUTCOME_OK));
	assert_false(qmsg_action_allowed(CUST_A_CAMERA_RELEASED, CUST_OUTCOME_OK));
	assert_false(qmsg_action_allowed(CUST_A_KEY_CHANGED, CUST_OUTCOME_OK));
	assert_false(qmsg_action_allowed(CUST_A_LINK_WORKER_KILLED, CUST_OUTCOME_DENIED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_readonly, setup, teardown),
		cmocka_unit_test(test_qmsg_roundtrip),
		cmocka_unit_test(test_qmsg_alert),
		cmocka_unit_test(test_qlaunch_codec),
		cmocka_unit_test(test_action_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
