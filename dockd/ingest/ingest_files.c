/* ingest_files.c - the ingest's files: paths, the directories, the
 * start-up sweep of key files older versions left (see ingest_int.h and
 * ingest.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest.h"
#include "ingest_int.h"
#include "log.h"

int ingest_pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return (n < 0 || n >= PATH_MAX) ? -ENAMETOOLONG : 0;
}

int ingest_part_holds(const char *part, uint64_t chunks, uint64_t *have, uint64_t *need)
{
	uint8_t pre[EVFILE_PREFIX_LEN], *h = NULL;
	struct evfile_info info;
	struct stat st;
	uint32_t n = 0;
	int fd, r;

	fd = open(part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		*have = 0;
		*need = 0;
		return -ENODATA;
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	/* a header that does not read or parse: no durable progress had one */
	if (r == 0 && (evfile_fd_pread(&fd, 0, pre, sizeof(pre)) < 0 ||
		       evfile_header_peek(pre, sizeof(pre), &n) < 0))
		r = -ENODATA;
	if (r == 0 && !(h = malloc(n)))
		r = -ENOMEM;
	if (r == 0 && (evfile_fd_pread(&fd, 0, h, n) < 0 || evfile_header_parse(h, n, &info) < 0))
		r = -ENODATA;
	free(h);
	close(fd);
	if (r == -ENODATA) {
		*have = (uint64_t)st.st_size;
		*need = 0;
		return r;
	}
	if (r < 0)
		return r;
	*have = (uint64_t)st.st_size;
	*need = evfile_chunk_offset(n, info.chunk_log2, chunks);
	return *have >= *need ? 0 : -ENODATA;
}

int ingest_vault_path(const struct dock_config *c, const char *serial, const char *rid,
		      char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s/%s/%s.bcde", c->vault_dir, c->agency_id, serial, rid);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int ingest_make_paths(const struct dock_config *c, const struct dock_rec *r, struct paths *p)
{
	const char *v = c->vault_dir;

	if (ingest_pathf(p->pdir, "%s/.partial/%s", v, r->serial) ||
	    ingest_pathf(p->part, "%s/%s.part", p->pdir, r->recording_id) ||
	    ingest_pathf(p->vdir, "%s/%s/%s", v, c->agency_id, r->serial) ||
	    ingest_vault_path(c, r->serial, r->recording_id, p->vault, sizeof(p->vault)) ||
	    ingest_pathf(p->qdir, "%s/.quarantine/%s", v, r->serial) ||
	    ingest_pathf(p->quar, "%s/%s.%u", p->qdir, r->recording_id, r->attempts))
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p with mode 0700 for every component we create. */
int ingest_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ingest_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Move whatever is at the vault name aside (crash between link and the
 * stored_local transaction): the name is write-once. */
int ingest_vault_clear(const struct paths *p)
{
	char aside[PATH_MAX];
	int r;

	if (access(p->vault, F_OK) < 0)
		return 0;
	if (ingest_pathf(aside, "%s.stale", p->quar) < 0)
		return -ENAMETOOLONG;
	if (ingest_mkdirs(p->qdir) < 0 || rename(p->vault, aside) < 0)
		return -errno;
	/* a rename is durable only once both directories are synced: the
	 * caller syncs the vault's after its link; without this one a power
	 * cut could move the old file back over the new link after the new
	 * file's SHA-256 was committed (the power-cut suite found it: a
	 * vault copy that never matched its row, never uploaded) */
	r = ingest_fsync_dir(p->qdir);
	if (r < 0)
		return r;
	log_warning("%s: moved an unrecorded vault file aside to %s", p->vault, aside);
	return 0;
}

/* A data key file an older dockd wrote for resuming (keys are now kept
 * in memory only): zeros over it, synced, then unlinked. That erases it
 * from this filesystem's view only - not from SSD blocks, journals or
 * snapshots (docs/dockd.md "Keys"). */
static void key_file_remove(const char *path, const char *dir)
{
	static const uint8_t zero[EVFILE_KEY_LEN];
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		(void)!pwrite(fd, zero, sizeof(zero), 0);
		(void)fsync(fd);
		close(fd);
	}
	(void)unlink(path);
	(void)ingest_fsync_dir(dir);
}

/* One leftover file: a .key goes whatever its row; a partial file goes
 * when its row is no longer pulling (a crash between the stored_local
 * transaction and the cleanup: it is a second name of the vault file).
 * The partial file of a row still pulling is replaced when its camera
 * docks again (start_fresh, ingest_open.c). */
static void sweep_one(struct dockd *d, const struct dock_config *c, const char *serial,
		      const char *name)
{
	char rid[PROTO_ID_MAX + 1], dir[PATH_MAX], path[PATH_MAX];
	size_t n = strlen(name);
	bool key = n > 4 && !strcmp(name + n - 4, ".key");
	struct dock_rec rec;

	if (!key && !(n > 5 && !strcmp(name + n - 5, ".part")))
		return;
	n -= key ? 4 : 5;
	if (n > PROTO_ID_MAX)
		return;
	memcpy(rid, name, n);
	rid[n] = '\0';
	if (ingest_pathf(dir, "%s/.partial/%s", c->vault_dir, serial) < 0 ||
	    ingest_pathf(path, "%s/%s", dir, name) < 0)
		return;
	if (key) {
		key_file_remove(path, dir);
		log_warning("%s/%s: removed a data key file left by an older dockd (data keys "
			    "are kept in memory only)", serial, rid);
		return;
	}
	if (dockdb_get(d->w, serial, rid, &rec) == 0 && rec.state == DREC_PULLING)
		return;
	if (unlink(path) == 0)
		log_info("%s/%s: removed the partial file of a finished pull", serial, rid);
}

void ingest_sweep(struct dockd *d, const struct dock_config *c)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	DIR *top, *cam;
	struct dirent *e, *f;

	if (ingest_pathf(dir, "%s/.partial", c->vault_dir) < 0 || !(top = opendir(dir)))
		return;
	while ((e = readdir(top))) {
		if (e->d_name[0] == '.' || !proto_id_valid(e->d_name) ||
		    ingest_pathf(sub, "%s/%s", dir, e->d_name) < 0 || !(cam = opendir(sub)))
			continue;
		while ((f = readdir(cam)))
			sweep_one(d, c, e->d_name, f->d_name);
		closedir(cam);
	}
	closedir(top);
}
