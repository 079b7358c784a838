/*
 * agencynote.h - the agency's signed statements (the trust root of
 * docs/trust.md): three C2SP signed notes (signote.h, Ed25519 type 0x01)
 * signed by the agency's offline key under the key name
 * "<agency_id>/agency".  The first text line names the statement:
 *
 *   evidence-dock/custody-cert/v1        (struct agn_cert)
 *   agency <agency id>
 *   dock <dock id>
 *   origin <log origin; also the checkpoint key's name>
 *   checkpoint-key <vkey of the checkpoint key, type 0x01>
 *   dock-key <64 lowercase hex: the dock's Ed25519 public key>
 *   not-before <YYYY-MM-DDTHH:MM:SSZ>
 *   not-after <YYYY-MM-DDTHH:MM:SSZ>
 *
 *   evidence-dock/recipients/v1          (struct agn_recipients)
 *   agency <agency id>
 *   version <N>
 *   issued <YYYY-MM-DDTHH:MM:SSZ>
 *   recipient <p256|p384|rsa> <64 lowercase hex key id>   (1..16 lines)
 *
 *   evidence-dock/witnesses/v1           (struct agn_witnesses)
 *   agency <agency id>
 *   version <N>
 *   issued <YYYY-MM-DDTHH:MM:SSZ>
 *   quorum <K>
 *   witness <witness vkey, cosignature type 0x04>        (1..16 lines)
 *
 * Every line is "<keyword> <value>" with exactly one space (recipient:
 * two), in exactly this order, no other line, each ending in '\n'.
 * Ids: 1..64 of [A-Za-z0-9._:-].  N: decimal 1..2^53, no leading zero.
 * K: 1..number of witness lines.  Times: UTC, a real calendar second,
 * not-before < not-after.  Key ids and witness names: no duplicates.
 * The recipient key id is `custody agency-keyid`'s (hex SHA-256 of the
 * SubjectPublicKeyInfo DER).  A whole signed note is at most
 * AGN_MAX_NOTE bytes, so it fits in a ledger event's details.
 *
 * Opening a statement (agn_open_*) verifies the note against the given
 * agency vkey (signote_verify: strict, caps), checks the first line, the
 * grammar above, and that the "agency" line equals the agency id of the
 * vkey's name ("<agency>/agency"); nothing is filled in unless all hold.
 *
 * Errors: 0 or negative errno, out-parameters untouched on failure:
 *   -EINVAL bad arguments / field values to format, -EBADMSG malformed
 *   statement (or a note of another kind: -EMEDIUMTYPE), -E2BIG over a
 *   cap, -EXDEV agency line differs from the signing key's agency, and
 *   the signote.h errors (-ENOKEY, -EKEYREJECTED, ...).
 */
#ifndef CUSTODY_AGENCYNOTE_H
#define CUSTODY_AGENCYNOTE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "edkey.h"

#define AGN_CERT_TYPE       "evidence-dock/custody-cert/v1"
#define AGN_RECIPIENTS_TYPE "evidence-dock/recipients/v1"
#define AGN_WITNESSES_TYPE  "evidence-dock/witnesses/v1"
#define AGN_ID_MAX          64
#define AGN_MAX_ENTRIES     16	/* recipients or witnesses per statement */
#define AGN_MAX_NOTE        3072	/* whole signed note, bytes */
#define AGN_MAX_VERSION     (1ULL << 53)
#define AGN_TIME_LEN        20	/* "YYYY-MM-DDTHH:MM:SSZ" */

enum agn_kind { AGN_CERT = 1, AGN_RECIPIENTS = 2, AGN_WITNESSES = 3 };

struct agn_cert {
	char agency[AGN_ID_MAX + 1];
	char dock[AGN_ID_MAX + 1];
	char origin[CKPT_MAX_ORIGIN + 1];
	struct ckpt_vkey ckpt_key;		/* name == origin */
	uint8_t dock_key[EDKEY_PUB_LEN];
	int64_t not_before, not_after;		/* POSIX seconds */
};

struct agn_recipient {
	char type[8];				/* "p256", "p384", "rsa" */
	char key_id[65];			/* lowercase hex */
};

struct agn_recipients {
	char agency[AGN_ID_MAX + 1];
	uint64_t version;
	int64_t issued;
	size_t n;
	struct agn_recipient r[AGN_MAX_ENTRIES];
};

struct agn_witnesses {
	char agency[AGN_ID_MAX + 1];
	uint64_t version;
	int64_t issued;
	unsigned quorum;
	size_t n;
	struct ckpt_vkey w[AGN_MAX_ENTRIES];	/* type 0x04 (cosig.h) */
};

/* "<agency>/agency" into buf (cap >= AGN_ID_MAX + 8). */
int agn_key_name(const char *agency, char *buf, size_t cap);
/* 1 if s is a valid agency / dock id. */
int agn_id_valid(const char *s);

/* Statement texts (unsigned; sign with signote_sign under
 * agn_key_name(agency)).  Values are validated (-EINVAL). */
int agn_cert_text(const struct agn_cert *c, char *buf, size_t cap, size_t *len);
int agn_recipients_text(const struct agn_recipients *r, char *buf, size_t cap,
			size_t *len);
int agn_witnesses_text(const struct agn_witnesses *w, char *buf, size_t cap,
		       size_t *len);

/* Parse an unsigned statement text (what signote_verify returned). */
int agn_cert_parse(const char *text, size_t len, struct agn_cert *out);
int agn_recipients_parse(const char *text, size_t len, struct agn_recipients *out);
int agn_witnesses_parse(const char *text, size_t len, struct agn_witnesses *out);

/* Kind of a note by its first line (no signature check): 0 or
 * -EMEDIUMTYPE. */
int agn_kind(const char *note, size_t len, enum agn_kind *out);

/* Verify and parse a signed statement (see the top of this file). */
int agn_open_cert(const char *note, size_t len, const struct ckpt_vkey *agency,
		  struct agn_cert *out);
int agn_open_recipients(const char *note, size_t len,
			const struct ckpt_vkey *agency, struct agn_recipients *out);
int agn_open_witnesses(const char *note, size_t len,
		       const struct ckpt_vkey *agency, struct agn_witnesses *out);

/* Times: strict "YYYY-MM-DDTHH:MM:SSZ" <-> POSIX seconds (years
 * 1970..9999). */
int agn_time_parse(const char *s, size_t n, int64_t *out);
int agn_time_format(int64_t t, char buf[AGN_TIME_LEN + 1]);

/* Read a small file (regular, not a symlink, < cap bytes) into buf,
 * NUL-terminated; *len = bytes. -EFBIG when it does not fit. */
int agn_read_file(const char *path, char *buf, size_t cap, size_t *len);
/* A file holding one vkey line (optionally '\n'-terminated; '#' comment
 * lines and blank lines ignored), type 0x01. */
int agn_vkey_file(const char *path, struct ckpt_vkey *out);

#endif /* CUSTODY_AGENCYNOTE_H */
