/*
 * p11key.h - Ed25519 signing keys held in a PKCS#11 token (an HSM, a
 * TPM-backed module, softhsm2 in tests).  The private key never leaves
 * the token: this module loads the token's PKCS#11 library with dlopen,
 * logs in with a PIN read from a file, and asks the token to sign with
 * CKM_EDDSA.  Only the public key is read out; OpenSSL verifies.
 *
 * A key is named by an RFC 7512 PKCS#11 URI (docs/dockd-config.md,
 * "Keys in a PKCS#11 token"):
 *
 *   pkcs11:token=LABEL;object=LABEL?module-path=/abs/lib.so&pin-source=file:/abs/pin
 *
 * Path attributes (before '?', separated by ';'):
 *   token   the token label (required, at most 32 bytes)
 *   object  the key's CKA_LABEL (required, at most 64 bytes); the private
 *           key and its public key carry the same label
 *   type    optional; "private" or "public" (both name the same pair)
 * Query attributes (after '?', separated by '&'):
 *   module-path  absolute path of the PKCS#11 library (required)
 *   pin-source   "file:/abs/path" or "/abs/path": a file holding the user
 *                PIN (first line; at most P11_PIN_MAX bytes); the file must
 *                be a regular file of mode 0600 or stricter (required)
 * Values are percent-decoded (%XX).  Anything else (pin-value, id, slot
 * attributes, unknown names, repeats) is refused: the URI is trusted
 * configuration and a typo must not silently select another key.
 *
 * One process may open several keys, also in the same module and token:
 * the library is loaded and C_Initialize'd once (reference counted).
 * p11key_sign is thread-safe (one session per key, under a mutex).
 * The PIN is wiped (OPENSSL_cleanse) as soon as C_Login returns.
 *
 * Errors: 0 or a negative errno, with a sentence for the operator in err:
 *   -EINVAL  malformed URI; -ENOENT module, token or key not found;
 *   -EACCES  wrong or locked PIN; -EPERM PIN file too open; -EEXIST
 *   generate: a key with that label exists; -ENOTUNIQ two keys match;
 *   -EBADMSG the token's public key does not verify its own signature;
 *   -EIO other PKCS#11 failure (the CKR_ name is in err).
 * Out parameters are untouched on failure.
 */
#ifndef CUSTODY_P11KEY_H
#define CUSTODY_P11KEY_H

#include <stddef.h>
#include <stdint.h>

#define P11_URI_MAX   1024
#define P11_PIN_MAX   256
#define P11_TOKEN_MAX 32
#define P11_LABEL_MAX 64

struct p11key;

/* 1 when spec is a PKCS#11 URI ("pkcs11:..."), 0 for a file path. */
int p11key_is_uri(const char *spec);

/* Open the existing key pair named by uri and check that the token's
 * signature verifies under its public key (so a wrong object is caught
 * at start-up, not at the first receipt). */
int p11key_open(const char *uri, struct p11key **out, char *err, size_t errlen);

/* Create a new Ed25519 key pair in the token (private: sensitive, not
 * extractable), then open it as p11key_open does.  -EEXIST if any object
 * with that label exists already (a key is never replaced). */
int p11key_generate(const char *uri, struct p11key **out, char *err, size_t errlen);

/* The 32-byte raw Ed25519 public key (RFC 8032). */
void p11key_public(const struct p11key *k, uint8_t pub[32]);

/* PureEdDSA signature by the token over msg[0..len). */
int p11key_sign(struct p11key *k, const void *msg, size_t len, uint8_t sig[64]);

/* Remove a pair p11key_generate just made from the token (used when the
 * ledger event that must accompany a new key cannot be written); k must
 * still be freed.  -EINVAL for a key opened with p11key_open. */
int p11key_destroy(struct p11key *k);

/* Close the session; unload the library with its last key. NULL is fine. */
void p11key_free(struct p11key *k);

#endif /* CUSTODY_P11KEY_H */
