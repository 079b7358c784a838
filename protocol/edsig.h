/* edsig.h - Ed25519 keys and signatures (OpenSSL 3 EVP only).
 *
 * Used by both ends of the camera link: the camera (camsim) signs its
 * identity and manifest entries with its device key; the dock signs
 * AUTH_DOCK and release receipts with its dock key; the agency key signs dock
 * certificates. Messages to sign are produced by the proto_*_tbs() functions
 * in wire.h.
 *
 * A `struct edsig_key` is opaque. It holds either a key pair (private +
 * public) or a public key only. edsig_key_free() releases it; OpenSSL wipes
 * its own copy of private key material, and every buffer this module fills
 * with secret bytes (PEM text, raw seeds) is wiped with OPENSSL_cleanse.
 *
 * Results: 0 or a negative code.
 *   -ENOMEM        allocation failed
 *   -EINVAL        bad argument (NULL, public-only key where a private key is
 *                  needed, malformed hex)
 *   -EPERM         private key file grants any permission to group/others:
 *                  refused; chmod 0600
 *   -EBADMSG       file content is not a PEM Ed25519 key of the expected kind
 *   -EFBIG         key file larger than EDSIG_FILE_MAX
 *   -EEXIST        save: the target path already exists (never overwritten)
 *   -ELOOP         the path is a symlink (O_NOFOLLOW)
 *   -errno         other open/read/write/fsync failures
 *   -PROTO_E_AUTH  edsig_verify*: the signature does not verify
 * edsig_strerror() turns any of these into a sentence for logs and CLIs.
 * Out-parameters are untouched on failure.
 */
#ifndef DOCK_EDSIG_H
#define DOCK_EDSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define EDSIG_PUBKEY_LEN PROTO_PUBKEY_LEN /* 32 */
#define EDSIG_SIG_LEN PROTO_SIG_LEN       /* 64 */
#define EDSIG_SEED_LEN 32                 /* raw Ed25519 private key */
#define EDSIG_FILE_MAX (16 * 1024)        /* cap on a key file we read */

struct edsig_key;

/* Generate a fresh key pair (OpenSSL's CSPRNG). */
int edsig_generate(struct edsig_key **out);

/* Build a key pair from a 32-byte raw private key (RFC 8032 seed). Meant for
 * tests and fixtures that need reproducible keys; the caller wipes seed. */
int edsig_from_seed(const uint8_t seed[EDSIG_SEED_LEN], struct edsig_key **out);

/* Build a public-only key from its 32 raw bytes (as carried on the wire). */
int edsig_from_public(const uint8_t raw[EDSIG_PUBKEY_LEN], struct edsig_key **out);

/* The 32 raw public key bytes of any key (pair or public-only). */
int edsig_public_raw(const struct edsig_key *k, uint8_t out[EDSIG_PUBKEY_LEN]);

/* true when k holds a private key (can sign). */
bool edsig_has_private(const struct edsig_key *k);

/* Write the private key as unencrypted PKCS#8 PEM to a NEW file: created
 * with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, fsync'd, and its directory
 * fsync'd. A partially written file is removed on failure. */
int edsig_save_private(const struct edsig_key *k, const char *path);

/* Load a PEM private key (PKCS#8, as written by edsig_save_private or
 * `openssl genpkey -algorithm ed25519`). Refuses (-EPERM) a file whose mode
 * grants any group/other permission, a non-regular file (-EINVAL), a
 * symlink (-ELOOP) and any key that is not Ed25519 (-EBADMSG). The PEM text
 * read is wiped before returning. */
int edsig_load_private(const char *path, struct edsig_key **out);

/* Write the public key as PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") to
 * a NEW file (O_EXCL|O_NOFOLLOW, mode 0644, fsync'd). */
int edsig_save_public(const struct edsig_key *k, const char *path);

/* Load a PEM SubjectPublicKeyInfo Ed25519 public key (public-only key). */
int edsig_load_public(const char *path, struct edsig_key **out);

/* Sign msg[0..len) (pure Ed25519, no pre-hash) into sig. -EINVAL when k is
 * public-only. */
int edsig_sign(const struct edsig_key *k, const uint8_t *msg, size_t len,
	       uint8_t sig[EDSIG_SIG_LEN]);

/* 0 when sig is a valid signature of msg by k, else -PROTO_E_AUTH (also for
 * any internal failure: a signature that cannot be checked is not valid). */
int edsig_verify(const struct edsig_key *k, const uint8_t *msg, size_t len,
		 const uint8_t sig[EDSIG_SIG_LEN]);

/* Same, with the public key given as 32 raw bytes (as from the wire). */
int edsig_verify_raw(const uint8_t pub[EDSIG_PUBKEY_LEN], const uint8_t *msg, size_t len,
		     const uint8_t sig[EDSIG_SIG_LEN]);

/* A key pair whose private half lives elsewhere (dockd: a PKCS#11 token):
 * edsig_has_private is true, edsig_sign calls sign(ctx, ...), and
 * edsig_key_free calls release(ctx) (may be NULL). edsig_save_private
 * refuses it (-EINVAL). On failure release is not called. */
typedef int (*edsig_sign_fn)(void *ctx, const uint8_t *msg, size_t len,
			     uint8_t sig[EDSIG_SIG_LEN]);
int edsig_from_signer(const uint8_t pub[EDSIG_PUBKEY_LEN], edsig_sign_fn sign,
		      void (*release)(void *ctx), void *ctx, struct edsig_key **out);

/* The ctx given to edsig_from_signer, or NULL for an ordinary key. */
void *edsig_signer_ctx(const struct edsig_key *k);

/* Free k (NULL is fine). */
void edsig_key_free(struct edsig_key *k);

/* Lower-case hex of in[0..n) into out (cap >= 2n+1, NUL-terminated).
 * -EINVAL when cap is too small (out then untouched). */
int edsig_hex(const uint8_t *in, size_t n, char *out, size_t cap);

/* Parse exactly 2n hex digits (either case, nothing else) into out[0..n).
 * -EINVAL on any other input. */
int edsig_unhex(const char *hex, uint8_t *out, size_t n);

/* A sentence for a result of the functions above; never NULL. Falls back to
 * proto_strerror() for codes it does not specialise. */
const char *edsig_strerror(int err);

#endif
