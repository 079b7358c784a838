/* edsig.c - Ed25519 keys and signatures through OpenSSL 3 EVP. See edsig.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "edsig.h"

struct edsig_key {
	EVP_PKEY *pkey;
	bool has_private;
	edsig_sign_fn ext_sign; /* private half held elsewhere (a token) */
	void (*ext_release)(void *);
	void *ext_ctx;
};

static int wrap(EVP_PKEY *pkey, bool priv, struct edsig_key **out)
{
	struct edsig_key *k;

	if (!pkey)
		return -ENOMEM;
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return -EBADMSG;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->has_private = priv;
	*out = k;
	return 0;
}

int edsig_generate(struct edsig_key **out)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx;

	if (!out)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return -EIO;
	}
	EVP_PKEY_CTX_free(ctx);
	return wrap(pkey, true, out);
}

int edsig_from_seed(const uint8_t seed[EDSIG_SEED_LEN], struct edsig_key **out)
{
	if (!seed || !out)
		return -EINVAL;
	return wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, EDSIG_SEED_LEN),
		    true, out);
}

int edsig_from_public(const uint8_t raw[EDSIG_PUBKEY_LEN], struct edsig_key **out)
{
	EVP_PKEY *pkey;

	if (!raw || !out)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, EDSIG_PUBKEY_LEN);
	if (!pkey)
		return -EBADMSG; /* OpenSSL rejects only malformed input here */
	return wrap(pkey, false, out);
}

int edsig_from_signer(const uint8_t pub[EDSIG_PUBKEY_LEN], edsig_sign_fn sign,
		      void (*release)(void *ctx), void *ctx, struct edsig_key **out)
{
	struct edsig_key *k = NULL;
	int r;

	if (!sign)
		return -EINVAL;
	if ((r = edsig_from_public(pub, &k)) < 0)
		return r;
	k->has_private = true;
	k->ext_sign = sign;
	k->ext_release = release;
	k->ext_ctx = ctx;
	*out = k;
	return 0;
}

void *edsig_signer_ctx(const struct edsig_key *k)
{
	return k && k->ext_sign ? k->ext_ctx : NULL;
}

int edsig_public_raw(const struct edsig_key *k, uint8_t out[EDSIG_PUBKEY_LEN])
{
	uint8_t tmp[EDSIG_PUBKEY_LEN];
	size_t n = sizeof(tmp);

	if (!k || !out)
		return -EINVAL;
	if (EVP_PKEY_get_raw_public_key(k->pkey, tmp, &n) != 1 || n != sizeof(tmp))
		return -EIO;
	memcpy(out, tmp, sizeof(tmp));
	return 0;
}

bool edsig_has_private(const struct edsig_key *k)
{
	return k && k->has_private;
}

void edsig_key_free(struct edsig_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL cleanses the private key it holds */
	if (k->ext_release)
		k->ext_release(k->ext_ctx);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* ---- signatures ---------------------------------------------------------*/

int edsig_sign(const struct edsig_key *k, const uint8_t *msg, size_t len,
	       uint8_t sig[EDSIG_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	uint8_t tmp[EDSIG_SIG_LEN];
	size_t n = sizeof(tmp);
	int r = -EIO;

	if (!k || !k->has_private || (!msg && len) || !sig)
		return -EINVAL;
	if (k->ext_sign)
		return k->ext_sign(k->ext_ctx, msg, len, sig);
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is one-shot: no digest, EVP_DigestSign over the whole message */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, tmp, &n, msg ? msg : (const uint8_t *)"", len) == 1 &&
	    n == sizeof(tmp)) {
		memcpy(sig, tmp, sizeof(tmp));
		r = 0;
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

int edsig_verify(const struct edsig_key *k, const uint8_t *msg, size_t len,
		 const uint8_t sig[EDSIG_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	int r = -PROTO_E_AUTH;

	if (!k || (!msg && len) || !sig)
		return -PROTO_E_AUTH;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -PROTO_E_AUTH;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, EDSIG_SIG_LEN, msg ? msg : (const uint8_t *)"", len) == 1)
		r = 0;
	EVP_MD_CTX_free(ctx);
	return r;
}

int edsig_verify_raw(const uint8_t pub[EDSIG_PUBKEY_LEN], const uint8_t *msg, size_t len,
		     const uint8_t sig[EDSIG_SIG_LEN])
{
	struct edsig_key *k = NULL;
	int r;

	if (!pub || edsig_from_public(pub, &k) < 0)
		return -PROTO_E_AUTH;
	r = edsig_verify(k, msg, len, sig);
	edsig_key_free(k);
	return r;
}

/* ---- files ----------------------------------------------------------------*/

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so the new name survives a crash. */
static int fsync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, r = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Create path exclusively with mode, write data, fsync; unlink on failure. */
static int write_new_file(const char *path, mode_t mode, const char *data, size_t n)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* umask may only narrow the mode; fchmod makes it exact */
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, data, n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = fsync_parent(path);
	if (r < 0)
		unlink(path);
	return r;
}

/* Serialise through a memory BIO, write it out, wipe the PEM text. */
static int save_pem(const struct edsig_key *k, const char *path, bool priv)
{
	BIO *bio;
	char *data = NULL;
	long n;
	int r;

	if (!k || !path || (priv && !k->has_private))
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return -ENOMEM;
	if (priv)
		r = PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
	else
		r = PEM_write_bio_PUBKEY(bio, k->pkey);
	n = BIO_get_mem_data(bio, &data);
	if (r != 1 || n <= 0 || !data)
		r = -EIO;
	else
		r = write_new_file(path, priv ? 0600 : 0644, data, (size_t)n);
	if (data && n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return r;
}

int edsig_save_private(const struct edsig_key *k, const char *path)
{
	if (k && k->ext_sign)
		return -EINVAL; /* the private half is not ours to write */
	return save_pem(k, path, true);
}

int edsig_save_public(const struct edsig_key *k, const char *path)
{
	return save_pem(k, path, false);
}

/* Read a whole key file (<= EDSIG_FILE_MAX) into buf; *n = bytes. */
static int read_key_file(const char *path, bool secret, char *buf, size_t cap, size_t *n)
{
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if (secret && (st.st_mode & 077))
		r = -EPERM;
	else if ((size_t)st.st_size >= cap)
		r = -EFBIG;
	while (r == 0) {
		ssize_t g = read(fd, buf + got, cap - got);

		if (g < 0 && errno == EINTR)
			continue;
		if (g < 0)
			r = -errno;
		else if (g == 0)
			break;
		else if ((got += (size_t)g) >= cap)
			r = -EFBIG; /* file grew while reading */
	}
	close(fd);
	if (r == 0)
		*n = got;
	return r;
}

static int load_pem(const char *path, bool priv, struct edsig_key **out)
{
	char buf[EDSIG_FILE_MAX];
	size_t n = 0;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	if (!path || !out)
		return -EINVAL;
	r = read_key_file(path, priv, buf, sizeof(buf), &n);
	if (r < 0)
		goto out;
	bio = BIO_new_mem_buf(buf, (int)n);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	if (priv)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	r = pkey ? wrap(pkey, priv, out) : -EBADMSG;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int edsig_load_private(const char *path, struct edsig_key **out)
{
	return load_pem(path, true, out);
}

int edsig_load_public(const char *path, struct edsig_key **out)
{
	return load_pem(path, false, out);
}

/* ---- hex and messages -----------------------------------------------------*/

int edsig_hex(const uint8_t *in, size_t n, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";

	if ((!in && n) || !out || n > (SIZE_MAX - 1) / 2 || cap < 2 * n + 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int edsig_unhex(const char *hex, uint8_t *out, size_t n)
{
	if (!hex || (!out && n) || strnlen(hex, 2 * n + 1) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (nibble(hex[2 * i]) < 0 || nibble(hex[2 * i + 1]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
	return 0;
}

const char *edsig_strerror(int err)
{
	switch (err) {
	case -EPERM:
		return "private key file is accessible by group or others (refused; chmod 0600)";
	case -EBADMSG:
		return "not a PEM Ed25519 key of the expected kind";
	case -EFBIG:
		return "key file too large";
	case -EEXIST:
		return "key file already exists (not overwritten)";
	case -ELOOP:
		return "key path is a symlink (refused)";
	case -EINVAL:
		return "invalid argument (public-only key, bad hex or not a regular file)";
	default:
		return proto_strerror(err);
	}
}
