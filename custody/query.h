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
 *             "items": [evidence record, ...]}
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

/* Search filters; NULL / 0 = not filtered. Times are UTC ns; the item's
 * first event time (when the dock first saw it) must be in [from, to). */
struct cust_search {
	const char *officer;
	const char *camera;
	const char *category;
	const char *case_no;
	const char *status;
	int64_t from_ns;	/* 0 = unbounded */
	int64_t to_ns;		/* 0 = unbounded */
	size_t limit;		/* 0 = CUST_SEARCH_DEFAULT_LIMIT */
};

/* Timeline of one item. */
int cust_query_history(struct cust_ledger *l, const char *agency,
		       const char *evidence_id, json_t **out);
/* Evidence records matching all filters, ordered by first time. */
int cust_query_search(struct cust_ledger *l, const char *agency,
		      const struct cust_search *q, json_t **out);
/* Events whose action name starts with action_prefix (e.g. "ledger_",
 * "logon"; NULL = all), newest first, at most limit (0 = default). For
 * auditors' views of the audit events. */
int cust_query_events(struct cust_ledger *l, const char *agency,
		      const char *action_prefix, int64_t from_ns,
		      int64_t to_ns, size_t limit, json_t **out);

/* Text forms for people: aligned columns, local time with zone. */
int cust_format_history(const json_t *history, FILE *out);
int cust_format_search(const json_t *search, FILE *out);
int cust_format_events(const json_t *events, FILE *out);

/* Parse an ISO 8601 date or date-time: "2024-05-01", "2024-05-01T13:45",
 * "2024-05-01T13:45:10", optionally followed by "Z" or "+hh:mm"/"-hh:mm";
 * without a zone it is local time. A bare date with end_of_day set means
 * the start of the NEXT day (for exclusive upper bounds).
 * -EINVAL on anything else (out untouched). */
int cust_parse_time(const char *s, int end_of_day, int64_t *out_ns);
/* RFC 3339 UTC text of t ("2024-05-01T13:45:10.123456789Z"). */
int cust_format_utc(int64_t t_ns, char *buf, size_t cap);
/* Local time with zone ("2024-05-01 15:45:10 CEST +0200"). */
int cust_format_local(int64_t t_ns, char *buf, size_t cap);

#endif /* CUSTODY_QUERY_H */
