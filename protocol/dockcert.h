/* dockcert.h - dock certificates: the agency vouches for a dock's key.
 *
 * A struct proto_dock_cert (wire.h) binds dock_id and the dock's Ed25519
 * public key for [not_before, not_after], signed by the agency key over
 * proto_dock_cert_tbs(). dockd's admin command issues one; the dock sends it
 * in AUTH_DOCK; cameras (camsim) check it against the agency public key they
 * were provisioned with.
 *
 * On disk a certificate is a small text file (mode 0644, written to a temp
 * file, fsync'd, renamed):
 *
 *	BCDK-DOCK-CERT 1
 *	dock_id <id>
 *	agency_id <id>
 *	dock_pubkey <64 hex>
 *	not_before <seconds since epoch>
 *	not_after <seconds since epoch>
 *	agency_sig <128 hex>
 *
 * Results: 0 or negative (-errno, -PROTO_E_AUTH for a signature or validity
 * failure, -EBADMSG for a malformed file). Out-parameters untouched on
 * failure.
 */
#ifndef DOCK_DOCKCERT_H
#define DOCK_DOCKCERT_H

#include <stdint.h>

#include "edsig.h"
#include "wire.h"

#define DOCKCERT_FILE_MAX 4096

/* Issue a certificate for dock_key's public half, signed by agency_key. */
int dockcert_issue(const struct edsig_key *agency_key, const char *agency_id,
		   const char *dock_id, const struct edsig_key *dock_key, int64_t not_before,
		   int64_t not_after, struct proto_dock_cert *out);

/* 0 when c is signed by agency_pub and now (seconds) is inside its
 * validity period; -PROTO_E_AUTH otherwise. */
int dockcert_verify(const struct proto_dock_cert *c, const struct edsig_key *agency_pub,
		    int64_t now);

/* Save to path (replaced atomically) / load from path (strict parser). */
int dockcert_save(const struct proto_dock_cert *c, const char *path);
int dockcert_load(const char *path, struct proto_dock_cert *out);

#endif
