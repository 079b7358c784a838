/* Agency key pairs: generation, classification, PEM load/save. */
#include "agencykey.h"
#include "evfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int agencykey_generate(enum agencykey_type type, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case AGENCYKEY_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case AGENCYKEY_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case AGENCYKEY_RSA:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)AGENCYKEY_RSA_BITS);
		break;
	default:
		return -EINVAL;
	}
	if (!k) {
		ERR_clear_error();
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

int agencykey_type(const EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (!key)
		return -EINVAL;
	if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &glen)) {
			ERR_clear_error();
			return -EPROTONOSUPPORT;
		}
		if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
			return AGENCYKEY_P256;
		if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
			return AGENCYKEY_P384;
		return -EPROTONOSUPPORT;
	}
	/* Plain RSA only: an RSA-PSS key is restricted to signing. */
	if (EVP_PKEY_is_a(key, "RSA") && !EVP_PKEY_is_a(key, "RSA-PSS")) {
		int bits = EVP_PKEY_get_bits(key);

		if (bits >= AGENCYKEY_RSA_MIN_BITS && bits <= AGENCYKEY_RSA_MAX_BITS)
			return AGENCYKEY_RSA;
	}
	return -EPROTONOSUPPORT;
}

int agencykey_id(const EVP_PKEY *key, uint8_t id[AGENCYKEY_ID_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	EVP_PKEY *canon = NULL;
	int n, rc = 0;

	if (!key)
		return -EINVAL;
	/* One key, one id: i2d_PUBKEY keeps the point form and the curve
	 * encoding the key was read in, so an EC key from a compressed-point
	 * or explicit-parameters .pub would get another id than the same key
	 * in the usual form. Hash the named-curve, uncompressed form. */
	if (EVP_PKEY_is_a(key, "EC")) {
		canon = EVP_PKEY_dup((EVP_PKEY *)key);
		if (!canon || !EVP_PKEY_set_utf8_string_param(canon,
				OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
				OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) ||
		    !EVP_PKEY_set_utf8_string_param(canon, OSSL_PKEY_PARAM_EC_ENCODING,
				OSSL_PKEY_EC_ENCODING_GROUP)) {
			ERR_clear_error();
			EVP_PKEY_free(canon);
			return -ENOMEM;
		}
		key = canon;
	}
	n = i2d_PUBKEY(key, &der);
	EVP_PKEY_free(canon);
	if (n <= 0) {
		ERR_clear_error();
		return -EINVAL;
	}
	if (!EVP_Digest(der, (size_t)n, id, &mdlen, EVP_sha256(), NULL))
		rc = -ENOMEM;
	OPENSSL_free(der);
	return rc;
}

/* Same loop as the evidence writer's fd sink: one implementation. */
static int write_all(int fd, const char *p, size_t len)
{
	return evfile_fd_write(&fd, p, len);
}

/* Create `path` exclusively with `mode` and write the BIO's bytes. */
static int save_bio(const char *path, BIO *bio, mode_t mode)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	int fd, rc;

	if (len <= 0)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The umask could only narrow it, but make the mode exact anyway. */
	rc = fchmod(fd, mode) ? -errno : 0;
	if (!rc)
		rc = write_all(fd, data, (size_t)len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (rc)
		unlink(path);
	return rc;
}

static int save_key(const char *path, const EVP_PKEY *key, int priv)
{
	BIO *bio;
	int ok, rc;

	if (!path || !key || agencykey_type(key) < 0)
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return -ENOMEM;
	if (priv)
		ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, key);
	if (!ok) {
		ERR_clear_error();
		rc = priv ? -EINVAL : -ENOMEM;
	} else {
		rc = save_bio(path, bio, priv ? 0600 : 0644);
	}
	if (priv) {
		char *data = NULL;
		long len = BIO_get_mem_data(bio, &data);

		if (len > 0)
			OPENSSL_cleanse(data, (size_t)len);
	}
	BIO_free(bio);
	return rc;
}

int agencykey_save_public(const char *path, const EVP_PKEY *key)
{
	return save_key(path, key, 0);
}

int agencykey_save_private(const char *path, const EVP_PKEY *key)
{
	return save_key(path, key, 1);
}

/* Read a whole key file (<= AGENCYKEY_MAX_FILE) into buf; for a private
 * key, refuse anything but a regular file private to its owner. */
static int read_keyfile(const char *path, int priv, char *buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	if (!path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = priv ? -EPERM : -EINVAL;
		goto out;
	}
	if (priv && (st.st_mode & 077)) {
		rc = -EPERM;
		goto out;
	}
	if (st.st_size > AGENCYKEY_MAX_FILE) {
		rc = -EFBIG;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, AGENCYKEY_MAX_FILE + 1 - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > AGENCYKEY_MAX_FILE) {
			rc = -EFBIG; /* grew while we read it */
			goto out;
		}
	}
	*len = got;
out:
	close(fd);
	return rc;
}

/* Never prompt for a passphrase: encrypted PEM is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return 0;
}

static int load_key(const char *path, int priv, EVP_PKEY **out)
{
	char *buf;
	size_t len = 0;
	EVP_PKEY *k = NULL;
	BIO *bio = NULL;
	int rc;

	if (!out)
		return -EINVAL;
	buf = OPENSSL_malloc(AGENCYKEY_MAX_FILE + 1);
	if (!buf)
		return -ENOMEM;
	rc = read_keyfile(path, priv, buf, &len);
	if (rc)
		goto out;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		rc = -ENOMEM;
		goto out;
	}
	k = priv ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
		 : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	ERR_clear_error();
	if (!k) {
		rc = -EPROTO;
		goto out;
	}
	rc = agencykey_type(k);
	if (rc < 0)
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	EVP_PKEY_free(k);
	BIO_free(bio);
	OPENSSL_clear_free(buf, AGENCYKEY_MAX_FILE + 1);
	return rc;
}

int agencykey_load_public(const char *path, EVP_PKEY **out)
{
	return load_key(path, 0, out);
}

int agencykey_load_private(const char *path, EVP_PKEY **out)
{
	return load_key(path, 1, out);
}
