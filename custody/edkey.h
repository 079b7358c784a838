/*
 * edkey.h - Ed25519 keys for the custody ledger (OpenSSL 3 EVP only).
 *
 * custody/ must not include protocol/, so it has its own small key module.
 * A `struct edkey` holds either a key pair (can sign) or a public key only
 * (can verify).  Every function returns 0 or a negative errno; out
 * parameters are untouched on failure.  Buffers that held private key
 * material are wiped with OPENSSL_cleanse before being freed.
 *
 * Files:
 *   private key: PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted;
 *                the file must be a regular file, not a symlink, at most
 *                EDKEY_MAX_FILE bytes, and not group/world accessible
 *                (mode & 077 == 0), else -EPERM.
 *   public key:  SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
 * Saving never replaces an existing file (O_CREAT|O_EXCL|O_NOFOLLOW ->
 * -EEXIST), writes the whole file, fsyncs it and its directory.
 *
 * Errors: -EINVAL bad arguments or not an Ed25519 key / unparsable PEM,
 *   -EPERM unsafe private key file permissions, -EFBIG file too large,
 *   -ENOKEY signing with a public-only key, -EBADMSG signature does not
 *   verify, -EIO OpenSSL failure, other -errno from the file system.
 */
#ifndef CUSTODY_EDKEY_H
#define CUSTODY_EDKEY_H

#include <stddef.h>
#include <stdint.h>

#define EDKEY_PUB_LEN  32
#define EDKEY_SIG_LEN  64
#define EDKEY_MAX_FILE 4096

struct edkey;

/* New random key pair. */
int edkey_generate(struct edkey **out);
/* Load a private key PEM file (permission-checked, see above). */
int edkey_load_private(const char *path, struct edkey **out);
/* Save the private key as PEM, mode 0600. -ENOKEY for a public-only key. */
int edkey_save_private(const struct edkey *k, const char *path);
/* Load / save a public key PEM (save: mode 0644). */
int edkey_load_public(const char *path, struct edkey **out);
int edkey_save_public(const struct edkey *k, const char *path);

/* Raw 32-byte public key (RFC 8032 encoding) export / import. */
int edkey_public_raw(const struct edkey *k, uint8_t out[EDKEY_PUB_LEN]);
int edkey_from_public_raw(const uint8_t pub[EDKEY_PUB_LEN],
			  struct edkey **out);

/* 1 if k holds a private key, 0 if public only. */
int edkey_has_private(const struct edkey *k);

/* PureEdDSA signature over msg[0..len). */
int edkey_sign(const struct edkey *k, const void *msg, size_t len,
	       uint8_t sig[EDKEY_SIG_LEN]);
/* 0 if sig is valid for msg under k, -EBADMSG if not. */
int edkey_verify(const struct edkey *k, const void *msg, size_t len,
		 const uint8_t sig[EDKEY_SIG_LEN]);
/* Same with a raw public key (no struct needed). */
int edkey_verify_raw(const uint8_t pub[EDKEY_PUB_LEN], const void *msg,
		     size_t len, const uint8_t sig[EDKEY_SIG_LEN]);

/* A key pair whose private half lives elsewhere (a PKCS#11 token,
 * keyspec.h): edkey_has_private is 1, edkey_sign calls sign(ctx, ...),
 * edkey_free calls release(ctx) (may be NULL); saving the private key is
 * -ENOKEY.  On failure release is not called (the caller still owns ctx). */
typedef int (*edkey_sign_fn)(void *ctx, const void *msg, size_t len,
			     uint8_t sig[EDKEY_SIG_LEN]);
int edkey_from_signer(const uint8_t pub[EDKEY_PUB_LEN], edkey_sign_fn sign,
		      void (*release)(void *ctx), void *ctx, struct edkey **out);

/* Free (NULL is fine). */
void edkey_free(struct edkey *k);

#endif /* CUSTODY_EDKEY_H */
