/* ingact.h - is ingest running? The lifecycle jobs yield to it
 * (docs/retention.md, "Lifecycle jobs yield to ingest").
 *
 * A camera session counts as pulling from the start of its pull phase
 * (the first recording it ingests) to the end of it (its last recording
 * stored, or the session's end), including the short gaps between its
 * recordings and any wait for disk space inside it. ingact_busy() also
 * stays true for INGACT_QUIET_MS after the last pull ended, so that a
 * fixity audit or a keep-window purge does not start in the moment
 * between two dockings.
 *
 * The counter lives in struct dockd (pulling, pull_end_ns): plain
 * atomics, no lock, cheap enough to read before every 1 MiB an audit
 * reads. Any ingest path (link cameras, mass-storage volumes) brackets
 * its pulling with ingact_begin()/ingact_end().
 */
#ifndef DOCKD_INGACT_H
#define DOCKD_INGACT_H

#include <stdbool.h>

struct dockd;

#define INGACT_QUIET_MS 2000

void ingact_begin(struct dockd *d);
void ingact_end(struct dockd *d);
/* A pull is running, or one ended less than INGACT_QUIET_MS ago. */
bool ingact_busy(struct dockd *d);

#endif
