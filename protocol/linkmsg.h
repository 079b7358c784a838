/* linkmsg.h - messages between dockd and its camera-link worker.
 *
 * The worker (dockd/linkw.c) is the only process that parses camera bytes;
 * it tells the daemon what it parsed and the daemon tells it what the
 * camera must be told (docs/architecture.md, "The camera-link worker").
 * The channel is a Unix stream socketpair; each message is
 *
 *   offset 0  u8   version   LINKMSG_VERSION (1); anything else is refused
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
 * (-1..-PROTO_E_MAX), a boolean other than 0/1.
 *
 * Results: 0, -EPROTO (a malformed message), -EINVAL (bad argument),
 * -ENOSPC (encode buffer too small). Out-parameters untouched on failure.
 */
#ifndef DOCK_LINKMSG_H
#define DOCK_LINKMSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define LINKMSG_VERSION 1
#define LINKMSG_HDR_LEN 8
#define LINKMSG_SMALL_MAX 2048                    /* cap of every type but DATA */
#define LINKMSG_DATA_MAX (8u + PROTO_MAX_DATA)    /* DATA: offset + bytes */
#define LINKMSG_MAX (LINKMSG_HDR_LEN + LINKMSG_DATA_MAX)

enum linkmsg_type {
	/* daemon -> worker */
	LM_OPEN = 1,       /* dock_nonce[32] timeout_ms:u32 cert */
	LM_AUTH = 2,       /* verdict:i32 sig[64] why:str(128) */
	LM_LIST = 3,       /* empty */
	LM_READ = 4,       /* offset:u64 length:u64 recording_id:id */
	LM_RELEASE = 5,    /* receipt (already signed) */
	LM_STATUS = 6,     /* empty */
	LM_TIME_SYNC = 7,  /* empty */
	LM_BYE = 8,        /* empty: say BYE, exit */
	/* worker -> daemon */
	LM_HELLO = 64,        /* version:u8 cam_nonce[32] sig[64] identity */
	LM_OPENED = 65,       /* result:i32 clock_offset_ns:i64 */
	LM_ENTRY = 66,        /* verdict:i32 manifest entry */
	LM_LIST_DONE = 67,    /* result:i32 */
	LM_DATA = 68,         /* offset:u64 bytes[length - 8] */
	LM_READ_DONE = 69,    /* result:i32 */
	LM_RELEASE_DONE = 70, /* result:i32 */
	LM_STATUS_DONE = 71,  /* result:i32 battery:u8 free:u64 total:u64 recordings:u32 */
	LM_TIME_DONE = 72,    /* result:i32 before_ns:i64 after_ns:i64 */
};

struct linkmsg_hdr {
	uint8_t type;
	uint32_t length;
};

struct linkmsg {
	uint8_t type;
	union {
		struct { uint8_t dock_nonce[PROTO_NONCE_LEN]; uint32_t timeout_ms;
			 struct proto_dock_cert cert; } open;
		struct { int32_t verdict; uint8_t sig[PROTO_SIG_LEN];
			 char why[PROTO_TEXT_MAX + 1]; } auth;
		struct { uint64_t offset, length; char recording_id[PROTO_ID_MAX + 1]; } read;
		struct proto_receipt release;
		struct proto_hello_reply hello;
		struct { int32_t result; int64_t clock_offset_ns; } opened;
		struct { int32_t verdict; struct proto_manifest_entry e; } entry;
		struct { uint64_t offset; uint32_t len; const uint8_t *data; } data;
		int32_t result; /* LIST_DONE, READ_DONE, RELEASE_DONE */
		struct { int32_t result; struct proto_status_reply st; } status;
		struct { int32_t result; int64_t before_ns, after_ns; } time;
	} u;
};

/* Check a header: version, a known type, length within its cap (and at
 * least its fixed part). */
int linkmsg_hdr_decode(const uint8_t buf[LINKMSG_HDR_LEN], struct linkmsg_hdr *out);

/* Decode a payload of h->length bytes. For LM_DATA, out->u.data.data
 * points into p. */
int linkmsg_decode(const struct linkmsg_hdr *h, const uint8_t *p, struct linkmsg *out);

/* Encode m (header + payload) into buf. For LM_DATA only the header and
 * the offset are written (12 bytes) and the length covers u.data.len more
 * bytes the caller sends right after (writev), so bulk bytes are not
 * copied. */
int linkmsg_encode(const struct linkmsg *m, uint8_t *buf, size_t cap, size_t *len_out);

/* true for types the worker may send (the daemon's receiving side). */
int linkmsg_from_worker(uint8_t type);

#endif
