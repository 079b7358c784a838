/* fixity_repair.c - rewriting a damaged copy from a verified one
 * (fixity.h): the vault copy from storage (fetched, checked, renamed
 * over), the storage copy from the vault file or from the version the
 * uploaded event recorded (store.h replace), read back and recorded as a
 * `repaired` event. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixity_int.h"
#include "log.h"
#include "query.h"

/* A scratch file for a copy fetched from storage: beside dst, or in the
 * state directory. */
static int scratch(const struct fixity_env *e, const char *dst, char *path, size_t cap)
{
	int n = dst ? snprintf(path, cap, "%s.repair", dst) :
		snprintf(path, cap, "%s/fixity-%ld.tmp", e->state_dir ? e->state_dir : "/tmp",
			 (long)getpid());

	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	(void)unlink(path);
	n = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (n < 0)
		return -errno;
	close(n);
	return 0;
}

/* Fetch key (version, "" = current) into a new file at path and check it
 * holds the recorded bytes; the file is left for the caller. */
static int fetch_checked(struct fix_run *x, const struct fix_item *it,
			 const char *version, const char *path)
{
	const struct fixity_env *e = x->e;
	uint8_t md[32];
	uint64_t len = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), r;

	if (fd < 0)
		return -errno;
	fixity_yield(x);
	r = e->store->ops->fetch(e->store, it->key, version, fd, it->size);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		r = fixity_hash_file(x, path, md, &len);
	if (r == 0 && (len != it->size || memcmp(md, it->sha, 32)))
		r = -EBADMSG;	/* not the recorded bytes: never a repair source */
	return r;
}

/* Storage copy rewritten (a new current version) from the vault file, or,
 * with version set, from that older version of the object (read back and
 * checked first): the bytes are hashed again as they are sent. */
static int repair_storage(struct fix_run *x, const struct fix_item *it,
			  const char *version, struct store_info *info)
{
	const struct fixity_env *e = x->e;
	struct store_put_opts po = { 0 };
	char tmp[PATH_MAX];
	int64_t until = 0;
	int fd, r;

	po.sha256 = it->sha;
	po.legal_hold = it->hold || !strcmp(it->retention, "indefinite");
	if (cust_parse_time_utc(it->retention, 0, &until) == 0)
		po.retain_until = (time_t)(until / 1000000000);
	if (version) {
		if ((r = scratch(e, NULL, tmp, sizeof(tmp))) < 0)
			return r;
		if ((r = fetch_checked(x, it, version, tmp)) < 0) {
			(void)unlink(tmp);
			return r;
		}
	}
	fd = open(version ? tmp : it->vault, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (version)
		(void)unlink(tmp);	/* the open fd keeps it */
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	fixity_yield(x);
	r = e->store->ops->replace(e->store, it->key, fd, it->size, &po, info);
	close(fd);
	return r;
}

/* Vault copy rewritten from storage: fetched into a new file beside it,
 * hashed, synced, renamed over the damaged one. */
static int repair_vault(struct fix_run *x, const struct fix_item *it)
{
	const struct fixity_env *e = x->e;
	char tmp[PATH_MAX + 16];
	int r;

	if ((r = scratch(e, it->vault, tmp, sizeof(tmp))) < 0)
		return r;
	r = fetch_checked(x, it, NULL, tmp);	/* storage changed under us: vault left alone */
	if (r == 0 && rename(tmp, it->vault) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	{
		char dir[PATH_MAX];
		char *sl;
		snprintf(dir, sizeof(dir), "%s", it->vault);
		if ((sl = strrchr(dir, '/')) != NULL) {
			*sl = '\0';
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				(void)fsync(dfd);
				close(dfd);
			}
		}
	}
	return 0;
}

/* Repair copy `bad` from the other one (or, version set, the storage copy
 * from that recorded version of the object), read it back, record it. */
int fixity_repair(struct fix_run *x, const struct fix_item *it, const char *bad,
		  const char *version)
{
	const struct fixity_env *e = x->e;
	struct fixity_stats *st = x->st;
	struct store_info info = { 0 };
	char from[FIX_LOC_MAX + 160];
	const char *to = bad[0] == 'v' ? it->vault : it->storage_loc;
	uint8_t md[32];
	char got[65] = "";
	uint64_t len = 0;
	int r, w;

	if (version)
		snprintf(from, sizeof(from), "%s?versionId=%s", it->storage_loc, version);
	else
		snprintf(from, sizeof(from), "%s", bad[0] == 'v' ? it->storage_loc : it->vault);
	r = bad[0] == 'v' ? repair_vault(x, it) : repair_storage(x, it, version, &info);
	if (r == 0 && bad[0] != 'v')
		fixity_yield(x);
	if (r == 0)	/* verify again: the bytes now at the damaged place */
		r = bad[0] == 'v' ? fixity_hash_file(x, it->vault, md, &len) :
		    e->store->ops->hash(e->store, it->key, md, &len);
	if (r == 0) {
		hex(md, got);
		if (len != it->size || memcmp(md, it->sha, 32))
			r = -EBADMSG;
	}
	r == 0 ? st->repaired++ : st->unrepaired++;
	w = fixity_append(x, CUST_A_REPAIRED, it->id, r == 0 ? CUST_OUTCOME_OK : CUST_OUTCOME_FAILED,
		   json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "copy", bad, "from", from,
			     "to", to, "sha256", it->sha_hex, "actual_sha256", got,
			     "version_id", info.version_id[0] ? info.version_id : NULL,
			     "etag", info.etag[0] ? info.etag : NULL,
			     "error", r ? strerror(-r) : NULL));
	if (r == 0)
		log_info("fixity: %s: %s copy repaired from %s (read back: sha256 %s)", it->id, bad,
			 from, got);
	else
		fixity_alert(e, it->id, "repair of the %s copy failed: %s", bad, strerror(-r));
	return w;
}
