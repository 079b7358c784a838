/*
 * destruction.h - the ledger side of deliberate destruction (issue 12,
 * docs/retention.md "Destruction"). Shared by the query service (which
 * records destruction_requested / destruction_approved, qdestroy.c) and
 * dockd (which deletes the copies and records `destroyed`, dockd/lifecycle/destroy.c):
 * both read the same facts from the ledger, so they cannot disagree about
 * what is due, what is pending or what a destruction deletes.
 *
 * The ledger is the hand-over: an approved destruction is a successful
 * destruction_approved event with no `destroyed` event (any outcome) after
 * it. A failed `destroyed` ends that approval; a new request and approval
 * are needed to try again.
 *
 * All functions need the ledger lock (a host's mutex) held by the caller;
 * they return 0 or -errno, out-parameters untouched on failure.
 */
#ifndef CUSTODY_DESTRUCTION_H
#define CUSTODY_DESTRUCTION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "evstate.h"
#include "ledger.h"
#include "retention.h"

#define CUST_DESTROY_LIST_MAX 1000	/* items in one `due` answer */

/* The item's record (-ENOENT: no such item). */
int cust_destroy_record(struct cust_ledger *l, const char *item,
			struct cust_evstate *st);

/* What destroying the item deletes, from its events:
 *   {"item": ID, "sha256": plaintext, "ct_sha256": ciphertext,
 *    "copies": [ {"where": "vault", "path": P}            (local copy)
 *                {"where": "storage", "location": L, "object_key": K,
 *                 "version_id": V} ]}                     (uploaded) */
int cust_destroy_plan(struct cust_ledger *l, const struct cust_evstate *st,
		      json_t **out);

/* May the item be destroyed at now_ns? 0, or -EPERM with *why (a static
 * word: "destroyed", "hold", "indefinite", "not-due", "minimum") and a
 * one-line message. The statutory minimum is the category's `.min` in the
 * table in force (rt), counted from the item's ingested event: an item
 * whose stored date is earlier (the table changed since) is refused. */
int cust_destroy_check(struct cust_ledger *l, const struct cust_retention *rt,
		       const struct cust_evstate *st, int64_t now_ns,
		       const char **why, char *msg, size_t cap);

/* The open request of an item: its latest successful
 * destruction_requested with no destruction_approved (ok) and no
 * destroyed event after it. -ENOENT: none. */
struct cust_destroy_req {
	uint64_t seq;
	char by[CUST_ACTOR_ID_MAX + 1];
	uint64_t approved_seq;		/* 0: not approved yet */
	char approved_by[CUST_ACTOR_ID_MAX + 1];
};
int cust_destroy_open_request(struct cust_ledger *l, const char *item,
			      struct cust_destroy_req *r);

/* The oldest approved destruction not carried out yet (any agency):
 * item id and the request. -ENOENT: none. */
int cust_destroy_next_approved(struct cust_ledger *l, char *item, size_t cap,
			       struct cust_destroy_req *r);

/* Items of agency whose retention date is before now_ns, not under hold,
 * not destroyed: [{"item","category","retention_until","status"}...],
 * at most limit (<= CUST_DESTROY_LIST_MAX). */
int cust_destroy_due(struct cust_ledger *l, const char *agency,
		     int64_t now_ns, size_t limit, json_t **out);

#endif /* CUSTODY_DESTRUCTION_H */
