/* session_ops.c - the dock's requests on an open camera session after
 * LIST: reading a recording (with the DATA rate floor), signing and
 * sending release receipts, time sync and status (see session.h). The
 * session itself, its handshake and LIST are session.c; what both use is
 * session_int.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "frame_io.h"
#include "session.h"
#include "session_int.h"

/* One DATA frame of the answer to READ_REQ `seq`, expected at *next. */
static int take_data(struct session *s, const struct proto_hdr *h, const struct proto_data *d,
		     uint64_t *next, uint64_t end, session_sink_fn sink, void *ctx)
{
	int r;

	if (d->offset != *next)
		return -PROTO_E_SEQ;
	if (d->len > end - *next)
		return -PROTO_E_MISMATCH; /* more than we asked for */
	if (d->len == 0 && !(h->flags & PROTO_F_END))
		return -PROTO_E_BAD_FIELD; /* empty, not final: no progress */
	if (d->len) {
		r = sink(ctx, d->data, d->len, d->offset);
		if (r < 0)
			return r;
	}
	*next += d->len;
	if ((h->flags & PROTO_F_END) && *next != end)
		return -PROTO_E_MISMATCH; /* ended short */
	if (!(h->flags & PROTO_F_END) && *next == end)
		return -PROTO_E_MISMATCH; /* must say END exactly at the end */
	return 0;
}

/* One more DATA frame took wait_ns to arrive: over each rate window of
 * waiting, the camera must have sent min_rate_bps. */
static int rate_ok(struct session *s, int64_t wait_ns, uint32_t len)
{
	if (!s->rate_window_ns)
		return 0;
	s->win_wait_ns += wait_ns;
	s->win_bytes += len;
	if (s->win_wait_ns < s->rate_window_ns)
		return 0;
	if ((double)s->win_bytes * 1e9 < (double)s->min_rate_bps * (double)s->win_wait_ns)
		return session_over_limit(s, SESSION_LIMIT_RATE,
				  "transfer below the dock's minimum rate: dock again to continue");
	s->win_wait_ns = 0;
	s->win_bytes = 0;
	return 0;
}

static int read_chunk(struct session *s, const char *rid, uint64_t offset, uint32_t len,
		      session_sink_fn sink, void *ctx)
{
	struct proto_msg req, m;
	struct proto_hdr h;
	uint64_t next = offset, end = offset + len;
	uint32_t seq;
	int r;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_READ_REQ;
	memcpy(req.u.read_req.recording_id, rid, strlen(rid) + 1);
	req.u.read_req.offset = offset;
	req.u.read_req.length = len;
	r = session_send_msg(s, &req, &seq);
	if (r < 0)
		return r;
	while (next < end) {
		int64_t t0 = session_mono_ns();

		r = session_recv_reply(s, seq, PROTO_DATA, &h, &m);
		if (r < 0)
			return next == offset ? r : session_fail(s, r);
		if (next != offset && (r = rate_ok(s, session_mono_ns() - t0, m.u.data.len)) < 0)
			return r;
		r = take_data(s, &h, &m.u.data, &next, end, sink, ctx);
		if (r < 0)
			return session_proto_code(r) ? session_broke(s, r) : session_fail(s, r);
	}
	return 0;
}

int session_read(struct session *s, const char *recording_id, uint64_t offset, uint64_t length,
		 session_sink_fn sink, void *ctx)
{
	int r = session_usable(s);

	if (r < 0)
		return r;
	if (!recording_id || !sink || !proto_id_valid(recording_id))
		return -EINVAL;
	if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX - offset)
		return -EINVAL;
	while (length > 0) {
		uint32_t n = length > PROTO_MAX_READ ? PROTO_MAX_READ : (uint32_t)length;

		r = read_chunk(s, recording_id, offset, n, sink, ctx);
		if (r < 0)
			return r;
		offset += n;
		length -= n;
	}
	return 0;
}

int session_receipt_sign(const struct edsig_key *key, struct proto_receipt *r)
{
	uint8_t tbs[PROTO_TBS_MAX];
	uint8_t sig[PROTO_SIG_LEN];
	size_t n = 0;
	int rc;

	if (!key || !r)
		return -EINVAL;
	rc = proto_receipt_tbs(r, tbs, sizeof(tbs), &n);
	if (rc < 0)
		return rc;
	rc = edsig_sign(key, tbs, n, sig);
	if (rc < 0)
		return rc;
	memcpy(r->sig, sig, sizeof(sig));
	return 0;
}

int session_release_signed(struct session *s, const struct proto_receipt *rc)
{
	struct proto_msg m;
	struct proto_hdr h;
	uint32_t seq;
	int r = session_usable(s);

	if (r < 0)
		return r;
	if (!rc)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_RELEASE_REQ;
	m.u.release_req = *rc;
	r = session_send_msg(s, &m, &seq);
	if (r == 0)
		r = session_recv_reply(s, seq, PROTO_RELEASE_REPLY, &h, &m);
	if (r < 0)
		return r;
	if (strcmp(m.u.release_reply.recording_id, rc->recording_id) != 0)
		return session_broke(s, -PROTO_E_MISMATCH);
	/* deleted = 0: the receipt was valid, the camera keeps the recording
	 * (its retention policy, 6.9); not a refused receipt */
	return m.u.release_reply.deleted == 1 ? 0 : -EEXIST;
}

int session_release(struct session *s, struct proto_receipt *r)
{
	struct proto_receipt tmp;
	int rc = session_usable(s);

	if (rc < 0)
		return rc;
	if (!r)
		return -EINVAL;
	if (!s->key)
		return -EINVAL; /* no key here: session_release_signed */
	tmp = *r;
	memcpy(tmp.dock_id, s->cert.dock_id, sizeof(tmp.dock_id));
	if (tmp.issued_utc == 0)
		tmp.issued_utc = (int64_t)time(NULL);
	rc = session_receipt_sign(s->key, &tmp);
	if (rc < 0)
		return rc;
	*r = tmp; /* the caller records exactly what was sent */
	return session_release_signed(s, r);
}

int session_time_sync(struct session *s, int64_t *camera_before_ns, int64_t *camera_after_ns)
{
	struct proto_msg m;
	struct proto_hdr h;
	uint32_t seq;
	int r = session_usable(s);

	if (r < 0)
		return r;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_TIME_SET;
	m.u.time_set.dock_ns = session_realtime_ns();
	r = session_send_msg(s, &m, &seq);
	if (r == 0)
		r = session_recv_reply(s, seq, PROTO_TIME_REPLY, &h, &m);
	if (r < 0)
		return r;
	if (camera_before_ns)
		*camera_before_ns = m.u.time_reply.camera_before_ns;
	if (camera_after_ns)
		*camera_after_ns = m.u.time_reply.camera_after_ns;
	return 0;
}

int session_status(struct session *s, struct proto_status_reply *out)
{
	struct proto_msg m;
	struct proto_hdr h;
	uint32_t seq;
	int r = session_usable(s);

	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS_REQ;
	r = session_send_msg(s, &m, &seq);
	if (r == 0)
		r = session_recv_reply(s, seq, PROTO_STATUS_REPLY, &h, &m);
	if (r < 0)
		return r;
	*out = m.u.status_reply;
	return 0;
}
