/* volw.c - the volume reader worker (see volw.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "volmsg.h"
#include "volw.h"

struct vfile {
	char *path;
	uint64_t size;
	int64_t mtime_s;
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct msc_profile prof;
	struct vfile *files;
	uint32_t n, seen;
	int err;
};

static uint8_t msgbuf[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];
static int rw_mode; /* VOLW_RW=1: VM_DELETE obeyed (release by deletion) */

static int write_all(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(VOLW_FD_CHAN, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_msg(const struct volmsg *m)
{
	size_t len;
	int r = volmsg_encode(m, msgbuf, sizeof(msgbuf), &len);

	return r < 0 ? r : write_all(msgbuf, len);
}

static int read_all(void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t g = read(VOLW_FD_CHAN, b, n);
		if (g < 0 && errno == EINTR)
			continue;
		if (g <= 0)
			return -EPIPE;
		b += g;
		n -= (size_t)g;
	}
	return 0;
}

static int skip(const char *path, uint8_t why)
{
	struct volmsg m = { .type = VM_SKIP };

	m.u.skip.why = why;
	/* shown only: a refused name is sent with control bytes replaced */
	snprintf(m.u.skip.path, sizeof(m.u.skip.path), "%s", path);
	for (char *s = m.u.skip.path; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	return send_msg(&m);
}

static int add_file(struct walk *w, const char *rel, const struct stat *st, int kind)
{
	struct volmsg m = { .type = VM_FILE };
	struct vfile *f;

	if (w->n % 64 == 0) {
		struct vfile *nf = realloc(w->files, (w->n + 64) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		w->files = nf;
	}
	f = &w->files[w->n];
	if (!(f->path = strdup(rel)))
		return -ENOMEM;
	f->size = (uint64_t)st->st_size;
	f->mtime_s = st->st_mtim.tv_sec;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	m.u.file.index = w->n++;
	m.u.file.kind = (uint8_t)kind;
	m.u.file.size = f->size;
	m.u.file.mtime_s = f->mtime_s;
	snprintf(m.u.file.path, sizeof(m.u.file.path), "%s", rel);
	return send_msg(&m);
}

static int walk_dir(struct walk *w, int dfd, const char *rel, int depth);

static int visit(struct walk *w, int dfd, const char *rel, const char *name, int depth)
{
	char path[PROFILE_PATH_MAX + 1];
	struct stat st;
	int n, kind;

	n = *rel ? snprintf(path, sizeof(path), "%s/%s", rel, name) :
		   snprintf(path, sizeof(path), "%s", name);
	/* every entry of a directory the profile enters counts, refused or not */
	if (++w->seen > w->prof.max_files)
		return -E2BIG;
	if (n < 0 || (size_t)n >= sizeof(path) || !profile_name_ok(name))
		return skip(n > 0 && (size_t)n < sizeof(path) ? path : name, VS_BAD_NAME);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return skip(path, VS_UNREADABLE);
	kind = profile_match(&w->prof, path);
	if (S_ISDIR(st.st_mode)) {
		int cfd;

		if (!profile_dir_wanted(&w->prof, path))
			return 0; /* outside every pattern: never entered */
		if (depth + 2 > w->prof.max_depth) /* its files would be too deep */
			return skip(path, VS_TOO_DEEP);
		cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return skip(path, VS_UNREADABLE);
		n = walk_dir(w, cfd, path, depth + 1);
		close(cfd);
		return n;
	}
	if (!kind && !profile_dir_wanted(&w->prof, path))
		return 0; /* not ours: not even reported */
	if (S_ISLNK(st.st_mode))
		return skip(path, VS_SYMLINK);
	if (!S_ISREG(st.st_mode))
		return skip(path, VS_NOT_REGULAR);
	return kind ? add_file(w, path, &st, kind) : 0;
}

/* getdents64 straight (no DIR*: nothing allocated per directory). */
static int walk_dir(struct walk *w, int dfd, const char *rel, int depth)
{
	char buf[8192];

	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (long at = 0; at < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + at);
			int r;

			at += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if ((r = visit(w, dfd, rel, e->d_name, depth)) < 0)
				return r;
		}
	}
}

/* Open a listed file again, one component at a time, never following a
 * link, and check it is still the file that was listed. */
static int open_listed(const struct vfile *f)
{
	char buf[PROFILE_PATH_MAX + 1], *s, *save = NULL, *next;
	int dfd = VOLW_FD_ROOT, fd = -1;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", f->path);
	for (s = strtok_r(buf, "/", &save); s; s = next) {
		next = strtok_r(NULL, "/", &save);
		fd = openat(dfd, s, (next ? O_DIRECTORY : O_NONBLOCK) | O_RDONLY | O_NOFOLLOW |
					    O_CLOEXEC);
		if (dfd != VOLW_FD_ROOT)
			close(dfd);
		if (fd < 0)
			return -errno;
		dfd = fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != f->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static int do_read(const struct walk *w, const struct volmsg *q)
{
	static uint8_t data[VOLW_PIECE];
	struct volmsg done = { .type = VM_READ_DONE };
	const struct vfile *f;
	uint64_t pos = q->u.read.offset, end = q->u.read.offset + q->u.read.length;
	int fd, r = 0;

	if (q->u.read.index >= w->n)
		r = -ENOENT;
	else if (end > w->files[q->u.read.index].size)
		r = -ERANGE;
	if (r < 0)
		goto out;
	f = &w->files[q->u.read.index];
	if ((fd = open_listed(f)) < 0) {
		r = fd;
		goto out;
	}
	/* the second read of a file goes past the page cache to the volume */
	if (q->u.read.uncached)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	while (r == 0 && pos < end) {
		size_t want = end - pos < VOLW_PIECE ? (size_t)(end - pos) : VOLW_PIECE;
		ssize_t g = pread(fd, data, want, (off_t)pos);
		struct volmsg m = { .type = VM_DATA };
		size_t hl;
		struct iovec iov[2];

		if (g < 0 && errno == EINTR)
			continue;
		if (g <= 0) {
			r = g < 0 ? -errno : -ENODATA; /* shrank under us */
			break;
		}
		m.u.data.offset = pos;
		m.u.data.len = (uint32_t)g;
#ifdef LINK_ATTACK_TESTS
		volw_attack_data(f->path, q->u.read.uncached, data, (size_t)g);
		if (volw_attack_name() && !strcmp(volw_attack_name(), "overrun") &&
		    pos + (uint64_t)g >= end && g < (ssize_t)sizeof(data)) {
			fprintf(stderr, "VOL_ATTACK: trying overrun\n");
			m.u.data.len = (uint32_t)g + 1; /* one byte past the end */
			g++;
		}
#endif
		if ((r = volmsg_encode(&m, msgbuf, sizeof(msgbuf), &hl)) < 0)
			break;
		iov[0] = (struct iovec){ msgbuf, hl };
		iov[1] = (struct iovec){ data, (size_t)g };
		if (writev(VOLW_FD_CHAN, iov, 2) != (ssize_t)(hl + (size_t)g)) {
			close(fd);
			return -EPIPE; /* a short write leaves the channel out of step */
		}
		pos += (uint64_t)g;
	}
	if (q->u.read.uncached)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	{
		struct stat st;
		/* a file that grew, shrank or was rewritten since it was listed */
		if (r == 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size ||
			       st.st_mtim.tv_sec != f->mtime_s))
			r = -ESTALE;
	}
	close(fd);
out:
	done.u.result = r;
	return send_msg(&done);
}

/* Release by deletion: remove listed file index, walking to its directory
 * one component at a time without following links, and only if it is
 * still the file listed (inode, size, time). The daemon has just checked
 * its identity (volsess_release.c). */
static int do_delete(const struct walk *w, const struct volmsg *q)
{
	char buf[PROFILE_PATH_MAX + 1], *s, *save = NULL, *next;
	struct volmsg done = { .type = VM_DELETE_DONE };
	int dfd = VOLW_FD_ROOT, fd, r = 0;
	const struct vfile *f;
	struct stat st;

	if (q->u.read.index >= w->n) {
		r = -ENOENT;
		goto out;
	}
	f = &w->files[q->u.read.index];
	snprintf(buf, sizeof(buf), "%s", f->path);
	for (s = strtok_r(buf, "/", &save); s; s = next) {
		next = strtok_r(NULL, "/", &save);
		if (!next)
			break;
		fd = openat(dfd, s, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd != VOLW_FD_ROOT)
			close(dfd);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		dfd = fd;
	}
	if (!s || fstatat(dfd, s, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = s ? -errno : -EINVAL;
	else if (!S_ISREG(st.st_mode) || st.st_ino != f->ino || (uint64_t)st.st_size != f->size ||
		 st.st_mtim.tv_sec != f->mtime_s)
		r = -ESTALE;
	else if (unlinkat(dfd, s, 0) < 0)
		r = -errno;
	if (dfd != VOLW_FD_ROOT)
		close(dfd);
out:
	done.u.result = r;
	return send_msg(&done);
}

static int serve(void)
{
	static struct walk w;
	int r;

	for (;;) {
		struct linkmsg_hdr h;
		struct volmsg m;

		if (read_all(msgbuf, LINKMSG_HDR_LEN) < 0)
			return 0; /* daemon gone */
		if (volmsg_hdr_decode(msgbuf, &h) < 0 || h.length > LINKMSG_SMALL_MAX ||
		    read_all(msgbuf + LINKMSG_HDR_LEN, h.length) < 0 ||
		    volmsg_decode(&h, msgbuf + LINKMSG_HDR_LEN, &m) < 0)
			return 65;
		if (m.type == VM_BYE)
			return 0;
		if (m.type == VM_LIST) {
			struct volmsg d = { .type = VM_LIST_DONE };

			for (uint32_t i = 0; i < w.n; i++)
				free(w.files[i].path);
			w.n = w.seen = 0;
			if (volmsg_list_to_profile(&m, &w.prof) < 0)
				return 65;
			r = walk_dir(&w, VOLW_FD_ROOT, "", 0);
#ifdef LINK_ATTACK_TESTS
			if (r == 0 && volw_attack_name() && !strcmp(volw_attack_name(), "outside")) {
				struct volmsg f = { .type = VM_FILE };
				const char *arg = getenv("VOL_ATTACK_ARG");

				fprintf(stderr, "VOL_ATTACK: trying outside\n");
				f.u.file.index = w.n;
				f.u.file.kind = PROFILE_RECORDING;
				snprintf(f.u.file.path, sizeof(f.u.file.path), "%s", arg ? arg : "X");
				(void)send_msg(&f);
			}
#endif
			if (r == -EPIPE)
				return 0;
			d.u.done.result = r;
			d.u.done.files = w.n;
			if (send_msg(&d) < 0)
				return 0;
		} else if (m.type == VM_READ) {
			if (do_read(&w, &m) < 0)
				return 0;
		} else if (m.type == VM_DELETE && rw_mode) {
			if (do_delete(&w, &m) < 0)
				return 0;
		} else {
			return 65;
		}
	}
}

int volw_main(void)
{
	const char *mode = getenv("VOLW_RW");
	int r;

	rw_mode = mode && !strcmp(mode, "1");
	r = volw_sandbox_enter_rw(rw_mode);

	if (r < 0) {
		fprintf(stderr, "dockd volume worker: sandbox: %s\n", strerror(-r));
		return 70;
	}
#ifdef LINK_ATTACK_TESTS
	volw_attack_early();
#endif
	/* _exit: no atexit handlers after the lockdown (nothing to flush; an
	 * ASan build's leak checker would need calls seccomp does not allow) */
	_exit(serve());
}
