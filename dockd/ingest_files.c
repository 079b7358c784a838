/* ingest_files.c - the ingest's files: paths, the data key file, the
 * directories, the start-up sweep of leftover keys (see ingest_int.h and
 * ingest.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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
	    ingest_pathf(p->key, "%s/%s.key", p->pdir, r->recording_id) ||
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

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The data key: written only while this recording is partial (0600). */
int ingest_key_save(const struct paths *p, const uint8_t key[EVFILE_KEY_LEN])
{
	int fd, r;

	(void)unlink(p->key);
	fd = open(p->key, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, key, EVFILE_KEY_LEN);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		r = ingest_fsync_dir(p->pdir);
	return r;
}

int ingest_key_load(const struct paths *p, uint8_t key[EVFILE_KEY_LEN])
{
	struct stat st;
	ssize_t n;
	int fd = open(p->key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != EVFILE_KEY_LEN)
		r = -EBADMSG;
	else if ((n = pread(fd, key, EVFILE_KEY_LEN, 0)) != EVFILE_KEY_LEN)
		r = n < 0 ? -errno : -EBADMSG;
	close(fd);
	return r;
}

/* Overwrite with zeros, sync, unlink: after this nothing here decrypts it. */
void ingest_key_wipe(const struct paths *p)
{
	static const uint8_t zero[EVFILE_KEY_LEN];
	int fd = open(p->key, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		(void)!pwrite(fd, zero, sizeof(zero), 0);
		(void)fsync(fd);
		close(fd);
	}
	(void)unlink(p->key);
	(void)ingest_fsync_dir(p->pdir);
}

/* Move whatever is at the vault name aside (crash between link and the
 * stored_local transaction): the name is write-once. */
int ingest_vault_clear(const struct paths *p)
{
	char aside[PATH_MAX];

	if (access(p->vault, F_OK) < 0)
		return 0;
	if (ingest_pathf(aside, "%s.stale", p->quar) < 0)
		return -ENAMETOOLONG;
	if (ingest_mkdirs(p->qdir) < 0 || rename(p->vault, aside) < 0)
		return -errno;
	log_warning("%s: moved an unrecorded vault file aside to %s", p->vault, aside);
	return 0;
}

/* One leftover .key file: keep it only while its row is still pulling. */
static void sweep_one(struct dockd *d, const struct dock_config *c, const char *serial,
		      const char *name)
{
	char rid[PROTO_ID_MAX + 1];
	size_t n = strlen(name);
	struct dock_rec rec;
	struct paths p;

	if (n <= 4 || n - 4 > PROTO_ID_MAX || strcmp(name + n - 4, ".key"))
		return;
	memcpy(rid, name, n - 4);
	rid[n - 4] = '\0';
	if (dockdb_get(d->w, serial, rid, &rec) == 0 && rec.state == DREC_PULLING)
		return;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%.64s", serial);
	snprintf(rec.recording_id, sizeof(rec.recording_id), "%s", rid);
	if (ingest_make_paths(c, &rec, &p) < 0)
		return;
	ingest_key_wipe(&p);
	(void)unlink(p.part);
	log_info("%s/%s: wiped a data key left by an interrupted finish", serial, rid);
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
