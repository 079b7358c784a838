/* storemsg.h - messages between dockd and the storage uploader process
 * (docs/architecture.md, "The storage uploader").
 *
 * The uploader (storew.h) holds the S3 credentials and the S3 client;
 * dockd reaches the storage target only through these messages
 * (store_remote.c implements store.h's ops with them). Transport: AF_UNIX
 * SOCK_SEQPACKET socketpairs, one message per record, at most
 * STOREMSG_MAX bytes; file descriptors ride along with SCM_RIGHTS.
 *
 * Channels: one control channel per uploader process (dockd -> uploader:
 * SM_NEWCHAN, SM_CANCEL; uploader -> dockd: SM_READY once), and one
 * operation channel per concurrent caller, created on demand by dockd and
 * handed to the uploader with SM_NEWCHAN. On an operation channel dockd
 * sends one request and reads SM_PROGRESS messages (put/replace only)
 * until one SM_RESULT; then the channel is free for the next request.
 *
 * Wire format, all integers little-endian:
 *   header (8 bytes): version u8 (STOREMSG_VERSION), type u8, reserved
 *                     u16 (0), payload length u32 (= record length - 8)
 *   payload: the fields the type carries (table in storemsg.c), in this
 *            order, each present exactly once:
 *     key      str     (1..STORE_KEY_MAX, store_key_valid())
 *     version  str     (0..128)
 *     size     u64
 *     sha256   32 bytes
 *     tags     str category, str case, str retention (0..STOREMSG_TAG_MAX
 *              each), i64 retain_until
 *     flags    u8      (SMF_*; bits not defined for the type: refused)
 *     rc       i32     (0 or -errno, -4095..0)
 *     info     str location (0..STORE_LOCATION_MAX), str version_id,
 *              str etag (0..128 each)
 *     text     str     (0..STOREMSG_TEXT_MAX)
 *   str = u16 length + bytes, no NUL byte, no control character.
 * A record of another version, an unknown type, a short or long payload,
 * a field out of range or the wrong number of descriptors is refused
 * (-EPROTO) and the channel is closed.
 *
 * Descriptors: SM_PUT / SM_REPLACE carry the source (O_RDONLY) and, with
 * SMF_SUMS, the ingest's part digests file (dockd/ingest/partsum.h);
 * SM_FETCH the destination (writable); SM_NEWCHAN the new channel.
 *
 * All functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_STOREMSG_H
#define DOCKD_STOREMSG_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STOREMSG_VERSION 1
#define STOREMSG_HDR 8
#define STOREMSG_MAX 8192
#define STOREMSG_TAG_MAX 512
#define STOREMSG_TEXT_MAX 512
#define STOREMSG_FDS_MAX 2

enum storemsg_type {
	/* dockd -> uploader, operation channel */
	SM_PUT = 1,
	SM_VERIFY = 2,
	SM_REMOVE = 3,
	SM_SET_HOLD = 4,
	SM_PREPARE = 5,
	SM_HASH = 6,
	SM_REPLACE = 7,
	SM_FETCH = 8,
	/* dockd -> uploader, control channel */
	SM_NEWCHAN = 16,
	SM_CANCEL = 17, /* the daemon stops: long operations end with -ECANCELED */
	/* uploader -> dockd */
	SM_PROGRESS = 32, /* size = bytes of the object sent so far */
	SM_RESULT = 33,   /* rc; info (put/replace); sha256 + size (hash) */
	SM_READY = 34,    /* control: rc of opening the target, text = why */
};

#define SMF_LEGAL_HOLD 0x01 /* put/replace: store_put_opts.legal_hold */
#define SMF_PROGRESS 0x02   /* put/replace: send SM_PROGRESS */
#define SMF_SUMS 0x04       /* put/replace: a second descriptor, the part digests */
#define SMF_HOLD_ON 0x08    /* set_hold: on */
#define SMF_VERSION 0x10    /* fetch: version is given (else the current one) */

struct storemsg {
	uint8_t type;
	uint8_t flags;
	int32_t rc;
	uint64_t size;
	int64_t retain_until;
	uint8_t sha256[32];
	char key[STORE_KEY_MAX + 1];
	char version[129];
	char category[STOREMSG_TAG_MAX + 1];
	char case_no[STOREMSG_TAG_MAX + 1];
	char retention[STOREMSG_TAG_MAX + 1];
	struct store_info info;
	char text[STOREMSG_TEXT_MAX + 1];
};

/* How many descriptors a message of this type and flags carries. */
int storemsg_nfds(uint8_t type, uint8_t flags);

/* Encode m into buf (cap bytes, >= STOREMSG_MAX); *len = record length.
 * -EINVAL unknown type, -ENAMETOOLONG a string over its cap. */
int storemsg_encode(const struct storemsg *m, uint8_t *buf, size_t cap, size_t *len);

/* Decode one record (the fuzzed parser); -EPROTO as above. */
int storemsg_decode(const uint8_t *buf, size_t len, struct storemsg *out);

/* Send m with nfds descriptors (storemsg_nfds() of m). -EPIPE / -ECONNRESET
 * when the peer is gone. */
int storemsg_send(int sock, const struct storemsg *m, const int *fds, int nfds);

/* Receive one message and its descriptors (close-on-exec) within
 * timeout_ms (-1 = wait). 0 with fds[0..nfds) filled; -ECONNRESET at end
 * of stream; -ETIMEDOUT; -EPROTO (any descriptors received are closed). */
int storemsg_recv(int sock, int timeout_ms, struct storemsg *out, int fds[STOREMSG_FDS_MAX],
		  int *nfds);

#endif
