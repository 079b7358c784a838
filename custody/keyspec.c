/*
 * keyspec.c - a signing key named by a file path or a PKCS#11 URI; see
 * keyspec.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyspec.h"
#include "p11key.h"

static int p11_sign(void *ctx, const void *msg, size_t len, uint8_t sig[EDKEY_SIG_LEN])
{
	return p11key_sign(ctx, msg, len, sig);
}

static void p11_release(void *ctx)
{
	p11key_free(ctx);
}

static int wrap_p11(struct p11key *pk, struct edkey **out)
{
	uint8_t pub[EDKEY_PUB_LEN];
	int r;

	p11key_public(pk, pub);
	r = edkey_from_signer(pub, p11_sign, p11_release, pk, out);
	if (r < 0)
		p11key_free(pk);
	return r;
}

static const char *file_hint(int r)
{
	switch (r) {
	case -EPERM: return " (it must be a regular file readable by its owner only: chmod 600, "
			    "or keep the key in a PKCS#11 token: docs/operations.md)";
	case -ENOENT: return " (create it with keygen)";
	case -EINVAL: return " (not an Ed25519 PKCS#8 PEM private key)";
	default: return "";
	}
}

int keyspec_open(const char *spec, const char *what, struct edkey **out, char *err,
		 size_t errlen)
{
	struct p11key *pk = NULL;
	char why[400] = "";
	int r;

	if (!spec || !spec[0] || !out)
		return -EINVAL;
	if (!p11key_is_uri(spec)) {
		r = edkey_load_private(spec, out);
		if (r < 0)
			snprintf(err, errlen, "%s: cannot load the %s: %s%s", spec, what,
				 strerror(-r), file_hint(r));
		return r;
	}
	r = p11key_open(spec, &pk, why, sizeof(why));
	if (r == 0)
		r = wrap_p11(pk, out);
	if (r < 0)
		snprintf(err, errlen, "%s in PKCS#11 token: %s", what, why[0] ? why : strerror(-r));
	return r;
}

int keyspec_create(const char *spec, const char *what, struct edkey **out, char *err,
		   size_t errlen)
{
	struct p11key *pk = NULL;
	struct edkey *k = NULL;
	char why[400] = "";
	int r;

	if (!spec || !spec[0] || !out)
		return -EINVAL;
	if (p11key_is_uri(spec)) {
		r = p11key_generate(spec, &pk, why, sizeof(why));
		if (r == 0)
			r = wrap_p11(pk, out);
		if (r < 0)
			snprintf(err, errlen, "%s in PKCS#11 token: %s", what,
				 why[0] ? why : strerror(-r));
		return r;
	}
	if ((r = edkey_generate(&k)) < 0 || (r = edkey_save_private(k, spec)) < 0) {
		snprintf(err, errlen, "%s: %s: %s", spec, what,
			 r == -EEXIST ? "exists already; refusing to overwrite it" : strerror(-r));
		edkey_free(k);
		return r;
	}
	*out = k;
	return 0;
}
