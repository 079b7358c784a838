/*
 * evshare.h - sharing one evidence file without the agency key
 * (docs/evidence-format.md §15).
 *
 * A share is a recipient stanza of §5, made for someone else's public key
 * (prosecutor, defense expert, partner agency) from the data key that the
 * agency private key unwraps, plus a binding text (item, header hash,
 * case, expiry, who, why) authenticated with a MAC under a key derived
 * from the same data key. The stanza is byte-for-byte the kind the
 * header carries; it travels beside the evidence file because the header
 * (whose hash is in every chunk's AAD) cannot be changed.
 *
 * The data key exists only inside these calls and is wiped before they
 * return. Errors are evfile's (evfile.h), plus:
 *   -EXDEV  the share names another evidence file (header hash differs)
 */
#ifndef CUSTODY_EVSHARE_H
#define CUSTODY_EVSHARE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "evfile.h"

/* Byte-exact KDF label of the binding MAC key (no NUL). */
#define EVSHARE_INFO_MAC "evfile v1 share binding key"
#define EVSHARE_STANZA_MAX (1 + 2 + EVFILE_KEYID_LEN + 1024)
#define EVSHARE_MAC_LEN 32
#define EVSHARE_BINDING_MAX 8192

/*
 * Agency side. hdr[0..hdr_len) is the evidence file's whole header: its
 * stanza for `agency` (a private key) is unwrapped and the header MAC
 * checked, then the data key is wrapped to `recipient` (a public key of
 * an agency key type) into stanza (EVSHARE_STANZA_MAX bytes), and
 * mac = HMAC-SHA256(K_share, binding). hh gets SHA-256 of the header.
 */
int evshare_make(EVP_PKEY *agency, const uint8_t *hdr, size_t hdr_len,
		 EVP_PKEY *recipient, const uint8_t *binding, size_t binding_len,
		 uint8_t *stanza, size_t *stanza_len,
		 uint8_t mac[EVSHARE_MAC_LEN], uint8_t hh[32]);

/* Recipient side: a share's parts, as decoded from the share file. */
struct evshare {
	const uint8_t *stanza;
	size_t stanza_len;
	const uint8_t *binding;
	size_t binding_len;
	uint8_t mac[EVSHARE_MAC_LEN];
	uint8_t header_sha256[32];
};

/*
 * evfile_reader_open with the data key from the share's stanza for `key`
 * (a private key): the header read from `in` must hash to
 * sh->header_sha256 (-EXDEV), the stanza must be addressed to `key`
 * (-ENOKEY) and unwrap (-EBADMSG), the binding's MAC must verify
 * (-EBADMSG), and the header MAC too (-EBADMSG). Then as evfile_reader_*.
 */
int evshare_reader_open(struct evfile_reader **r, EVP_PKEY *key,
			const struct evshare *sh, evfile_read_fn in,
			void *in_arg, struct evfile_info *info);

#endif /* CUSTODY_EVSHARE_H */
