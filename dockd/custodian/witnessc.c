/* witnessc.c - sending checkpoints to witnesses (see witnessc.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "cosig.h"
#include "daemon.h"
#include "ledger_cosig.h"
#include "ledgerw.h"
#include "publish.h"
#include "log.h"
#include "witness.h"
#include "witness_audit.h"
#include "witnessc.h"
#include "witr.h"

#define RESP_MAX 4096
#define MAX_409  3

struct wpeer {
	char url[300];
	struct ckpt_vkey key;
	uint64_t known;		/* size the witness holds, as far as we know */
	bool known_valid;
	time_t next_try;	/* after a failure */
	uint64_t alerted;	/* checkpoint size last alerted about: once each */
	unsigned fails;		/* attempts failed in a row (status) */
	time_t last_try;
	char err[160];		/* the last failure, for the status view */
};

struct witnessc {
	struct dockd *d;
	struct cust_ledger *ro;	/* our own read-only connection */
	char ext_dir[CUST_CONFIG_PATH_MAX];
	struct wpeer peers[DOCK_CONFIG_MAX_WITNESSES];
	size_t n;
	uint32_t timeout_s, retry_s;
	struct witr *proc;	/* the witness client process: the network (witr.h) */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, started;
};

struct resp {
	char buf[RESP_MAX + 1];
	size_t len;
};

/* POST body to witness p through the witness client process: HTTP
 * status (0: no answer; r->buf says why). */
static long post(struct witnessc *wc, const struct wpeer *p, const char *body,
		 size_t len, struct resp *r)
{
	long status = 0;

	memset(r, 0, sizeof(*r));
	if (witr_post(wc->proc, (unsigned)(p - wc->peers), body, len, &status, r->buf,
		      sizeof(r->buf)) < 0)
		status = 0;
	r->len = strlen(r->buf);
	return status;
}

static int latest(struct witnessc *wc, uint64_t *size)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(cust_ledger_db(wc->ro), "SELECT coalesce(max(size),"
				" 0) FROM checkpoints", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(s);
	*size = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static void publish(struct witnessc *wc, uint64_t size)
{
	char name[64], *note = NULL;
	size_t len = 0;
	int r;

	if (!wc->ext_dir[0])
		return;
	snprintf(name, sizeof(name), "checkpoint.%" PRIu64 ".cosigned", size);
	if ((r = cust_cosig_note(wc->ro, size, &note, &len)) == 0)
		r = witness_write_file(wc->ext_dir, name, note, len, 0);
	if (r)
		log_warning("%s/%s: cannot publish: %s", wc->ext_dir, name, strerror(-r));
	free(note);
}

/* Verify and store each cosignature line of a 200 answer: 0 if at least
 * one verified and was stored. */
static int take(struct witnessc *wc, struct wpeer *p, uint64_t size,
		const char *req, size_t req_len, struct resp *r)
{
	struct witness_req rq;
	size_t tlen, sigs, stored = 0;
	char *line = r->buf;
	int e;

	if (witness_req_parse(req, req_len, &rq) ||
	    cosig_note_text(rq.note, rq.note_len, &tlen, &sigs))
		return -EBADMSG;
	while (*line) {
		char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);

		if (nl)
			*nl = '\0';
		e = cosig_verify(rq.note, tlen, line, ll, &p->key, 1, NULL, NULL);
		if (e == 0) {
			ledgerw_lock(wc->d->w);
			e = cust_cosig_add(ledgerw_ledger(wc->d->w), size,
					   p->key.name, line);
			ledgerw_unlock(wc->d->w);
			if (e == 0 || e == -EEXIST)
				stored++;
			else
				log_error("witness %s: cannot store the cosignature: %s",
					  p->key.name, strerror(-e));
		} else if (e != -ENOKEY) {
			log_error("witness %s: a cosignature line does not verify (%s)",
				  p->key.name, checkpoint_strerror(e));
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return stored ? 0 : -ENOKEY;
}

static void failed(struct witnessc *wc, struct wpeer *p)
{
	p->next_try = time(NULL) + (time_t)wc->retry_s;
	p->fails++;
}

/* The console's witness view (status.h): what this client knows of p. */
static void report(struct witnessc *wc, const struct wpeer *p, uint64_t latest)
{
	struct status_witness w = { .name = p->key.name, .url = p->url, .error = p->err,
				    .latest = latest, .last_try = p->last_try,
				    .failures = p->fails };

	(void)cust_cosig_last_at(wc->ro, p->key.name, &w.cosigned, &w.cosigned_ns);
	status_witness(wc->d->status, &w);
}

/* Alert once per witness and checkpoint (retries would repeat it every
 * retry_s); later ones only log. */
#define ALERT(wc, p, size, ...) do { \
		if ((p)->alerted != (size)) { \
			(p)->alerted = (size); \
			dockd_alert((wc)->d, "witness", (p)->key.name, __VA_ARGS__); \
		} else { \
			log_error(__VA_ARGS__); \
		} \
	} while (0)

/* Bring one witness up to checkpoint `size`. */
static void ask(struct witnessc *wc, struct wpeer *p, uint64_t size)
{
	struct resp *r = malloc(sizeof(*r));
	char *body = NULL;
	size_t len = 0;

	if (!r)
		return;
	if (!p->known_valid) {
		p->known = 0;
		(void)cust_cosig_last(wc->ro, p->key.name, &p->known);
		p->known_valid = true;
	}
	for (int tries = 0; tries <= MAX_409 && p->known < size; tries++) {
		long st;
		uint64_t held;
		char *end;

		free(body);
		body = NULL;
		if (wa_proof_text(wc->ro, p->known, size, &body, &len)) {
			log_error("witness %s: cannot build the proof %" PRIu64 " -> %"
				  PRIu64, p->key.name, p->known, size);
			failed(wc, p);
			break;
		}
		st = post(wc, p, body, len, r);
		p->last_try = time(NULL);
		if (st == 200)
			snprintf(p->err, sizeof(p->err), "HTTP 200 without a valid cosignature");
		else if (st)
			snprintf(p->err, sizeof(p->err), "HTTP %ld: %.100s", st, r->buf);
		else
			snprintf(p->err, sizeof(p->err), "no answer: %.120s", r->buf);
		if (st == 200) {
			if (take(wc, p, size, body, len, r) == 0) {
				log_info("witness %s cosigned checkpoint %" PRIu64,
					 p->key.name, size);
				p->known = size;
				p->fails = 0;
				p->err[0] = '\0';
				publish(wc, size);
			} else {
				ALERT(wc, p, size, "witness %s answered 200 without "
				      "a valid cosignature", p->key.name);
				failed(wc, p);
			}
			break;
		}
		if (st == 409) {
			held = strtoull(r->buf, &end, 10);
			if (end == r->buf || *end != '\n' || held == p->known) {
				failed(wc, p);
				break;
			}
			if (held > size) {
				ALERT(wc, p, size, "witness %s already cosigned size %"
				      PRIu64 " of this log, larger than this ledger's %"
				      PRIu64 ": rollback?", p->key.name, held, size);
				failed(wc, p);
				break;
			}
			p->known = held;
			continue;
		}
		if (st == 403 || st == 404 || st == 422)
			ALERT(wc, p, size, "witness %s refused checkpoint %" PRIu64
			      " (HTTP %ld): %.200s", p->key.name, size, st, r->buf);
		else
			log_warning("witness %s (%s): %s%ld %.200s; retry in %u s",
				    p->key.name, p->url, st ? "HTTP " : "", st,
				    r->buf, wc->retry_s);
		failed(wc, p);
		break;
	}
	free(body);
	free(r);
}

static void round_all(struct witnessc *wc, bool force)
{
	uint64_t size = 0;
	time_t now = time(NULL);

	if (latest(wc, &size) || size == 0)
		return;
	for (size_t i = 0; i < wc->n; i++) {
		struct wpeer *p = &wc->peers[i];

		if ((force || p->next_try <= now) &&
		    (!p->known_valid || p->known < size))
			ask(wc, p, size);
		report(wc, p, size);
	}
}

static void *run(void *arg)
{
	struct witnessc *wc = arg;
	struct timespec ts;

	pthread_mutex_lock(&wc->mu);
	while (!wc->stop) {
		pthread_mutex_unlock(&wc->mu);
		witr_tick(wc->proc); /* a dead witness client process: restarted */
		round_all(wc, false);
		pthread_mutex_lock(&wc->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (!wc->stop)
			pthread_cond_timedwait(&wc->cv, &wc->mu, &ts);
	}
	pthread_mutex_unlock(&wc->mu);
	return NULL;
}

/* The witness client process died or misbehaved (witr.c). */
static void proc_lost(void *ctx, const char *what)
{
	struct witnessc *wc = ctx;

	dockd_alert(wc->d, "witness-client", NULL, "%s", what);
}

int witnessc_start(struct dockd *d, const char *config_path,
		   const struct dock_config *c, struct witnessc **out)
{
	struct cust_config cc;
	struct witnessc *wc;
	char err[512], exe[PATH_MAX];
	ssize_t n;
	int r;

	*out = NULL;
	if (!c->n_witnesses)
		return 0;
	if ((r = cust_config_load(config_path, &cc, err, sizeof(err)))) {
		log_error("%s", err);
		return r;
	}
	if (!(wc = calloc(1, sizeof(*wc))))
		return -ENOMEM;
	wc->d = d;
	wc->timeout_s = c->witness_timeout_s;
	wc->retry_s = c->witness_retry_s;
	snprintf(wc->ext_dir, sizeof(wc->ext_dir), "%s", cc.external_checkpoint_dir);
	for (size_t i = 0; i < c->n_witnesses; i++) {
		struct wpeer *p = &wc->peers[wc->n++];

		snprintf(p->url, sizeof(p->url), "%s", c->witnesses[i].url);
		if ((r = cosig_vkey_parse(c->witnesses[i].vkey,
					  strlen(c->witnesses[i].vkey), &p->key)))
			goto fail;
	}
	pthread_mutex_init(&wc->mu, NULL);
	pthread_cond_init(&wc->cv, NULL);
	r = cust_ledger_open(cc.ledger_path, CUST_LEDGER_RDONLY, &wc->ro, err,
			     sizeof(err));
	if (r) {
		log_error("witness client: %s", err);
		goto fail;
	}
	/* the network is the witness client process's (witw.h), exec'd from
	 * the same program as the storage uploader is */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		r = n < 0 ? -errno : -ENOENT;
		log_error("witness client: /proc/self/exe: %s", strerror(-r));
		goto fail;
	}
	exe[n] = '\0';
	r = witr_open(exe, config_path, (unsigned)wc->n, wc->timeout_s, proc_lost, wc,
		      &wc->proc, err, sizeof(err));
	if (r < 0) {
		log_error("witness client: %s", err);
		goto fail;
	}
	if ((r = -pthread_create(&wc->th, NULL, run, wc)))
		goto fail;
	wc->started = true;
	log_info("witness client: %zu witness(es)", wc->n);
	*out = wc;
	return 0;
fail:
	witr_close(wc->proc);
	cust_ledger_close(wc->ro);
	free(wc);
	return r;
}

void witnessc_stop(struct witnessc *wc)
{
	if (!wc)
		return;
	pthread_mutex_lock(&wc->mu);
	wc->stop = true;
	pthread_cond_signal(&wc->cv);
	pthread_mutex_unlock(&wc->mu);
	if (wc->started)
		pthread_join(wc->th, NULL);
	round_all(wc, true);	/* the last checkpoint too, bounded by timeouts */
	witr_close(wc->proc);
	cust_ledger_close(wc->ro);
	pthread_cond_destroy(&wc->cv);
	pthread_mutex_destroy(&wc->mu);
	free(wc);
}
