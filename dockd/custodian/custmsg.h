/* custmsg.h - messages between dockd and the custodian process
 * (docs/architecture.md, "The custodian").
 *
 * The custodian (custp.h) holds the dock key and the checkpoint key and a
 * read-only handle on the ledger; dockd reaches the keys only through
 * these messages (custc.h). Transport: one AF_UNIX SOCK_SEQPACKET
 * socketpair, one message per record, at most CUSTMSG_MAX bytes, no file
 * descriptors. dockd sends one request and reads one CM_RESULT; the
 * custodian sends CM_READY once, first.
 *
 * Each request is of one purpose only (domain separation): CM_AUTH is
 * answered only for the bytes of an AUTH_DOCK signature (docs/protocol.md
 * 7.2) over the custodian's own certificate; CM_RECEIPT carries the
 * receipt's fields (never bytes to sign) and is signed only when the
 * ledger justifies it; CM_CKPT carries nothing: the custodian computes
 * the tree head itself.
 *
 * Wire format, all integers little-endian:
 *   header (8 bytes): version u8 (CUSTMSG_VERSION), type u8, reserved
 *                     u16 (0), payload length u32 (= record length - 8)
 *   payload: the fields the type carries (table in custmsg.c), in this
 *            order, each present exactly once:
 *     rc        i32  (0 or -errno, -4095..0)
 *     serial    str  (a protocol id: 1..PROTO_ID_MAX, proto_id_valid())
 *     recording str  (a protocol id, likewise)
 *     sha256    32 bytes
 *     location  str  (0..PROTO_LOCATION_MAX)
 *     issued    i64  (receipt issued_utc; 0 = now, in a request)
 *     dock_id   str  (0..PROTO_ID_MAX)
 *     sig       64 bytes (Ed25519)
 *     keys      32 bytes dock public key, u8 have_ckpt (0 or 1),
 *               32 bytes checkpoint public key (zero when have_ckpt = 0)
 *     size      u64
 *     text      str  (0..CUSTMSG_TEXT_MAX)
 *     blob      u16 length + bytes (0..CUSTMSG_BLOB_MAX, any bytes)
 *   str = u16 length + bytes, no NUL byte, no control character.
 * A record of another version, an unknown type, a short or long payload
 * or a field out of range is refused (-EPROTO) and the channel is closed.
 *
 * All functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_CUSTMSG_H
#define DOCKD_CUSTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define CUSTMSG_VERSION 1
#define CUSTMSG_HDR 8
#define CUSTMSG_MAX 4096
#define CUSTMSG_TEXT_MAX 1000
#define CUSTMSG_BLOB_MAX 2048 /* a PROTO_TBS_MAX tbs, a one-signature checkpoint */

enum custmsg_type {
	/* dockd -> custodian */
	CM_AUTH = 1,    /* blob = the AUTH_DOCK tbs; answer: sig */
	CM_RECEIPT = 2, /* serial, recording, sha256, location, issued; answer: sig,
			 * dock_id, issued (or rc -EPERM and text = why) */
	CM_CKPT = 3,    /* answer: size, blob = the signed note (or rc and why) */
	CM_RELOAD = 4,  /* SIGHUP: read the configuration again (release policy) */
	/* custodian -> dockd */
	CM_READY = 32,  /* rc, text = why, keys */
	CM_RESULT = 33, /* rc, text, sig, dock_id, issued, size, blob */
};

struct custmsg {
	uint8_t type;
	int32_t rc;
	char serial[PROTO_ID_MAX + 1];
	char recording[PROTO_ID_MAX + 1];
	uint8_t sha256[32];
	char location[PROTO_LOCATION_MAX + 1];
	int64_t issued;
	char dock_id[PROTO_ID_MAX + 1];
	uint8_t sig[64];
	uint8_t dock_pub[32];
	uint8_t have_ckpt;
	uint8_t ckpt_pub[32];
	uint64_t size;
	char text[CUSTMSG_TEXT_MAX + 1];
	uint16_t blob_len;
	uint8_t blob[CUSTMSG_BLOB_MAX];
};

/* Encode m into buf (cap bytes, >= CUSTMSG_MAX); *len = record length.
 * -EINVAL unknown type or a field out of range, -ENAMETOOLONG over a cap. */
int custmsg_encode(const struct custmsg *m, uint8_t *buf, size_t cap, size_t *len);

/* Decode one record (the fuzzed parser); -EPROTO as above. */
int custmsg_decode(const uint8_t *buf, size_t len, struct custmsg *out);

/* Send m. -ECONNRESET when the peer is gone. */
int custmsg_send(int sock, const struct custmsg *m);

/* Receive one message within timeout_ms (-1 = wait). -ECONNRESET at end
 * of stream; -ETIMEDOUT; -EPROTO (a truncated record, any descriptor
 * passed along: closed). */
int custmsg_recv(int sock, int timeout_ms, struct custmsg *out);

#endif
