/* custc.h - dockd's side of the custodian process (custp.h): the only way
 * dockd gets a signature from the dock key or the checkpoint key, which
 * it never loads (docs/architecture.md, "The custodian").
 *
 * One custodian per daemon, one request at a time (a mutex; each answer
 * is a signature or a ledger read of one item, or the events since the
 * last checkpoint). When the custodian dies, or breaks the protocol (it is
 * then killed), the request in flight and every request until it runs
 * again fail with -EIO: no AUTH_DOCK (the camera retries at its next
 * docking), no release receipt (the camera keeps its recordings), no
 * checkpoint (the next one covers the events). It is restarted at the
 * next request or custc_tick() once the restart delay (0.5 s, doubling to
 * 30 s while it keeps dying within a minute) has passed; each death is
 * logged and passed to the notify hook (the daemon raises an alert). A
 * restarted custodian must present the same public keys.
 *
 * Results: 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_CUSTC_H
#define DOCKD_CUSTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "edsig.h"
#include "wire.h"

struct custc;

/* kind: "custodian" (it died), "checkpoint-refused" */
typedef void (*custc_notify_fn)(void *ctx, const char *kind, const char *what);

/* Start `exe --custodian config CTL` (exe an absolute path; NULL:
 * /proc/self/exe) and wait for CM_READY: its failure (key, certificate,
 * ledger) is the daemon's, with the custodian's reason in err. */
int custc_start(const char *exe, const char *config, custc_notify_fn notify, void *ctx,
		struct custc **out, char *err, size_t errlen);
/* Close the channel (the custodian exits), reap it. NULL is fine. */
void custc_stop(struct custc *c);

/* The public keys it presented: the dock key; the checkpoint key when
 * *have_ckpt (no [ledger] checkpoint_key: false). */
void custc_keys(const struct custc *c, uint8_t dock_pub[EDSIG_PUBKEY_LEN], bool *have_ckpt,
		uint8_t ckpt_pub[EDSIG_PUBKEY_LEN]);

/* An edsig key whose signatures the custodian makes (CM_AUTH): for
 * session_cfg.dock_key. Only AUTH_DOCK bytes are signed; anything else
 * fails with -EPERM. Freed with edsig_key_free (c stays). */
int custc_auth_key(struct custc *c, struct edsig_key **out);

/* Ask for the release receipt rc (recording_id, sha256, location,
 * issued_utc; 0 = now) of serial. 0: rc->dock_id, issued_utc, sig set.
 * -EPERM: the custodian's ledger check refused it, why says why. -EIO:
 * no custodian now. */
int custc_receipt(struct custc *c, const char *serial, struct proto_receipt *rc, char *why,
		  size_t whylen);

/* Ask for a checkpoint of the ledger as the custodian reads it: *size,
 * *note (malloc'd, NUL-terminated), *len. -ENODATA empty ledger, -ENOKEY
 * no checkpoint key, -EPERM refused (why), -EIO no custodian now. */
int custc_checkpoint(struct custc *c, uint64_t *size, char **note, size_t *len, char *why,
		     size_t whylen);

/* Deaths go to died(ctx, what, sig) instead of the notify hook: what is
 * one line ("custodian (pid N) died during a request: killed by signal
 * 31"), sig the signal that ended it (31 SIGSYS: its seccomp filter
 * killed it; 9 when custc killed it for breaking the protocol or not
 * answering), 0 if it exited. The daemon records link_worker_killed
 * (details.process "custodian") and alerts (procdied.h). */
typedef void (*custc_died_fn)(void *ctx, const char *what, int sig);
void custc_on_death(struct custc *c, custc_died_fn died, void *ctx);

/* SIGHUP: a new custodian process reads the configuration (the running
 * one's landlock rule cannot follow a replaced file); the same keys are
 * required, and the stop is not recorded as a death. */
void custc_reload(struct custc *c);
/* From the main loop: reap a dead custodian and restart it when due. */
void custc_tick(struct custc *c);
/* Its pid (0 when none runs), for the status view and tests. */
pid_t custc_pid(struct custc *c);

#endif
