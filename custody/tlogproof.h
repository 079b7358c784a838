/*
 * tlogproof.h - C2SP tlog-proof@v1 files (c2sp.org/tlog-proof) for the
 * custody ledger: one text file proving one ledger event is in a
 * witnessed checkpoint, checkable offline with the agency's vkey and the
 * witness vkeys alone (docs/custody-ledger.md "tlog-proof files").
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 of the extra data below>
 *   index <leaf index = seq - 1, decimal, no leading zero>
 *   <inclusion proof hash, base64 of 32 bytes>      (0..64 lines)
 *   <empty line>
 *   <checkpoint note, its log signature and the witnesses' cosignatures>
 *
 * Extra data (ours; not authenticated by the format itself, so the
 * checker trusts neither part until it verifies):
 *   evidence-dock/tlog-proof-extra/v1\n
 *   leaf <base64 of the event's canonical bytes = the leaf data>\n
 *   custody-cert <base64 of the agency-signed custody-cert/v1 note>\n
 *
 * Base64 is RFC 4648 standard with padding, canonical (re-encoding gives
 * the same text).  Every line ends in '\n'.
 *
 * Errors: 0 or negative errno, out-parameters untouched on failure:
 *   -EINVAL bad arguments; -EBADMSG malformed file; -E2BIG over a cap;
 *   -ENOMEM; -EIO (OpenSSL).  tlp_check adds the verification codes below.
 */
#ifndef CUSTODY_TLOGPROOF_H
#define CUSTODY_TLOGPROOF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agencynote.h"
#include "checkpoint.h"
#include "event.h"
#include "ledger.h"
#include "merkle.h"

#define TLP_HEADER     "c2sp.org/tlog-proof@v1"
#define TLP_EXTRA_TYPE "evidence-dock/tlog-proof-extra/v1"
#define TLP_MAX_EXTRA  16384			/* decoded extra bytes */
#define TLP_MAX_FILE   (128 * 1024)		/* whole file */
#define TLP_MAX_WITNESSES 32

struct tlp {
	uint64_t index;
	size_t n_proof;
	merkle_hash proof[MERKLE_MAX_PROOF];
	uint8_t leaf[CUST_CANON_MAX];		/* from extra */
	size_t leaf_len;
	char cert[AGN_MAX_NOTE + 1];		/* from extra, NUL-terminated */
	size_t cert_len;
	char note[CKPT_MAX_NOTE + 1];		/* NUL-terminated */
	size_t note_len;
};

/* Parse buf[0..len) strictly (see the top of this file) into *out (a
 * large struct: allocate it). */
int tlp_parse(const char *buf, size_t len, struct tlp *out);

/* The file text of p into a malloc'd NUL-terminated *out (*out_len =
 * strlen).  tlp_format(tlp_parse(x)) == x for every accepted x. */
int tlp_format(const struct tlp *p, char **out, size_t *out_len);

/*
 * Write one <seq>.tlog-proof file into dir (which must exist; files are
 * created exclusively) for each of evidence_id's events covered by the
 * newest checkpoint that has witness cosignatures, against that
 * checkpoint plus its stored cosignature lines, with the custody-cert of
 * the newest custody_certified event whose checkpoint key signed it.
 * Events after that checkpoint get no file; their seqs are printed to
 * log (may be NULL).  *written = files written.  -ENOENT unknown item,
 * -EACCES other agency (agency NULL: any), -ENODATA no cosigned
 * checkpoint, -ENOKEY no custody-cert certifies its key, -EUCLEAN the
 * ledger's leaves do not reproduce its root, -EEXIST a file exists.
 */
int tlp_build_dir(struct cust_ledger *l, const char *agency,
		  const char *evidence_id, const char *dir, FILE *log,
		  size_t *written);

/*
 * Check one file (untrusted buf[0..len)) with the agency vkey (type 0x01,
 * "<agency>/agency") and witness vkeys wit[0..n_wit) (type 0x04), needing
 * `quorum` (>= 1) distinct valid cosignatures.  Prints what is proven
 * and what is not to out (may be NULL).  Returns 0 if all hold;
 * -EBADMSG/-E2BIG malformed file (or extra data); -ENOKEY/-EKEYREJECTED/
 * -EXDEV/-EMEDIUMTYPE the custody-cert is not the agency's; -EPERM the
 * checkpoint is not signed by the certified key of the certified origin;
 * -ENOLINK fewer than quorum cosignatures (or a known witness's line is
 * bad); MERKLE_E_VERIFY-like -EDOM the leaf is not included at index, or
 * -ESRCH the leaf is not the ledger event of that index.
 */
int tlp_check(const char *buf, size_t len, const struct ckpt_vkey *agency,
	      const struct ckpt_vkey *wit, size_t n_wit, unsigned quorum,
	      FILE *out);

#endif /* CUSTODY_TLOGPROOF_H */
