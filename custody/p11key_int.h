/*
 * p11key_int.h - internals shared by p11key.c and p11uri.c: the parsed
 * form of a PKCS#11 URI (see p11key.h for the accepted syntax).
 */
#ifndef CUSTODY_P11KEY_INT_H
#define CUSTODY_P11KEY_INT_H

#include <stddef.h>

#include "p11key.h"

#define P11_PATH_MAX 512

struct p11uri {
	char token[P11_TOKEN_MAX + 1];
	char object[P11_LABEL_MAX + 1];
	char module[P11_PATH_MAX];
	char pin_file[P11_PATH_MAX];
};

/* Parse uri into *u (untouched on failure; reason in err). */
int p11uri_parse(const char *uri, struct p11uri *u, char *err, size_t errlen);

/* Read the PIN (first line of u->pin_file) into pin[0..*len), NUL-ended;
 * the caller wipes pin.  -EPERM if the file is not a regular file of mode
 * 0600 or stricter. */
int p11uri_read_pin(const struct p11uri *u, char pin[P11_PIN_MAX + 1], size_t *len,
		    char *err, size_t errlen);

#endif /* CUSTODY_P11KEY_INT_H */
