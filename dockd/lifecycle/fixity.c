/* fixity.c - fixity audits (fixity.h): choosing the items, pacing and
 * yielding to ingest, checking each copy (fixity_checked), the run.
 * Repairs: fixity_repair.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evstate.h"
#include "fixity.h"
#include "fixity_int.h"
#include "ingact.h"
#include "log.h"
#include "query.h"

#define READ_BUF (1u << 20)

#define CREDIT_NS 250000000LL	/* a read may start this much early (no bursts) */
#define POLL_NS 100000000LL	/* how often a paused run looks at ingest */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	if (ns > 0)
		nanosleep(&ts, NULL);
}

static bool cancelled(const struct fixity_env *e)
{
	return e->cancel && atomic_load(e->cancel);
}

static bool ingest_busy(const struct fixity_env *e)
{
	return e->busy && e->busy(e->busy_arg);
}

/* Before a read or an event: wait while ingest runs, within the run's
 * pause budget (max_pause_s over the whole run); then note whether
 * ingest still runs (pace() reads at busy_bytes_per_s then). */
void fixity_yield(struct fix_run *x)
{
	const struct fixity_env *e = x->e;
	int64_t budget = (int64_t)e->max_pause_s * 1000000000, t0, t;
	bool busy = ingest_busy(e);

	if (busy && !x->spent && budget > 0) {
		if (!x->waiting) {
			x->waiting = true;
			x->st->pauses++;
			log_info("fixity: paused: a camera is being ingested (this run waits at most"
				 " %" PRId64 " s more)", (budget - x->paused_ns) / 1000000000);
		}
		t0 = t = mono_ns();
		while (busy && !cancelled(e) && x->paused_ns + (t - t0) < budget) {
			int64_t left = budget - x->paused_ns - (t - t0);
			nap_ns(left < POLL_NS ? left : POLL_NS);
			t = mono_ns();
			busy = ingest_busy(e);
		}
		x->paused_ns += t - t0;
		x->st->paused_ms = (uint64_t)(x->paused_ns / 1000000);
		x->due_ns = t;	/* the pause earns no reading credit */
		if (busy && !cancelled(e)) {
			x->spent = true;	/* spent: from now on no more waiting in this run */
			log_warning("fixity: waited %" PRIu32 " s (max_pause_s) for ingest in this run:"
				    " goes on at %" PRIu64 " bytes/s while ingest runs",
				    e->max_pause_s, e->busy_bytes_per_s);
		}
	}
	if (!busy && x->waiting) {
		x->waiting = false;
		log_info("fixity: resumed: no ingest for %u ms (waited %.1f s in this run)",
			 INGACT_QUIET_MS, (double)x->paused_ns / 1e9);
	}
	x->busy_now = busy;
}

/* After reading n bytes: sleep so that reads stay under the rate in force
 * (busy_bytes_per_s while ingest runs past the budget, else bytes_per_s). */
static void pace(struct fix_run *x, uint64_t n)
{
	const struct fixity_env *e = x->e;
	uint64_t rate = e->bytes_per_s;
	int64_t now = mono_ns();

	if (x->busy_now) {
		x->st->busy_bytes += n;
		if (e->busy_bytes_per_s && (!rate || e->busy_bytes_per_s < rate))
			rate = e->busy_bytes_per_s;
	}
	if (!rate)
		return;
	if (x->due_ns < now - CREDIT_NS)
		x->due_ns = now - CREDIT_NS;
	x->due_ns += (int64_t)((double)n * 1e9 / (double)rate);
	while (now < x->due_ns && !cancelled(e)) {
		nap_ns(x->due_ns - now < 2 * POLL_NS ? x->due_ns - now : 2 * POLL_NS);
		now = mono_ns();
	}
}

static void lk(const struct fixity_env *e)
{
	if (e->lock)
		e->lock(e->lock_arg);
}

static void ulk(const struct fixity_env *e)
{
	if (e->unlock)
		e->unlock(e->lock_arg);
}


static int unhex(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* The items to audit, least recently audited first. Facts come from the
 * events (the evidence record has no ciphertext hash). */
static const char pick_sql[] =
	"SELECT evidence_id, local_copy, object_key, retention_until, legal_hold,"
	" (SELECT json_extract(v.details, '$.ct_sha256') FROM events v WHERE"
	"  v.evidence_id = e.evidence_id AND v.action = 11 AND v.outcome = 1"
	"  ORDER BY v.seq DESC LIMIT 1),"
	" (SELECT json_extract(v.details, '$.location') FROM events v WHERE"
	"  v.evidence_id = e.evidence_id AND v.action = 11 AND v.outcome = 1"
	"  ORDER BY v.seq DESC LIMIT 1),"
	" (SELECT json_extract(v.details, '$.ct_size') FROM events v WHERE"
	"  v.evidence_id = e.evidence_id AND v.action = 5 AND v.outcome = 1"
	"  ORDER BY v.seq DESC LIMIT 1),"
	" (SELECT json_extract(v.details, '$.path') FROM events v WHERE"
	"  v.evidence_id = e.evidence_id AND v.action = 8 AND v.outcome = 1"
	"  ORDER BY v.seq DESC LIMIT 1),"
	" (SELECT max(v.seq) FROM events v WHERE v.evidence_id = e.evidence_id"
	"  AND v.action = 28) AS last, version_id"
	" FROM evidence e WHERE agency_id = ?1 AND status = 'verified'"
	" ORDER BY last IS NOT NULL, last, first_seq LIMIT ?2";

static int pick(const struct fixity_env *e, struct fix_item **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	struct fix_item *v = calloc(e->items ? e->items : 1, sizeof(*v));
	size_t k = 0;
	int rc;

	if (!v)
		return -ENOMEM;
	lk(e);
	rc = sqlite3_prepare_v2(cust_ledger_db(e->l), pick_sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, e->agency, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, e->items);
		while (k < e->items && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct fix_item *it = &v[k];
			col(s, 0, it->id, sizeof(it->id));
			it->local_copy = sqlite3_column_int(s, 1);
			col(s, 2, it->key, sizeof(it->key));
			col(s, 3, it->retention, sizeof(it->retention));
			it->hold = sqlite3_column_int(s, 4);
			col(s, 5, it->sha_hex, sizeof(it->sha_hex));
			col(s, 6, it->storage_loc, sizeof(it->storage_loc));
			it->size = (uint64_t)sqlite3_column_int64(s, 7);
			col(s, 8, it->vault, sizeof(it->vault));
			col(s, 10, it->version, sizeof(it->version));
			/* no recorded hash: nothing to compare with */
			if (unhex(it->sha_hex, it->sha) == 0 && sqlite3_column_type(s, 7) == SQLITE_INTEGER)
				k++;
		}
		if (rc == SQLITE_ROW)
			rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	ulk(e);
	if (rc != SQLITE_DONE) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n = k;
	return 0;
}

/* SHA-256 and length of a whole file (vault copies); x (may be NULL)
 * yields to ingest and paces before/after each read. */
int fixity_hash_file(struct fix_run *x, const char *path, uint8_t md[32], uint64_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(READ_BUF);
	uint64_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0)
		r = -errno;
	else if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		r = -ENOMEM;
	else
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* the disk, not the cache */
	while (r == 0) {
		if (x)
			fixity_yield(x);
		ssize_t got = read(fd, buf, READ_BUF);
		if (got < 0 && errno == EINTR)
			continue;
		if (x && got > 0)
			pace(x, (uint64_t)got);
		if (got < 0)
			r = -errno;
		else if (got == 0)
			break;
		else if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1)
			r = -ENOMEM;
		else
			n += (uint64_t)got;
	}
	if (r == 0 && EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		r = -ENOMEM;
	if (r == 0)
		*len = n;
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

int fixity_append(struct fix_run *x, enum cust_action a, const char *id,
		  enum cust_outcome o, json_t *d)
{
	const struct fixity_env *e = x->e;
	struct cust_event ev;
	int r;

	/* no event while a pull runs: looked at again under the ledger lock,
	 * which every ingest event takes too; the event is made (its time
	 * taken) only then, so a pause never leaves it dated before the
	 * pull's events */
	for (;;) {
		fixity_yield(x);
		lk(e);
		if (x->spent || !e->max_pause_s || cancelled(e) || !ingest_busy(e))
			break;	/* (budget spent or none: no more waiting) */
		ulk(e);
	}
	r = cust_event_init(&ev, e->agency, CUST_ACTOR_DOCK, e->actor_id, a, id, o);
	if (r == 0 && e->reason)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), e->reason);
	if (r == 0)
		r = d ? cust_event_set_details(&ev, d) : -ENOMEM;
	if (r == 0)
		r = cust_ledger_append(e->l, &ev);
	ulk(e);
	json_decref(d);
	if (r < 0)
		log_error("fixity: %s: cannot record %s: %s", id, cust_action_name(a), strerror(-r));
	return r;
}

void fixity_alert(const struct fixity_env *e, const char *id, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warning("fixity: %s: %s", id, msg);
	if (e->alert)
		e->alert(e->alert_arg, id, msg);
}

/* The ledger still says the dock holds a vault copy of id. The purge
 * records local_purged before it unlinks: a vault file missing while this
 * is false was purged (or destroyed) after the items were chosen, which
 * is no damage. */
static bool still_local(const struct fixity_env *e, const char *id)
{
	sqlite3_stmt *q = NULL;
	bool local = true;	/* when in doubt, report the missing copy */

	lk(e);
	if (sqlite3_prepare_v2(cust_ledger_db(e->l), "SELECT local_copy FROM evidence WHERE"
			       " evidence_id = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			local = sqlite3_column_int(q, 0) != 0;
	}
	sqlite3_finalize(q);
	ulk(e);
	return local;
}

/* Check one copy (copy = "vault" | "storage"), record fixity_checked. */
static int check(struct fix_run *x, const struct fix_item *it, const char *copy,
		 enum fix_outcome *res)
{
	const struct fixity_env *e = x->e;
	struct fixity_stats *st = x->st;
	const char *loc = copy[0] == 'v' ? it->vault : it->storage_loc;
	uint8_t md[32];
	char got[65] = "";
	uint64_t len = 0;
	int r;

	if (copy[0] == 'v') {
		r = fixity_hash_file(x, it->vault, md, &len);
	} else {
		fixity_yield(x);	/* one request: the pause applies before it */
		r = e->store->ops->hash(e->store, it->key, md, &len);
		pace(x, len);
	}
	if (copy[0] == 'v' && r == -ENOENT && !still_local(e, it->id)) {
		log_debug("fixity: %s: vault copy purged since the audit began: not checked", it->id);
		*res = FIX_GONE;
		return 0;
	}
	st->copies++;
	st->bytes += len;
	if (r == 0)
		hex(md, got);
	if (r == 0 && len == it->size && !memcmp(md, it->sha, 32))
		*res = FIX_OK;
	else if (r == 0 || r == -ENOENT)
		*res = FIX_FAILED;	/* other bytes, or the copy is gone */
	else
		*res = FIX_ERROR;
	*res == FIX_OK ? st->ok++ : *res == FIX_FAILED ? st->failed++ : st->errors++;
	r = fixity_append(x, CUST_A_FIXITY_CHECKED, it->id,
		   *res == FIX_OK ? CUST_OUTCOME_OK : *res == FIX_FAILED ? CUST_OUTCOME_FAILED :
		   CUST_OUTCOME_ERROR,
		   json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s?}", "copy", copy, "location", loc,
			     "expected_sha256", it->sha_hex, "actual_sha256", got,
			     "expected_size", (json_int_t)it->size, "actual_size", (json_int_t)len,
			     "outcome", *res == FIX_OK ? "ok" : *res == FIX_FAILED ? "failed" : "error",
			     "error", *res == FIX_ERROR ? strerror(-r) : NULL));
	if (*res == FIX_FAILED)
		fixity_alert(e, it->id, "%s copy damaged or missing at %s", copy, loc);
	else if (*res == FIX_ERROR)
		log_warning("fixity: %s: %s copy at %s could not be read", it->id, copy, loc);
	return r;
}


int fixity_run(const struct fixity_env *e, struct fixity_stats *out)
{
	struct fixity_stats st = { 0 };
	struct fix_run x = { .e = e, .st = &st, .due_ns = mono_ns() };
	struct fix_item *v = NULL;
	size_t n = 0;
	int r;

	if (!e->items)
		return 0;
	fixity_yield(&x);	/* not even the query while a pull runs */
	if ((r = pick(e, &v, &n)) < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct fix_item *it = &v[i];
		enum fix_outcome vr = FIX_ERROR, sr = FIX_ERROR;
		bool has_v = it->local_copy && it->vault[0];
		bool has_s = e->store && e->store->ops->hash && it->key[0] && it->storage_loc[0];

		if (cancelled(e))
			break;
		if (!has_v && !has_s)
			continue;
		st.items++;
		if (has_v && (r = check(&x, it, "vault", &vr)) < 0)
			break;
		if (has_s && (r = check(&x, it, "storage", &sr)) < 0)
			break;
		if (has_v && has_s && vr == FIX_FAILED && sr == FIX_OK && e->store->ops->fetch)
			r = fixity_repair(&x, it, "vault", NULL);
		else if (has_v && has_s && sr == FIX_FAILED && vr == FIX_OK && e->store->ops->replace)
			r = fixity_repair(&x, it, "storage", NULL);
		else if (!has_v && sr == FIX_FAILED && it->version[0] && strcmp(it->version, "null") &&
			 e->store->ops->fetch && e->store->ops->replace)
			/* no vault copy: the version storage_verified checked,
			 * if it still holds the recorded bytes (versioned bucket) */
			r = fixity_repair(&x, it, "storage", it->version);
		else if (vr == FIX_FAILED || sr == FIX_FAILED) {
			st.unrepaired++;
			fixity_alert(e, it->id, "no verified second copy to repair from: keep the"
			      " damaged copy, restore from backup");
		}
	}
	free(v);
	log_info("fixity: audit of %" PRIu32 " item(s): %" PRIu32 " copies, %" PRIu32 " ok, %" PRIu32
		 " damaged, %" PRIu32 " unreadable, %" PRIu32 " repaired, %" PRIu64 " bytes read;"
		 " paused %" PRIu32 " time(s) for ingest, %.1f s, %" PRIu64 " bytes read during ingest",
		 st.items, st.copies, st.ok, st.failed, st.errors, st.repaired, st.bytes, st.pauses,
		 (double)st.paused_ms / 1000.0, st.busy_bytes);
	if (out)
		*out = st;
	return r;
}
