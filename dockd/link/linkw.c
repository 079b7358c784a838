/* linkw.c - the camera-link worker process (see linkw.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "edsig.h"
#include "linkio.h"
#include "linkring.h"
#include "linkw.h"
#include "linkw_sandbox.h"
#include "session.h"
#include "transport_sock.h"

struct wk {
	int chan;
	uint8_t buf[LINKMSG_SMALL_MAX]; /* the daemon's messages */
	uint8_t *ring;        /* LINKMSG_RING_SIZE, shared with the daemon: the
			       * session's frame buffer (linkring.h) */
	uint32_t seq;         /* the last LM_DATA sent */
	int chan_err;         /* the channel failed: stop at once */
	char why[SESSION_WHY_MAX + 1];
};

static int tell(struct wk *w, const struct linkmsg *m)
{
	int r = linkio_send(w->chan, m);

	if (r < 0)
		w->chan_err = r;
	return r;
}

/* A result the message can carry (linkmsg.h: 0, -errno, -PROTO_E_*). */
static int32_t wire_result(int r)
{
	return r > 0 || r < -PROTO_E_MAX ? -PROTO_E_INTERNAL : r;
}

/* Every reply that ends an exchange carries the session's state, so the
 * daemon's link_error() / link_limit() answer as session_error() /
 * session_limit() would. */
static void set_state(struct linkmsg *m, const struct session *s)
{
	m->state.error = s ? wire_result(session_error(s)) : 0;
	m->state.limit = (uint8_t)(s ? session_limit(s) : 0);
}

static int tell_result(struct wk *w, const struct session *s, uint8_t type, int r)
{
	struct linkmsg m = { .type = type };

	m.u.result = wire_result(r);
	set_state(&m, s);
	return tell(w, &m);
}

/* The daemon holds the dock key: it checks the camera again, decides
 * enrolment and signs AUTH_DOCK (session.h, session_auth_fn). */
static int auth_cb(void *ctx, const uint8_t dock_nonce[PROTO_NONCE_LEN],
		   const struct proto_hello_reply *hr, uint8_t sig[PROTO_SIG_LEN])
{
	struct wk *w = ctx;
	struct linkmsg m = { .type = LM_HELLO };
	int r;

	(void)dock_nonce; /* the daemon chose it */
	m.u.hello = *hr;
	if (tell(w, &m) < 0)
		return -PROTO_E_INTERNAL;
	r = linkio_recv(w->chan, w->buf, -1, &m);
	if (r < 0 || m.type != LM_AUTH) {
		w->chan_err = r < 0 ? r : -EPROTO;
		return -PROTO_E_INTERNAL;
	}
	if (m.u.auth.verdict < 0) {
		snprintf(w->why, sizeof(w->why), "%s", m.u.auth.why);
		return m.u.auth.verdict;
	}
	memcpy(sig, m.u.auth.sig, PROTO_SIG_LEN);
	return 0;
}

static int on_entry(void *ctx, const struct proto_manifest_entry *e, int verdict)
{
	struct wk *w = ctx;
	struct linkmsg m = { .type = LM_ENTRY };

	m.u.entry.verdict = verdict;
	m.u.entry.e = *e;
	return tell(w, &m);
}

/* A camera DATA frame's payload lies in the ring (the session read the
 * frame into it): tell the daemon where, and wait until it has copied the
 * bytes out (LM_DATA_ACK with the same seq) before the session may read
 * the next frame over them. */
static int sink(void *ctx, const uint8_t *data, size_t len, uint64_t offset)
{
	struct wk *w = ctx;
	struct linkmsg m = { .type = LM_DATA };
	uintptr_t at = (uintptr_t)data, base = (uintptr_t)w->ring;
	int r;

	if (at < base || len > LINKMSG_RING_SIZE || at - base > LINKMSG_RING_SIZE - len)
		return -EFAULT; /* not in the ring: cannot happen (rx_buf is the ring) */
	m.u.data.offset = offset;
	m.u.data.ring_off = (uint32_t)(at - base);
	m.u.data.len = (uint32_t)len;
	m.u.data.seq = w->seq = linkring_next_seq(w->seq);
#ifdef LINK_ATTACK_TESTS
	if (linkw_attack_data(w->chan, &m, w->ring) == 0 && tell(w, &m) < 0)
		return w->chan_err;
#else
	r = tell(w, &m);
	if (r < 0)
		return r;
#endif
	r = linkio_recv(w->chan, w->buf, -1, &m);
	if (r == 0 && (m.type != LM_DATA_ACK || m.u.ack_seq != w->seq))
		r = -EPROTO;
	if (r < 0)
		w->chan_err = r;
	return r;
}

static int open_session(struct wk *w, struct transport *t, struct session **out)
{
	struct linkmsg m;
	struct session_cfg cfg = { .auth = auth_cb, .why = w->why };
	struct session *s = NULL;
	int r = linkio_recv(w->chan, w->buf, -1, &m);

	if (r < 0 || m.type != LM_OPEN)
		return r < 0 ? r : -EPROTO;
	cfg.auth_ctx = w;
	cfg.rx_buf = w->ring;
	cfg.rx_cap = LINKMSG_RING_SIZE;
	cfg.cert = &m.u.open.cert;
	cfg.dock_nonce = m.u.open.dock_nonce;
	cfg.timeout_ms = (int)(m.u.open.timeout_ms > 600000 ? 600000 : m.u.open.timeout_ms);
	/* the link limits (<= LINKMSG_LIMIT_MAX, checked by the decoder):
	 * this session measures and enforces them */
	cfg.deadline_ms = (int64_t)m.u.open.deadline_ms;
	cfg.min_rate_bps = m.u.open.min_rate_bps;
	cfg.rate_window_ms = (int64_t)m.u.open.rate_window_ms;
	r = session_open(t, &cfg, &s);
	if (w->chan_err)
		return w->chan_err;
	m.type = LM_OPENED;
	m.u.opened.result = wire_result(r);
	m.u.opened.clock_offset_ns = r == 0 ? session_clock_offset_ns(s) : 0;
	set_state(&m, r == 0 ? s : NULL);
	if (tell(w, &m) < 0 || r < 0) {
		session_close(s);
		return r < 0 ? r : w->chan_err;
	}
	*out = s;
	return 0;
}

/* One command; 1 after BYE, <0 when the channel broke. */
static int serve(struct wk *w, struct session *s, const struct linkmsg *m)
{
	struct linkmsg out;
	int r;

	memset(&out, 0, sizeof(out));
	switch (m->type) {
	case LM_LIST:
		r = session_list(s, on_entry, w);
		if (!w->chan_err)
			tell_result(w, s, LM_LIST_DONE, r);
		break;
	case LM_READ:
		r = session_read(s, m->u.read.recording_id, m->u.read.offset, m->u.read.length,
				 sink, w);
		if (!w->chan_err)
			tell_result(w, s, LM_READ_DONE, r);
		break;
	case LM_RELEASE:
		r = session_release_signed(s, &m->u.release); /* -EEXIST: deleted=0 */
		tell_result(w, s, LM_RELEASE_DONE, r);
		break;
	case LM_ABORT:
		r = session_abort(s, m->u.abort_code); /* ERROR to the camera */
		tell_result(w, s, LM_ABORT_DONE, r);
		break;
	case LM_STATUS:
		out.type = LM_STATUS_DONE;
		r = session_status(s, &out.u.status.st);
		out.u.status.result = wire_result(r);
		set_state(&out, s);
		tell(w, &out);
		break;
	case LM_TIME_SYNC:
		out.type = LM_TIME_DONE;
		r = session_time_sync(s, &out.u.time.before_ns, &out.u.time.after_ns);
		out.u.time.result = wire_result(r);
		set_state(&out, s);
		tell(w, &out);
		break;
	case LM_BYE:
		return 1;
	default:
		return -EPROTO; /* the daemon never sends worker types */
	}
	return w->chan_err;
}

/* A descriptor number the daemon passed: decimal, in range, open. */
static int passed_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < LINKW_FD_MIN_PASSED || v > 65535 ||
	    fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}

/* Move the passed descriptors to LINKW_FD_DEV and LINKW_FD_CHAN and map
 * the ring (its descriptor is closed then). Done here, after exec (one
 * thread, nothing else opening files), not in the daemon's forked child. */
static int place_fds(const char *dev_fd, const char *chan_fd, const char *ring_fd,
		     uint8_t **ring)
{
	int dv = passed_fd(dev_fd), ch = passed_fd(chan_fd), rg = passed_fd(ring_fd);

	if (dv < 0 || ch < 0 || rg < 0 || dv == ch || rg == dv || rg == ch)
		return -EBADF;
	if (dup2(dv, LINKW_FD_DEV) < 0 || dup2(ch, LINKW_FD_CHAN) < 0)
		return -errno;
	close(dv);
	close(ch);
	return linkring_map(rg, ring);
}

int linkw_main(const char *dev_fd, const char *chan_fd, const char *ring_fd)
{
	struct wk w = { .chan = LINKW_FD_CHAN };
	struct transport *t = NULL;
	struct session *s = NULL;
	uint8_t probe[PROTO_SIG_LEN] = { 0 };
	int r;
#ifdef LINK_ATTACK_TESTS
	int attacked = 0;
#endif

	/* Everything that reads files happens now, before the lockdown:
	 * OpenSSL's configuration and providers (a throw-away verify). */
	r = place_fds(dev_fd, chan_fd, ring_fd, &w.ring);
	if (r < 0) {
		fprintf(stderr, "dockd link worker: bad descriptors from the daemon: %s\n",
			strerror(-r));
		_exit(3);
	}
	(void)edsig_verify_raw(probe, probe, sizeof(probe), probe);
	r = transport_sock_from_fd(LINKW_FD_DEV, &t);
	if (r == 0)
		r = linkw_sandbox_enter();
	if (r < 0) {
		fprintf(stderr, "dockd link worker: cannot start confined: %s\n", strerror(-r));
		_exit(3);
	}
	r = open_session(&w, t, &s);
	while (r == 0) {
		struct linkmsg m;

		r = linkio_recv(w.chan, w.buf, -1, &m);
#ifdef LINK_ATTACK_TESTS
		if (r == 0 && m.type == LM_READ && !attacked) {
			attacked = 1; /* after the manifest was parsed */
			linkw_attack(w.chan);
		}
#endif
		if (r == 0)
			r = serve(&w, s, &m);
	}
	session_close(s); /* BYE to the camera unless the session failed */
	transport_close(t);
	/* _exit: no atexit handlers (nothing to flush, no leak checker).
	 * 0 after BYE; 1 after a refused handshake or a broken channel (the
	 * daemon judges by the exchange, this status is for the log) */
	_exit(r == 1 ? 0 : 1);
}
