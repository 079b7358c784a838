/* ledgerw.h - dockd's one shared handle on the custody ledger.
 *
 * Every thread of dockd (camera sessions, the storage worker, the main loop
 * and the embedded query service) uses one struct cust_ledger behind one
 * mutex. A state change and the events that justify it are written in one
 * transaction (dockdb.h); the ledger's group commit makes that one fsync.
 *
 * Checkpoints (custody/publish.h): ledgerw_checkpoint() after each docking
 * session closes, ledgerw_tick() from the main loop's timer when
 * [ledger] checkpoint_interval_s has passed. Without [ledger]
 * checkpoint_key no checkpoint is written (logged once at open). In the
 * daemon they are signed by the custodian process (custc.h,
 * ledgerw_attach_custodian); an admin command's handle (ledgerw_open)
 * still loads the checkpoint key itself.
 *
 *     struct ledgerw *w;
 *     ledgerw_open(cfg_path, agency, dock_id, &w, err, sizeof(err));
 *     ledgerw_lock(w); ... cust_ledger_begin(ledgerw_ledger(w)) ...; ledgerw_unlock(w);
 *     ledgerw_close(w);
 *
 * Results: 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_LEDGERW_H
#define DOCKD_LEDGERW_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "custc.h"
#include "ledger.h"

struct ledgerw;

/* Read [ledger] from config_path, open (creating) the ledger, load the
 * checkpoint signer, publish any checkpoint a crash left unpublished.
 * Events are written for agency as actor "dock" dock_id. */
int ledgerw_open(const char *config_path, const char *agency, const char *dock_id,
		 struct ledgerw **out, char *err, size_t errlen);
/* Same, for the daemon: only the ledger is opened (created); the keys
 * are the custodian process's, attached next with
 * ledgerw_attach_custodian() (it reads the ledger file this creates). */
int ledgerw_open_dock(const char *config_path, const char *agency, const char *dock_id,
		      struct ledgerw **out, char *err, size_t errlen);
/* The daemon's checkpoints come from the custodian c (custc.h) from now
 * on: each note it returns is verified under its checkpoint key, stored
 * and published here; a refusal is recorded as checkpoint_refused {size,
 * why} (action 70, outcome denied) and passed to alert(ctx,
 * "checkpoint-refused", text). The agency's custody certificate ([ledger]
 * custody_cert) must name the custodian's dock and checkpoint public
 * keys. Then a startup checkpoint (republishing what a crash left). */
int ledgerw_attach_custodian(struct ledgerw *w, struct custc *c, custc_notify_fn alert,
			     void *ctx, char *err, size_t errlen);
void ledgerw_close(struct ledgerw *w);
/* A handle around an already open ledger l (taken over: ledgerw_close
 * closes it), without checkpoint signer or agency statements: for an
 * admin command that reads through dockd's code (`dockd purge --dry-run`). */
int ledgerw_wrap(struct cust_ledger *l, const char *agency, const char *dock_id,
		 struct ledgerw **out);

/* The agency statements ledgerw_open() checked and recorded
 * ([ledger] custody_cert, witness_policy; custody/agencyrec.h): a
 * certificate for another checkpoint key, origin, agency or dock, or one
 * that does not verify under [ledger] agency_vkey, fails the open. */
struct cust_trust_status;
const struct cust_trust_status *ledgerw_trust(struct ledgerw *w);

void ledgerw_lock(struct ledgerw *w);
void ledgerw_unlock(struct ledgerw *w);
/* The ledger; use only while holding the lock. */
struct cust_ledger *ledgerw_ledger(struct ledgerw *w);

/* cust_event_init() with this dock's agency and actor. */
int ledgerw_event(struct ledgerw *w, struct cust_event *ev, enum cust_action a,
		  const char *evidence_id, enum cust_outcome o);

/* Same, for an action looked up by name at run time (for actions custody
 * may not define yet): -ENOENT when the ledger does not know it. */
int ledgerw_event_named(struct ledgerw *w, struct cust_event *ev, const char *action,
			const char *evidence_id, enum cust_outcome o);

/* Lock, append one event durably, unlock. */
int ledgerw_append(struct ledgerw *w, struct cust_event *ev);

/* Sign and publish a checkpoint now (lock taken inside). 0 also when no
 * signer is configured or the ledger is empty. */
int ledgerw_checkpoint(struct ledgerw *w);
/* Checkpoint if the configured interval has passed (cust_checkpoint_due). */
int ledgerw_tick(struct ledgerw *w);

/* fn(arg) runs after each checkpoint ledgerw_checkpoint() wrote (outside
 * the lock, on the writing thread): the storage worker uploads it. */
void ledgerw_set_checkpoint_hook(struct ledgerw *w, void (*fn)(void *arg), void *arg);

/* The signed checkpoint with the largest tree size > after (the newest):
 * *size, *note (malloc'd, NUL-terminated, the bytes published as
 * checkpoint.<size>; caller frees) and *len. -ENOENT when there is none. */
int ledgerw_checkpoint_newest(struct ledgerw *w, uint64_t after, uint64_t *size, char **note,
			      size_t *len);

#endif
