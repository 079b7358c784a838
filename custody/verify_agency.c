/*
 * verify_agency.c - `custody verify --agency`: trust nothing on the dock
 * but what the agency signed (docs/trust.md, "Verification in agency
 * mode").
 *
 *  1. Checkpoint keys: only from custody_certified events (read from the
 *     canonical bytes, the signed form) whose note verifies under the
 *     agency vkey and certifies this log's origin. A certificate that
 *     does not verify or names another origin is a finding.
 *  2. Witness policy: the auditor's file, or else the witness_policy
 *     event of the highest version whose note verifies; none is a
 *     finding.
 *  3. Cosignatures (custody/cosig.h) of every validly signed checkpoint,
 *     from the checkpoint_cosigs table and from cosignature lines in the
 *     note itself: a known witness whose cosignature fails is a finding
 *     (the checkpoint was re-signed after the witness saw it); the
 *     newest checkpoint must reach the quorum; older ones that do not
 *     are reported (info); events after the newest witnessed checkpoint
 *     whose root the ledger reproduces are "not yet witnessed".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agencynote.h"
#include "cosig.h"
#include "verify_int.h"

#define MAX_CERT_KEYS 64	/* distinct certified checkpoint keys */
#define MAX_INFO 20		/* unwitnessed checkpoints listed one by one */

struct vagency {
	struct ckpt_vkey keys[MAX_CERT_KEYS];
	size_t n_keys;
	char origin[CKPT_MAX_ORIGIN + 1];
	struct agn_witnesses pol;
	int have_pol, pol_fixed;	/* fixed: given by the auditor */
	uint64_t pol_seq;
};

static void info(struct vctx *v, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void info(struct vctx *v, uint64_t seq, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!v->o->info)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->o->info(v->arg, "info", seq, msg);
}

static const char *why(int r)
{
	return r == -EXDEV ? "names another agency than the agency key" :
	       r == -EMEDIUMTYPE ? "is another kind of statement" : checkpoint_strerror(r);
}

int verify_agency_init(struct vctx *v)
{
	struct vagency *ag = calloc(1, sizeof(*ag));
	int r;

	if (!ag)
		return -ENOMEM;
	v->ag = ag;
	if (v->o->origin && *v->o->origin)
		snprintf(ag->origin, sizeof(ag->origin), "%s", v->o->origin);
	if (v->o->witness_note) {
		r = agn_open_witnesses(v->o->witness_note, v->o->witness_len, v->o->agency,
				       &ag->pol);
		if (r) {
			cust_ledger_seterr(v->l, "the witness policy given does not verify under "
					   "the agency key: %s", why(r));
			return r;
		}
		ag->have_pol = ag->pol_fixed = 1;
	}
	return 0;
}

void verify_agency_free(struct vctx *v)
{
	free(v->ag);
	v->ag = NULL;
}

/* details.note of ev (borrowed from *d, which the caller decrefs). */
static const char *note_of(const struct cust_event *ev, json_t **d, size_t *len)
{
	json_t *n;

	*d = NULL;
	if (cust_event_details(ev, d))
		return NULL;
	n = json_object_get(*d, "note");
	if (!json_is_string(n))
		return NULL;
	*len = json_string_length(n);
	return json_string_value(n);
}

static void add_cert(struct vctx *v, const struct cust_event *ev)
{
	struct vagency *ag = v->ag;
	struct agn_cert c;
	const char *note;
	json_t *d;
	size_t len = 0, i;
	int r = -EBADMSG;

	if ((note = note_of(ev, &d, &len)))
		r = agn_open_cert(note, len, v->o->agency, &c);
	json_decref(d);
	if (r) {
		verify_find(v, "custody-cert", ev->seq, "custody_certified event: the "
			    "certificate %s: its key is not trusted", note ? why(r) :
			    "is missing (no \"note\" in details)");
		return;
	}
	if (!ag->origin[0])
		snprintf(ag->origin, sizeof(ag->origin), "%s", c.origin);
	if (strcmp(c.origin, ag->origin)) {
		verify_find(v, "custody-cert", ev->seq, "custody_certified event: the agency "
			    "certified dock %s for log '%s', not for this log '%s': its key is "
			    "not trusted here", c.dock, c.origin, ag->origin);
		return;
	}
	for (i = 0; i < ag->n_keys; i++)
		if (!memcmp(ag->keys[i].pub, c.ckpt_key.pub, EDKEY_PUB_LEN))
			return;
	if (ag->n_keys == MAX_CERT_KEYS) {
		verify_find(v, "custody-cert", ev->seq, "more than %d certified checkpoint keys",
			    MAX_CERT_KEYS);
		return;
	}
	ag->keys[ag->n_keys++] = c.ckpt_key;
	v->res.certified_keys = ag->n_keys;
}

static void add_policy(struct vctx *v, const struct cust_event *ev)
{
	struct vagency *ag = v->ag;
	struct agn_witnesses *w = malloc(sizeof(*w));
	const char *note;
	json_t *d;
	size_t len = 0;
	int r = -EBADMSG;

	if (!w) {
		verify_find(v, "witness-policy", ev->seq, "out of memory");
		return;
	}
	if ((note = note_of(ev, &d, &len)))
		r = agn_open_witnesses(note, len, v->o->agency, w);
	json_decref(d);
	if (r)
		verify_find(v, "witness-policy", ev->seq, "witness_policy event: the policy %s",
			    note ? why(r) : "is missing (no \"note\" in details)");
	else if (!ag->have_pol || w->version >= ag->pol.version) {
		ag->pol = *w;
		ag->have_pol = 1;
		ag->pol_seq = ev->seq;
	}
	free(w);
}

void verify_agency_event(struct vctx *v, const struct cust_event *ev)
{
	if (ev->action == CUST_A_CUSTODY_CERTIFIED)
		add_cert(v, ev);
	else if (ev->action == CUST_A_WITNESS_POLICY && !v->ag->pol_fixed)
		add_policy(v, ev);
}

void verify_agency_keys(struct vctx *v, const struct ckpt_vkey **keys, size_t *n)
{
	*keys = v->ag->keys;
	*n = v->ag->n_keys;
}

/* ---- cosignatures ---- */

static void stamp(uint8_t *ok, uint64_t *ts, size_t k, uint64_t t)
{
	ok[k] = 1;
	if (t > ts[k])
		ts[k] = t;
}

/* Cosignatures of one checkpoint copy c, merged into ok[] and ts[] (per
 * witness of the policy: valid, newest signed time). */
static void copy_cosigs(struct vctx *v, const struct ck *c, uint8_t *ok, uint64_t *ts)
{
	const struct agn_witnesses *w = &v->ag->pol;
	uint8_t mine[AGN_MAX_ENTRIES];
	uint64_t oldest = 0;
	size_t cnt = 0;
	int r;

	r = cosig_note_check(c->note, c->len, w->w, w->n, mine, &cnt, &oldest);
	if (r) {
		verify_find(v, "cosignature", 0, "%s checkpoint %llu: a witness cosignature in "
			    "the note does not verify (%s): the checkpoint was re-signed after "
			    "the witness saw it, or the cosignature is forged",
			    c->ext ? "external" : "ledger", (unsigned long long)c->size,
			    checkpoint_strerror(r));
		return;
	}
	for (size_t i = 0; i < w->n; i++)
		if (mine[i])	/* the oldest line's time: a lower bound */
			stamp(ok, ts, i, oldest);
}

/* Rows of checkpoint_cosigs for `size` (the table may not exist: none). */
static int table_cosigs(struct vctx *v, const struct ck *c, uint8_t *ok, uint64_t *ts)
{
	const struct agn_witnesses *w = &v->ag->pol;
	sqlite3_stmt *s;
	size_t tlen, sigs, k;
	int rc;

	if (cosig_note_text(c->note, c->len, &tlen, &sigs))
		return 0;
	rc = sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT witness, line FROM "
				"checkpoint_cosigs WHERE size = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return strstr(sqlite3_errmsg(cust_ledger_db(v->l)), "no such table") ? 0 :
		       cust_ledger_sqlerr(v->l, rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)c->size);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *who = (const char *)sqlite3_column_text(s, 0);
		const char *line = (const char *)sqlite3_column_text(s, 1);
		int n = sqlite3_column_bytes(s, 1);
		uint64_t t = 0;
		int r;

		if (!line || n <= 0 || n > COSIG_MAX_LINE)
			continue;
		r = cosig_verify(c->note, tlen, line, (size_t)n, w->w, w->n, &k, &t);
		if (r == 0)
			stamp(ok, ts, k, t);
		else if (r != -ENOKEY)
			verify_find(v, "cosignature", 0, "checkpoint %llu: the cosignature stored "
				    "for witness %s does not verify (%s): the checkpoint was "
				    "re-signed after the witness saw it, or the cosignature is "
				    "forged", (unsigned long long)c->size, who ? who : "?",
				    checkpoint_strerror(r));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : cust_ledger_sqlerr(v->l, rc);
}

static unsigned count(const uint8_t *ok, size_t n)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += ok[i] != 0;
	return c;
}

/* Time of event seq (informational: the column). */
static int64_t event_time(struct vctx *v, uint64_t seq)
{
	sqlite3_stmt *s;
	int64_t t = 0;

	if (sqlite3_prepare_v2(cust_ledger_db(v->l), "SELECT time_ns FROM events WHERE seq = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	if (sqlite3_step(s) == SQLITE_ROW)
		t = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return t;
}

/* The time by which a quorum had cosigned: the quorum-th newest of the
 * witnesses' signed times (no single witness decides it). */
static uint64_t quorum_time(const uint8_t *ok, const uint64_t *ts, size_t n, unsigned quorum)
{
	uint64_t t[AGN_MAX_ENTRIES];
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (ok[i])
			t[m++] = ts[i];
	for (size_t i = 0; i < m; i++)		/* tiny: selection sort, descending */
		for (size_t j = i + 1; j < m; j++)
			if (t[j] > t[i]) {
				uint64_t x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	return quorum && m >= quorum ? t[quorum - 1] : 0;
}

/* The newest checkpoint is not witnessed: a finding unless the newest
 * witnessed one was cosigned (witness-signed time) within the grace. */
static void judge_tail(struct vctx *v, uint64_t newest, unsigned newest_count,
		       uint64_t witnessed, uint64_t w_time, int64_t now)
{
	const struct agn_witnesses *w = &v->ag->pol;
	int64_t age = (int64_t)(now - (int64_t)w_time);

	if (!newest) {
		if (v->n)
			verify_find(v, "unwitnessed", 0, "no checkpoint signed by a certified key: "
				    "nothing outside the dock vouches for events 1..%llu",
				    (unsigned long long)v->n);
		return;
	}
	if (newest_count >= w->quorum)
		return;
	if (!witnessed)
		verify_find(v, "unwitnessed", 0, "no checkpoint carries the %u witness "
			    "cosignatures the agency requires (policy version %llu): nothing "
			    "outside the dock vouches for any event", w->quorum,
			    (unsigned long long)w->version);
	else if (age > v->o->witness_grace_s)
		verify_find(v, "unwitnessed", witnessed + 1, "the newest checkpoint (%llu) "
			    "carries %u of the %u witness cosignatures the agency requires; the "
			    "newest witnessed one (%llu) was cosigned %lld s ago, more than the "
			    "%lld s allowed: events %llu.. rest on the dock's word alone",
			    (unsigned long long)newest, newest_count, w->quorum,
			    (unsigned long long)witnessed, (long long)age,
			    (long long)v->o->witness_grace_s, (unsigned long long)witnessed + 1);
	else
		info(v, 0, "the newest checkpoint (%llu) is not witnessed yet; checkpoint %llu "
		     "was cosigned %lld s ago (within the %lld s allowed)",
		     (unsigned long long)newest, (unsigned long long)witnessed, (long long)age,
		     (long long)v->o->witness_grace_s);
}

static int check_witnessed(struct vctx *v)
{
	const struct agn_witnesses *w = &v->ag->pol;
	uint8_t ok[AGN_MAX_ENTRIES];
	uint64_t ts[AGN_MAX_ENTRIES], w_time = 0;
	uint64_t newest = 0, witnessed = 0, listed = 0, unw = 0;
	unsigned newest_count = 0;
	struct timespec now;
	size_t i, j;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < v->n_cks; i = j) {
		int any_valid = 0, matched = 0;
		unsigned k;

		memset(ok, 0, sizeof(ok));
		memset(ts, 0, sizeof(ts));
		for (j = i; j < v->n_cks && v->cks[j].size == v->cks[i].size; j++) {
			if (!v->cks[j].valid)
				continue;
			any_valid = 1;
			matched |= v->cks[j].matched;
			copy_cosigs(v, &v->cks[j], ok, ts);
			if (!v->cks[j].ext && (r = table_cosigs(v, &v->cks[j], ok, ts)))
				return r;
		}
		if (!any_valid)
			continue;
		k = count(ok, w->n);
		newest = v->cks[i].size;
		newest_count = k;
		if (k >= w->quorum && matched) {
			witnessed = newest;
			w_time = quorum_time(ok, ts, w->n, w->quorum);
		}
		else if (k < w->quorum && listed++ < MAX_INFO)
			unw++, info(v, 0, "checkpoint %llu: %u of %u witness cosignatures "
				    "(not witnessed)", (unsigned long long)newest, k, w->quorum);
		else if (k < w->quorum)
			unw++;
	}
	if (unw > MAX_INFO)
		info(v, 0, "%llu checkpoints not witnessed in all", (unsigned long long)unw);
	judge_tail(v, newest, newest_count, witnessed, w_time, (int64_t)now.tv_sec);
	v->res.witnessed = witnessed;
	v->res.witnessed_time = w_time;
	if (witnessed < v->n) {
		int64_t t = event_time(v, witnessed + 1);

		v->res.oldest_unwitnessed_ns = t;
		info(v, witnessed + 1, "events %llu..%llu are not yet witnessed; the oldest is "
		     "%lld s old", (unsigned long long)witnessed + 1, (unsigned long long)v->n,
		     t ? (long long)(now.tv_sec - t / 1000000000) : -1LL);
	}
	return 0;
}

int verify_agency_finish(struct vctx *v)
{
	struct vagency *ag = v->ag;

	if (!ag->n_keys)
		verify_find(v, "custody-cert", 0, "no custody_certified event carries a "
			    "certificate signed by the agency: no checkpoint key is trusted");
	if (!ag->have_pol) {
		verify_find(v, "witness-policy-missing", 0, "no witness policy signed by the "
			    "agency (give --witnesses FILE or record one): checkpoints cannot be "
			    "checked against witnesses");
		return 0;
	}
	v->res.witness_policy_version = ag->pol.version;
	return check_witnessed(v);
}
