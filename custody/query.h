/*
 * query.h - evidence clerks' queries over the ledger, producing JSON
 * (the `--json` output and the query service's replies) and, from that
 * JSON, the human-readable text tables. The CLI and the query service call
 * the same functions, so both answer identically.
 *
 * Agency: every function takes the agency the caller is confined to.
 * NULL means "no confinement" (local administrator on the ledger file).
 * An item of another agency gives -EACCES (distinct from -ENOENT so a
 * service can alert; it may present both the same way to the user).
 *
 * JSON schemas (stable, documented in docs/custody-ledger.md):
 *   history: {"evidence_id", "agency_id", "record": {evidence record},
 *             "events": [event, ...]}    event as cust_event_to_json()
 *   search:  {"query": {the filters used}, "count": N, "truncated": bool,
 *             "items": [evidence record + recording_start, recording_end,
 *             released, ...]} (or "refusals": [event, ...] for --refused)
 *   events:  {"count": N, "truncated": bool, "events": [event, ...]}
 *   evidence record: {"evidence_id", "agency_id", "status", "size"|null,
 *             "sha256"|null, "officer"|null, "camera"|null,
 *             "category"|null, "retention_until"|null, "legal_hold",
 *             "local_copy", "object_key"|null, "version_id"|null,
 *             "etag"|null, "cases": [..], "first_seq", "last_seq",
 *             "first_time", "last_time", "events"}
 *
 * Errors: 0 or negative errno; -ENOENT unknown item, -EACCES other agency,
 * -EINVAL bad filter, plus ledger errors. *out untouched on failure.
 */
#ifndef CUSTODY_QUERY_H
#define CUSTODY_QUERY_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ledger.h"

#define CUST_SEARCH_DEFAULT_LIMIT 1000
#define CUST_SEARCH_MAX_LIMIT     100000

/* Search filters; NULL / 0 = not filtered. Times are UTC ns.
 * from/to: the recording time from the camera's signed manifest (details
 * `start`/`end` of the item's ok ingest_started): the recording must
 * overlap [from, to), i.e. start before `to` and end at or after `from`;
 * an item without a manifest time never matches a recording-time filter.
 * docked_from/docked_to: the item's first event (when the dock first saw
 * it) in [docked_from, docked_to). status: one of CUST_STATUS_NAMES
 * (cust_status_valid); "released" = the camera was released after the
 * item was stored (an ok camera_released), whatever the status. hold: 0
 * any, CUST_HOLD_YES / CUST_HOLD_NO. due: retention date passed (before
 * now_ns, 0 = the clock), not held, not destroyed. */
#define CUST_HOLD_YES 1
#define CUST_HOLD_NO  2
#define CUST_STATUS_NAMES "docked, ingesting, ingested, stored, uploading, " \
	"uploaded, verified, quarantined, destroyed, released"
struct cust_search {
	const char *officer;
	const char *camera;
	const char *category;
	const char *case_no;
	const char *status;
	int64_t from_ns;	/* recording time; 0 = unbounded */
	int64_t to_ns;		/* 0 = unbounded */
	int64_t docked_from_ns;	/* first event; 0 = unbounded */
	int64_t docked_to_ns;
	int hold;		/* 0, CUST_HOLD_YES, CUST_HOLD_NO */
	int due;		/* 1 = due for destruction only */
	int64_t now_ns;		/* for due; 0 = now */
	size_t limit;		/* 0 = CUST_SEARCH_DEFAULT_LIMIT */
};

/* 1 if s is a status a search may ask for (CUST_STATUS_NAMES). */
int cust_status_valid(const char *s);

/* Timeline of one item. */
int cust_query_history(struct cust_ledger *l, const char *agency,
		       const char *evidence_id, json_t **out);
/* Evidence records matching all filters, ordered by recording start
 * (then first time). Each item is the evidence record plus
 * "recording_start", "recording_end" (RFC 3339 UTC, or null) and
 * "released" (bool). */
int cust_query_search(struct cust_ledger *l, const char *agency,
		      const struct cust_search *q, json_t **out);
/* Refused cameras (device_rejected events, which name no item): camera
 * (details `serial`, NULL = any), event time in [from, to), newest first.
 * {"query", "count", "truncated", "refusals": [event, ...]}. */
int cust_query_refusals(struct cust_ledger *l, const char *agency,
			const char *camera, int64_t from_ns, int64_t to_ns,
			size_t limit, json_t **out);
/* Events whose action name starts with action_prefix (e.g. "ledger_",
 * "logon"; NULL = all), newest first, at most limit (0 = default). For
 * auditors' views of the audit events. */
int cust_query_events(struct cust_ledger *l, const char *agency,
		      const char *action_prefix, int64_t from_ns,
		      int64_t to_ns, size_t limit, json_t **out);

/* Text forms for people: aligned columns, times as cust_format_time. */
int cust_format_history(const json_t *history, FILE *out);
int cust_format_search(const json_t *search, FILE *out);	/* items or refusals */
int cust_format_events(const json_t *events, FILE *out);

/* Parse an ISO 8601 date or date-time: "2024-05-01", "2024-05-01T13:45",
 * "2024-05-01T13:45:10[.fraction]", optionally followed by "Z" or
 * "+hh:mm"/"-hh:mm"/"+hhmm"; without a zone it is the caller's local time
 * (TZ). A bare date with end_of_day set means the start of the NEXT day
 * (for exclusive upper bounds). -EINVAL on anything else (out untouched). */
int cust_parse_time(const char *s, int end_of_day, int64_t *out_ns);
/* The same, but a time without a zone is UTC (the query service: it never
 * reads a date in its own zone; clients send the clerk's offset). */
int cust_parse_time_utc(const char *s, int end_of_day, int64_t *out_ns);
/* The same instant as RFC 3339 UTC text: what a client sends to the query
 * service, so dates are read in the clerk's zone, never the service's. */
int cust_time_resolve(const char *s, int end_of_day, char *out, size_t cap);
/* RFC 3339 UTC text of t ("2024-05-01T13:45:10.123456789Z"). */
int cust_format_utc(int64_t t_ns, char *buf, size_t cap);
/* The one form times are shown in: "2024-05-01 14:03:07 -0700" (local
 * time and its numeric offset), or "2024-05-01 21:03:07 Z" after
 * cust_time_style(1) (the CLI's --utc). Seconds, no zone abbreviation. */
void cust_time_style(int utc);
int cust_format_time(int64_t t_ns, char *buf, size_t cap);
/* cust_format_time of RFC 3339 text; text that is not a time
 * ("indefinite") is copied as it is. */
int cust_format_time_text(const char *rfc3339, char *buf, size_t cap);
/* Local form regardless of the style. */
int cust_format_local(int64_t t_ns, char *buf, size_t cap);

#endif /* CUSTODY_QUERY_H */
