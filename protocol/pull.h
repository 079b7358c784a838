/* pull.h - pull one recording into a file and verify it against the
 * camera's signed manifest entry.
 *
 * The reference "pull and verify" loop: resumes at the file's current size
 * (the bytes already there are re-hashed, not trusted), streams the rest
 * through session_read() while hashing (SHA-256), fsyncs, then checks size
 * and hash against the entry. dockd does the same with encryption in its
 * sink; tests, the bench and the USB harness use this directly.
 */
#ifndef DOCK_PULL_H
#define DOCK_PULL_H

#include <stdint.h>

#include "session.h"

/* Pull e->recording_id into path (created 0600 if absent). Returns 0 when
 * the file holds exactly e->size bytes whose SHA-256 is e->sha256;
 * -PROTO_E_MISMATCH when it does not (the file is kept for inspection; the
 * caller must not release the recording); a session or -errno error when the
 * pull stopped early (e.g. -ECONNRESET: call again later to resume). When
 * done_out is not NULL it receives the file's size afterwards, whatever the
 * result. */
int pull_to_file(struct session *s, const struct proto_manifest_entry *e, const char *path,
		 uint64_t *done_out);

#endif
