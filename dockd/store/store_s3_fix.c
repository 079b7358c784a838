/* store_s3_fix.c - the s3:// target's fixity operations (store.h hash,
 * fetch): GET of the current version streamed through SHA-256, and a GET
 * of any version into a file. Ceph RGW 16 keeps no SHA-256 checksum of an
 * object, and a stored checksum is the upload's value, not a re-read: an
 * audit always reads the bytes. */
#include <errno.h>
#include <unistd.h>

#include "log.h"
#include "store_s3_int.h"

/* ---- fixity: hash the current version, fetch one ---------------------------- */

int s3t_hash(struct store_target *t, const char *key, uint8_t sha256[32], uint64_t *len)
{
	char okey[S3_KEY_MAX + 1];
	struct s3_client *c = NULL;
	struct s3_error e;
	int r = s3t_client(t->impl, key, okey, &c);

	if (r < 0)
		return r;
	r = s3_get_object_sha256(c, okey, NULL, len, sha256, &e);
	if (r < 0 && r != -ENOENT)
		s3t_log_err("fixity (GET)", okey, r, &e);
	s3_client_free(c);
	return r;
}

int s3t_fetch(struct store_target *t, const char *key, const char *version_id, int fd,
		     uint64_t max)
{
	char okey[S3_KEY_MAX + 1];
	struct s3_client *c = NULL;
	struct s3_error e;
	int r = s3t_client(t->impl, key, okey, &c);

	if (r < 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	else
		r = s3_get_object_fd(c, okey, version_id, fd, max, &e);
	if (r < 0)
		s3t_log_err("fetch (GET)", okey, r, &e);
	s3_client_free(c);
	return r;
}
