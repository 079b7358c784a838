#ifndef CUSTODY_AGENCYKEY_H
#define CUSTODY_AGENCYKEY_H

/*
 * agencykey: the agency key pairs that evidence files are encrypted to.
 * =====================================================================
 *
 * The agency generates a key pair offline and installs only the PUBLIC key
 * on docks; the private key stays with the agency (`custody decrypt`).
 * Supported: EC P-256, EC P-384, RSA (3072..8192 bits; 3072 generated).
 *
 * Files are PEM: public = SubjectPublicKeyInfo ("PUBLIC KEY"), private =
 * unencrypted PKCS#8 ("PRIVATE KEY") written with mode 0600 and O_EXCL.
 * A private key file that is group/other accessible, not a regular file,
 * or a symlink is refused (-EPERM) before it is read. Files over 64 KiB
 * are refused (-EFBIG). Key ids are SHA-256 of the SubjectPublicKeyInfo
 * DER, as in the evidence file recipient stanzas, with an EC key always
 * as its named curve OID and uncompressed point (04 || X || Y), however
 * the key file encoded it.
 *
 * Returns 0 or a negative errno; out-parameters untouched on failure.
 */

#include <stdint.h>
#include <openssl/evp.h>

enum agencykey_type {
	AGENCYKEY_P256 = 1,
	AGENCYKEY_P384 = 2,
	AGENCYKEY_RSA  = 3,
};

#define AGENCYKEY_ID_LEN 32
#define AGENCYKEY_RSA_BITS 3072
#define AGENCYKEY_RSA_MIN_BITS 3072
#define AGENCYKEY_RSA_MAX_BITS 8192
#define AGENCYKEY_MAX_FILE 65536

/* Generate a fresh key pair of `type`. */
int agencykey_generate(enum agencykey_type type, EVP_PKEY **out);

/* Classify a key (public or private): an agencykey_type, or
 * -EPROTONOSUPPORT for any other algorithm, curve or RSA size. */
int agencykey_type(const EVP_PKEY *key);

/* SHA-256 of the key's SubjectPublicKeyInfo DER (EC: uncompressed point). */
int agencykey_id(const EVP_PKEY *key, uint8_t id[AGENCYKEY_ID_LEN]);

/* Write the public key, mode 0644; refuses to overwrite (-EEXIST). */
int agencykey_save_public(const char *path, const EVP_PKEY *key);
/* Write the private key, mode 0600; refuses to overwrite (-EEXIST). */
int agencykey_save_private(const char *path, const EVP_PKEY *key);

/* Load a PEM public key (a private key file is refused: -EPROTO). */
int agencykey_load_public(const char *path, EVP_PKEY **out);
/* Load a PEM private key; -EPERM on loose permissions (see above). */
int agencykey_load_private(const char *path, EVP_PKEY **out);

#endif
