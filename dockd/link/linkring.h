/* linkring.h - the shared-memory ring between dockd and one camera-link
 * worker (docs/architecture.md, "Messages between dockd and a worker").
 *
 * The daemon creates it per docking (link_open): a memfd of
 * LINKMSG_RING_SIZE bytes (one whole camera frame), sealed against
 * shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW, then F_SEAL_SEAL),
 * mapped read-only and shared here, and passed to the worker as an
 * inherited descriptor. The worker maps it read-write (linkring_map),
 * closes the descriptor and uses the mapping as its session's frame buffer
 * (session_cfg.rx_buf): a camera DATA frame is received straight into it,
 * and the worker sends only a descriptor (LM_DATA: ring_off, len, seq).
 *
 * The worker is hostile and can rewrite the ring at any time, also while
 * the daemon reads it. So the daemon checks every descriptor against the
 * ring and copies the bytes out ONCE (linkring_deliver) into a private
 * buffer (its own, or one the reader gives: the ingest's hash slot); the SHA-256 of the plaintext, the encryption and the ciphertext
 * hash all read that private copy, never the ring. Bytes the worker
 * changes under the copy are just wrong bytes, as if it had sent them:
 * the recording's hash then differs from the camera's signed hash and the
 * ingest fails it (integrity_failed, nothing released). The seals mean the
 * worker cannot cut the file under the daemon's mapping (which would
 * SIGBUS the daemon); it holds no descriptor of it anyway after start-up.
 *
 * Functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_LINKRING_H
#define DOCKD_LINKRING_H

#include <stddef.h>
#include <stdint.h>

#include "linkmsg.h"
#include "session.h"

struct linkring {
	int fd;              /* -1 once passed on (linkring_close_fd) */
	const uint8_t *base; /* read-only shared mapping, NULL: none */
	size_t size;
};

/* The daemon's side: create, size, seal and map a ring; r->fd is
 * close-on-exec (the spawner clears that for its one worker). */
int linkring_create(struct linkring *r);

/* Drop the descriptor (the mapping stays). */
void linkring_close_fd(struct linkring *r);

/* Unmap and close. A zeroed ring with fd -1 is fine. */
void linkring_free(struct linkring *r);

/* Where a piece of ring bytes is copied to: a private buffer of *cap
 * (> 0) bytes that the sink then gets as its data, or NULL (*cap
 * untouched) for the default one (linkc.h, link_buf_fn). */
typedef void *(*linkring_buf_fn)(void *ctx, size_t *cap);

/* Copy ring bytes [ring_off, ring_off + len) out, at most cap at a time,
 * into buf and pass each piece to sink as recording bytes at offset (and
 * on). With getbuf, each piece goes to the buffer it gives instead when
 * it gives one (at most that buffer's size and cap at a time). -ERANGE,
 * nothing passed, when the range does not lie inside the ring or len is
 * 0; else 0 or the sink's first refusal (no piece is passed after it). */
int linkring_deliver(const struct linkring *r, uint32_t ring_off, uint32_t len, uint64_t offset,
		     uint8_t *buf, size_t cap, linkring_buf_fn getbuf, session_sink_fn sink,
		     void *ctx);

/* The sequence number after s in LM_DATA / LM_DATA_ACK (1, 2, ...,
 * UINT32_MAX, 1: 0 is never used). */
static inline uint32_t linkring_next_seq(uint32_t s)
{
	return s == UINT32_MAX ? 1 : s + 1;
}

/* The worker's side: map the ring passed as fd read-write and close fd.
 * -EINVAL when it is not LINKMSG_RING_SIZE bytes or not sealed against
 * shrinking (not a ring from the daemon). */
int linkring_map(int fd, uint8_t **base);

#endif
