/* fuzz_qmsg.c - libFuzzer target for both receiving sides of the
 * query-service channel (dockd/query/qmsg.h): dockd reads the query
 * process's messages (qmsg_header, qmsg_decode_append, then the action
 * check; qmsg_decode_alert) and the query process reads dockd's
 * (qmsg_decode_appended). An input starting with 'L' is instead one
 * request to the export-package launcher (qlaunch_decode, dockd/query/
 * qlaunch.h), the third receiving side.
 *
 * The input is a stream of messages: an 8-byte header, then exactly
 * `length` body bytes, until one fails or the bytes run out. A QM_APPEND
 * body that decodes must encode again to the same bytes (canonical), and
 * every decoded event must validate; an accepted QM_APPENDED must hold
 * only non-zero seqs; a QM_ALERT or launcher request that decodes must
 * encode again to the same bytes. Anything else abort()s.
 *
 * Seeds: tests/fuzz/corpus/fuzz_qmsg/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "qlaunch.h"
#include "qmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[QMSG_APPEND_MAX];
static struct cust_event evs[QMSG_MAX_EVENTS];

static void check_append(const uint8_t *p, size_t len)
{
	size_t n = 0, elen = 0;

	if (qmsg_decode_append(p, len, evs, QMSG_MAX_EVENTS, &n) < 0)
		return;
	if (n == 0 || n > QMSG_MAX_EVENTS)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (cust_event_validate(&evs[i], NULL, 0))
			abort();
		(void)qmsg_action_allowed((int)evs[i].action, (int)evs[i].outcome);
	}
	if (qmsg_encode_append(evs, n, again, sizeof(again), &elen) < 0 || elen != len ||
	    memcmp(again, p, len))
		abort();
}

static void check_appended(const uint8_t *p, size_t len)
{
	uint64_t seqs[QMSG_MAX_EVENTS];

	for (size_t n = 1; n <= QMSG_MAX_EVENTS; n++) {
		if (qmsg_decode_appended(p, len, seqs, n) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (seqs[i] == 0)
				abort();
	}
}

static void check_alert(const uint8_t *p, size_t len)
{
	static char strs[6 * (QMSG_ALERT_FIELD_MAX + 1)];
	static uint8_t ab[QMSG_ALERT_MAX];
	struct alert a;
	size_t alen = 0;

	if (qmsg_decode_alert(p, len, &a, strs, sizeof(strs)) < 0)
		return;
	(void)qmsg_alert_kind_allowed(a.kind);
	if (a.uid < -1 || qmsg_encode_alert(&a, ab, sizeof(ab), &alen) < 0 || alen != len ||
	    memcmp(ab, p, len))
		abort();
}

static void check_launch(const uint8_t *p, size_t len)
{
	static char strs[QLAUNCH_REQ_MAX];
	static uint8_t lb[QLAUNCH_REQ_MAX];
	struct qpackage_job j = { "/c", "/f", "/s", NULL, NULL, NULL, NULL };
	size_t llen = 0;

	if (qlaunch_decode(p, len, &j, strs, sizeof(strs)) < 0)
		return;
	if (!j.user || !j.item || !j.reason || j.item[0] == '-' || strcmp(j.custody_bin, "/c") ||
	    qlaunch_encode(&j, lb, sizeof(lb), &llen) < 0 || llen != len || memcmp(lb, p, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	if (size > 0 && data[0] == 'L') {
		check_launch(data, size);
		return 0;
	}

	while (size - at >= QMSG_HDR) {
		uint16_t type;
		uint32_t len;

		if (qmsg_header(data + at, &type, &len) < 0)
			return 0;
		at += QMSG_HDR;
		if (len > size - at)
			return 0;
		if (type == QM_APPEND)
			check_append(data + at, len);
		else if (type == QM_APPENDED)
			check_appended(data + at, len);
		else if (type == QM_ALERT)
			check_alert(data + at, len);
		at += len;
	}
	return 0;
}
