/* linkc.c - the daemon's side of a camera-link worker (see linkc.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "custodian.h"
#include "edsig.h"
#include "linkc.h"
#include "linkio.h"
#include "linkring.h"
#include "linkspawn.h"
#include "linkw.h"
#include "linkw_sandbox.h"
#include "log.h"
#include "transport_sock.h"
#include "usbrelay.h"


struct link {
	struct dockd *d;
	const struct dock_snap *snap;
	pid_t pid;               /* 0 once reaped */
	int chan;
	int timeout_ms;
	int failed;              /* -ECONNABORTED after a breach */
	int sess_err;            /* the worker's session_error(), last reported */
	int limit;               /* the worker's session_limit(), last reported */
	bool have_id;
	struct proto_identity id;
	int64_t clock_offset_ns;
	struct usbrelay *relay;  /* USB only */
	struct linkring ring;    /* the worker's frame buffer, shared (linkring.h) */
	uint32_t data_seq;       /* the last LM_DATA taken */
	uint8_t *buf;            /* LINK_COPY_PIECE: ring bytes copied out */
	uint8_t rx[LINKMSG_SMALL_MAX];
};

/* The private copy of ring bytes the sink reads: a quarter of a frame per
 * docked camera (the sink gets a DATA frame in 4 pieces). */
#define LINK_COPY_PIECE (256u * 1024u)

static char exe_path[PATH_MAX];

/* The worker program, by absolute path: LINKW_EXE_REL from the folder
 * above the one holding this executable (/usr/sbin/dockd ->
 * /usr/libexec/dockd/dockd-linkw; build/bin/dockd ->
 * build/libexec/dockd/dockd-linkw). The kernel's /proc/self/exe has no
 * symbolic link left in it, so nothing on PATH or in the environment
 * chooses the program that gets the camera's bytes. */
void link_init_exe(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int k;

	exe_path[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	for (k = 0; k < 2; k++) { /* drop the file name, then its folder */
		slash = strrchr(self, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
	k = snprintf(exe_path, sizeof(exe_path), "%s/%s", self, LINKW_EXE_REL);
	if (k < 0 || (size_t)k >= sizeof(exe_path))
		exe_path[0] = '\0'; /* execve("") fails: status 127, recorded */
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to wait_ms for the worker to end, then kill it. The wait status. */
static int reap(struct link *l, int wait_ms)
{
	int st = 0;

	if (l->pid <= 0)
		return 0;
	/* 1 ms steps: the camera's thread (and its max_cameras slot) ends
	 * right after, and a camera that got BYE may dock again at once */
	for (int waited = 0; waited < wait_ms; waited++) {
		pid_t p = waitpid(l->pid, &st, WNOHANG);

		if (p == l->pid || (p < 0 && errno != EINTR)) {
			l->pid = 0;
			return st;
		}
		sleep_ms(1);
	}
	kill(l->pid, SIGKILL);
	while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
		;
	l->pid = 0;
	return st;
}

/* The worker broke its contract (or died): kill, reap, record. */
static int breach(struct link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int breach(struct link *l, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	int st, sig;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (l->failed)
		return l->failed;
	st = reap(l, 0); /* already dead: its own status; else SIGKILL now */
	sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	log_error("camera-link worker for %s stopped: %s", l->have_id ? l->id.serial : "?", why);
	custodian_worker_killed(l->d, l->have_id ? l->id.serial : "", why, sig);
	l->failed = -ECONNABORTED;
	return l->failed;
}

/* The child's own exit codes before the worker runs (spawn()) */
static const char *start_failure(int st)
{
	if (!WIFEXITED(st))
		return "";
	switch (WEXITSTATUS(st)) {
	case 126: return ": could not pass its descriptors, never started";
	case 127: return ": could not execute " LINKW_EXE_REL ", never started";
	default: return "";
	}
}

/* The worker closed its end: find out how it ended, then record it. */
static int died(struct link *l)
{
	int st = reap(l, 2000), sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	char why[128];

	if (sig)
		snprintf(why, sizeof(why), "worker killed by signal %d%s", sig,
			 sig == SIGSYS ? " (seccomp: a forbidden system call)" : "");
	else
		snprintf(why, sizeof(why), "worker exited mid-session (status %d%s)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1, start_failure(st));
	log_error("camera-link worker for %s: %s", l->have_id ? l->id.serial : "?", why);
	custodian_worker_killed(l->d, l->have_id ? l->id.serial : "", why, sig);
	l->failed = -ECONNABORTED;
	return l->failed;
}

/* The next message of the exchange in progress; any failure is the
 * worker's (the channel is local): it is stopped and recorded. */
static int expect(struct link *l, struct linkmsg *m)
{
	int r;

	if (l->failed)
		return l->failed;
	r = linkio_recv(l->chan, l->rx, l->timeout_ms + LINK_SLACK_MS, m);
	if (r == -ECONNRESET)
		return died(l);
	if (r == -ETIMEDOUT)
		return breach(l, "no answer within %d ms", l->timeout_ms + LINK_SLACK_MS);
	if (r < 0)
		return breach(l, "malformed message (%s)", strerror(-r));
	if (linkmsg_has_state(m->type)) {
		/* the worker's word (it runs the session): it only decides
		 * what the ledger says about how the session ended, never
		 * what is released */
		l->sess_err = m->state.error;
		l->limit = m->state.limit;
	}
	return 0;
}

static int order(struct link *l, const struct linkmsg *m)
{
	int r;

	if (l->failed)
		return l->failed;
	r = linkio_send(l->chan, m);
	return r == -ECONNRESET ? died(l) : r < 0 ? breach(l, "channel: %s", strerror(-r)) : 0;
}

static int unexpected(struct link *l, const struct linkmsg *m, const char *during)
{
	return breach(l, "unexpected message type %u during %s", m->type, during);
}

/* Start the worker (linkspawn.h) with the camera's stream and the ring;
 * the worker has the ring's descriptor now, the mapping stays here. */
static int spawn(struct link *l, int devfd)
{
	char *envp[4] = { NULL };
	int n = 0, r;

	if (!exe_path[0])
		link_init_exe();
#ifdef LINK_ATTACK_TESTS
	/* test build only: the attack's name and target (linkw_attack.c) */
	char a1[256], a2[512];
	const char *v = getenv("LINK_ATTACK");

	if (v) {
		snprintf(a1, sizeof(a1), "LINK_ATTACK=%s", v);
		envp[n++] = a1;
		v = getenv("LINK_ATTACK_ARG");
		snprintf(a2, sizeof(a2), "LINK_ATTACK_ARG=%s", v ? v : "");
		envp[n++] = a2;
	}
#endif
	(void)n;
	r = linkspawn(exe_path, envp, devfd, l->ring.fd, &l->pid, &l->chan);
	linkring_close_fd(&l->ring);
	return r;
}

/* HELLO from the worker: check the camera again here, decide, sign. */
static int answer_hello(struct link *l, const struct session_cfg *cfg,
			const uint8_t nonce[PROTO_NONCE_LEN], const struct proto_hello_reply *hr)
{
	uint8_t tbs[PROTO_TBS_MAX];
	struct linkmsg a = { .type = LM_AUTH };
	size_t n = 0;
	int r;

	if (hr->version != PROTO_VERSION)
		return breach(l, "HELLO with version %u passed on", hr->version);
	if (proto_identity_tbs(nonce, hr->cam_nonce, &hr->id, tbs, sizeof(tbs), &n) < 0 ||
	    edsig_verify_raw(hr->id.pubkey, tbs, n, hr->sig) < 0)
		return breach(l, "camera identity the worker accepted does not verify");
	l->id = hr->id;
	l->have_id = true;
	if (cfg->why)
		cfg->why[0] = '\0';
	r = cfg->enrol(cfg->enrol_ctx, &hr->id);
	if (r < 0) {
		if (r > -PROTO_E_BASE || r < -PROTO_E_MAX)
			r = -PROTO_E_UNENROLLED;
		a.u.auth.verdict = r;
		snprintf(a.u.auth.why, sizeof(a.u.auth.why), "%s",
			 cfg->why && cfg->why[0] ? cfg->why : session_refusal_text(r));
	} else {
		r = proto_dock_auth_tbs(hr->cam_nonce, nonce, hr->id.serial, cfg->cert, tbs,
					sizeof(tbs), &n);
		if (r == 0)
			r = edsig_sign(cfg->dock_key, tbs, n, a.u.auth.sig);
		if (r < 0) {
			a.u.auth.verdict = -PROTO_E_INTERNAL;
			snprintf(a.u.auth.why, sizeof(a.u.auth.why), "dock cannot sign");
		}
	}
	OPENSSL_cleanse(tbs, sizeof(tbs));
	return order(l, &a) < 0 ? l->failed : a.u.auth.verdict;
}

/* A session_cfg limit in ms as LM_OPEN carries it: <= 0 is off, larger
 * than the cap is the cap (the session caps it the same way). */
static uint64_t limit_value(int64_t ms)
{
	return ms <= 0 ? 0 : (uint64_t)ms > LINKMSG_LIMIT_MAX ? LINKMSG_LIMIT_MAX : (uint64_t)ms;
}

static int handshake(struct link *l, const struct session_cfg *cfg)
{
	struct linkmsg m = { .type = LM_OPEN };
	uint8_t nonce[PROTO_NONCE_LEN];
	int verdict = 1, r; /* 1: HELLO not seen */

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	memcpy(m.u.open.dock_nonce, nonce, sizeof(nonce));
	m.u.open.timeout_ms = (uint32_t)l->timeout_ms;
	m.u.open.deadline_ms = limit_value(cfg->deadline_ms);
	m.u.open.min_rate_bps = cfg->min_rate_bps > LINKMSG_LIMIT_MAX ? LINKMSG_LIMIT_MAX
								  : cfg->min_rate_bps;
	m.u.open.rate_window_ms = limit_value(cfg->rate_window_ms);
	m.u.open.cert = *cfg->cert;
	r = order(l, &m);
	while (r == 0) {
		r = expect(l, &m);
		if (r < 0)
			return r;
		if (m.type == LM_HELLO && verdict == 1) {
			verdict = answer_hello(l, cfg, nonce, &m.u.hello);
			if (l->failed)
				return l->failed;
			continue;
		}
		if (m.type != LM_OPENED)
			return unexpected(l, &m, "the handshake");
		if (m.u.opened.result == 0 && verdict != 0)
			return breach(l, "claims AUTH_OK without the dock's signature");
		if (m.u.opened.result < 0) {
			if (verdict == 0 && cfg->why) /* we signed: the camera said no */
				snprintf(cfg->why, SESSION_WHY_MAX + 1, "the camera refused the dock: %s",
					 session_refusal_text(m.u.opened.result));
			(void)reap(l, 2000); /* it ends after a refused session */
			return m.u.opened.result;
		}
		l->clock_offset_ns = m.u.opened.clock_offset_ns;
		return 0;
	}
	return r;
}

int link_open(struct dockd *d, const struct dock_snap *snap, struct transport *t,
	      const struct session_cfg *cfg, struct link **out)
{
	struct link *l;
	int devfd, r;

	if (!d || !snap || !t || !cfg || !cfg->enrol || !cfg->dock_key || !cfg->cert || !out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->d = d;
	l->snap = snap;
	l->chan = -1;
	l->ring.fd = -1;
	l->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : SESSION_DEFAULT_TIMEOUT_MS;
	l->buf = malloc(LINK_COPY_PIECE);
	r = l->buf ? linkring_create(&l->ring) : -ENOMEM;
	devfd = transport_sock_fd(t);
	if (r == 0 && devfd < 0)
		r = usbrelay_start(t, &l->relay, &devfd);
	if (r == 0)
		r = spawn(l, devfd);
	if (l->relay)
		usbrelay_worker_started(l->relay); /* its end now lives in the worker */
	if (r == 0)
		r = handshake(l, cfg);
	if (r < 0) {
		link_close(l);
		return r;
	}
	*out = l;
	return 0;
}

const struct proto_identity *link_identity(const struct link *l)
{
	return &l->id;
}

int64_t link_clock_offset_ns(const struct link *l)
{
	return l->clock_offset_ns;
}

/* Verify a manifest entry here, whatever the worker said. */
static int entry_verdict(struct link *l, const struct linkmsg *m)
{
	uint8_t tbs[PROTO_TBS_MAX];
	size_t n = 0;
	int mine = proto_manifest_tbs(l->id.serial, &m->u.entry.e, tbs, sizeof(tbs), &n);

	if (mine == 0)
		mine = edsig_verify_raw(l->id.pubkey, tbs, n, m->u.entry.e.sig);
	if (mine < 0 && m->u.entry.verdict == 0)
		return breach(l, "passed on a manifest entry whose signature does not verify");
	return mine < 0 || m->u.entry.verdict < 0 ? -PROTO_E_AUTH : 0;
}

int link_list(struct link *l, session_entry_fn fn, void *ctx)
{
	struct linkmsg m = { .type = LM_LIST };
	uint64_t count = 0;
	int any_bad = 0, stop = 0, fr, r = order(l, &m);

	while (r == 0) {
		r = expect(l, &m);
		if (r < 0)
			return r;
		if (m.type == LM_LIST_DONE)
			return stop ? stop : m.u.result == 0 && any_bad ? -PROTO_E_AUTH : m.u.result;
		if (m.type != LM_ENTRY)
			return unexpected(l, &m, "listing");
		if (++count > SESSION_MAX_ENTRIES)
			return breach(l, "more than %u manifest entries", SESSION_MAX_ENTRIES);
		r = entry_verdict(l, &m);
		if (l->failed)
			return l->failed;
		if (r < 0)
			any_bad = 1;
		/* fn's refusal is what link_list returns, as session_list's
		 * (e.g. -EEXIST: an id listed twice) */
		if (!stop && (fr = fn(ctx, &m.u.entry.e, r)) < 0)
			stop = fr;
		r = 0; /* after a refusal by fn: drain to LIST_DONE, stay in step */
	}
	return r;
}

/* One LM_DATA descriptor of the read in progress, expected at next: check
 * it, copy its ring bytes out to the sink (unless the sink already
 * refused: *sunk), free the ring (LM_DATA_ACK). */
static int take_data(struct link *l, const struct linkmsg *m, uint64_t next, uint64_t end,
		     link_buf_fn getbuf, session_sink_fn sink, void *ctx, int *sunk)
{
	struct linkmsg ack = { .type = LM_DATA_ACK };
	uint32_t off = m->u.data.ring_off, len = m->u.data.len;
	int r;

	if (m->u.data.seq != linkring_next_seq(l->data_seq))
		return breach(l, "DATA seq %u, expected %u", m->u.data.seq,
			      linkring_next_seq(l->data_seq));
	if (m->u.data.offset != next || len > end - next || len == 0)
		return breach(l, "DATA at %llu+%u, expected %llu..%llu",
			      (unsigned long long)m->u.data.offset, len,
			      (unsigned long long)next, (unsigned long long)end);
	if (off > l->ring.size || len > l->ring.size - off)
		return breach(l, "DATA at ring %u+%u, outside the ring", off, len);
	l->data_seq = m->u.data.seq;
	if (!*sunk) {
		r = linkring_deliver(&l->ring, off, len, m->u.data.offset, l->buf, LINK_COPY_PIECE,
				     getbuf, sink, ctx);
		if (r < 0)
			*sunk = r;
	}
	ack.u.ack_seq = l->data_seq;
	return order(l, &ack);
}

int link_read_into(struct link *l, const char *rid, uint64_t offset, uint64_t length,
		   link_buf_fn getbuf, session_sink_fn sink, void *ctx)
{
	struct linkmsg m = { .type = LM_READ };
	uint64_t next = offset, end;
	int sunk = 0, r;

	if (!rid || !sink || !proto_id_valid(rid) || offset > (uint64_t)INT64_MAX ||
	    length > (uint64_t)INT64_MAX - offset)
		return -EINVAL;
	end = offset + length;
	m.u.read.offset = offset;
	m.u.read.length = length;
	snprintf(m.u.read.recording_id, sizeof(m.u.read.recording_id), "%s", rid);
	r = order(l, &m);
	while (r == 0) {
		r = expect(l, &m);
		if (r < 0)
			return r;
		if (m.type == LM_READ_DONE) {
			if (m.u.result == 0 && next != end)
				return breach(l, "read reported complete at %llu of %llu",
					      (unsigned long long)next, (unsigned long long)end);
			return sunk ? sunk : m.u.result;
		}
		if (m.type != LM_DATA)
			return unexpected(l, &m, "a read");
		r = take_data(l, &m, next, end, getbuf, sink, ctx, &sunk);
		if (r < 0)
			return r;
		next += m.u.data.len;
	}
	return r;
}

int link_release(struct link *l, struct proto_receipt *rc)
{
	struct linkmsg m = { .type = LM_RELEASE };
	struct proto_receipt tmp;
	int r;

	if (l->failed)
		return l->failed;
	tmp = *rc;
	r = custodian_sign_receipt(l->d, l->snap, l->id.serial, &tmp);
	if (r < 0)
		return r;
	*rc = tmp; /* the caller records exactly what was sent */
	m.u.release = tmp;
	r = order(l, &m);
	if (r == 0)
		r = expect(l, &m);
	if (r < 0)
		return r;
	if (m.type != LM_RELEASE_DONE)
		return unexpected(l, &m, "a release");
	return m.u.result;
}

int link_abort(struct link *l, int err)
{
	struct linkmsg m = { .type = LM_ABORT };
	int r;

	if (err > -PROTO_E_BASE || err < -PROTO_E_MAX)
		return -EINVAL;
	m.u.abort_code = err;
	r = order(l, &m);
	if (r == 0)
		r = expect(l, &m);
	if (r < 0)
		return r;
	if (m.type != LM_ABORT_DONE)
		return unexpected(l, &m, "an abort");
	return m.u.result;
}

int link_error(const struct link *l)
{
	if (!l)
		return -EINVAL;
	return l->failed ? l->failed : l->sess_err;
}

int link_limit(const struct link *l)
{
	return l && !l->failed ? l->limit : 0;
}

int link_time_sync(struct link *l, int64_t *before, int64_t *after)
{
	struct linkmsg m = { .type = LM_TIME_SYNC };
	int r = order(l, &m);

	if (r == 0)
		r = expect(l, &m);
	if (r < 0)
		return r;
	if (m.type != LM_TIME_DONE)
		return unexpected(l, &m, "a time sync");
	if (m.u.time.result < 0)
		return m.u.time.result;
	if (before)
		*before = m.u.time.before_ns;
	if (after)
		*after = m.u.time.after_ns;
	return 0;
}

int link_status(struct link *l, struct proto_status_reply *out)
{
	struct linkmsg m = { .type = LM_STATUS };
	int r = order(l, &m);

	if (r == 0)
		r = expect(l, &m);
	if (r < 0)
		return r;
	if (m.type != LM_STATUS_DONE)
		return unexpected(l, &m, "a status request");
	if (m.u.status.result < 0)
		return m.u.status.result;
	*out = m.u.status.st;
	return 0;
}

/* After BYE: wait until the worker's end of the channel closes (it is
 * exiting), at most ms; whatever it still sends is dropped. */
static void wait_hangup(int fd, int ms)
{
	struct timespec t0, t;
	uint8_t junk[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		if (read(fd, junk, sizeof(junk)) <= 0)
			return;
	}
}

void link_close(struct link *l)
{
	if (!l)
		return;
	if (l->pid > 0 && !l->failed) {
		struct linkmsg m = { .type = LM_BYE };
		int st;

		(void)linkio_send(l->chan, &m);
		wait_hangup(l->chan, 2000);
		st = reap(l, 2000);
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			custodian_worker_killed(l->d, l->have_id ? l->id.serial : "",
						"worker killed while saying BYE", WTERMSIG(st));
	}
	(void)reap(l, 0);
	if (l->chan >= 0)
		close(l->chan);
	usbrelay_stop(l->relay);
	linkring_free(&l->ring);
	if (l->buf) /* held the camera's plaintext */
		OPENSSL_cleanse(l->buf, LINK_COPY_PIECE);
	free(l->buf);
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}
