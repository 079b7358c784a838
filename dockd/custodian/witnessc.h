/* witnessc.h - dockd's client of C2SP tlog-witnesses ([witness] in the
 * configuration; protocol in docs/witness.md).
 *
 * One thread of its own, so docking and ingest never wait on the network.
 * About once a second it looks at the newest signed checkpoint (through
 * its own read-only connection to the ledger, no lock shared with
 * ingest) and, for each configured witness that has not cosigned it,
 * POSTs <url>/add-checkpoint with the RFC 6962 consistency proof from the
 * size the witness last cosigned (first: the largest size of its stored
 * cosignatures, else 0).  The POST itself is made by the witness client
 * process (dockd/witness/witr.h, witw.h): this thread, in the process
 * that holds plaintext, data keys and the ledger writer, opens no network
 * connection; the process's death or misbehaviour is a "witness-client"
 * alert and the witness is asked again after retry_s.  On 409 it retries from the size the witness
 * reports (at most 3 times in a row).  Each returned line is verified
 * with cosig_verify() against the configured witness vkey before it is
 * stored in checkpoint_cosigs (custody/ledger_cosig.h), and the external
 * copy "<external_checkpoint_dir>/checkpoint.<size>.cosigned" (the note
 * plus every stored cosignature) is replaced.  A witness that is down or
 * refuses is asked again after [witness] retry_s; a refusal (403/422) or
 * a witness ahead of this ledger raises an alert (once per witness and
 * checkpoint; repeats are logged): it means the ledger was rewritten or
 * rolled back, or the witness is misconfigured.
 *
 * Results: 0 or -errno.
 */
#ifndef DOCKD_WITNESSC_H
#define DOCKD_WITNESSC_H

#include "config.h"

struct dockd;
struct witnessc;

/* Start the client thread and the witness client process if c has
 * witnesses (*out = NULL otherwise).
 * config_path: the file with [ledger] (ledger path, external dir). */
int witnessc_start(struct dockd *d, const char *config_path,
		   const struct dock_config *c, struct witnessc **out);
/* Stop the thread, then make one last round (bounded by timeout_s per
 * witness) so the final checkpoint is witnessed too, then stop the
 * process.  NULL is fine. */
void witnessc_stop(struct witnessc *wc);

#endif
