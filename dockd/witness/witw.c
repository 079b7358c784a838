/* witw.c - the witness client process (see witw.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <curl/curl.h>

#include "chanspawn.h"
#include "config.h"
#include "cosig.h"
#include "llrule.h"
#include "log.h"
#include "witmsg.h"
#include "witness.h"
#include "witw.h"

int witw_landlock_abi;

struct peer {
	char url[300];
	struct ckpt_vkey key;
};

static struct peer peers[WITMSG_WITNESSES];
static size_t n_peers;
static long timeout_s;
static CURL *h;

/* ---- lock-down ----------------------------------------------------------- */

static int landlock(void)
{
	static const char *const ro_dirs[] = { LLRULE_CODE_DIRS, LLRULE_TLS_DIRS, NULL };
	static const char *const ro_files[] = {
		LLRULE_RESOLVER_FILES, "/etc/localtime", "/etc/ld.so.cache", "/dev/urandom",
		"/dev/null", NULL,
	};
	long abi = llrule_abi();
	int fd, r;

	if (abi < 1)
		return 0; /* not in this kernel: the other limits still apply */
	witw_landlock_abi = (int)abi;
	/* network: left open (the witnesses); scoped (ABI 6, Linux 6.12): no
	 * signal to a process outside this domain (dockd), no abstract Unix
	 * socket */
	if ((r = llrule_ruleset(abi, LLRULE_SCOPED, &fd)) < 0)
		return r;
	return llrule_restrict(fd, llrule_allow_ro(fd, ro_dirs, ro_files));
}

static int lock_down(void)
{
	struct rlimit core = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &core) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return landlock();
}

/* ---- one request ----------------------------------------------------------- */

struct resp {
	char buf[WITMSG_TEXT_MAX + 1];
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = sz * n;

	if (len > WITMSG_TEXT_MAX - r->len)
		return 0; /* abort: a witness answer is a few lines */
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

/* POST body to url/add-checkpoint: HTTP status (0 on transport error). */
static long post(const struct peer *p, const char *body, size_t len, struct resp *r)
{
	char url[340];
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode cc;

	snprintf(url, sizeof(url), "%s/add-checkpoint", p->url);
	memset(r, 0, sizeof(*r));
	curl_easy_reset(h);
	hdr = curl_slist_append(hdr, "Content-Type: text/plain; charset=utf-8");
	hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		r->len = (size_t)snprintf(r->buf, sizeof(r->buf), "%s", curl_easy_strerror(cc));
	curl_slist_free_all(hdr);
	return status >= 100 && status <= 599 ? status : 0;
}

/* Keep the lines of a 200 answer that verify against p's key for the note
 * in the request: into a->data. */
static void keep_valid(const struct peer *p, const struct witmsg *q, struct resp *r,
		       struct witmsg *a)
{
	struct witness_req *rq = malloc(sizeof(*rq));
	size_t tlen, sigs;
	char *line = r->buf;

	a->len = 0;
	if (!rq || witness_req_parse(q->data, q->len, rq) ||
	    cosig_note_text(rq->note, rq->note_len, &tlen, &sigs))
		goto out;
	while (*line) {
		char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		int e = cosig_verify(rq->note, tlen, line, ll, &p->key, 1, NULL, NULL);

		if (e == 0 && a->len + ll + 1 <= WITMSG_TEXT_MAX) {
			memcpy(a->data + a->len, line, ll);
			a->len += ll;
			a->data[a->len++] = '\n';
		} else if (e != 0 && e != -ENOKEY) {
			log_error("witness %s: a cosignature line does not verify (%s)",
				  p->key.name, checkpoint_strerror(e));
		}
		if (!nl)
			break;
		line = nl + 1;
	}
out:
	a->data[a->len] = '\0';
	free(rq);
}

static void answer(const struct witmsg *q, struct witmsg *a)
{
	struct resp *r = malloc(sizeof(*r));
	const struct peer *p = &peers[q->witness];
	long st;

	memset(a, 0, offsetof(struct witmsg, data));
	a->type = WM_ANSWER;
	a->seq = q->seq;
	a->witness = q->witness;
	a->len = 0;
	a->data[0] = '\0';
	if (!r) {
		a->len = (size_t)snprintf(a->data, WITMSG_TEXT_MAX, "out of memory");
		return;
	}
	st = post(p, q->data, q->len, r);
	a->status = (uint16_t)st;
	if (st == 200) {
		keep_valid(p, q, r, a);
	} else {
		memcpy(a->data, r->buf, r->len + 1);
		a->len = r->len;
		witmsg_clean_text(a->data, &a->len);
	}
	free(r);
}

/* ---- test build: hostile replies ------------------------------------------- */

#ifdef LINK_ATTACK_TESTS
#include <signal.h>
#include <sys/ptrace.h>

static const char *attack;

/* "escape": what a process taken over would try against dockd; each
 * result is logged, then the request is answered normally. */
static void attack_escape(void)
{
	char mem[64];
	const char *ledger = getenv("WITNESS_ATTACK_ARG");
	pid_t pp = getppid();
	int e1, e2, e3, e4, fd;

	e1 = ptrace(PTRACE_ATTACH, pp, NULL, NULL) < 0 ? errno : 0;
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pp);
	fd = open(mem, O_RDONLY | O_CLOEXEC);
	e2 = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	fd = ledger ? open(ledger, O_RDONLY | O_CLOEXEC) : -1;
	e3 = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	e4 = kill(pp, 0) < 0 ? errno : 0;
	log_warning("WITNESS_ATTACK: escape ptrace=%s mem=%s ledger=%s signal=%s",
		    e1 ? strerrorname_np(e1) : "ALLOWED", e2 ? strerrorname_np(e2) : "ALLOWED",
		    e3 ? strerrorname_np(e3) : "ALLOWED", e4 ? strerrorname_np(e4) : "ALLOWED");
}

static void attack_arm(void)
{
	const char *once = getenv("WITNESS_ATTACK_ONCE");

	if (getenv("WITNESS_ATTACK") && once && unlink(once) == 0)
		attack = getenv("WITNESS_ATTACK");
}

/* 1: sent a hostile reply instead of a. */
static int attack_send(int ctl, struct witmsg *a)
{
	uint8_t *b = malloc(WITMSG_MAX);
	size_t len = 0;

	if (!attack || !b) {
		free(b);
		return 0;
	}
	if (!strcmp(attack, "escape")) {
		attack_escape();
		attack = NULL;
		free(b);
		return 0;
	}
	log_warning("WITNESS_ATTACK: %s", attack);
	if (!strcmp(attack, "seq"))
		a->seq++;
	if (witmsg_encode(a, b, WITMSG_MAX, &len) == 0) {
		if (!strcmp(attack, "version"))
			b[0] = 9;
		else if (!strcmp(attack, "short"))
			len = 5;
		(void)!send(ctl, b, len, MSG_NOSIGNAL);
	}
	attack = NULL;
	free(b);
	return 1;
}
#else
static void attack_arm(void)
{
}

static int attack_send(int ctl, struct witmsg *a)
{
	return 0;
}
#endif

/* ---- main ---------------------------------------------------------------- */

/* The [witness] section of config: into peers. */
static int load(const char *config, char *err, size_t errlen)
{
	struct dock_config *c = calloc(1, sizeof(*c));
	int r = c ? dock_config_load(config, c, err, errlen) : -ENOMEM;

	if (r == 0) {
		log_set_level(c->log_level);
		timeout_s = (long)c->witness_timeout_s;
	}
	for (size_t i = 0; r == 0 && i < c->n_witnesses && i < WITMSG_WITNESSES; i++) {
		struct peer *p = &peers[n_peers++];

		snprintf(p->url, sizeof(p->url), "%s", c->witnesses[i].url);
		if ((r = cosig_vkey_parse(c->witnesses[i].vkey, strlen(c->witnesses[i].vkey),
					  &p->key)))
			snprintf(err, errlen, "witness %zu: bad vkey", i + 1);
	}
	free(c); /* the rest of the configuration is not this process's */
	return r < 0 ? r : r ? -EINVAL : 0;
}

int witw_main(const char *config, const char *ctl_fd)
{
	struct witmsg *q = calloc(1, sizeof(*q)), *a = calloc(1, sizeof(*a));
	char err[WITMSG_TEXT_MAX] = "";
	int ctl = chanspawn_parse_fd(ctl_fd), r;

	if (ctl < 0 || !q || !a)
		return 2;
	/* nothing of the daemon's but the channel and stdio */
	if (ctl > 3)
		syscall(SYS_close_range, 3U, (unsigned)ctl - 1, 0);
	syscall(SYS_close_range, (unsigned)ctl + 1, ~0U, 0);
	r = load(config, err, sizeof(err));
	if (r == 0 && (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h = curl_easy_init()))) {
		r = -ENOMEM;
		snprintf(err, sizeof(err), "witness client: libcurl did not start");
	}
	attack_arm();
	if (r == 0 && (r = lock_down()) < 0)
		snprintf(err, sizeof(err), "witness client: lock-down failed: %s", strerror(-r));
	a->type = WM_READY;
	a->rc = r < -4095 ? -EIO : r;
	a->count = (uint8_t)n_peers;
	a->len = strlen(r < 0 ? err : "");
	memcpy(a->data, r < 0 ? err : "", a->len + 1);
	witmsg_clean_text(a->data, &a->len);
	if (witmsg_send(ctl, a) < 0 || r < 0)
		_exit(r < 0 ? 1 : 3);
	log_debug("witness client %d ready (landlock ABI %d)", (int)getpid(), witw_landlock_abi);
	for (;;) {
		r = witmsg_recv(ctl, -1, q);
		if (r == -ECONNRESET)
			_exit(0); /* dockd is gone or stopping */
		if (r == 0 && (q->type != WM_POST || q->witness >= n_peers))
			r = -EPROTO;
		if (r < 0) {
			log_error("witness client: channel: %s", strerror(-r));
			_exit(3);
		}
		answer(q, a);
		if (attack_send(ctl, a))
			continue;
		if ((r = witmsg_send(ctl, a)) < 0) {
			log_error("witness client: cannot answer: %s", strerror(-r));
			_exit(r == -ECONNRESET ? 0 : 3);
		}
	}
}
