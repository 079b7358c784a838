/* witmsg.h - messages between dockd and the witness client process
 * (docs/architecture.md, "The witness client"; the process: witw.h, its
 * dockd side: witr.h).
 *
 * The witness client process holds the [witness] configuration (URLs and
 * the witnesses' cosignature vkeys) and its HTTP(S) connections, nothing
 * else: dockd (which holds plaintext during ingest, the data keys and the
 * ledger writer) reaches a witness only through these messages, and what
 * crosses is public: signed checkpoint notes with their consistency
 * proofs one way, HTTP status codes and cosignature lines the other.
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET socketpair per process, one
 * message per record, at most WITMSG_MAX bytes, no descriptors.
 *   witness process -> dockd: WM_READY once, after it locked itself down;
 *   then dockd sends WM_POST and waits for the one WM_ANSWER with the same
 *   seq and witness (one request at a time).
 *
 * Wire format, all integers little-endian:
 *   header (8 bytes): version u8 (WITMSG_VERSION), type u8, reserved u16
 *                     (0), payload length u32 (= record length - 8)
 *   payload, by type, fields in this order:
 *     WM_READY  (2):  rc i32 (0 or -errno, -4095..0), count u8 (witnesses
 *                     configured, 0..WITMSG_WITNESSES), text str16
 *     WM_POST   (1):  seq u32, witness u8 (index in the configuration,
 *                     < WITMSG_WITNESSES), body str32 (1..WITMSG_BODY_MAX:
 *                     the add-checkpoint request body of docs/witness.md,
 *                     "old N", proof lines, empty line, signed note)
 *     WM_ANSWER (3):  seq u32, witness u8, status u16 (0: no HTTP answer,
 *                     else the HTTP status 100..599), text str16
 *                     (0..WITMSG_TEXT_MAX): for status 200 only the
 *                     cosignature lines that verified against that
 *                     witness's vkey, each ending in a newline; otherwise
 *                     the answer body or the transport error, for logs
 *   str16 = u16 length + bytes; str32 = u32 length + bytes; a text (str16)
 *   has no NUL byte and no control character but newline and tab; a body
 *   (str32) has no NUL byte.
 * A record of another version, an unknown type, a reserved field not 0, a
 * payload shorter or longer than its fields, a field out of range is
 * refused (-EPROTO); dockd then kills the process and starts another.
 *
 * All functions return 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_WITMSG_H
#define DOCKD_WITMSG_H

#include <stddef.h>
#include <stdint.h>

#define WITMSG_VERSION 1
#define WITMSG_HDR 8
#define WITMSG_WITNESSES 8		/* DOCK_CONFIG_MAX_WITNESSES */
#define WITMSG_BODY_MAX 20480		/* >= WITNESS_MAX_BODY (custody/witness.h) */
#define WITMSG_TEXT_MAX 4096		/* a witness answer is a few lines */
#define WITMSG_MAX (WITMSG_HDR + 4 + 1 + 4 + WITMSG_BODY_MAX)

enum witmsg_type {
	WM_POST = 1,	/* dockd -> witness process */
	WM_READY = 2,	/* witness process -> dockd, once */
	WM_ANSWER = 3,	/* witness process -> dockd */
};

struct witmsg {
	uint8_t type;
	uint8_t witness;	/* WM_POST, WM_ANSWER */
	uint8_t count;		/* WM_READY */
	uint16_t status;	/* WM_ANSWER */
	int32_t rc;		/* WM_READY */
	uint32_t seq;		/* WM_POST, WM_ANSWER */
	size_t len;		/* bytes in data (body or text) */
	char data[WITMSG_BODY_MAX + 1];	/* NUL-terminated */
};

/* Encode m into buf (cap bytes, >= WITMSG_MAX); *len = record length.
 * -EINVAL an unknown type or a field out of range, -EMSGSIZE data over
 * its cap. */
int witmsg_encode(const struct witmsg *m, uint8_t *buf, size_t cap, size_t *len);

/* Decode one record (the fuzzed parser); -EPROTO as above. */
int witmsg_decode(const uint8_t *buf, size_t len, struct witmsg *out);

/* Make s[0..*len) a valid text: control characters other than newline and
 * tab become '?', cut at WITMSG_TEXT_MAX. */
void witmsg_clean_text(char *s, size_t *len);

/* Send m (encoded). -ECONNRESET when the peer is gone. */
int witmsg_send(int sock, const struct witmsg *m);

/* Receive one message within timeout_ms (-1 = wait). -ECONNRESET at end of
 * stream, -ETIMEDOUT, -EPROTO (a truncated record, descriptors attached,
 * or witmsg_decode() refused it). */
int witmsg_recv(int sock, int timeout_ms, struct witmsg *out);

#endif
