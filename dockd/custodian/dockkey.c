/* dockkey.c - the dock key from a file or a PKCS#11 token; see dockkey.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockkey.h"
#include "p11key.h"

#define FIX_TOKEN "or keep the key in a PKCS#11 token (docs/operations.md, \"Key storage\")"

int dockkey_check_file(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s: %s%s", path, what, strerror(e),
			 e == ENOENT ? " (create it with `dockd keygen` / `custody keygen`)" : "");
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file (a symlink or other file "
			 "could be swapped under dockd): refusing to start; fix: put the key "
			 "file itself at this path, mode 0600, " FIX_TOKEN, path, what);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: %s is owned by uid %u, not by uid %u that runs "
			 "dockd (another account can read or replace it): refusing to start; "
			 "fix: chown %u %s && chmod 600 %s, " FIX_TOKEN, path, what,
			 (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path, path);
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: %s has mode %04o: group or others may %s it: "
			 "refusing to start; fix: chmod 600 %s, " FIX_TOKEN, path, what,
			 (unsigned)(st.st_mode & 07777),
			 (st.st_mode & 022) ? "write" : "read", path);
		return -EPERM;
	}
	return 0;
}

static int p11_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[EDSIG_SIG_LEN])
{
	return p11key_sign(ctx, msg, len, sig);
}

static void p11_release(void *ctx)
{
	p11key_free(ctx);
}

static int wrap(struct p11key *pk, struct edsig_key **out, char *err, size_t errlen)
{
	uint8_t pub[EDSIG_PUBKEY_LEN];
	int r;

	p11key_public(pk, pub);
	r = edsig_from_signer(pub, p11_sign, p11_release, pk, out);
	if (r < 0) {
		p11key_free(pk);
		snprintf(err, errlen, "dock key in PKCS#11 token: %s", edsig_strerror(r));
	}
	return r;
}

int dockkey_open(const char *spec, struct edsig_key **out, char *err, size_t errlen)
{
	struct p11key *pk = NULL;
	char why[400] = "";
	int r;

	if (!spec || !out)
		return -EINVAL;
	if (p11key_is_uri(spec)) {
		r = p11key_open(spec, &pk, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "dock key in PKCS#11 token: %s", why);
			return r;
		}
		return wrap(pk, out, err, errlen);
	}
	if ((r = dockkey_check_file(spec, "dock key", err, errlen)) < 0)
		return r;
	r = edsig_load_private(spec, out);
	if (r == -EACCES || r == -EPERM)
		/* not a missing key: a new one would need a new certificate */
		snprintf(err, errlen, "%s: dock key: uid %u that runs dockd cannot read it (%s): "
			 "refusing to start; fix: chown %u %s && chmod 600 %s (do not run "
			 "`dockd keygen`: the agency certified this key)", spec,
			 (unsigned)geteuid(), strerror(-r), (unsigned)geteuid(), spec, spec);
	else if (r < 0)
		snprintf(err, errlen, "%s: dock key: %s (run `dockd keygen`)", spec,
			 edsig_strerror(r));
	return r;
}

int dockkey_create(const char *spec, struct edsig_key **out, char *err, size_t errlen)
{
	struct edsig_key *k = NULL;
	struct p11key *pk = NULL;
	char why[400] = "";
	int r;

	if (!spec || !out)
		return -EINVAL;
	if (p11key_is_uri(spec)) {
		r = p11key_generate(spec, &pk, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "dock key in PKCS#11 token: %s", why);
			return r;
		}
		return wrap(pk, out, err, errlen);
	}
	r = edsig_generate(&k);
	if (r == 0 && (r = edsig_save_private(k, spec)) < 0)
		snprintf(err, errlen, "%s: %s", spec,
			 r == -EEXIST ? "a dock key exists already; refusing to overwrite it"
				      : edsig_strerror(r));
	else if (r < 0)
		snprintf(err, errlen, "dock key: %s", edsig_strerror(r));
	if (r < 0) {
		edsig_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int dockkey_discard(const char *spec, struct edsig_key *k)
{
	int r;

	if (p11key_is_uri(spec))
		r = p11key_destroy(edsig_signer_ctx(k));
	else
		r = unlink(spec) < 0 ? -errno : 0;
	edsig_key_free(k);
	return r;
}
