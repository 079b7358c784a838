/*
 * evstate.c - how events change an evidence record (rules documented in
 * docs/custody-ledger.md, "Evidence records").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evstate.h"

const char cust_evstate_select_sql[] =
	"SELECT " CUST_EVSTATE_COLS " FROM evidence WHERE evidence_id = ?1";
const char cust_evstate_upsert_sql[] =
	"INSERT INTO evidence(" CUST_EVSTATE_COLS ") VALUES (?1, ?2, ?3, ?4, "
	"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
	"?20) ON CONFLICT(evidence_id) DO UPDATE SET agency_id = ?2, "
	"status = ?3, size = ?4, sha256 = ?5, officer = ?6, camera = ?7, "
	"category = ?8, retention_until = ?9, legal_hold = ?10, "
	"local_copy = ?11, object_key = ?12, version_id = ?13, etag = ?14, "
	"cases = ?15, first_seq = ?16, last_seq = ?17, n_events = ?18, "
	"first_ns = ?19, last_ns = ?20";
const char cust_evstate_case_sql[] =
	"INSERT OR IGNORE INTO evidence_cases(evidence_id, case_no) VALUES (?1, ?2)";

/* Bounded copy (truncates at cap - 1 bytes; snprintf("%s") semantics
 * without its cost: verify calls this several times per event). */
static void setn(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void set(char *dst, size_t cap, const char *s)
{
	setn(dst, cap, s ? s : "", s ? strlen(s) : 0);
}

/*
 * Event details as the rules read them. Details are canonical compact JSON
 * written by jansson; almost all are flat objects of plain ASCII strings
 * and integers, which flat_parse() reads directly (verify replays every
 * event, and a full jansson parse per event was a large share of its
 * time). Anything else - escapes, non-ASCII, nesting, reals, whitespace,
 * keys not strictly ascending (so no duplicates), more than DV_MAX
 * members - falls back to jansson, so both paths give the same values.
 */
#define DV_MAX 16
struct dview {
	json_t *j;			/* fallback parse, or NULL */
	int n;				/* flat members */
	struct { const char *k, *v; size_t kl, vl; char t; } m[DV_MAX];
	size_t used;			/* of buf */
	char buf[CUST_DETAILS_MAX];	/* unescaped string values */
};

/* Plain string body: printable ASCII without '"' or '\\'. */
static const char *flat_str(const char *p, size_t *len)
{
	const char *b = p;

	while (*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\')
		p++;
	if (*p != '"')
		return NULL;
	*len = (size_t)(p - b);
	return p + 1;
}

/* String value: like flat_str, but the two-character escapes jansson
 * writes for '"', '\\' and '/' are decoded into d->buf (an S3 ETag is a
 * quoted string). Any other escape: fall back. */
static const char *flat_vstr(struct dview *d, const char *p, const char **v,
			     size_t *len)
{
	const char *e = flat_str(p, len);
	char *o;

	*v = p;
	if (e || *p == '\0')
		return e;
	o = d->buf + d->used;
	*v = o;
	for (;;) {
		if (*p == '"')
			break;
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '/'))
			p++;
		else if (*p < 0x20 || *p > 0x7e || *p == '\\')
			return NULL;
		if (d->used >= sizeof(d->buf))
			return NULL;
		d->buf[d->used++] = *p++;
	}
	*len = (size_t)(d->buf + d->used - o);
	return p + 1;
}

static const char *flat_value(struct dview *d, const char *p, const char **v,
			      size_t *vl, char *t)
{
	const char *b = p;

	*v = p;
	if (*p == '"') {
		*t = 's';
		return flat_vstr(d, p + 1, v, vl);
	}
	if (*p == '-')
		p++;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		static const char *const words[] = { "true", "false", "null" };
		size_t i, wl;
		for (i = 0; i < 3; i++) {
			wl = strlen(words[i]);
			if (!strncmp(p, words[i], wl)) {
				*t = 'w';
				*vl = wl;
				return p + wl;
			}
		}
		return NULL;
	}
	/* integers only, and short enough to fit int64 whatever the digits */
	if (*p == '.' || *p == 'e' || *p == 'E' || p - b > 18 || p[-1] == '-')
		return NULL;
	*t = 'i';
	*vl = (size_t)(p - b);
	return p;
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : al < bl ? -1 : al > bl;
}

static int flat_parse(const char *s, struct dview *d)
{
	const char *p = s;

	d->n = 0;
	d->used = 0;
	if (!*p)
		return 0;		/* empty details mean "{}" */
	if (*p++ != '{')
		return -1;
	if (*p == '}')
		return p[1] ? -1 : 0;
	for (;;) {
		if (d->n == DV_MAX || *p++ != '"')
			return -1;
		d->m[d->n].k = p;
		if (!(p = flat_str(p, &d->m[d->n].kl)) || *p++ != ':')
			return -1;
		if (!(p = flat_value(d, p, &d->m[d->n].v, &d->m[d->n].vl, &d->m[d->n].t)))
			return -1;
		if (d->n && key_cmp(d->m[d->n - 1].k, d->m[d->n - 1].kl,
				    d->m[d->n].k, d->m[d->n].kl) >= 0)
			return -1;
		d->n++;
		if (*p == '}')
			return p[1] ? -1 : 0;
		if (*p++ != ',')
			return -1;
	}
}

static int dview_open(const struct cust_event *ev, struct dview *d)
{
	if (flat_parse(ev->details, d) == 0)
		return 0;
	d->n = 0;
	return cust_event_details(ev, &d->j) ? -EBADMSG : 0;
}

static void dview_close(struct dview *d)
{
	json_decref(d->j);
	d->j = NULL;
}

/* Member key of type t ('s' string, 'i' integer), or -1. */
static int dview_find(const struct dview *d, const char *key, char t)
{
	size_t kl = strlen(key);
	int i;

	for (i = 0; i < d->n; i++)
		if (d->m[i].kl == kl && !memcmp(d->m[i].k, key, kl))
			return d->m[i].t == t ? i : -1;
	return -1;
}

/* Copy a string member of details if present (non-strings ignored). */
static void take(const struct dview *d, const char *key, char *dst, size_t cap)
{
	json_t *v;
	int i;

	if (d->j) {
		v = json_object_get(d->j, key);
		if (json_is_string(v))
			set(dst, cap, json_string_value(v));
	} else if ((i = dview_find(d, key, 's')) >= 0) {
		setn(dst, cap, d->m[i].v, d->m[i].vl);
	}
}

/* An integer member of details, if present. */
static void take_int(const struct dview *d, const char *key, int64_t *dst)
{
	json_t *v;
	int i;

	if (d->j) {
		v = json_object_get(d->j, key);
		if (json_is_integer(v))
			*dst = json_integer_value(v);
	} else if ((i = dview_find(d, key, 'i')) >= 0) {
		*dst = strtoll(d->m[i].v, NULL, 10);
	}
}

/* Insert case into the sorted list (CUST_CASE_SEP-joined: a case number
 * may hold any printable text, commas included, never a control byte). */
static int add_case(char *cases, size_t cap, const char *c, int *added)
{
	char out[CUST_CASES_MAX];
	const char *p = cases;
	size_t o = 0, n;
	int placed = 0, w;

	*added = 0;
	while (*p || !placed) {
		const char *e = *p ? strchr(p, CUST_CASE_SEP) : NULL;
		char cur[CUST_CASE_MAX + 1] = "";

		if (*p) {
			n = e ? (size_t)(e - p) : strlen(p);
			if (n > CUST_CASE_MAX)
				n = CUST_CASE_MAX;
			memcpy(cur, p, n);
			cur[n] = '\0';
		}
		if (!placed && (!*p || strcmp(c, cur) <= 0)) {
			placed = 1;
			if (*p && !strcmp(c, cur))
				return 0;	/* already known */
			w = snprintf(out + o, sizeof(out) - o, "%s%s", o ? CUST_CASE_SEP_S : "", c);
			if (w < 0 || (size_t)w >= sizeof(out) - o)
				return -E2BIG;
			o += (size_t)w;
			*added = 1;
			continue;
		}
		w = snprintf(out + o, sizeof(out) - o, "%s%s", o ? CUST_CASE_SEP_S : "", cur);
		if (w < 0 || (size_t)w >= sizeof(out) - o)
			return -E2BIG;
		o += (size_t)w;
		p = e ? e + 1 : p + strlen(p);
	}
	if (o >= cap)
		return -E2BIG;
	memcpy(cases, out, o + 1);
	return 0;
}

/* Remove case c from the sorted list (absent: no change). */
static void remove_case(char *cases, const char *c)
{
	size_t cl = strlen(c);
	char *p = cases;

	while (*p) {
		char *e = strchr(p, CUST_CASE_SEP);
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == cl && !memcmp(p, c, n)) {
			if (e)			/* "a<US>c<US>d" -> "a<US>d" */
				memmove(p, e + 1, strlen(e + 1) + 1);
			else if (p > cases)	/* last: drop the separator too */
				p[-1] = '\0';
			else
				*p = '\0';
			return;
		}
		p += n + (e ? 1 : 0);
	}
}

static int needs_details(enum cust_action a)
{
	switch (a) {
	case CUST_A_DOCKED: case CUST_A_INGEST_STARTED: case CUST_A_INGESTED:
	case CUST_A_UPLOADED: case CUST_A_CATEGORIZED: case CUST_A_CASE_UNASSIGNED:
	case CUST_A_RETENTION_SET: case CUST_A_RETENTION_EXTENDED:
		return 1;
	default:
		return 0;
	}
}

static void apply_ok(struct cust_evstate *st, enum cust_action a,
		     const struct dview *d)
{
	switch (a) {
	case CUST_A_DOCKED:
		if (!st->status[0])
			set(st->status, sizeof(st->status), "docked");
		break;
	case CUST_A_INGEST_STARTED:
		set(st->status, sizeof(st->status), "ingesting");
		break;
	case CUST_A_INGESTED:
		set(st->status, sizeof(st->status), "ingested");
		take_int(d, "size", &st->size);
		take(d, "sha256", st->sha256, sizeof(st->sha256));
		break;
	case CUST_A_QUARANTINED:
		set(st->status, sizeof(st->status), "quarantined");
		break;
	case CUST_A_STORED_LOCAL:
		set(st->status, sizeof(st->status), "stored");
		st->local_copy = 1;
		break;
	case CUST_A_UPLOAD_STARTED:
		set(st->status, sizeof(st->status), "uploading");
		break;
	case CUST_A_UPLOADED:
		set(st->status, sizeof(st->status), "uploaded");
		take(d, "object_key", st->object_key, sizeof(st->object_key));
		take(d, "version_id", st->version_id, sizeof(st->version_id));
		take(d, "etag", st->etag, sizeof(st->etag));
		break;
	case CUST_A_STORAGE_VERIFIED:
		set(st->status, sizeof(st->status), "verified");
		break;
	case CUST_A_LOCAL_PURGED:
		st->local_copy = 0;
		break;
	case CUST_A_CATEGORIZED:
		take(d, "category", st->category, sizeof(st->category));
		break;
	case CUST_A_RETENTION_SET:
	case CUST_A_RETENTION_EXTENDED:
		take(d, "until", st->retention_until, sizeof(st->retention_until));
		break;
	case CUST_A_HOLD_SET:
		st->legal_hold = 1;
		break;
	case CUST_A_HOLD_CLEARED:
		st->legal_hold = 0;
		break;
	case CUST_A_CASE_UNASSIGNED: {
		/* case_assigned adds its case_no like any event naming a case;
		 * case_unassigned names it in details only, and removes it */
		char c[CUST_CASE_MAX + 1] = "";
		take(d, "case", c, sizeof(c));
		if (c[0])
			remove_case(st->cases, c);
		break;
	}
	case CUST_A_DESTROYED:
		set(st->status, sizeof(st->status), "destroyed");
		st->local_copy = 0;
		break;
	default:
		break;
	}
}

int cust_evstate_apply(struct cust_evstate *st, const struct cust_event *ev,
		       int *added_case)
{
	struct dview d;
	int added = 0, r, have_d = 0;

	if (!ev->evidence_id[0])
		return -EINVAL;
	if (st->first_seq == 0) {
		memset(st, 0, sizeof(*st));
		set(st->evidence_id, sizeof(st->evidence_id), ev->evidence_id);
		set(st->agency_id, sizeof(st->agency_id), ev->agency_id);
		st->size = -1;
		st->first_seq = ev->seq;
		st->first_ns = ev->time_ns;
	} else if (strcmp(st->agency_id, ev->agency_id)) {
		return -EXDEV;
	}
	if (ev->case_no[0]) {
		r = add_case(st->cases, sizeof(st->cases), ev->case_no, &added);
		if (r)
			return r;
	}
	d.j = NULL;
	d.n = 0;
	if (needs_details(ev->action)) {
		if (dview_open(ev, &d))
			return -EBADMSG;
		have_d = 1;
	}
	/* An integrity failure quarantines whatever its outcome says; every
	 * other action changes the record only when it succeeded. */
	if (ev->action == CUST_A_INTEGRITY_FAILED)
		set(st->status, sizeof(st->status), "quarantined");
	else if (ev->outcome == CUST_OUTCOME_OK)
		apply_ok(st, ev->action, &d);
	/* officer / camera: named by the events that bring the item in */
	if (have_d && ev->outcome == CUST_OUTCOME_OK) {
		take(&d, "officer", st->officer, sizeof(st->officer));
		take(&d, "camera", st->camera, sizeof(st->camera));
	}
	dview_close(&d);
	st->last_seq = ev->seq;
	st->last_ns = ev->time_ns;
	st->n_events++;
	if (added_case)
		*added_case = added;
	return 0;
}

#define DIFF_S(f) if (strcmp(a->f, b->f)) { \
	snprintf(what, cap, #f " '%s' vs '%s'", a->f, b->f); return 1; }
#define DIFF_I(f) if (a->f != b->f) { \
	snprintf(what, cap, #f " %lld vs %lld", (long long)a->f, (long long)b->f); return 1; }

int cust_evstate_diff(const struct cust_evstate *a, const struct cust_evstate *b,
		      char *what, size_t cap)
{
	DIFF_S(evidence_id) DIFF_S(agency_id) DIFF_S(status) DIFF_I(size)
	DIFF_S(sha256) DIFF_S(officer) DIFF_S(camera) DIFF_S(category)
	DIFF_S(retention_until) DIFF_I(legal_hold) DIFF_I(local_copy)
	DIFF_S(object_key) DIFF_S(version_id) DIFF_S(etag) DIFF_S(cases)
	DIFF_I(first_seq) DIFF_I(last_seq) DIFF_I(n_events) DIFF_I(first_ns)
	DIFF_I(last_ns)
	return 0;
}

static void col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	set(dst, cap, t ? (const char *)t : "");
}

void cust_evstate_from_row(sqlite3_stmt *s, struct cust_evstate *st)
{
	memset(st, 0, sizeof(*st));
	col(s, 0, st->evidence_id, sizeof(st->evidence_id));
	col(s, 1, st->agency_id, sizeof(st->agency_id));
	col(s, 2, st->status, sizeof(st->status));
	st->size = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 :
		sqlite3_column_int64(s, 3);
	col(s, 4, st->sha256, sizeof(st->sha256));
	col(s, 5, st->officer, sizeof(st->officer));
	col(s, 6, st->camera, sizeof(st->camera));
	col(s, 7, st->category, sizeof(st->category));
	col(s, 8, st->retention_until, sizeof(st->retention_until));
	st->legal_hold = sqlite3_column_int(s, 9);
	st->local_copy = sqlite3_column_int(s, 10);
	col(s, 11, st->object_key, sizeof(st->object_key));
	col(s, 12, st->version_id, sizeof(st->version_id));
	col(s, 13, st->etag, sizeof(st->etag));
	col(s, 14, st->cases, sizeof(st->cases));
	st->first_seq = (uint64_t)sqlite3_column_int64(s, 15);
	st->last_seq = (uint64_t)sqlite3_column_int64(s, 16);
	st->n_events = (uint64_t)sqlite3_column_int64(s, 17);
	st->first_ns = sqlite3_column_int64(s, 18);
	st->last_ns = sqlite3_column_int64(s, 19);
}

/* Empty text is stored as NULL so "unknown" is one value in SQL. */
static int bind_t(sqlite3_stmt *s, int i, const char *v)
{
	return *v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) :
		sqlite3_bind_null(s, i);
}

int cust_evstate_bind(sqlite3_stmt *s, const struct cust_evstate *st)
{
	int r = 0;

	r |= bind_t(s, 1, st->evidence_id);
	r |= bind_t(s, 2, st->agency_id);
	r |= bind_t(s, 3, st->status);
	r |= st->size < 0 ? sqlite3_bind_null(s, 4) : sqlite3_bind_int64(s, 4, st->size);
	r |= bind_t(s, 5, st->sha256);
	r |= bind_t(s, 6, st->officer);
	r |= bind_t(s, 7, st->camera);
	r |= bind_t(s, 8, st->category);
	r |= bind_t(s, 9, st->retention_until);
	r |= sqlite3_bind_int(s, 10, st->legal_hold);
	r |= sqlite3_bind_int(s, 11, st->local_copy);
	r |= bind_t(s, 12, st->object_key);
	r |= bind_t(s, 13, st->version_id);
	r |= bind_t(s, 14, st->etag);
	r |= bind_t(s, 15, st->cases);
	r |= sqlite3_bind_int64(s, 16, (sqlite3_int64)st->first_seq);
	r |= sqlite3_bind_int64(s, 17, (sqlite3_int64)st->last_seq);
	r |= sqlite3_bind_int64(s, 18, (sqlite3_int64)st->n_events);
	r |= sqlite3_bind_int64(s, 19, st->first_ns);
	r |= sqlite3_bind_int64(s, 20, st->last_ns);
	return r ? -EIO : 0;
}

static json_t *jstr(const char *s)
{
	return *s ? json_string(s) : json_null();
}

json_t *cust_evstate_to_json(const struct cust_evstate *st)
{
	char t1[64], t2[64];
	json_t *cases = json_array(), *o;
	const char *p = st->cases;

	while (cases && *p) {
		const char *e = strchr(p, CUST_CASE_SEP);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(cases, json_stringn(p, n));
		p += n + (e ? 1 : 0);
	}
	cust_utc_text(st->first_ns, t1, sizeof(t1));
	cust_utc_text(st->last_ns, t2, sizeof(t2));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, "
		      "s:o, s:o, s:o, s:o, s:I, s:I, s:s, s:s, s:I}",
		      "evidence_id", st->evidence_id, "agency_id", st->agency_id,
		      "status", jstr(st->status),
		      "size", st->size < 0 ? json_null() : json_integer(st->size),
		      "sha256", jstr(st->sha256), "officer", jstr(st->officer),
		      "camera", jstr(st->camera), "category", jstr(st->category),
		      "retention_until", jstr(st->retention_until),
		      "legal_hold", st->legal_hold, "local_copy", st->local_copy,
		      "object_key", jstr(st->object_key),
		      "version_id", jstr(st->version_id), "etag", jstr(st->etag),
		      "cases", cases ? cases : json_array(),
		      "first_seq", (json_int_t)st->first_seq,
		      "last_seq", (json_int_t)st->last_seq,
		      "first_time", t1, "last_time", t2,
		      "events", (json_int_t)st->n_events);
	return o;
}

int cust_evstate_unassigned_case(const struct cust_event *ev, char *buf,
				 size_t cap)
{
	json_t *d = NULL;
	const char *c;
	int r = 0;

	if (ev->action != CUST_A_CASE_UNASSIGNED || ev->outcome != CUST_OUTCOME_OK)
		return 0;
	if (cust_event_details(ev, &d))
		return 0;
	c = json_string_value(json_object_get(d, "case"));
	if (c && c[0] && strlen(c) < cap) {
		memcpy(buf, c, strlen(c) + 1);
		r = 1;
	}
	json_decref(d);
	return r;
}
