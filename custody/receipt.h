#ifndef CUSTODY_RECEIPT_H
#define CUSTODY_RECEIPT_H
/*
 * receipt: signed offline export receipts (docs/custody-access.md
 * "Offline exports and receipts").
 *
 * When the dock cannot be reached, a workstation may still export,
 * share or decrypt with `--offline`, but only under a number a
 * supervisor issued on the dock for that workstation's Ed25519 key (an
 * `offline_receipts_issued` event, action 61). Each such export writes a
 * receipt: a short text signed with the workstation key, which must be
 * filed back on the dock (`export_receipt_filed`, action 60) - until
 * then `custody verify` reports the number as unfiled.
 *
 * Receipt text (UTF-8, '\n' line ends, at most RECEIPT_MAX bytes), lines
 * in exactly this order, "key: value", values 1..512 bytes without
 * control characters; the three lines marked optional may be absent:
 *
 *   custody-export-receipt/v1
 *   number: N              decimal, 1..2^53, no leading zero
 *   agency: A
 *   workstation: W
 *   key-id: HEX64          SHA-256 of the raw 32-byte Ed25519 public key
 *   command: export|share|decrypt
 *   item: EVIDENCE_ID
 *   sha256: HEX64          what left (package ciphertext / share file /
 *                          plaintext), as the online event records it
 *   output: NAME           the file written (its name, no directory)
 *   user: U                the OS account that ran it
 *   reason: R
 *   case: C                (optional)
 *   recipient-key-id: HEX64 (optional; share)
 *   until: TIME            (optional; share)
 *   time: YYYY-MM-DDTHH:MM:SSZ
 *   signature: HEX128      Ed25519 (RFC 8032, pure) over every byte
 *                          before this line
 *
 * Parsing treats the bytes as hostile (they come from a workstation):
 * every deviation is -EINVAL and the output is untouched. All functions
 * return 0 or a negative errno.
 */

#include <stddef.h>
#include <stdint.h>

#include "edkey.h"

#define RECEIPT_MAX 2048	/* whole receipt, bytes */
#define RECEIPT_VAL_MAX 512	/* one value */
#define RECEIPT_MAGIC "custody-export-receipt/v1"
#define RECEIPT_NUMBER_MAX (1ull << 53)

struct receipt {
	uint64_t number;
	char agency[65], workstation[65], key_id[65], command[16];
	char item[129], sha256[65], output[256], user[65];
	char reason[RECEIPT_VAL_MAX + 1], case_no[65], rkey[65], until[32];
	char time[32];
	uint8_t sig[EDKEY_SIG_LEN];
	size_t signed_len;	/* bytes covered by the signature */
};

/* Lowercase hex SHA-256 of a raw Ed25519 public key. */
int receipt_key_id(const uint8_t pub[EDKEY_PUB_LEN], char out[65]);

/* The receipt's text, signed with k (fills r->sig, r->signed_len) into
 * buf (cap bytes, NUL-terminated); *len its length. -EINVAL when a field
 * breaks the format, -ENOSPC. */
int receipt_sign(struct receipt *r, const struct edkey *k, char *buf,
		 size_t cap, size_t *len);

/* Parse untrusted bytes into *out (untouched on failure): -EINVAL. */
int receipt_parse(const char *buf, size_t len, struct receipt *out);

/* 0 when r's signature over buf[0..r->signed_len) verifies under pub,
 * -EBADMSG when not. */
int receipt_verify(const struct receipt *r, const char *buf,
		   const uint8_t pub[EDKEY_PUB_LEN]);

/* 1 for 64 lowercase hex digits. */
int receipt_hex64(const char *s);

#endif
