/*
 * verify.h - `custody verify`: recompute everything the ledger claims and
 * report each inconsistency.
 *
 * Checks, in one read transaction (a consistent snapshot, so appends by
 * other processes may continue):
 *   - events are numbered 1..n without gaps;
 *   - each event's columns re-encode to its stored canonical bytes, and
 *     the stored leaf hash is H(0x00 || canonical bytes);
 *   - the Merkle root at every checkpoint size, recomputed from the
 *     canonical bytes, equals the root each checkpoint signs;
 *   - every checkpoint (ledger table and external directory) parses and
 *     carries a valid signature by a trusted key, file name and size
 *     agree, the two copies of one size are identical, each ledger
 *     checkpoint was published, and checkpoints are mutually consistent;
 *   - the ledger is not shorter than the newest external checkpoint;
 *   - the stored Merkle frontier matches the recomputed tree;
 *   - the evidence records equal the replay of their events;
 *   - custody_users and dock_cameras equal the replay of the user and
 *     enrolment events, and every ingested recording that names a camera
 *     carries a manifest signature by that camera's enrolled key
 *     (verify_facts.c, verify_origin.c).
 * External checkpoints are listed BEFORE the snapshot is taken, so one
 * published by a concurrent appender is never mistaken for a truncation;
 * for the same reason a ledger checkpoint signed less than 10 s before
 * that listing (or after it) is not reported as unpublished: its external
 * write may still have been in flight.
 *
 * Finding classes (stable tokens, see docs/custody-ledger.md):
 *   unreadable-row seq-gap changed-field moved bad-encoding leaf-hash
 *   checkpoint-root truncated checkpoint-signature checkpoint-unknown-key
 *   checkpoint-mismatch checkpoint-conflict checkpoints-inconsistent
 *   checkpoint-unpublished checkpoint-missing frontier record
 *   record-missing record-orphan cases agency table-users table-cameras
 *   manifest
 * and in agency mode (docs/trust.md):
 *   custody-cert witness-policy witness-policy-missing cosignature
 *   unwitnessed
 */
#ifndef CUSTODY_VERIFY_H
#define CUSTODY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "ledger.h"

/* Default of `custody verify --witness-grace`: how long the newest
 * checkpoints may wait for their witnesses (docs/trust.md). */
#define CUST_WITNESS_GRACE_S 600

/* seq: the event concerned (0 when none, e.g. a checkpoint file). */
typedef void (*cust_finding_cb)(void *arg, const char *cls, uint64_t seq,
				const char *msg);

struct cust_verify_opts {
	const struct ckpt_vkey *keys;	/* trusted checkpoint keys */
	size_t n_keys;
	const char *ext_dir;		/* external checkpoints, NULL = none */
	/* Agency mode (docs/trust.md, verify_agency.c) when agency is set:
	 * keys above are ignored; checkpoint keys come only from
	 * custody_certified events signed by this agency vkey for `origin`
	 * (NULL/"" = the origin of the first such certificate), and the
	 * newest checkpoint must carry a quorum of witness cosignatures of
	 * the witness policy witness_note (NULL = the newest agency-signed
	 * witness_policy event), unless the newest witnessed one was
	 * cosigned (the witnesses' signed time) at most witness_grace_s
	 * seconds ago (0: the newest must be witnessed). info (may be NULL)
	 * gets what is reported but is not a finding (unwitnessed older
	 * checkpoints, the tail). */
	const struct ckpt_vkey *agency;
	const char *origin;
	const char *witness_note;
	size_t witness_len;
	int64_t witness_grace_s;
	cust_finding_cb info;
};

struct cust_verify_result {
	uint64_t events;		/* rows read */
	uint64_t items;			/* evidence items replayed */
	uint64_t checkpoints;		/* checkpoint copies examined */
	uint64_t newest_checkpoint;	/* largest validly signed size */
	uint64_t findings;
	/* agency mode only: */
	uint64_t certified_keys;	/* distinct certified checkpoint keys */
	uint64_t witnessed;		/* newest size with a witness quorum */
	uint64_t witnessed_time;	/* when a quorum had cosigned it (s) */
	uint64_t witness_policy_version;	/* 0 = none */
	int64_t oldest_unwitnessed_ns;	/* time of event witnessed+1, 0 none */
};

/* Returns 0 when the checks ran (findings counted in res and reported
 * through cb), negative errno when they could not run (unreadable file,
 * out of memory) - never 0 on a partial check. */
int cust_verify(struct cust_ledger *l, const struct cust_verify_opts *o,
		cust_finding_cb cb, void *arg, struct cust_verify_result *res);

#endif /* CUSTODY_VERIFY_H */
