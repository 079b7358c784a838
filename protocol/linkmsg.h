/* linkmsg.h - messages between dockd and its camera-link worker.
 *
 * The worker (dockd/link/linkw.c) is the only process that parses camera bytes;
 * it tells the daemon what it parsed and the daemon tells it what the
 * camera must be told (docs/architecture.md, "The camera-link worker").
 * The channel is a Unix stream socketpair; each message is
 *
 *   offset 0  u8   version   LINKMSG_VERSION (3); anything else is refused
 *   offset 1  u8   type      enum linkmsg_type
 *   offset 2  u16  reserved  0
 *   offset 4  u32  length    payload bytes that follow, <= the type's cap
 *
 * All integers are little-endian; a string is u16 length + that many
 * bytes (no NUL, no terminator) and has a cap per field. Payload layouts
 * are listed per type in linkmsg.c and in docs/architecture.md. A decoder
 * refuses a payload whose fields do not fill it exactly, a string over its
 * cap or holding a NUL, an id that is not a valid protocol id
 * (proto_id_valid), a verdict/result outside 0 or -PROTO_E_* / -errno
 * (-1..-PROTO_E_MAX), a boolean other than 0/1, a limit over
 * LINKMSG_LIMIT_MAX, an abort code outside -PROTO_E_BASE..-PROTO_E_MAX, a
 * session state's limit over LINKMSG_LIMIT_KINDS, a DATA descriptor whose
 * length is 0 or over PROTO_MAX_DATA or whose bytes do not lie inside a
 * ring of LINKMSG_RING_SIZE, a sequence number 0.
 *
 * Bulk bytes do not travel on the channel: the daemon creates a sealed
 * memfd of LINKMSG_RING_SIZE bytes per worker (the ring, dockd/link/
 * linkring.h), the worker reads every camera frame into it (it is the
 * session's frame buffer) and sends LM_DATA, a descriptor of where in the
 * ring a DATA frame's payload lies; the daemon copies the bytes out and
 * answers LM_DATA_ACK, after which the worker may read the next frame into
 * the ring (docs/architecture.md, "Messages between dockd and a worker").
 *
 * Results: 0, -EPROTO (a malformed message), -EINVAL (bad argument),
 * -ENOSPC (encode buffer too small). Out-parameters untouched on failure.
 */
#ifndef DOCK_LINKMSG_H
#define DOCK_LINKMSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define LINKMSG_VERSION 3
#define LINKMSG_HDR_LEN 8
#define LINKMSG_SMALL_MAX 2048                    /* cap of every type */
/* The volume channel's DATA cap (dockd/volume/volmsg.h): offset + bytes */
#define LINKMSG_DATA_MAX (8u + PROTO_MAX_DATA)
#define LINKMSG_MAX (LINKMSG_HDR_LEN + LINKMSG_DATA_MAX) /* the volume channel's */
/* The ring: one whole camera frame (PROTO_MAX_FRAME), in whole pages. It
 * replaces the worker's private frame buffer, so it costs no memory the
 * split did not cost before (docs/architecture.md). */
#define LINKMSG_RING_SIZE ((PROTO_MAX_FRAME + 4095u) & ~4095u)
/* Cap of LM_OPEN's deadline_ms and rate_window_ms (the session caps its
 * limits at the same value, SESSION_LIMIT_MAX_MS) and of min_rate_bps. */
#define LINKMSG_LIMIT_MAX (UINT64_C(1) << 40)
#define LINKMSG_LIMIT_KINDS 2 /* session_limit(): 0, RATE 1, DEADLINE 2 */

enum linkmsg_type {
	/* daemon -> worker */
	LM_OPEN = 1,       /* dock_nonce[32] timeout_ms:u32 deadline_ms:u64
			    * min_rate_bps:u64 rate_window_ms:u64 cert */
	LM_AUTH = 2,       /* verdict:i32 sig[64] why:str(128) */
	LM_LIST = 3,       /* empty */
	LM_READ = 4,       /* offset:u64 length:u64 recording_id:id */
	LM_RELEASE = 5,    /* receipt (already signed) */
	LM_STATUS = 6,     /* empty */
	LM_TIME_SYNC = 7,  /* empty */
	LM_BYE = 8,        /* empty: say BYE, exit */
	LM_ABORT = 9,      /* code:i32 (a -PROTO_E_*): session_abort() */
	LM_DATA_ACK = 10,  /* seq:u32: done with LM_DATA seq, the ring is free */
	/* worker -> daemon; every *_DONE and OPENED ends with the session's
	 * state: error:i32 (session_error) limit:u8 (session_limit) */
	LM_HELLO = 64,        /* version:u8 cam_nonce[32] sig[64] identity */
	LM_OPENED = 65,       /* result:i32 clock_offset_ns:i64 state */
	LM_ENTRY = 66,        /* verdict:i32 manifest entry */
	LM_LIST_DONE = 67,    /* result:i32 state */
	LM_DATA = 68,         /* offset:u64 ring_off:u32 len:u32 seq:u32: recording
			       * bytes [offset, offset + len) are ring bytes
			       * [ring_off, ring_off + len); seq 1, 2, ... per worker */
	LM_READ_DONE = 69,    /* result:i32 state */
	LM_RELEASE_DONE = 70, /* result:i32 state (-EEXIST: deleted=0) */
	LM_STATUS_DONE = 71,  /* result:i32 battery:u8 free:u64 total:u64 recordings:u32 state */
	LM_TIME_DONE = 72,    /* result:i32 before_ns:i64 after_ns:i64 state */
	LM_ABORT_DONE = 73,   /* result:i32 state */
};

/* true for the types that end with the session state. */
int linkmsg_has_state(uint8_t type);

struct linkmsg_hdr {
	uint8_t type;
	uint32_t length;
};

struct linkmsg {
	uint8_t type;
	union {
		struct { uint8_t dock_nonce[PROTO_NONCE_LEN]; uint32_t timeout_ms;
			 uint64_t deadline_ms, min_rate_bps, rate_window_ms; /* 0: off */
			 struct proto_dock_cert cert; } open;
		int32_t abort_code; /* LM_ABORT */
		uint32_t ack_seq;   /* LM_DATA_ACK */
		struct { int32_t verdict; uint8_t sig[PROTO_SIG_LEN];
			 char why[PROTO_TEXT_MAX + 1]; } auth;
		struct { uint64_t offset, length; char recording_id[PROTO_ID_MAX + 1]; } read;
		struct proto_receipt release;
		struct proto_hello_reply hello;
		struct { int32_t result; int64_t clock_offset_ns; } opened;
		struct { int32_t verdict; struct proto_manifest_entry e; } entry;
		struct { uint64_t offset; uint32_t ring_off, len, seq; } data;
		int32_t result; /* LIST_DONE, READ_DONE, RELEASE_DONE, ABORT_DONE */
		struct { int32_t result; struct proto_status_reply st; } status;
		struct { int32_t result; int64_t before_ns, after_ns; } time;
	} u;
	/* The worker's session after the exchange (types with
	 * linkmsg_has_state): error is 0 or -errno / -PROTO_E_* like a
	 * result, limit 0..LINKMSG_LIMIT_KINDS. */
	struct { int32_t error; uint8_t limit; } state;
};

/* Check a header: version, a known type, length within its cap (and at
 * least its fixed part). */
int linkmsg_hdr_decode(const uint8_t buf[LINKMSG_HDR_LEN], struct linkmsg_hdr *out);

/* Decode a payload of h->length bytes. */
int linkmsg_decode(const struct linkmsg_hdr *h, const uint8_t *p, struct linkmsg *out);

/* Encode m (header + payload) into buf; -EINVAL for a message the decoder
 * would refuse for its range (limits, a DATA descriptor outside the ring). */
int linkmsg_encode(const struct linkmsg *m, uint8_t *buf, size_t cap, size_t *len_out);

/* true for types the worker may send (the daemon's receiving side). */
int linkmsg_from_worker(uint8_t type);

#endif
