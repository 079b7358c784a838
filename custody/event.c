/*
 * event.c - custody event names, validation and canonical encoding.
 * The byte layout is documented in event.h and docs/custody-ledger.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "canonjson.h"
#include "event.h"

struct name { int v; const char *s; };

static const struct name actions[] = {
	{ CUST_A_DOCKED, "docked" },
	{ CUST_A_DEVICE_AUTHENTICATED, "device_authenticated" },
	{ CUST_A_DEVICE_REJECTED, "device_rejected" },
	{ CUST_A_INGEST_STARTED, "ingest_started" },
	{ CUST_A_INGESTED, "ingested" },
	{ CUST_A_INTEGRITY_FAILED, "integrity_failed" },
	{ CUST_A_QUARANTINED, "quarantined" },
	{ CUST_A_STORED_LOCAL, "stored_local" },
	{ CUST_A_UPLOAD_STARTED, "upload_started" },
	{ CUST_A_UPLOADED, "uploaded" },
	{ CUST_A_STORAGE_VERIFIED, "storage_verified" },
	{ CUST_A_CAMERA_RELEASED, "camera_released" },
	{ CUST_A_LOCAL_PURGED, "local_purged" },
	{ CUST_A_CATEGORIZED, "categorized" },
	{ CUST_A_RETENTION_SET, "retention_set" },
	{ CUST_A_RETENTION_EXTENDED, "retention_extended" },
	{ CUST_A_HOLD_SET, "hold_set" },
	{ CUST_A_HOLD_CLEARED, "hold_cleared" },
	{ CUST_A_VIEWED, "viewed" },
	{ CUST_A_EXPORTED, "exported" },
	{ CUST_A_SHARED, "shared" },
	{ CUST_A_ACCESS_DENIED, "access_denied" },
	{ CUST_A_DESTROYED, "destroyed" },
	{ CUST_A_INGEST_INTERRUPTED, "ingest_interrupted" },
	{ CUST_A_CASE_ASSIGNED, "case_assigned" },
	{ CUST_A_CASE_UNASSIGNED, "case_unassigned" },
	{ CUST_A_ANNOTATED, "annotated" },
	{ CUST_A_FIXITY_CHECKED, "fixity_checked" },
	{ CUST_A_REPAIRED, "repaired" },
	{ CUST_A_DESTRUCTION_REQUESTED, "destruction_requested" },
	{ CUST_A_DESTRUCTION_APPROVED, "destruction_approved" },
	{ CUST_A_VOLUME_LISTED, "volume_listed" },
	{ CUST_A_VOLUME_ITEM_ABSENT, "volume_item_absent" },
	{ CUST_A_STORAGE_HOLD, "storage_hold" },
	{ CUST_A_LOGON, "logon" },
	{ CUST_A_LOGOFF, "logoff" },
	{ CUST_A_LEDGER_READ, "ledger_read" },
	{ CUST_A_LEDGER_VERIFIED, "ledger_verified" },
	{ CUST_A_USER_ADDED, "user_added" },
	{ CUST_A_USER_REMOVED, "user_removed" },
	{ CUST_A_PERMISSION_CHANGED, "permission_changed" },
	{ CUST_A_CONFIG_CHANGED, "config_changed" },
	{ CUST_A_KEY_CHANGED, "key_changed" },
	{ CUST_A_PRIVILEGED, "privileged_action" },
	{ CUST_A_LEDGER_CREATED, "ledger_created" },
	{ CUST_A_DEVICE_ENROLLED, "device_enrolled" },
	{ CUST_A_DEVICE_REVOKED, "device_revoked" },
	{ CUST_A_CUSTODY_CERTIFIED, "custody_certified" },
	{ CUST_A_RECIPIENT_POLICY, "recipient_policy" },
	{ CUST_A_WITNESS_POLICY, "witness_policy" },
	{ CUST_A_INGEST_RESTARTED, "ingest_restarted" },
	{ CUST_A_LINK_WORKER_KILLED, "link_worker_killed" },
	{ CUST_A_RECEIPT_REFUSED, "receipt_refused" },
	{ CUST_A_SESSION_ABORTED, "session_aborted" },
	{ CUST_A_EXPORT_RECEIPT_FILED, "export_receipt_filed" },
	{ CUST_A_OFFLINE_RECEIPTS_ISSUED, "offline_receipts_issued" },
	{ CUST_A_RELEASE_KEPT, "release_kept" },
	{ CUST_A_CONSOLE_LOGIN, "console_login" },
	{ CUST_A_CONSOLE_LOGOUT, "console_logout" },
	{ CUST_A_CONSOLE_PAGE_VIEW, "console_page_view" },
	{ CUST_A_CONSOLE_DOWNLOAD, "console_download" },
	{ CUST_A_CONSOLE_REFUSED, "console_refused" },
	{ CUST_A_CONSOLE_LOCKOUT, "console_lockout" },
	{ CUST_A_CHECKPOINT_REFUSED, "checkpoint_refused" },
	{ CUST_A_RELEASE_REFUSED, "release_refused" },
};
static const struct name actors[] = {
	{ CUST_ACTOR_DOCK, "dock" }, { CUST_ACTOR_CAMERA, "camera" },
	{ CUST_ACTOR_CLERK, "clerk" }, { CUST_ACTOR_SYSTEM, "system" },
};
static const struct name outcomes[] = {
	{ CUST_OUTCOME_OK, "ok" }, { CUST_OUTCOME_FAILED, "failed" },
	{ CUST_OUTCOME_DENIED, "denied" }, { CUST_OUTCOME_ERROR, "error" },
};
static const struct name clocks[] = {
	{ CUST_CLOCK_UNKNOWN, "unknown" }, { CUST_CLOCK_SYSTEM, "system" },
	{ CUST_CLOCK_NTP, "ntp" }, { CUST_CLOCK_CAMERA, "camera" },
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct name *t, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].s;
	return NULL;
}

static int rlookup(const struct name *t, size_t n, const char *s, int *v)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(t[i].s, s)) {
			*v = t[i].v;
			return 0;
		}
	return -EINVAL;
}

const char *cust_action_name(enum cust_action a) { return lookup(actions, N(actions), (int)a); }
const char *cust_actor_name(enum cust_actor_kind k) { return lookup(actors, N(actors), (int)k); }
const char *cust_outcome_name(enum cust_outcome o) { return lookup(outcomes, N(outcomes), (int)o); }
const char *cust_clock_name(enum cust_clock c) { return lookup(clocks, N(clocks), (int)c); }
_Static_assert(CUST_A_CUSTODY_CERTIFIED == 53 && CUST_A_WITNESS_POLICY == 55 &&
	       CUST_A_DESTRUCTION_APPROVED == 31 && CUST_A_SESSION_ABORTED == 59 &&
	       CUST_A_RELEASE_KEPT == 64 && CUST_A_VOLUME_LISTED == 32 &&
	       CUST_A_STORAGE_HOLD == 38 && CUST_A_RELEASE_REFUSED == 71,
	       "action numbers are part of the ledger format");

int cust_action_valid(int a) { return lookup(actions, N(actions), a) != NULL; }

#define PARSER(fn, type, table)						\
	int fn(const char *s, type *out)				\
	{								\
		int v;							\
		if (rlookup(table, N(table), s, &v))			\
			return -EINVAL;					\
		*out = (type)v;						\
		return 0;						\
	}
PARSER(cust_action_parse, enum cust_action, actions)
PARSER(cust_actor_parse, enum cust_actor_kind, actors)
PARSER(cust_outcome_parse, enum cust_outcome, outcomes)
PARSER(cust_clock_parse, enum cust_clock, clocks)

void cust_clock_now(int64_t *ns, enum cust_clock *src)
{
	struct timespec ts;
	struct timex tx;
	int st;

	clock_gettime(CLOCK_REALTIME, &ts);
	*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	memset(&tx, 0, sizeof(tx));
	st = adjtimex(&tx);	/* modes 0: read only */
	*src = (st >= 0 && st != TIME_ERROR && !(tx.status & STA_UNSYNC)) ?
		CUST_CLOCK_NTP : CUST_CLOCK_SYSTEM;
}

int cust_event_set_text(char *field, size_t field_size, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= field_size)
		return -E2BIG;
	memcpy(field, s ? s : "", n);
	field[n] = '\0';
	return 0;
}

int cust_event_init(struct cust_event *ev, const char *agency_id,
		    enum cust_actor_kind kind, const char *actor_id,
		    enum cust_action action, const char *evidence_id,
		    enum cust_outcome outcome)
{
	memset(ev, 0, sizeof(*ev));
	cust_clock_now(&ev->time_ns, &ev->clock);
	ev->actor_kind = kind;
	ev->action = action;
	ev->outcome = outcome;
	memcpy(ev->details, "{}", 3);
	if (cust_event_set_text(ev->agency_id, sizeof(ev->agency_id), agency_id) ||
	    cust_event_set_text(ev->actor_id, sizeof(ev->actor_id), actor_id) ||
	    cust_event_set_text(ev->evidence_id, sizeof(ev->evidence_id), evidence_id))
		return -E2BIG;
	return 0;
}

int cust_event_set_details(struct cust_event *ev, const json_t *obj)
{
	char *s;
	size_t n;

	if (!obj) {
		memcpy(ev->details, "{}", 3);
		return 0;
	}
	if (!json_is_object(obj))
		return -EINVAL;
	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n > CUST_DETAILS_MAX) {
		free(s);
		return -E2BIG;
	}
	memcpy(ev->details, s, n + 1);
	free(s);
	return 0;
}

int cust_event_details(const struct cust_event *ev, json_t **out)
{
	json_t *o = json_loads(ev->details[0] ? ev->details : "{}",
			       JSON_REJECT_DUPLICATES, NULL);

	if (!o)
		return -EBADMSG;
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	*out = o;
	return 0;
}

/* Valid UTF-8 (shortest form, no surrogates), no C0 controls or DEL. */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], len, cp, k;
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
		else return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* The exact byte rule of canonjson.h (no jansson round trip: verify
 * checks every event, and an outsider can implement the rule). */
static int details_canonical(const char *d)
{
	return cust_json_canonical_object(d, strlen(d));
}

#define FAIL(...) do { if (err) snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

int cust_event_validate(const struct cust_event *ev, char *err, size_t errlen)
{
	const struct { const char *name, *v; size_t cap; int empty_ok; } t[] = {
		{ "agency_id", ev->agency_id, sizeof(ev->agency_id), 0 },
		{ "actor_id", ev->actor_id, sizeof(ev->actor_id), 0 },
		{ "evidence_id", ev->evidence_id, sizeof(ev->evidence_id), 1 },
		{ "reason", ev->reason, sizeof(ev->reason), 1 },
		{ "case_no", ev->case_no, sizeof(ev->case_no), 1 },
		{ "details", ev->details, sizeof(ev->details), 0 },
	};
	size_t i, n;

	if (!cust_clock_name(ev->clock))
		FAIL("clock: unknown value %d", (int)ev->clock);
	if (!cust_actor_name(ev->actor_kind))
		FAIL("actor_kind: unknown value %d", (int)ev->actor_kind);
	if (!cust_action_name(ev->action))
		FAIL("action: unknown value %d", (int)ev->action);
	if (!cust_outcome_name(ev->outcome))
		FAIL("outcome: unknown value %d", (int)ev->outcome);
	for (i = 0; i < N(t); i++) {
		n = strnlen(t[i].v, t[i].cap);
		if (n == t[i].cap)
			FAIL("%s: not terminated", t[i].name);
		if (!n && !t[i].empty_ok)
			FAIL("%s: must not be empty", t[i].name);
		if (!text_ok(t[i].v, n))
			FAIL("%s: not UTF-8 text or contains control characters", t[i].name);
	}
	if (!details_canonical(ev->details))
		FAIL("details: not a canonical (compact, sorted) JSON object");
	return 0;
}

static uint8_t *put_u(uint8_t *p, uint64_t v, unsigned bytes)
{
	while (bytes--)
		*p++ = (uint8_t)(v >> (8 * bytes));
	return p;
}

static uint8_t *put_s(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p = put_u(p, n, 4);
	memcpy(p, s, n);
	return p + n;
}

/* Encoding without the (costly) validation: for verify, which compares
 * the result with stored bytes anyway. Caller guarantees cap. */
size_t cust_event_encode_fast(const struct cust_event *ev, uint8_t *buf)
{
	uint8_t *p = buf;

	*p++ = CUST_EVENT_VERSION;
	p = put_u(p, ev->seq, 8);
	p = put_u(p, (uint64_t)ev->time_ns, 8);
	*p++ = (uint8_t)ev->clock;
	p = put_s(p, ev->agency_id);
	*p++ = (uint8_t)ev->actor_kind;
	p = put_s(p, ev->actor_id);
	p = put_u(p, (uint64_t)ev->action, 2);
	p = put_s(p, ev->evidence_id);
	*p++ = (uint8_t)ev->outcome;
	p = put_s(p, ev->reason);
	p = put_s(p, ev->case_no);
	p = put_s(p, ev->details);
	return (size_t)(p - buf);
}

int cust_event_encode(const struct cust_event *ev, uint8_t *buf, size_t cap,
		      size_t *len)
{
	int r = cust_event_validate(ev, NULL, 0);

	if (r)
		return r;
	if (cap < CUST_CANON_MAX)
		return -ENOSPC;
	*len = cust_event_encode_fast(ev, buf);
	return 0;
}

struct rd { const uint8_t *p; size_t left; };

static int get_u(struct rd *r, unsigned bytes, uint64_t *v)
{
	uint64_t x = 0;

	if (r->left < bytes)
		return -EBADMSG;
	r->left -= bytes;
	while (bytes--)
		x = (x << 8) | *r->p++;
	*v = x;
	return 0;
}

static int get_s(struct rd *r, char *field, size_t cap)
{
	uint64_t n;

	if (get_u(r, 4, &n) || n >= cap || n > r->left)
		return -EBADMSG;
	if (memchr(r->p, 0, n))
		return -EBADMSG;
	memcpy(field, r->p, n);
	field[n] = '\0';
	r->p += n;
	r->left -= n;
	return 0;
}

int cust_event_decode(const uint8_t *buf, size_t len, struct cust_event *out)
{
	struct cust_event ev;
	struct rd r = { buf, len };
	uint64_t ver, seq, t, clk, kind, act, outc;

	if (!buf || len > CUST_CANON_MAX)
		return -EBADMSG;
	memset(&ev, 0, sizeof(ev));
	if (get_u(&r, 1, &ver) || ver != CUST_EVENT_VERSION ||
	    get_u(&r, 8, &seq) || get_u(&r, 8, &t) || get_u(&r, 1, &clk) ||
	    get_s(&r, ev.agency_id, sizeof(ev.agency_id)) ||
	    get_u(&r, 1, &kind) ||
	    get_s(&r, ev.actor_id, sizeof(ev.actor_id)) ||
	    get_u(&r, 2, &act) ||
	    get_s(&r, ev.evidence_id, sizeof(ev.evidence_id)) ||
	    get_u(&r, 1, &outc) ||
	    get_s(&r, ev.reason, sizeof(ev.reason)) ||
	    get_s(&r, ev.case_no, sizeof(ev.case_no)) ||
	    get_s(&r, ev.details, sizeof(ev.details)) || r.left)
		return -EBADMSG;
	ev.seq = seq;
	ev.time_ns = (int64_t)t;
	ev.clock = (enum cust_clock)clk;
	ev.actor_kind = (enum cust_actor_kind)kind;
	ev.action = (enum cust_action)act;
	ev.outcome = (enum cust_outcome)outc;
	if (cust_event_validate(&ev, NULL, 0))
		return -EBADMSG;
	*out = ev;
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

int cust_utc_text(int64_t t_ns, char *buf, size_t cap);

int cust_event_to_json(const struct cust_event *ev, json_t **out)
{
	char when[64];
	json_t *o, *d = NULL;

	if (cust_event_details(ev, &d))
		d = json_object();	/* unreadable details: shown empty */
	cust_utc_text(ev->time_ns, when, sizeof(when));
	o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, s:o, s:o, s:o}",
		      "seq", (json_int_t)ev->seq, "time", when,
		      "time_ns", (json_int_t)ev->time_ns,
		      "clock", cust_clock_name(ev->clock) ? cust_clock_name(ev->clock) : "?",
		      "agency_id", ev->agency_id,
		      "actor", "kind", cust_actor_name(ev->actor_kind) ? cust_actor_name(ev->actor_kind) : "?",
		      "id", ev->actor_id,
		      "action", cust_action_name(ev->action) ? cust_action_name(ev->action) : "?",
		      "evidence_id", str_or_null(ev->evidence_id),
		      "outcome", cust_outcome_name(ev->outcome) ? cust_outcome_name(ev->outcome) : "?",
		      "reason", str_or_null(ev->reason),
		      "case", str_or_null(ev->case_no),
		      "details", d ? d : json_object());
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

/* RFC 3339 UTC with nanoseconds; here (not in query.c) so the event
 * module stands alone. */
int cust_utc_text(int64_t t_ns, char *buf, size_t cap)
{
	time_t s = (time_t)(t_ns / 1000000000);
	long ns = (long)(t_ns % 1000000000);
	struct tm tm;
	char base[32];

	if (ns < 0) { ns += 1000000000; s--; }
	if (!gmtime_r(&s, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
		return -EINVAL;
	if (snprintf(buf, cap, "%s.%09ldZ", base, ns) >= (int)cap)
		return -ENOSPC;
	return 0;
}
