/* wire.h - protocol v1 between dock (USB host) and camera (USB device).
 *
 * The normative, byte-exact description is docs/protocol.md; this header is
 * its C form, shared by the dock side and the camera side (camsim): one
 * codec for both.
 *
 * Frame (all integers big-endian):
 *
 *   offset size field
 *        0    4 magic    "BCDK" (0x42 0x43 0x44 0x4B)
 *        4    1 version  1
 *        5    1 type     enum proto_type
 *        6    2 flags    PROTO_F_* ; unknown bits set -> PROTO_E_BAD_FLAGS
 *        8    4 seq      request: sender's counter; reply: the request's seq
 *       12    4 length   payload length, <= PROTO_MAX_PAYLOAD
 *       16  len payload
 *   16+len    4 crc32    CRC-32 (IEEE 802.3) over bytes [0, 16+len)
 *
 * The CRC catches link corruption only; authenticity comes from the Ed25519
 * signatures on identities, manifest entries and receipts (and the content
 * SHA-256 the camera signs).
 *
 * Decoding never trusts a length: each field is bounded below, decoded
 * structs hold fixed-size arrays (no allocation), and each malformed input
 * gets its own error code. DATA payloads are not copied: proto_data.data
 * points into the caller's frame buffer.
 *
 * Result convention (whole project): 0 on success, negative on failure:
 * either -errno (transport, system) or -PROTO_E_* (protocol). The two
 * ranges do not overlap; proto_strerror() names both.
 */
#ifndef DOCK_WIRE_H
#define DOCK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC "BCDK"
#define PROTO_VERSION 1
#define PROTO_HDR_LEN 16
#define PROTO_CRC_LEN 4
#define PROTO_MAX_DATA (1024u * 1024u)            /* bytes in one DATA frame */
#define PROTO_MAX_PAYLOAD (PROTO_MAX_DATA + 64u)   /* any payload */
#define PROTO_MAX_FRAME (PROTO_HDR_LEN + PROTO_MAX_PAYLOAD + PROTO_CRC_LEN)
#define PROTO_MAX_READ (64u * 1024u * 1024u)      /* bytes per READ_REQ */

#define PROTO_NONCE_LEN 32
#define PROTO_PUBKEY_LEN 32 /* Ed25519 */
#define PROTO_SIG_LEN 64    /* Ed25519 */
#define PROTO_SHA256_LEN 32

/* String fields: u16 length + bytes, no NUL on the wire. Limits exclude the
 * NUL the decoder appends. IDs (serial, recording id, dock id, officer id,
 * agency id) use the charset [A-Za-z0-9._:-] and must not be empty. Text
 * fields (model, firmware, category, location, error text) may be empty and
 * must be valid UTF-8 without control bytes (< 0x20, 0x7F). Violations:
 * PROTO_E_BAD_STRING; over the limit: PROTO_E_TOO_LONG (both directions:
 * the encoder refuses what the decoder would refuse). */
#define PROTO_ID_MAX 64
#define PROTO_TEXT_MAX 128     /* model, firmware, category, error text */
#define PROTO_LOCATION_MAX 256 /* receipt: where the verified copy is kept */
#define PROTO_LIST_MAX 16      /* manifest entries per LIST_REPLY */

enum proto_type {
	/* dock -> camera */
	PROTO_HELLO = 0x01,
	PROTO_AUTH_DOCK = 0x03,
	PROTO_LIST_REQ = 0x05,
	PROTO_READ_REQ = 0x07,
	PROTO_RELEASE_REQ = 0x09,
	PROTO_TIME_SET = 0x0B,
	PROTO_STATUS_REQ = 0x0D,
	PROTO_BYE = 0x0F,
	/* camera -> dock */
	PROTO_HELLO_REPLY = 0x02,
	PROTO_AUTH_OK = 0x04,
	PROTO_LIST_REPLY = 0x06,
	PROTO_DATA = 0x08,
	PROTO_RELEASE_REPLY = 0x0A,
	PROTO_TIME_REPLY = 0x0C,
	PROTO_STATUS_REPLY = 0x0E,
	/* either direction */
	PROTO_ERROR = 0x7F,
};

/* Header flags. */
#define PROTO_F_END 0x0001  /* DATA: last frame answering this READ_REQ */
#define PROTO_F_MASK 0x0001 /* all defined bits */
/* END on any type other than DATA is PROTO_E_BAD_FLAGS too. */

/* Protocol error codes. Sent in ERROR frames (as u16: code - 1000) and
 * returned negated by the codec and session functions. */
enum proto_err {
	PROTO_E_BASE = 1000,
	PROTO_E_BAD_MAGIC = 1001,    /* frame does not start with "BCDK" */
	PROTO_E_BAD_VERSION = 1002,  /* version byte not supported */
	PROTO_E_BAD_TYPE = 1003,     /* unknown message type */
	PROTO_E_BAD_FLAGS = 1004,    /* undefined flag bits set */
	PROTO_E_TOO_LONG = 1005,     /* length above PROTO_MAX_PAYLOAD or a field limit */
	PROTO_E_TRUNCATED = 1006,    /* payload ends inside a field */
	PROTO_E_BAD_CRC = 1007,      /* CRC-32 mismatch */
	PROTO_E_TRAILING = 1008,     /* bytes left after the last field */
	PROTO_E_BAD_STRING = 1009,   /* empty id, bad charset, NUL inside text */
	PROTO_E_BAD_FIELD = 1010,    /* value out of its range (e.g. gps, percent) */
	PROTO_E_SEQ = 1011,          /* reply seq or DATA offset out of order */
	PROTO_E_UNEXPECTED = 1012,   /* valid message at the wrong time */
	PROTO_E_AUTH = 1013,         /* a signature or certificate did not verify */
	PROTO_E_UNENROLLED = 1014,   /* device unknown or key differs from enrolment */
	PROTO_E_NOT_FOUND = 1015,    /* recording id unknown to the camera */
	PROTO_E_RANGE = 1016,        /* read offset/length outside the recording */
	PROTO_E_BAD_RECEIPT = 1017,  /* release receipt invalid: nothing deleted */
	PROTO_E_BUSY = 1018,         /* camera cannot serve now, retry later */
	PROTO_E_INTERNAL = 1019,     /* camera-side failure (storage etc.) */
	PROTO_E_MISMATCH = 1020,     /* data disagrees with the signed manifest */
	PROTO_E_MAX = 1020,
};

struct proto_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t seq;
	uint32_t length;
};

/* HELLO (dock -> camera): starts a session. */
struct proto_hello {
	uint8_t version_min, version_max;
	uint8_t dock_nonce[PROTO_NONCE_LEN];
	char dock_id[PROTO_ID_MAX + 1];
};

/* Who the camera says it is. Signed inside HELLO_REPLY. */
struct proto_identity {
	char serial[PROTO_ID_MAX + 1];
	char model[PROTO_TEXT_MAX + 1];
	char firmware[PROTO_TEXT_MAX + 1];
	uint8_t pubkey[PROTO_PUBKEY_LEN];
	char officer_id[PROTO_ID_MAX + 1];
	int64_t clock_ns; /* camera's clock, ns since 1970-01-01 UTC */
};

/* HELLO_REPLY (camera -> dock). sig = Ed25519(device key,
 *   "BCDK-v1 camera-auth\0" || dock_nonce || cam_nonce || encoded identity) */
struct proto_hello_reply {
	uint8_t version;
	uint8_t cam_nonce[PROTO_NONCE_LEN];
	struct proto_identity id;
	uint8_t sig[PROTO_SIG_LEN];
};

/* The agency certifies a dock: agency_sig = Ed25519(agency key,
 *   "BCDK-v1 dock-cert\0" || encoded cert without agency_sig). */
struct proto_dock_cert {
	char dock_id[PROTO_ID_MAX + 1];
	char agency_id[PROTO_ID_MAX + 1];
	uint8_t dock_pubkey[PROTO_PUBKEY_LEN];
	int64_t not_before, not_after; /* seconds since epoch UTC */
	uint8_t agency_sig[PROTO_SIG_LEN];
};

/* AUTH_DOCK (dock -> camera). sig = Ed25519(dock key,
 *   "BCDK-v1 dock-auth\0" || cam_nonce || dock_nonce || serial(u16+bytes)
 *   || encoded cert) */
struct proto_auth_dock {
	struct proto_dock_cert cert;
	uint8_t sig[PROTO_SIG_LEN];
};

/* One recording in the camera's manifest. sig = Ed25519(device key,
 *   "BCDK-v1 manifest\0" || serial(u16+bytes) || encoded entry without sig) */
struct proto_manifest_entry {
	char recording_id[PROTO_ID_MAX + 1];
	uint64_t size;
	uint8_t sha256[PROTO_SHA256_LEN];
	int64_t start_utc, end_utc; /* seconds since epoch */
	char category[PROTO_TEXT_MAX + 1];
	bool has_gps;           /* wire: presence byte 0/1, then both i32 always */
	int32_t lat_e7, lon_e7; /* degrees * 1e7, |lat| <= 90e7, |lon| <= 180e7;
				 * must be 0 when !has_gps (canonical form) */
	uint8_t sig[PROTO_SIG_LEN];
};

/* LIST_REQ: entries from index `start`. */
struct proto_list_req {
	uint32_t start;
};

struct proto_list_reply {
	uint32_t total; /* recordings on the camera */
	uint32_t count; /* entries in this reply, <= PROTO_LIST_MAX */
	struct proto_manifest_entry entries[PROTO_LIST_MAX];
};

/* READ_REQ: bytes [offset, offset+length) of one recording. The camera
 * answers with DATA frames in offset order, the last one flagged END. */
struct proto_read_req {
	char recording_id[PROTO_ID_MAX + 1];
	uint64_t offset;
	uint32_t length; /* 1..PROTO_MAX_READ */
};

struct proto_data {
	uint64_t offset;
	uint32_t len;        /* <= PROTO_MAX_DATA */
	const uint8_t *data; /* points into the decoded frame buffer */
};

/* A dock's signed receipt: the camera may delete the recording. sig =
 * Ed25519(dock key, "BCDK-v1 receipt\0" || encoded receipt without sig). */
struct proto_receipt {
	char recording_id[PROTO_ID_MAX + 1];
	uint8_t sha256[PROTO_SHA256_LEN];
	char location[PROTO_LOCATION_MAX + 1];
	char dock_id[PROTO_ID_MAX + 1];
	int64_t issued_utc;
	uint8_t sig[PROTO_SIG_LEN];
};

struct proto_release_reply {
	char recording_id[PROTO_ID_MAX + 1];
	uint8_t deleted; /* 1: deleted; 0: kept (an ERROR frame says why) */
};

struct proto_time_set {
	int64_t dock_ns; /* true UTC time at the dock */
};

struct proto_time_reply {
	int64_t camera_before_ns, camera_after_ns;
};

struct proto_status_reply {
	uint8_t battery_pct; /* 0..100 */
	uint64_t storage_free, storage_total;
	uint32_t recordings;
};

struct proto_error {
	uint16_t code; /* enum proto_err - PROTO_E_BASE */
	char text[PROTO_TEXT_MAX + 1];
};

/* A decoded message: `type` selects the member. */
struct proto_msg {
	uint8_t type;
	union {
		struct proto_hello hello;
		struct proto_hello_reply hello_reply;
		struct proto_auth_dock auth_dock;
		struct proto_list_req list_req;
		struct proto_list_reply list_reply;
		struct proto_read_req read_req;
		struct proto_data data;
		struct proto_receipt release_req;
		struct proto_release_reply release_reply;
		struct proto_time_set time_set;
		struct proto_time_reply time_reply;
		struct proto_status_reply status_reply;
		struct proto_error error;
		/* AUTH_OK, STATUS_REQ, BYE: empty payload */
	} u;
};

/* ---- codec ---------------------------------------------------------------*/

/* Decode and validate a 16-byte header (magic, version, type, flags,
 * length bound). */
int proto_hdr_decode(const uint8_t *buf, size_t len, struct proto_hdr *out);

/* Validate a whole frame in buf[0..len): header, exact length, CRC, then
 * decode the payload into *out (which may point into buf, see proto_data).
 * *hdr_out receives the header. */
int proto_frame_decode(const uint8_t *buf, size_t len, struct proto_hdr *hdr_out,
		       struct proto_msg *out);

/* Encode msg as one frame with the given seq and flags into buf (capacity
 * cap). *len_out = frame length. -PROTO_E_TOO_LONG if it does not fit or a
 * field exceeds its limit; -PROTO_E_BAD_STRING for an invalid id or text;
 * -PROTO_E_BAD_FIELD for a value out of range; -PROTO_E_BAD_FLAGS,
 * -PROTO_E_BAD_TYPE; -EINVAL for NULL arguments. The rules are the
 * decoder's, so every encoded frame decodes, and decoding then re-encoding
 * gives the same bytes (the encoding is canonical). buf may be partly
 * written on failure. */
int proto_frame_encode(const struct proto_msg *msg, uint32_t seq, uint16_t flags,
		       uint8_t *buf, size_t cap, size_t *len_out);

/* Canonical encodings that signatures cover (see the sig formulas above).
 * Each writes into buf (cap bytes) and sets *len_out. */
int proto_identity_tbs(const uint8_t dock_nonce[PROTO_NONCE_LEN],
		       const uint8_t cam_nonce[PROTO_NONCE_LEN],
		       const struct proto_identity *id, uint8_t *buf, size_t cap, size_t *len_out);
int proto_dock_cert_tbs(const struct proto_dock_cert *c, uint8_t *buf, size_t cap, size_t *len_out);
int proto_dock_auth_tbs(const uint8_t cam_nonce[PROTO_NONCE_LEN],
			const uint8_t dock_nonce[PROTO_NONCE_LEN], const char *serial,
			const struct proto_dock_cert *c, uint8_t *buf, size_t cap, size_t *len_out);
int proto_manifest_tbs(const char *serial, const struct proto_manifest_entry *e,
		       uint8_t *buf, size_t cap, size_t *len_out);
int proto_receipt_tbs(const struct proto_receipt *r, uint8_t *buf, size_t cap, size_t *len_out);
#define PROTO_TBS_MAX 1024 /* every *_tbs output fits in this many bytes */

/* Name of a result code: -errno or -PROTO_E_*. Never NULL. */
const char *proto_strerror(int err);
/* Name of a message type ("HELLO", ...), or "UNKNOWN". */
const char *proto_type_name(uint8_t type);
/* true when s is a valid id: 1..PROTO_ID_MAX chars of [A-Za-z0-9._:-]. */
bool proto_id_valid(const char *s);

#endif
