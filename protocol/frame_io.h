/* frame_io.h - move whole protocol frames (wire.h) over a transport.
 *
 * Shared by the dock session (session.h) and the camera (camsim). Reading
 * validates the 16-byte header with proto_hdr_decode() BEFORE reading the
 * payload, so a lying length can neither allocate nor overrun: the caller's
 * buffer always has room for PROTO_MAX_FRAME bytes and nothing is allocated.
 *
 * A frame of an unknown type but an otherwise valid header is read to its
 * end and reported as -PROTO_E_BAD_TYPE: the stream stays in step, so the
 * caller may skip it (forward compatibility) - with a cap, see session.c.
 * Every other error leaves the stream in an unknown state: stop using it.
 *
 * timeout_ms bounds the whole frame (not each recv), so a peer dripping one
 * byte at a time cannot hold a reader for longer than that.
 */
#ifndef DOCK_FRAME_IO_H
#define DOCK_FRAME_IO_H

#include "transport.h"
#include "wire.h"

/* Read one frame into buf (cap >= PROTO_MAX_FRAME, else -EINVAL) and decode
 * it into *hdr and *msg (msg may point into buf: see proto_data). Returns 0,
 * a transport error, -PROTO_E_BAD_TYPE (frame skipped, stream usable; *hdr
 * is filled) or another -PROTO_E_* from the codec. */
int frame_read(struct transport *t, uint8_t *buf, size_t cap, int timeout_ms,
	       struct proto_hdr *hdr, struct proto_msg *msg);

/* Encode msg with seq/flags into buf (capacity cap) and send it. */
int frame_write(struct transport *t, const struct proto_msg *msg, uint32_t seq, uint16_t flags,
		uint8_t *buf, size_t cap, int timeout_ms);

/* Send an ERROR frame for err (-PROTO_E_*; any other value is sent as
 * PROTO_E_INTERNAL) with an optional text (cut to PROTO_TEXT_MAX). */
int frame_write_error(struct transport *t, uint32_t seq, int err, const char *text,
		      int timeout_ms);

#endif
