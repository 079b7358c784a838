/* faultproxy - a fault-injecting TCP proxy for tests (S3 client vs RGW).
 *
 *   faultproxy --listen 127.0.0.1:0 --upstream 127.0.0.1:PORT
 *              --port-file F [--stats-file F] [faults...]
 *
 * Each accepted client connection gets its own upstream connection; bytes
 * are forwarded both ways (half-closes too) by one poll() loop. Faults, each
 * with an optional COUNT (default: unlimited):
 *
 *   --reset-after BYTES[:COUNT]   once a connection has forwarded BYTES
 *                                 client->server bytes, reset both sides
 *                                 (SO_LINGER 0 -> RST). Fires COUNT times in
 *                                 all (the first connections to get there).
 *   --stall-after BYTES:MS[:COUNT]
 *                                 likewise, but stop forwarding in both
 *                                 directions for MS ms (MS "inf": until a
 *                                 peer closes).
 *   --latency MS[:COUNT]          hold each chunk read from either side MS ms
 *                                 before writing it (connections 1..COUNT in
 *                                 accept order).
 *   --bandwidth BPS[:up]          cap the throughput of all connections
 *                                 together to BPS bytes/s per direction (or
 *                                 only client->server with ":up").
 *   --inject CODE:S3CODE:N        answer the first N requests with HTTP CODE
 *   --inject CODE:S3CODE:%K       ... or every Kth request (K, 2K, ...)
 *                                 and an S3 XML error (<Code>S3CODE</Code>),
 *                                 with Connection: close, instead of
 *                                 forwarding. A "request" is the first
 *                                 request head of a connection: later requests
 *                                 on a kept-alive connection pass uncounted.
 *   --inject-match TEXT           with --inject: look at every request head,
 *                                 also later ones on a kept-alive connection
 *                                 (request bodies are skipped by their
 *                                 Content-Length), and count only requests
 *                                 whose request line contains TEXT (e.g.
 *                                 "?tagging"). A connection whose requests
 *                                 cannot be delimited (chunked, pipelined)
 *                                 is forwarded untouched from there on.
 *                                 Without --inject: injects nothing, only
 *                                 counts every request (requests) and the
 *                                 matching ones (matched), kept-alive
 *                                 connections included.
 *   --reset-reused COUNT          with --inject-match: a request that arrives
 *                                 on a kept-alive connection is read whole
 *                                 (head and body) but not forwarded, and the
 *                                 connection is reset (RST) with no reply (a
 *                                 server that closed an idle connection just
 *                                 as the client reused it), COUNT times in
 *                                 all; counted in resets.
 *
 * --port-file gets the bound port (written atomically once listening).
 * --stats-file gets "key value" lines (rewritten atomically whenever a
 * connection ends, and at exit): connections active bytes_up bytes_down
 * resets stalls injected requests upstream_failures matched (requests
 * that --inject-match selected). SIGTERM/SIGINT: close
 * everything, write the stats, exit 0.
 *
 * Hostile peers: buffers are fixed (64 KiB per direction), at most 256
 * connections (more are closed at once), request heads over 16 KiB are
 * forwarded untouched, and nothing a peer sends is interpreted beyond
 * looking for the end of the request head and its method.
 */
#define _GNU_SOURCE /* memmem, ppoll, POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define HEAD_MAX (16 * 1024)
#define MAX_CONNS 256
#define DRAIN_MS 2000
#define FOREVER INT64_MAX
#define UNLIMITED UINT64_MAX

struct pipe {
	uint8_t buf[BUF_SIZE];
	size_t off, len;   /* pending bytes are buf[off .. off+len) */
	int64_t hold_until; /* latency: do not write before this */
	bool eof;          /* the source said EOF */
	bool shut;         /* EOF passed on (shutdown(SHUT_WR)) */
};

enum cstate { C_HEAD, C_OPEN, C_INJECT, C_DRAIN };

struct conn {
	int cfd, ufd;
	uint64_t id;
	enum cstate st;
	bool connecting;     /* upstream connect() in progress */
	bool latency;
	bool reset_done, stall_done;
	bool rehead;         /* --inject-match: the next client byte starts a head */
	bool untracked;      /* --inject-match: requests cannot be delimited */
	bool later;          /* the request in C_HEAD came on a kept-alive connection */
	bool doomed;         /* --reset-reused: swallow this request, then RST */
	uint64_t body_left;  /* --inject-match: body bytes still to come */
	int64_t stall_until; /* 0 = not stalled */
	int64_t drain_until;
	int64_t up_bw_until, down_bw_until; /* bandwidth cap: no write before */
	uint64_t up_total;   /* client->server bytes forwarded */
	struct pipe up, down;
};

struct rule { uint64_t bytes, left; int64_t ms; bool on; };

static struct {
	struct sockaddr_in listen_addr, up_addr;
	const char *port_file, *stats_file;
	struct rule reset, stall;
	int64_t latency_ms;
	uint64_t latency_count;
	uint64_t bw_bps;
	bool bw_up_only;
	int inject_code;
	char inject_s3code[64];
	uint64_t inject_first, inject_every;
	const char *inject_match;
	uint64_t reset_reused; /* --reset-reused: resets left */
} opt;

static struct {
	uint64_t connections, active, bytes_up, bytes_down;
	uint64_t resets, stalls, injected, requests, upstream_failures, matched;
} st;

struct bucket { double tokens; int64_t last; };
static struct bucket bw_up, bw_down;
static struct conn *conns[MAX_CONNS];
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((noreturn)) static void usage(void)
{
	fprintf(stderr,
		"usage: faultproxy --listen IP:PORT --upstream IP:PORT --port-file F\n"
		"         [--stats-file F] [--reset-after BYTES[:COUNT]]\n"
		"         [--stall-after BYTES:MS|inf[:COUNT]] [--latency MS[:COUNT]]\n"
		"         [--bandwidth BPS[:up]] [--inject CODE:S3CODE:N|%%K]\n"
		"         [--inject-match TEXT] [--reset-reused COUNT]\n");
	exit(2);
}

__attribute__((noreturn)) static void die_arg(const char *what, const char *val)
{
	fprintf(stderr, "faultproxy: bad %s: '%s'\n", what, val);
	exit(2);
}

/* Parse a decimal number in [0, max] from s up to ':' or NUL; *end after. */
static bool num(const char *s, uint64_t max, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0' && *p != ':')
		return false;
	*out = v;
	*end = *p == ':' ? p + 1 : p;
	return true;
}

static void parse_addr(const char *what, const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':'), *end;
	uint64_t port;
	size_t hl = 0;

	if (!colon || (hl = (size_t)(colon - s)) == 0 || hl >= sizeof(host))
		die_arg(what, s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!num(colon + 1, 65535, &port, &end) || *end)
		die_arg(what, s);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		die_arg(what, s);
}

static uint64_t opt_count(const char *what, const char *val, const char *p)
{
	uint64_t c;

	if (*p == '\0')
		return UNLIMITED;
	if (!num(p, UINT32_MAX, &c, &p) || *p || c == 0)
		die_arg(what, val);
	return c;
}

static void parse_inject(const char *v)
{
	const char *p = v, *c2 = NULL;
	uint64_t code, n;
	size_t l;

	if (!num(p, 599, &code, &p) || code < 400 || !(c2 = strchr(p, ':')))
		die_arg("--inject", v);
	l = (size_t)(c2 - p);
	if (l == 0 || l >= sizeof(opt.inject_s3code))
		die_arg("--inject", v);
	for (size_t i = 0; i < l; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9')))
			die_arg("--inject", v);
	memcpy(opt.inject_s3code, p, l);
	opt.inject_s3code[l] = '\0';
	p = c2 + 1;
	bool every = *p == '%';
	if (every)
		p++;
	if (!num(p, UINT32_MAX, &n, &p) || *p || n == 0)
		die_arg("--inject", v);
	opt.inject_code = (int)code;
	if (every)
		opt.inject_every = n;
	else
		opt.inject_first = n;
}

static void parse_args(int argc, char **argv)
{
	bool have_listen = false, have_up = false;
	const char *p;
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage();
		if (!val || strncmp(a, "--", 2) != 0)
			usage();
		i++;
		if (strcmp(a, "--listen") == 0) {
			parse_addr(a, val, &opt.listen_addr);
			have_listen = true;
		} else if (strcmp(a, "--upstream") == 0) {
			parse_addr(a, val, &opt.up_addr);
			have_up = true;
		} else if (strcmp(a, "--port-file") == 0) {
			opt.port_file = val;
		} else if (strcmp(a, "--stats-file") == 0) {
			opt.stats_file = val;
		} else if (strcmp(a, "--reset-after") == 0) {
			if (!num(val, UINT64_MAX - 1, &opt.reset.bytes, &p))
				die_arg(a, val);
			opt.reset.left = opt_count(a, val, p);
			opt.reset.on = true;
		} else if (strcmp(a, "--stall-after") == 0) {
			if (!num(val, UINT64_MAX - 1, &opt.stall.bytes, &p) || !*p)
				die_arg(a, val);
			if (strncmp(p, "inf", 3) == 0 && (p[3] == '\0' || p[3] == ':')) {
				opt.stall.ms = FOREVER;
				p += p[3] ? 4 : 3;
			} else if (num(p, 86400000, &v, &p)) {
				opt.stall.ms = (int64_t)v;
			} else {
				die_arg(a, val);
			}
			opt.stall.left = opt_count(a, val, p);
			opt.stall.on = true;
		} else if (strcmp(a, "--latency") == 0) {
			if (!num(val, 600000, &v, &p))
				die_arg(a, val);
			opt.latency_ms = (int64_t)v;
			opt.latency_count = opt_count(a, val, p);
		} else if (strcmp(a, "--bandwidth") == 0) {
			if (!num(val, UINT32_MAX, &opt.bw_bps, &p) || opt.bw_bps == 0)
				die_arg(a, val);
			if (strcmp(p, "up") == 0)
				opt.bw_up_only = true;
			else if (*p)
				die_arg(a, val);
		} else if (strcmp(a, "--inject") == 0) {
			parse_inject(val);
		} else if (strcmp(a, "--reset-reused") == 0) {
			if (!num(val, UINT64_MAX - 1, &opt.reset_reused, &p) || *p || !opt.reset_reused)
				die_arg(a, val);
		} else if (strcmp(a, "--inject-match") == 0) {
			if (!*val)
				die_arg(a, val);
			opt.inject_match = val;
		} else {
			fprintf(stderr, "faultproxy: unknown option %s\n", a);
			usage();
		}
	}
	if (!have_listen || !have_up || !opt.port_file || (opt.reset_reused && !opt.inject_match))
		usage();
}

/* Write path atomically (temp file + rename): readers never see half. */
static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp) || !(f = fopen(tmp, "w")))
		return -1;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void write_stats(void)
{
	char b[1024];

	if (!opt.stats_file)
		return;
	snprintf(b, sizeof(b),
		 "connections %" PRIu64 "\nactive %" PRIu64 "\nbytes_up %" PRIu64
		 "\nbytes_down %" PRIu64 "\nresets %" PRIu64 "\nstalls %" PRIu64
		 "\ninjected %" PRIu64 "\nrequests %" PRIu64
		 "\nupstream_failures %" PRIu64 "\nmatched %" PRIu64 "\n",
		 st.connections, st.active, st.bytes_up, st.bytes_down, st.resets,
		 st.stalls, st.injected, st.requests, st.upstream_failures, st.matched);
	if (write_file(opt.stats_file, b) != 0)
		fprintf(stderr, "faultproxy: cannot write %s: %s\n", opt.stats_file,
			strerror(errno));
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void rst_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void conn_close(int slot, bool reset)
{
	struct conn *c = conns[slot];

	if (reset) {
		rst_close(c->cfd);
		rst_close(c->ufd);
	} else {
		close(c->cfd);
		if (c->ufd >= 0)
			close(c->ufd);
	}
	free(c);
	conns[slot] = NULL;
	st.active--;
	write_stats();
}

static void accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL), slot = -1;
	struct conn *c;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS && slot < 0; i++)
		if (!conns[i])
			slot = i;
	if (slot < 0 || !(c = calloc(1, sizeof(*c)))) {
		close(fd); /* full: refuse rather than grow without bound */
		return;
	}
	set_nonblock(fd);
	c->cfd = fd;
	c->id = ++st.connections;
	c->st = opt.inject_code || opt.inject_match ? C_HEAD : C_OPEN;
	c->latency = opt.latency_ms > 0 && c->id <= opt.latency_count;
	c->ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->ufd < 0 ||
	    (connect(c->ufd, (struct sockaddr *)&opt.up_addr, sizeof(opt.up_addr)) != 0 &&
	     errno != EINPROGRESS)) {
		st.upstream_failures++;
		if (c->ufd >= 0)
			close(c->ufd);
		close(fd);
		free(c);
		write_stats();
		return;
	}
	c->connecting = true;
	conns[slot] = c;
	st.active++;
}

static const char *reason(int code)
{
	switch (code) {
	case 500: return "Internal Server Error";
	case 503: return "Slow Down";
	default: return "Injected Error";
	}
}

static const char *s3_message(const char *code)
{
	if (strcmp(code, "SlowDown") == 0)
		return "Please reduce your request rate.";
	if (strcmp(code, "InternalError") == 0)
		return "We encountered an internal error. Please try again.";
	return "Injected by faultproxy.";
}

/* Replace the forwarding with our own reply in c->down. */
static void start_inject(struct conn *c)
{
	char body[512];
	bool head = c->up.len >= 5 && memcmp(c->up.buf + c->up.off, "HEAD ", 5) == 0;
	int bl = snprintf(body, sizeof(body),
			  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
			  "<Message>%s</Message><RequestId>faultproxy-%" PRIu64
			  "</RequestId></Error>\n",
			  opt.inject_s3code, s3_message(opt.inject_s3code), c->id);
	int n = snprintf((char *)c->down.buf, sizeof(c->down.buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
			 "Content-Length: %d\r\nx-amz-request-id: faultproxy-%" PRIu64
			 "\r\nConnection: close\r\n\r\n%s",
			 opt.inject_code, reason(opt.inject_code), head ? 0 : bl, c->id,
			 head ? "" : body);

	st.injected++;
	close(c->ufd);
	c->ufd = -1;
	c->connecting = false;
	c->up.len = c->up.off = 0;
	c->down.off = 0;
	c->down.len = (size_t)n; /* both formats are far below BUF_SIZE */
	c->st = C_INJECT;
}

/* --inject-match: the body length of the request whose head is b[0..hl):
 * body_left from Content-Length minus the body bytes already read; false
 * when requests cannot be delimited (chunked, bad length, pipelined). */
static bool track_body(struct conn *c, const uint8_t *b, size_t hl)
{
	static const char cl[] = "\r\ncontent-length:";
	uint64_t len = 0, have = c->up.len - hl;

	for (size_t i = 0; i + sizeof(cl) - 1 < hl; i++) {
		if (i + 20 <= hl && strncasecmp((const char *)b + i, "\r\ntransfer-encoding:", 20) == 0)
			return false;
		if (strncasecmp((const char *)b + i, cl, sizeof(cl) - 1) == 0) {
			const char *p = (const char *)b + i + sizeof(cl) - 1;
			unsigned digits = 0;

			while (*p == ' ')
				p++;
			for (len = 0; *p >= '0' && *p <= '9' && digits < 15; p++, digits++)
				len = len * 10 + (uint64_t)(*p - '0');
			if (!digits || (*p != '\r' && *p != ' '))
				return false;
		}
	}
	if (have > len)
		return false; /* the next request is here already: pipelining */
	c->body_left = len - have;
	c->rehead = c->body_left == 0;
	return true;
}

/* C_HEAD: once the request head is complete (or too big to be one),
 * decide whether this request gets an injected reply. */
static void check_head(struct conn *c)
{
	const uint8_t *b = c->up.buf + c->up.off;
	bool done = memmem(b, c->up.len, "\r\n\r\n", 4) != NULL;
	uint64_t r;

	if (!done && c->up.len < HEAD_MAX && !c->up.eof)
		return;
	c->st = C_OPEN;
	if (!done) {
		c->untracked = true;
		return; /* not HTTP as we know it: forward untouched */
	}
	if (opt.inject_match) {
		size_t hl = (size_t)((const uint8_t *)memmem(b, c->up.len, "\r\n\r\n", 4) - b) + 4;
		const uint8_t *eol = memmem(b, hl, "\r\n", 2);

		st.requests++;
		if (!track_body(c, b, hl)) {
			c->untracked = true;
		} else if (c->later && opt.reset_reused) {
			opt.reset_reused--;
			c->doomed = true;
		}
		c->later = false;
		if (!memmem(b, (size_t)(eol - b), opt.inject_match, strlen(opt.inject_match)))
			return;
		r = ++st.matched;
	} else {
		r = ++st.requests;
	}
	if ((opt.inject_first && r <= opt.inject_first) ||
	    (opt.inject_every && r % opt.inject_every == 0))
		start_inject(c);
}

/* Bytes the bandwidth cap lets through now (0: wait; *wait_ms says how long). */
static size_t bw_allow(struct bucket *bk, size_t want, int64_t now, int64_t *wait_ms)
{
	double cap = opt.bw_bps / 10.0 > 1 ? opt.bw_bps / 10.0 : 1;

	if (bk->last == 0)
		bk->last = now;
	bk->tokens += (double)(now - bk->last) * (double)opt.bw_bps / 1000.0;
	bk->last = now;
	if (bk->tokens > cap)
		bk->tokens = cap;
	if (bk->tokens >= 1) {
		size_t n = bk->tokens < (double)want ? (size_t)bk->tokens : want;
		bk->tokens -= (double)n;
		return n;
	}
	*wait_ms = (int64_t)((1 - bk->tokens) * 1000.0 / (double)opt.bw_bps) + 1;
	return 0;
}

static void min_wait(int64_t *wait_ms, int64_t w)
{
	if (w < 0)
		w = 0;
	if (*wait_ms < 0 || w < *wait_ms)
		*wait_ms = w;
}

/* Read what fits from fd into p. Returns -1 on a hard error. */
static int pipe_read(struct pipe *p, int fd, bool latency, int64_t now)
{
	ssize_t n;

	if (p->eof || (latency && p->len > 0))
		return 0;
	if (p->off > 0 && p->off + p->len == BUF_SIZE) {
		memmove(p->buf, p->buf + p->off, p->len);
		p->off = 0;
	}
	if (p->off + p->len == BUF_SIZE)
		return 0;
	n = recv(fd, p->buf + p->off + p->len, BUF_SIZE - p->off - p->len, 0);
	if (n > 0) {
		if (p->len == 0 && latency)
			p->hold_until = now + opt.latency_ms;
		p->len += (size_t)n;
	} else if (n == 0) {
		p->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		return -1;
	}
	return 0;
}

/* Write up to limit pending bytes of p to fd. Returns bytes written or -1. */
static ssize_t pipe_write(struct pipe *p, int fd, size_t limit, int64_t now,
			  int64_t *wait_ms)
{
	ssize_t n;

	if (p->len > 0 && p->hold_until > now) {
		min_wait(wait_ms, p->hold_until - now);
		return 0;
	}
	if (p->len > 0 && limit > 0) {
		n = send(fd, p->buf + p->off, p->len < limit ? p->len : limit, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		p->off += (size_t)n;
		p->len -= (size_t)n;
		if (p->len == 0)
			p->off = 0;
		return n;
	}
	if (p->len == 0 && p->eof && !p->shut) {
		shutdown(fd, SHUT_WR);
		p->shut = true;
	}
	return 0;
}

/* Byte-count faults: fire when the connection has sent exactly the limit. */
static bool rule_hits(struct rule *r, bool *done, uint64_t total)
{
	if (!r->on || *done || r->left == 0 || total < r->bytes)
		return false;
	*done = true;
	if (r->left != UNLIMITED)
		r->left--;
	return true;
}

static size_t up_limit(const struct conn *c)
{
	uint64_t lim = UINT64_MAX;

	if (opt.reset.on && !c->reset_done && opt.reset.left && c->up_total < opt.reset.bytes)
		lim = opt.reset.bytes - c->up_total;
	if (opt.stall.on && !c->stall_done && opt.stall.left && c->up_total < opt.stall.bytes &&
	    opt.stall.bytes - c->up_total < lim)
		lim = opt.stall.bytes - c->up_total;
	return lim > BUF_SIZE ? BUF_SIZE : (size_t)lim;
}

/* Byte-count faults due now: 1 = stop here (stalled), -1 = reset, 0 = go on. */
static int fire(struct conn *c, int64_t now, int64_t *wait_ms)
{
	if (rule_hits(&opt.reset, &c->reset_done, c->up_total)) {
		st.resets++;
		return -1;
	}
	if (rule_hits(&opt.stall, &c->stall_done, c->up_total)) {
		st.stalls++;
		c->stall_until = opt.stall.ms == FOREVER ? FOREVER : now + opt.stall.ms;
		write_stats();
		if (opt.stall.ms != FOREVER)
			min_wait(wait_ms, opt.stall.ms);
		return 1;
	}
	return 0;
}

/* Advance one connection; returns false when it has to be closed
 * (*reset: abortively). */
static bool conn_step(struct conn *c, int64_t now, int64_t *wait_ms, bool *reset)
{
	int64_t w = -1;
	size_t lim, before;
	ssize_t n;
	int f;

	*reset = false;
	if (c->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		struct pollfd pf = { .fd = c->ufd, .events = POLLOUT };

		if (poll(&pf, 1, 0) == 0)
			goto head;
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err) {
			st.upstream_failures++;
			return false;
		}
		c->connecting = false;
	}
head:
	if (c->st == C_HEAD) {
		if (pipe_read(&c->up, c->cfd, false, now) < 0)
			return false;
		check_head(c);
		if (c->st == C_HEAD)
			return !(c->up.eof && c->up.len == 0);
	}
	if (c->st == C_INJECT || c->st == C_DRAIN) {
		if (c->st == C_INJECT) {
			if (pipe_write(&c->down, c->cfd, BUF_SIZE, now, wait_ms) < 0)
				return false;
			if (c->down.len)
				return true;
			shutdown(c->cfd, SHUT_WR);
			c->st = C_DRAIN;
			c->drain_until = now + DRAIN_MS;
		}
		/* Lingering close: swallow the request body so our reply is
		 * not destroyed by an RST for unread data. */
		c->up.len = c->up.off = 0;
		if (pipe_read(&c->up, c->cfd, false, now) < 0 || c->up.eof ||
		    now >= c->drain_until)
			return false;
		min_wait(wait_ms, c->drain_until - now);
		return true;
	}
	if (c->connecting)
		return true;
	if (c->stall_until) {
		if (now < c->stall_until) {
			if (c->stall_until != FOREVER)
				min_wait(wait_ms, c->stall_until - now);
			return true;
		}
		c->stall_until = 0;
	}
	/* A peer's error (e.g. its RST) is passed on as an RST. */
	*reset = true;
	if ((f = fire(c, now, wait_ms)) != 0)
		return f > 0;
	before = c->up.len;
	if (pipe_read(&c->up, c->cfd, c->latency, now) < 0 ||
	    pipe_read(&c->down, c->ufd, c->latency, now) < 0)
		return false;
	if (opt.inject_match && !c->untracked && c->up.len > before) {
		uint64_t got = c->up.len - before;

		if (c->rehead && before == 0) {
			/* A new request on a kept-alive connection (the client
			 * sends it only after our reply: nothing else is pending). */
			c->rehead = false;
			c->later = true;
			c->st = C_HEAD;
			check_head(c);
			if (c->st != C_OPEN)
				return true; /* the rest of the head, or our reply */
		} else if (c->rehead || got > c->body_left) {
			c->untracked = true;
		} else {
			c->body_left -= got;
			c->rehead = c->body_left == 0;
		}
	}
	/* --reset-reused: the request is swallowed, never forwarded; once all
	 * of it is in, the connection is reset (*reset is true) with no reply. */
	if (c->doomed) {
		c->up.off = c->up.len = 0;
		if (!c->rehead)
			return true;
		st.resets++;
		return false;
	}
	/* client -> server */
	lim = up_limit(c);
	if (opt.bw_bps && c->up.len && c->up.hold_until <= now) {
		lim = bw_allow(&bw_up, c->up.len < lim ? c->up.len : lim, now, &w);
		c->up_bw_until = lim ? 0 : now + w;
		if (!lim)
			min_wait(wait_ms, w);
	}
	n = pipe_write(&c->up, c->ufd, lim, now, wait_ms);
	if (n < 0)
		return false;
	c->up_total += (uint64_t)n;
	st.bytes_up += (uint64_t)n;
	if ((f = fire(c, now, wait_ms)) != 0)
		return f > 0;
	/* server -> client */
	lim = BUF_SIZE;
	if (opt.bw_bps && !opt.bw_up_only && c->down.len && c->down.hold_until <= now) {
		lim = bw_allow(&bw_down, c->down.len, now, &w);
		c->down_bw_until = lim ? 0 : now + w;
		if (!lim)
			min_wait(wait_ms, w);
	}
	n = pipe_write(&c->down, c->cfd, lim, now, wait_ms);
	if (n < 0)
		return false;
	st.bytes_down += (uint64_t)n;
	*reset = false;
	return !(c->up.shut && c->down.shut);
}

/* What to poll for on one connection (POLLRDHUP: notice a peer leaving
 * while we are not reading from it, e.g. during a stall). */
static void conn_events(const struct conn *c, int64_t now, struct pollfd *pc,
			struct pollfd *pu)
{
	/* Held data (latency) and throttled data are not polled for: their
	 * timers wake us; reading more than one chunk would defeat latency. */
	bool up_go = c->up.len && c->up.hold_until <= now && c->up_bw_until <= now;
	bool down_go = c->down.len && c->down.hold_until <= now && c->down_bw_until <= now;

	pc->fd = c->cfd;
	pu->fd = c->ufd;
	pc->events = POLLRDHUP;
	pu->events = POLLRDHUP;
	if (c->connecting)
		pu->events |= POLLOUT;
	if (c->stall_until)
		return;
	if (c->st == C_HEAD || c->st == C_DRAIN ||
	    (!c->up.eof && c->up.off + c->up.len < BUF_SIZE && !(c->latency && c->up.len)))
		pc->events |= POLLIN;
	if (c->st == C_INJECT || down_go || (c->down.eof && !c->down.len && !c->down.shut))
		pc->events |= POLLOUT;
	if (c->st == C_OPEN && !c->connecting) {
		if (!c->down.eof && c->down.off + c->down.len < BUF_SIZE &&
		    !(c->latency && c->down.len))
			pu->events |= POLLIN;
		if (up_go || (c->up.eof && !c->up.len && !c->up.shut))
			pu->events |= POLLOUT;
	}
}

static int listen_on(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	char port[16];
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&opt.listen_addr, sizeof(opt.listen_addr)) != 0 ||
	    listen(fd, 64) != 0 || getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		fprintf(stderr, "faultproxy: cannot listen: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(port, sizeof(port), "%u\n", ntohs(a.sin_port));
	if (write_file(opt.port_file, port) != 0) {
		fprintf(stderr, "faultproxy: cannot write %s: %s\n", opt.port_file, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct pollfd pfd[1 + 2 * MAX_CONNS];
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	int lfd;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig); /* delivered only inside ppoll */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_on();
	write_stats();

	while (!stop_flag) {
		int64_t now = now_ms(), wait_ms = -1;
		struct timespec ts, *tsp = NULL;
		nfds_t n = 1;

		for (int i = 0; i < MAX_CONNS; i++) {
			bool reset;

			if (!conns[i])
				continue;
			if (!conn_step(conns[i], now, &wait_ms, &reset)) {
				conn_close(i, reset);
				continue;
			}
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (!conns[i])
				continue;
			conn_events(conns[i], now, &pfd[n], &pfd[n + 1]);
			n += 2;
		}
		if (wait_ms >= 0) {
			ts.tv_sec = wait_ms / 1000;
			ts.tv_nsec = (wait_ms % 1000) * 1000000;
			tsp = &ts;
		}
		if (ppoll(pfd, n, tsp, &orig) < 0 && errno != EINTR) {
			fprintf(stderr, "faultproxy: poll: %s\n", strerror(errno));
			break;
		}
		/* A peer that left ends its connection (stalled ones too). */
		for (nfds_t k = 1, i = 0; k < n; i++) {
			if (!conns[i])
				continue;
			if (conns[i]->stall_until &&
			    ((pfd[k].revents | pfd[k + 1].revents) & (POLLRDHUP | POLLHUP | POLLERR)))
				conn_close((int)i, false);
			k += 2;
		}
		if (pfd[0].revents & POLLIN)
			for (int k = 0; k < 16; k++)
				accept_one(lfd);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			conn_close(i, false);
	close(lfd);
	write_stats();
	return 0;
}
