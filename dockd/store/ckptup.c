/* ckptup.c - custody checkpoints as objects on the storage target (see
 * ckptup.h). */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ckptup.h"
#include "log.h"

uint64_t ckptup_load(const char *path)
{
	char buf[32] = "";
	uint64_t v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%" SCNu64, &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Remember it (temp file, fsync, rename): a lost update only re-puts
 * checkpoints, which write-once objects accept when identical. */
void ckptup_save(const char *path, uint64_t size)
{
	char tmp[DOCK_CONFIG_PATH_MAX + 48];
	bool ok;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	ok = dprintf(fd, "%" PRIu64 "\n", size) > 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warning("%s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
}

int ckptup_put(struct store_target *st, const char *dock_id, uint64_t tree_size,
	       const char *note, size_t len)
{
	struct store_put_opts po = { .category = "checkpoint", .case_no = "",
				     .retention_class = "indefinite" };
	struct store_info info;
	uint8_t md[32];
	char key[STORE_KEY_MAX + 1];
	int fd, r = 0;

	snprintf(key, sizeof(key), "checkpoints/%s/%" PRIu64 ".txt", dock_id, tree_size);
	if (!store_key_valid(key) || !EVP_Digest(note, len, md, NULL, EVP_sha256(), NULL))
		return -EINVAL;
	po.sha256 = md;
	fd = memfd_create("checkpoint", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, note, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		r = -EIO;
	if (r == 0)
		r = store_put(st, key, fd, len, &po, &info);
	close(fd);
	if (r == 0)
		r = store_verify(st, key, len, md);
	if (r == 0)
		log_info("checkpoint %" PRIu64 " uploaded as %s", tree_size, key);
	else
		log_error("checkpoint %" PRIu64 ": storage target: %s", tree_size,
			  r == -EEXIST ? "a different object already exists under its key"
				       : strerror(-r));
	return r;
}

int ckptup_newest(struct ledgerw *w, uint64_t after, uint64_t *size, char **note, size_t *len)
{
	return ledgerw_checkpoint_newest(w, after, size, note, len);
}
