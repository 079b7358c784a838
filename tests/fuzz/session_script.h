/* session_script.h - the fixed dock-side conversation that the session
 * fuzzer drives and that tests/tools/dockpull records from a real camsim to
 * seed the fuzzer's corpus (both sides must make the same calls, so the
 * recorded camera bytes answer the fuzzer's requests in order).
 *
 * open -> list -> read (first entry, at most SCRIPT_READ_MAX bytes) ->
 * status -> time sync -> release (first entry) -> close. Each call runs even
 * after an earlier one failed: a failed session must refuse cleanly.
 */
#ifndef DOCK_SESSION_SCRIPT_H
#define DOCK_SESSION_SCRIPT_H

#include <stdio.h>
#include <string.h>

#include "session.h"

#define SCRIPT_READ_MAX (256u * 1024u)

struct script_state {
	struct proto_manifest_entry first;
	int have;
	uint64_t got;
	unsigned sum;
};

static int script_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct script_state *st = ctx;

	if (!st->have) {
		st->first = *e;
		st->have = 1;
	}
	return 0;
}

static int script_sink(void *ctx, const uint8_t *data, size_t len, uint64_t offset)
{
	struct script_state *st = ctx;

	if (len) /* touch both ends so ASan checks the bounds handed to us */
		st->sum += (unsigned)data[0] + data[len - 1];
	st->got += len;
	return 0;
}

static int script_run(struct transport *t, const struct session_cfg *cfg)
{
	struct script_state st;
	struct proto_status_reply status;
	struct proto_receipt rc;
	struct session *s = NULL;
	int r;

	memset(&st, 0, sizeof(st));
	r = session_open(t, cfg, &s);
	if (r < 0)
		return r;
	session_list(s, script_entry, &st);
	if (st.have) {
		uint64_t n = st.first.size < SCRIPT_READ_MAX ? st.first.size : SCRIPT_READ_MAX;

		session_read(s, st.first.recording_id, 0, n, script_sink, &st);
	}
	session_status(s, &status);
	session_time_sync(s, NULL, NULL);
	if (st.have) {
		memset(&rc, 0, sizeof(rc));
		memcpy(rc.recording_id, st.first.recording_id, sizeof(rc.recording_id));
		memcpy(rc.sha256, st.first.sha256, sizeof(rc.sha256));
		snprintf(rc.location, sizeof(rc.location), "file:///srv/evidence/fuzz");
		rc.issued_utc = 1700000000;
		session_release(s, &rc);
	}
	session_close(s);
	return 0;
}

#endif
