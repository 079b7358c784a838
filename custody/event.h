/*
 * event.h - one custody event: its fields, the stable names of its enums,
 * and its canonical byte encoding (the Merkle leaf data).
 *
 * An event is a plain struct with fixed-size, NUL-terminated text fields
 * (hard caps below), so it can be copied, batched and freed without
 * ownership rules. `seq` is assigned by the ledger on append (1-based;
 * event seq N is Merkle leaf N-1).
 *
 * Canonical encoding, version 1 (docs/custody-ledger.md is the normative,
 * byte-exact description; all integers big-endian):
 *
 *   u8  version (= 1)          u64 seq            i64 time_ns (UTC, ns)
 *   u8  clock                  str agency_id      u8  actor kind
 *   str actor_id               u16 action         str evidence_id
 *   u8  outcome                str reason         str case_no
 *   str details (compact JSON object, keys sorted, "{}" when empty)
 *
 * where `str` is a u32 byte length followed by that many UTF-8 bytes (no
 * NUL, no terminator). Every text must be valid UTF-8 without NUL or other
 * C0 control characters (details: valid compact JSON).
 *
 * Enum numbers and names are part of the ledger format: never renumber or
 * rename; add new values at the end of their range.
 *
 * Errors: 0 or negative errno: -EINVAL bad field (named in errbuf where
 * offered), -EBADMSG undecodable bytes, -E2BIG over a cap, -ENOMEM.
 */
#ifndef CUSTODY_EVENT_H
#define CUSTODY_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CUST_EVENT_VERSION  1
#define CUST_AGENCY_MAX     64	/* bytes, excluding NUL */
#define CUST_ACTOR_ID_MAX   128
#define CUST_EVIDENCE_MAX   128
#define CUST_REASON_MAX     512
#define CUST_CASE_MAX       64
#define CUST_DETAILS_MAX    4096
/* Largest canonical encoding: fixed part + all texts at their caps. */
#define CUST_CANON_MAX      (1 + 8 + 8 + 1 + 1 + 2 + 1 + 6 * 4 + \
			     CUST_AGENCY_MAX + CUST_ACTOR_ID_MAX + \
			     CUST_EVIDENCE_MAX + CUST_REASON_MAX + \
			     CUST_CASE_MAX + CUST_DETAILS_MAX)

enum cust_clock {		/* where the event time came from */
	CUST_CLOCK_UNKNOWN = 0,	/* "unknown" */
	CUST_CLOCK_SYSTEM = 1,	/* "system": CLOCK_REALTIME, not known synced */
	CUST_CLOCK_NTP = 2,	/* "ntp": CLOCK_REALTIME, kernel says synced */
	CUST_CLOCK_CAMERA = 3,	/* "camera": time reported by the camera */
	CUST_CLOCK_MAX_ = 3
};

enum cust_actor_kind {
	CUST_ACTOR_DOCK = 1,	/* "dock" */
	CUST_ACTOR_CAMERA = 2,	/* "camera" */
	CUST_ACTOR_CLERK = 3,	/* "clerk": any person (clerk, auditor, ...) */
	CUST_ACTOR_SYSTEM = 4,	/* "system": tools, timers, the CLI itself */
	CUST_ACTOR_MAX_ = 4
};

enum cust_outcome {
	CUST_OUTCOME_OK = 1,	 /* "ok" */
	CUST_OUTCOME_FAILED = 2, /* "failed": the action was tried, failed */
	CUST_OUTCOME_DENIED = 3, /* "denied": refused by policy */
	CUST_OUTCOME_ERROR = 4,	 /* "error": could not be decided/performed */
	CUST_OUTCOME_MAX_ = 4
};

/* Life of a recording (1..39) and CJIS audit events (40..). The string
 * name of each is given in the comment and by cust_action_name(). */
enum cust_action {
	CUST_A_DOCKED = 1,		/* docked */
	CUST_A_DEVICE_AUTHENTICATED,	/* device_authenticated */
	CUST_A_DEVICE_REJECTED,		/* device_rejected */
	CUST_A_INGEST_STARTED,		/* ingest_started */
	CUST_A_INGESTED,		/* ingested: details size, sha256 */
	CUST_A_INTEGRITY_FAILED,	/* integrity_failed */
	CUST_A_QUARANTINED,		/* quarantined */
	CUST_A_STORED_LOCAL,		/* stored_local */
	CUST_A_UPLOAD_STARTED,		/* upload_started */
	CUST_A_UPLOADED,		/* uploaded: object_key, version_id, etag */
	CUST_A_STORAGE_VERIFIED,	/* storage_verified */
	CUST_A_CAMERA_RELEASED,		/* camera_released */
	CUST_A_LOCAL_PURGED,		/* local_purged */
	CUST_A_CATEGORIZED,		/* categorized: details category */
	CUST_A_RETENTION_SET,		/* retention_set: details until */
	CUST_A_RETENTION_EXTENDED,	/* retention_extended: details until */
	CUST_A_HOLD_SET,		/* hold_set */
	CUST_A_HOLD_CLEARED,		/* hold_cleared */
	CUST_A_VIEWED,			/* viewed */
	CUST_A_EXPORTED,		/* exported */
	CUST_A_SHARED,			/* shared */
	CUST_A_ACCESS_DENIED,		/* access_denied */
	CUST_A_DESTROYED,		/* destroyed */
	CUST_A_INGEST_INTERRUPTED,	/* ingest_interrupted: details offset, error */
	CUST_A_CASE_ASSIGNED,		/* case_assigned: details case */
	CUST_A_CASE_UNASSIGNED,		/* case_unassigned: details case */
	CUST_A_ANNOTATED,		/* annotated: details field (title|notes), value */
	CUST_A_FIXITY_CHECKED,		/* fixity_checked: a stored copy re-verified */
	CUST_A_REPAIRED,		/* repaired: a damaged copy restored from a verified one */
	CUST_A_DESTRUCTION_REQUESTED,	/* destruction_requested (first person) */
	CUST_A_DESTRUCTION_APPROVED,	/* destruction_approved (second person) */
	CUST_A_VOLUME_LISTED = 32,	/* volume_listed: a mass-storage camera's volume as read (files, skipped, volume_id) */
	CUST_A_VOLUME_ITEM_ABSENT = 33,	/* volume_item_absent: a mass-storage recording never stored is not on the volume docked */
	CUST_A_STORAGE_HOLD = 38,	/* storage_hold: S3 legal hold put on / taken off the stored copy */
	CUST_A_LIFE_MAX_ = CUST_A_STORAGE_HOLD,

	CUST_A_LOGON = 40,		/* logon (outcome ok / denied) */
	CUST_A_LOGOFF,			/* logoff */
	CUST_A_LEDGER_READ,		/* ledger_read: history/search/proof/... */
	CUST_A_LEDGER_VERIFIED,		/* ledger_verified: a verify run */
	CUST_A_USER_ADDED,		/* user_added */
	CUST_A_USER_REMOVED,		/* user_removed */
	CUST_A_PERMISSION_CHANGED,	/* permission_changed (role change) */
	CUST_A_CONFIG_CHANGED,		/* config_changed */
	CUST_A_KEY_CHANGED,		/* key_changed */
	CUST_A_PRIVILEGED,		/* privileged_action (admin/test tools) */
	CUST_A_LEDGER_CREATED,		/* ledger_created: first event */
	CUST_A_DEVICE_ENROLLED,		/* device_enrolled: details serial, pubkey, officer, model */
	CUST_A_DEVICE_REVOKED,		/* device_revoked: details serial */
	CUST_A_CUSTODY_CERTIFIED,	/* custody_certified: details note (agency-signed custody-cert/v1, docs/trust.md) + fields */
	CUST_A_RECIPIENT_POLICY,	/* recipient_policy: details note (agency-signed recipients/v1) + version, key ids */
	CUST_A_WITNESS_POLICY,		/* witness_policy: details note (agency-signed witnesses/v1) + version, quorum */
	CUST_A_INGEST_RESTARTED = 56,	/* ingest_restarted: details from_chunk, attempt, why */
	CUST_A_LINK_WORKER_KILLED,	/* link_worker_killed: a camera-link worker broke its sandbox or its contract */
	CUST_A_RECEIPT_REFUSED,		/* receipt_refused: the custodian would not sign a release receipt */
	CUST_A_SESSION_ABORTED,		/* session_aborted: a camera session ended by the dock (why) */
	CUST_A_EXPORT_RECEIPT_FILED = 60, /* export_receipt_filed: an offline export's signed receipt filed back (details: docs/custody-access.md) */
	CUST_A_OFFLINE_RECEIPTS_ISSUED,	/* offline_receipts_issued: numbers first..last for a workstation key */
	CUST_A_CONSOLE_LOGIN = 63,	/* console_login: web console login (ok / failed / denied), details stage, claimed (docs/console.md) */
	CUST_A_RELEASE_KEPT = 64,	/* release_kept: valid receipt, the camera kept the recording (deleted=0) */
	CUST_A_CONSOLE_LOGOUT = 65,	/* console_logout: session ended (details why: logout / idle / expired) */
	CUST_A_CONSOLE_PAGE_VIEW = 66,	/* console_page_view: details path */
	CUST_A_CONSOLE_DOWNLOAD = 67,	/* console_download: a custody report printed / saved (evidence id) */
	CUST_A_CONSOLE_REFUSED = 68,	/* console_refused: request refused by the console (bad CSRF token, no session), details detail */
	CUST_A_CONSOLE_LOCKOUT = 69,	/* console_lockout: account locked after repeated failed logins */
	CUST_A_CHECKPOINT_REFUSED = 70,	/* checkpoint_refused: the custodian would not sign the ledger's tree (not an extension of its last one) */
	CUST_A_RELEASE_REFUSED = 71,	/* release_refused: the camera answered a signed receipt with ERROR (nothing deleted) */
	CUST_A_AUDIT_MAX_ = CUST_A_RELEASE_REFUSED
};

struct cust_event {
	uint64_t seq;			/* set by the ledger; 0 before append */
	int64_t time_ns;		/* UTC nanoseconds since the epoch */
	enum cust_clock clock;
	char agency_id[CUST_AGENCY_MAX + 1];
	enum cust_actor_kind actor_kind;
	char actor_id[CUST_ACTOR_ID_MAX + 1];
	enum cust_action action;
	char evidence_id[CUST_EVIDENCE_MAX + 1];  /* "" = not about an item */
	enum cust_outcome outcome;
	char reason[CUST_REASON_MAX + 1];	/* "" = none given */
	char case_no[CUST_CASE_MAX + 1];	/* "" = none given */
	char details[CUST_DETAILS_MAX + 1];	/* canonical JSON, at least "{}" */
};

/* Stable names <-> values. *_name() returns NULL for an unknown value;
 * *_parse() returns 0 or -EINVAL (out untouched). */
const char *cust_action_name(enum cust_action a);
int cust_action_parse(const char *s, enum cust_action *out);
const char *cust_actor_name(enum cust_actor_kind k);
int cust_actor_parse(const char *s, enum cust_actor_kind *out);
const char *cust_outcome_name(enum cust_outcome o);
int cust_outcome_parse(const char *s, enum cust_outcome *out);
const char *cust_clock_name(enum cust_clock c);
int cust_clock_parse(const char *s, enum cust_clock *out);
/* 1 if a is a known action value. */
int cust_action_valid(int a);

/*
 * Fill ev with zeros and the given core fields; time = now (see
 * cust_clock_now); details "{}". Text arguments may be NULL (= "").
 * -E2BIG if a text is over its cap (ev then unspecified).
 */
int cust_event_init(struct cust_event *ev, const char *agency_id,
		    enum cust_actor_kind kind, const char *actor_id,
		    enum cust_action action, const char *evidence_id,
		    enum cust_outcome outcome);
/* Copy s into a field (reason, case_no, ...) with a cap check. */
int cust_event_set_text(char *field, size_t field_size, const char *s);
/* Set details from a JSON object (canonicalised: keys sorted, compact).
 * obj NULL = "{}". -EINVAL if obj is not an object, -E2BIG if too long. */
int cust_event_set_details(struct cust_event *ev, const json_t *obj);
/* Parse ev->details into a new JSON object (caller json_decref's). */
int cust_event_details(const struct cust_event *ev, json_t **out);

/* Current UTC time in ns and whether the kernel reports the clock as
 * synchronised (adjtimex): CUST_CLOCK_NTP, else CUST_CLOCK_SYSTEM. */
void cust_clock_now(int64_t *ns, enum cust_clock *src);

/* Check every field (enums known, texts valid UTF-8 within caps and
 * without control characters, details canonical JSON object). On
 * -EINVAL writes "field: problem" into err (may be NULL). */
int cust_event_validate(const struct cust_event *ev, char *err,
			size_t errlen);

/* Encoding without validation (for verify, which compares the result
 * with stored bytes): buf must hold CUST_CANON_MAX. Returns the length. */
size_t cust_event_encode_fast(const struct cust_event *ev, uint8_t *buf);
/* RFC 3339 UTC text of t_ns (same as cust_format_utc). */
int cust_utc_text(int64_t t_ns, char *buf, size_t cap);

/* Canonical encoding of a valid event into buf (cap >= CUST_CANON_MAX
 * always suffices); *len = bytes written. Validates first. */
int cust_event_encode(const struct cust_event *ev, uint8_t *buf, size_t cap,
		      size_t *len);
/* Strict decode of canonical bytes (untrusted: every length checked, no
 * trailing bytes, re-validated). */
int cust_event_decode(const uint8_t *buf, size_t len, struct cust_event *out);

/* Event as JSON (the schema of `custody history --json`, see
 * docs/custody-ledger.md): seq, time (RFC 3339 UTC), time_ns, clock,
 * agency_id, actor {kind,id}, action, evidence_id|null, outcome,
 * reason|null, case|null, details (object). */
int cust_event_to_json(const struct cust_event *ev, json_t **out);

#endif /* CUSTODY_EVENT_H */
