/*
 * edkey.c - Ed25519 key handling for custody (OpenSSL 3 EVP only).
 * See edkey.h for the contract.
 */
#include "edkey.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct edkey {
	EVP_PKEY *pkey;
	int has_private;
	edkey_sign_fn ext_sign;		/* private half held elsewhere */
	void (*ext_release)(void *);
	void *ext_ctx;
};

static int wrap(EVP_PKEY *pkey, int has_private, struct edkey **out)
{
	struct edkey *k;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->has_private = has_private;
	*out = k;
	return 0;
}

void edkey_free(struct edkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);	/* OpenSSL cleanses the private key */
	if (k->ext_release)
		k->ext_release(k->ext_ctx);
	free(k);
}

int edkey_has_private(const struct edkey *k)
{
	return k && k->has_private;
}

int edkey_generate(struct edkey **out)
{
	EVP_PKEY *pkey = NULL;

	if (!out)
		return -EINVAL;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey)
		return -EIO;
	return wrap(pkey, 1, out);
}

/* Read a whole small file through an already-open fd into a wiped-on-free
 * buffer.  Caps at EDKEY_MAX_FILE so a hostile path cannot exhaust us. */
static int read_capped(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap)
			return -EFBIG;	/* cap includes one spare byte */
	}
	*len = got;
	return 0;
}

static int load_pem(const char *path, int private, struct edkey **out)
{
	char buf[EDKEY_MAX_FILE + 1];
	EVP_PKEY *pkey = NULL;
	struct stat st;
	size_t len = 0;
	BIO *bio = NULL;
	int fd, rc;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = -EPERM;
	if (!S_ISREG(st.st_mode) || (private && (st.st_mode & 077)))
		goto fail;
	rc = -EFBIG;
	if (st.st_size > EDKEY_MAX_FILE)
		goto fail;
	if ((rc = read_capped(fd, buf, sizeof(buf), &len)) < 0)
		goto fail;
	rc = -ENOMEM;
	if (!(bio = BIO_new_mem_buf(buf, (int)len)))
		goto fail;
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	rc = -EINVAL;
	if (!pkey)
		goto fail;
	rc = wrap(pkey, private, out);
fail:
	BIO_free(bio);
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int edkey_load_private(const char *path, struct edkey **out)
{
	return load_pem(path, 1, out);
}

int edkey_load_public(const char *path, struct edkey **out)
{
	return load_pem(path, 0, out);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory so the new name itself survives a crash. */
static int sync_parent(const char *path)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, strlen(path) + 1);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int save_pem(const struct edkey *k, const char *path, int private)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long len;
	int fd = -1, rc = -EIO;

	if (!bio)
		return -ENOMEM;
	if (private ? !PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0,
						 NULL, NULL)
		    : !PEM_write_bio_PUBKEY(bio, k->pkey))
		goto fail;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  private ? 0600 : 0644);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = write_all(fd, data, (size_t)len)) < 0 ||
	    (fsync(fd) < 0 && (rc = -errno)) || (rc = sync_parent(path)) < 0) {
		unlink(path);	/* never leave a half-written key behind */
		goto fail;
	}
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	BIO_free(bio);	/* secure-heap BIO: cleansed on free */
	return rc;
}

int edkey_save_private(const struct edkey *k, const char *path)
{
	if (!k || !path)
		return -EINVAL;
	if (!k->has_private || k->ext_sign)
		return -ENOKEY;
	return save_pem(k, path, 1);
}

int edkey_save_public(const struct edkey *k, const char *path)
{
	if (!k || !path)
		return -EINVAL;
	return save_pem(k, path, 0);
}

int edkey_public_raw(const struct edkey *k, uint8_t out[EDKEY_PUB_LEN])
{
	uint8_t tmp[EDKEY_PUB_LEN];
	size_t len = sizeof(tmp);

	if (!k || !out)
		return -EINVAL;
	if (!EVP_PKEY_get_raw_public_key(k->pkey, tmp, &len) ||
	    len != EDKEY_PUB_LEN)
		return -EIO;
	memcpy(out, tmp, EDKEY_PUB_LEN);
	return 0;
}

int edkey_from_public_raw(const uint8_t pub[EDKEY_PUB_LEN], struct edkey **out)
{
	EVP_PKEY *pkey;

	if (!pub || !out)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					   EDKEY_PUB_LEN);
	if (!pkey)
		return -EINVAL;
	return wrap(pkey, 0, out);
}

int edkey_from_signer(const uint8_t pub[EDKEY_PUB_LEN], edkey_sign_fn sign,
		      void (*release)(void *ctx), void *ctx, struct edkey **out)
{
	struct edkey *k = NULL;
	int rc;

	if (!sign)
		return -EINVAL;
	if ((rc = edkey_from_public_raw(pub, &k)) < 0)
		return rc;
	k->has_private = 1;
	k->ext_sign = sign;
	k->ext_release = release;
	k->ext_ctx = ctx;
	*out = k;
	return 0;
}

int edkey_sign(const struct edkey *k, const void *msg, size_t len,
	       uint8_t sig[EDKEY_SIG_LEN])
{
	uint8_t tmp[EDKEY_SIG_LEN];
	size_t slen = sizeof(tmp);
	EVP_MD_CTX *ctx;
	int rc = -EIO;

	if (!k || !sig || (!msg && len))
		return -EINVAL;
	if (!k->has_private)
		return -ENOKEY;
	if (k->ext_sign)
		return k->ext_sign(k->ext_ctx, msg, len, sig);
	if (!(ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, k->pkey,
				  NULL) == 1 &&
	    EVP_DigestSign(ctx, tmp, &slen, msg ? msg : "", len) == 1 &&
	    slen == EDKEY_SIG_LEN) {
		memcpy(sig, tmp, EDKEY_SIG_LEN);
		rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int verify_pkey(EVP_PKEY *pkey, const void *msg, size_t len,
		       const uint8_t sig[EDKEY_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	int rc = -EIO, v;

	if (!(ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey,
				    NULL) == 1) {
		v = EVP_DigestVerify(ctx, sig, EDKEY_SIG_LEN,
				     msg ? msg : "", len);
		rc = v == 1 ? 0 : -EBADMSG;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int edkey_verify(const struct edkey *k, const void *msg, size_t len,
		 const uint8_t sig[EDKEY_SIG_LEN])
{
	if (!k || !sig || (!msg && len))
		return -EINVAL;
	return verify_pkey(k->pkey, msg, len, sig);
}

int edkey_verify_raw(const uint8_t pub[EDKEY_PUB_LEN], const void *msg,
		     size_t len, const uint8_t sig[EDKEY_SIG_LEN])
{
	EVP_PKEY *pkey;
	int rc;

	if (!pub || !sig || (!msg && len))
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					   EDKEY_PUB_LEN);
	if (!pkey)
		return -EBADMSG;	/* not a valid point: cannot verify */
	rc = verify_pkey(pkey, msg, len, sig);
	EVP_PKEY_free(pkey);
	return rc;
}
