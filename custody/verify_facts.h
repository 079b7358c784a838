/*
 * verify_facts.h - the governing facts inside `custody verify` (internal
 * to verify*.c): the replay of users/roles and enrolment and the
 * comparison with their tables (verify_facts.c), and the origin of each
 * ingested recording: the camera's manifest signature checked against the
 * enrolled device key, and its file's recipients against the recipient
 * policy in force (verify_origin.c). Classes: table-users, table-cameras,
 * manifest, recipients (docs/custody-ledger.md).
 */
#ifndef CUSTODY_VERIFY_FACTS_H
#define CUSTODY_VERIFY_FACTS_H

#include "verify_int.h"

struct fuser {
	char name[CUST_ACTOR_ID_MAX + 1];
	char role[32];
	char agency[CUST_AGENCY_MAX + 1];
	uint64_t seq;		/* event that set the row */
	int seen;
};

struct fcam {
	char serial[CUST_EVIDENCE_MAX + 1];
	char pubkey[65];	/* lower-case hex Ed25519 key */
	char officer[CUST_EVIDENCE_MAX + 1];
	char model[256];
	char agency[CUST_AGENCY_MAX + 1];
	char vidpid[16];	/* mass-storage cameras: "vvvv:pppp" */
	char profile[64];	/* mass-storage cameras: the camera profile */
	int revoked;
	uint64_t seq;
	int seen;
};

struct vfacts {
	struct fuser *u;
	size_t nu, cu;
	struct fcam *c;
	size_t nc, cc;
	struct fcam *sc;	/* USB mass-storage cameras (kind "storage"):
				 * serial, agency, officer; no key */
	size_t nsc, csc;
	int oom;
	/* the recipient policy in force (newest recipient_policy event) */
	uint64_t pol_seq;		/* 0: none yet */
	uint64_t pol_version;
	size_t pol_n;
	char pol_ids[16][65];
};

/* v->facts, allocated on first use (NULL: out of memory, counted). */
struct vfacts *verify_facts_state(struct vctx *v);

/* Every event, in seq order, from the canonical bytes (verify.c). */
void verify_facts_event(struct vctx *v, const struct cust_event *ev);
/* After the scan: compare the tables, finish the origin checks. */
int verify_facts_tables(struct vctx *v);
void verify_facts_free(struct vctx *v);

/* The replayed camera of serial at this point of the scan (NULL none). */
const struct fcam *verify_facts_camera(const struct vctx *v, const char *serial);
/* The replayed mass-storage camera of serial (enrolled with kind
 * "storage": it has no key, so it can only be the origin of an unsigned
 * source) at this point of the scan (NULL none). */
const struct fcam *verify_facts_storage_camera(const struct vctx *v, const char *serial);

/* verify_origin.c: an ingested event (outcome ok): manifest and
 * recipients; a recipient_policy event (outcome ok): now in force. */
void verify_origin_ingested(struct vctx *v, const struct cust_event *ev);
void verify_origin_policy(struct vctx *v, const struct cust_event *ev);

#endif
