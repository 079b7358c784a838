/*
 * keyspec.h - one name for a signing key wherever the configuration
 * names one ([ledger] checkpoint_key, custody keygen --key): either a
 * PKCS#8 PEM file (edkey.h, the simple default) or an RFC 7512 PKCS#11
 * URI ("pkcs11:...", p11key.h) whose private key never leaves the token.
 * Either way the caller gets a struct edkey that signs; only the public
 * key is ever read out of a token.
 *
 * Errors: 0 or a negative errno with a sentence for the operator in err
 * (naming the file or token, the cause and the fix); *out untouched on
 * failure.
 */
#ifndef CUSTODY_KEYSPEC_H
#define CUSTODY_KEYSPEC_H

#include <stddef.h>

#include "edkey.h"

/* Open the existing signing key named by spec. what names the key in
 * messages ("checkpoint key"). */
int keyspec_open(const char *spec, const char *what, struct edkey **out, char *err,
		 size_t errlen);

/* Create a new key pair at spec: a new 0600 file (never replacing one,
 * -EEXIST), or a new pair in the token (never replacing one, -EEXIST). */
int keyspec_create(const char *spec, const char *what, struct edkey **out, char *err,
		   size_t errlen);

#endif /* CUSTODY_KEYSPEC_H */
