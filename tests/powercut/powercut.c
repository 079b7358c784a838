/* powercut.c - test-only LD_PRELOAD library: simulate a power cut.
 *
 * Modelled on SQLite's crash tests (a VFS that, at a chosen point, throws
 * away everything not yet synced and reopens). Here the layer is libc: the
 * library interposes the calls that change files under the directories in
 * POWERCUT_DIRS (dir1:dir2:..., absolute) and records, for every file and
 * directory, what is durable:
 *   - file data and size: durable once fsync/fdatasync of that file
 *     returned; sync_file_range makes nothing durable;
 *   - directory entries (create, link, rename, unlink, mkdir): durable once
 *     every directory the operation touched was fsynced after it (POSIX:
 *     the file's own fsync does not make its name durable).
 * Everything on disk when the process starts counts as durable.
 *
 * At write-like operation number POWERCUT_AT (1-based, counted over the
 * tracked files only; 0 = never) the library cuts the power before doing
 * that operation: with every other thread held out (each interposed call
 * takes one lock), it rolls the files back to what a power cut could
 * leave, then SIGKILLs its own process. Modes (POWERCUT_MODE, default
 * "mix": one of the three per cut, drawn from POWERCUT_SEED: lose 40 %,
 * torn 50 %, keep 10 %):
 *   lose  every unsynced byte and every non-durable entry operation undone
 *   torn  per file, a random prefix of its unsynced writes survives, cut at
 *         a 512-byte sector boundary (the rest reverts to the old bytes or
 *         is truncated away); a random prefix of the non-durable entry
 *         operations survives, the rest is undone
 *   keep  nothing undone (what kill -9 leaves)
 * POWERCUT_MATCH (optional): only operations on paths that start with it
 * count towards POWERCUT_AT (a phase: the partial files, the target...).
 * POWERCUT_FLIP (optional): every plain write to a path that starts with
 * it has one byte changed on its way to the file (a storage target that
 * damages what it stores: tests/integration/dockd_store_damage.sh).
 * POWERCUT_LOG (optional) gets one line per operation,
 * "N op path", and "CUT N mode ..." at the cut. POWERCUT_STASH (required):
 * a directory on the same filesystem where the library hard-links files
 * before unlinking or replacing them, so that an undone unlink can bring
 * the file back. The library unsets LD_PRELOAD at load: children the
 * process starts (alert command) run without it.
 *
 * Not modelled: writes through shared mmaps (SQLite's -shm file, which
 * SQLite rebuilds from the WAL after a crash; dockd maps no data file),
 * and reordering of writes within one file (survivors are a prefix).
 */
#include "powercut_int.h"

static const char *const nop_name[] = { "create", "link", "rename", "unlink", "mkdir" };

pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
int active;
static char *dirs[MAX_DIRS];
static size_t ndirs;
static char stash_dir[PATH_MAX];
static unsigned long cut_at, count, mcount, stash_n;
static char match[PATH_MAX]; /* only operations on paths starting so count */
char flip[PATH_MAX];  /* writes to paths starting so are damaged */
static uint64_t rng;
static int logfd = -1;
static char mode[8] = "mix";
static struct node *nodes;
static size_t nnodes, cnodes;
static struct nop *nops;
static size_t nnops, cnops;

#undef REAL
#define REAL(ret, name, ...) ret (*real_##name)(__VA_ARGS__)
REAL(ssize_t, write, int, const void *, size_t);
REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
REAL(ssize_t, writev, int, const struct iovec *, int);
REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
REAL(ssize_t, pwritev64, int, const struct iovec *, int, off_t);
REAL(int, ftruncate, int, off_t);
REAL(int, ftruncate64, int, off_t);
REAL(int, fsync, int);
REAL(int, fdatasync, int);
REAL(int, sync_file_range, int, off_t, off_t, unsigned int);
REAL(int, rename, const char *, const char *);
REAL(int, renameat, int, const char *, int, const char *);
REAL(int, link, const char *, const char *);
REAL(int, linkat, int, const char *, int, const char *, int);
REAL(int, unlink, const char *);
REAL(int, unlinkat, int, const char *, int);
REAL(int, mkdir, const char *, mode_t);
REAL(int, open, const char *, int, ...);
REAL(int, open64, const char *, int, ...);
REAL(int, openat, int, const char *, int, ...);
REAL(int, openat64, int, const char *, int, ...);

void resolve(void)
{
#define R(name) real_##name = dlsym(RTLD_NEXT, #name)
	R(write); R(pwrite); R(pwrite64); R(writev); R(pwritev); R(pwritev64);
	R(ftruncate); R(ftruncate64); R(fsync); R(fdatasync); R(sync_file_range);
	R(rename); R(renameat); R(link); R(linkat); R(unlink); R(unlinkat); R(mkdir);
	R(open); R(open64); R(openat); R(openat64);
#undef R
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void logf_(const char *fmt, ...)
{
	char buf[PATH_MAX * 2 + 128];
	va_list ap;
	int n;

	if (logfd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!real_write(logfd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void lock_prepare(void) { pthread_mutex_lock(&mu); }
static void lock_parent(void) { pthread_mutex_unlock(&mu); }
static void lock_child(void)
{
	active = 0; /* a child (before its exec) neither counts nor cuts */
	pthread_mutex_unlock(&mu);
}

__attribute__((constructor)) static void pc_init(void)
{
	const char *d = getenv("POWERCUT_DIRS"), *s;
	char buf[PATH_MAX * MAX_DIRS], *save = NULL, *tok;

	resolve();
	unsetenv("LD_PRELOAD");
	if (!d || !*d || strlen(d) >= sizeof(buf))
		return;
	snprintf(buf, sizeof(buf), "%s", d);
	for (tok = strtok_r(buf, ":", &save); tok && ndirs < MAX_DIRS;
	     tok = strtok_r(NULL, ":", &save)) {
		char rp[PATH_MAX];

		if (!realpath(tok, rp))
			snprintf(rp, sizeof(rp), "%s", tok);
		dirs[ndirs++] = strdup(rp);
	}
	s = getenv("POWERCUT_STASH");
	if (!s || !realpath(s, stash_dir)) {
		fprintf(stderr, "powercut: POWERCUT_STASH must name a directory\n");
		_exit(99);
	}
	cut_at = (s = getenv("POWERCUT_AT")) ? strtoul(s, NULL, 10) : 0;
	rng = (s = getenv("POWERCUT_SEED")) ? strtoull(s, NULL, 10) : 1;
	rng = rng * 0x9E3779B97F4A7C15ull + cut_at + 1;
	for (int i = 0; i < 16; i++) /* close seeds: let the state spread first */
		(void)rnd();
	if ((s = getenv("POWERCUT_MATCH")))
		snprintf(match, sizeof(match), "%s", s);
	if ((s = getenv("POWERCUT_FLIP")))
		snprintf(flip, sizeof(flip), "%s", s);
	if ((s = getenv("POWERCUT_MODE")))
		snprintf(mode, sizeof(mode), "%s", s);
	if ((s = getenv("POWERCUT_LOG")))
		logfd = real_open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pthread_atfork(lock_prepare, lock_parent, lock_child);
	active = 1;
}

/* ---- paths ------------------------------------------------------------ */

/* "dirfd/path" made absolute (textually; the tracked dirs are realpaths). */
int abs_path(int dirfd, const char *p, char out[PATH_MAX])
{
	char base[PATH_MAX], link[64];
	ssize_t n;

	if (p[0] == '/') {
		snprintf(out, PATH_MAX, "%s", p);
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return -1;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(link, base, sizeof(base) - 1)) <= 0)
			return -1;
		base[n] = '\0';
	}
	return snprintf(out, PATH_MAX, "%s/%s", base, p) >= PATH_MAX ? -1 : 0;
}

int under_dirs(const char *p)
{
	for (size_t i = 0; i < ndirs; i++) {
		size_t n = strlen(dirs[i]);

		if (!strncmp(p, dirs[i], n) && (p[n] == '/' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

int fd_path(int fd, char out[PATH_MAX])
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, out, PATH_MAX - 1)) <= 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static char *dir_of(const char *p)
{
	char *d = strdup(p), *s = d ? strrchr(d, '/') : NULL;

	if (s && s != d)
		*s = '\0';
	return d;
}

/* ---- the cut ---------------------------------------------------------- */

static void undo_ev(struct node *n, struct dev_ev *e, size_t keep)
{
	size_t skip;

	if (e->trunc) { /* all or nothing */
		(void)real_ftruncate(n->fd, e->prev_size);
		if (e->oldlen)
			(void)!real_pwrite(n->fd, e->old, e->oldlen, e->off);
		return;
	}
	/* bytes [off, off+keep) survive; the rest reverts */
	if ((off_t)(e->off + keep) > e->prev_size || e->off + (off_t)e->len > e->prev_size)
		(void)real_ftruncate(n->fd, e->prev_size > (off_t)(e->off + keep)
						    ? e->prev_size : (off_t)(e->off + keep));
	skip = keep < e->oldlen ? keep : e->oldlen;
	if (e->oldlen > skip)
		(void)!real_pwrite(n->fd, e->old + skip, e->oldlen - skip, e->off + (off_t)skip);
}

static unsigned long rollback_node(struct node *n, int how)
{
	uint64_t total = 0, keep_sectors;
	size_t i;

	if (!n->nev)
		return 0;
	for (i = 0; i < n->nev; i++)
		total += n->ev[i].trunc ? SECTOR : (n->ev[i].len + SECTOR - 1) / SECTOR * SECTOR;
	/* survivors: a prefix of the events, in whole sectors */
	keep_sectors = how == 2 ? total / SECTOR : how == 0 ? 0 : rnd() % (total / SECTOR + 1);
	/* find the event the cut falls in */
	uint64_t budget = keep_sectors * SECTOR;
	size_t cut = n->nev, part = 0;

	for (i = 0; i < n->nev; i++) {
		uint64_t sz = n->ev[i].trunc ? SECTOR : (n->ev[i].len + SECTOR - 1) / SECTOR * SECTOR;

		if (budget < sz) {
			cut = i;
			part = n->ev[i].trunc ? 0 : (size_t)budget;
			break;
		}
		budget -= sz;
	}
	if (cut == n->nev)
		return 0;
	for (i = n->nev; i-- > cut + 1;)
		undo_ev(n, &n->ev[i], 0);
	undo_ev(n, &n->ev[cut], part > n->ev[cut].len ? n->ev[cut].len : part);
	logf_("CUT-FILE %s events %zu kept %zu (+%zu bytes of the next)\n", n->path, n->nev,
	      cut, part);
	return 1;
}

static void undo_nop(struct nop *o)
{
	switch (o->kind) {
	case N_CREATE:
		(void)real_unlink(o->a);
		break;
	case N_LINK:
		(void)real_unlink(o->b);
		break;
	case N_RENAME:
		(void)real_rename(o->b, o->a);
		if (o->stash)
			(void)real_link(o->stash, o->b);
		break;
	case N_UNLINK:
		if (o->stash)
			(void)real_link(o->stash, o->a);
		break;
	case N_MKDIR:
		(void)rmdir(o->a); /* stays if something durable lives in it */
		break;
	}
	logf_("UNDO %s %s%s%s\n", nop_name[o->kind], o->a, o->b ? " -> " : "", o->b ? o->b : "");
}

static int nop_durable(const struct nop *o)
{
	return o->sa && (!o->db || o->sb);
}

/* Called with mu held; never returns. */
static void power_cut(const char *op, const char *path)
{
	int how = 1; /* 0 lose, 1 torn, 2 keep */
	size_t i, pending = 0, keep;

	if (!strcmp(mode, "lose"))
		how = 0;
	else if (!strcmp(mode, "keep"))
		how = 2;
	else if (strcmp(mode, "torn")) { /* mix: kill -9 alone is dockd_crash.sh's */
		unsigned m = (unsigned)(rnd() % 10);

		how = m < 4 ? 0 : m < 9 ? 1 : 2;
	}
	logf_("CUT %lu %s %s mode %s\n", count, op, path ? path : "-",
	      how == 0 ? "lose" : how == 1 ? "torn" : "keep");
	for (i = 0; i < nnodes; i++)
		rollback_node(&nodes[i], how);
	for (i = 0; i < nnops; i++)
		pending += !nop_durable(&nops[i]);
	keep = how == 2 ? pending : how == 0 ? 0 : (size_t)(rnd() % (pending + 1));
	/* the first `keep` non-durable operations survive; undo the rest,
	 * newest first */
	for (i = 0; i < nnops && keep; i++)
		if (!nop_durable(&nops[i]))
			keep--, nops[i].sa = nops[i].sb = 1;
	for (i = nnops; i-- > 0;)
		if (!nop_durable(&nops[i]))
			undo_nop(&nops[i]);
	logf_("CUT done\n");
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/* One more write-like operation on a tracked file (mu held). */
void tick(const char *op, const char *path)
{
	int m = !match[0] || (path && !strncmp(path, match, strlen(match)));

	count++;
	mcount += m;
	if (cut_at && m && mcount == cut_at)
		power_cut(op, path);
	logf_("%lu %s %s\n", count, op, path ? path : "-");
}

/* ---- tracked files ---------------------------------------------------- */

static struct node *node_find(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < nnodes; i++)
		if (nodes[i].dev == dev && nodes[i].ino == ino)
			return &nodes[i];
	return NULL;
}

/* The tracked file behind fd, or NULL (untracked, not regular). mu held. */
struct node *node_of(int fd, struct stat *st)
{
	char p[PATH_MAX];
	struct node *n;

	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		return NULL;
	if ((n = node_find(st->st_dev, st->st_ino)))
		return n;
	if (fd_path(fd, p) < 0 || !under_dirs(p) || !strncmp(p + strlen(p) - 4, "-shm", 4))
		return NULL;
	if (nnodes == cnodes) {
		size_t c = cnodes ? cnodes * 2 : 64;
		struct node *nn = realloc(nodes, c * sizeof(*nn));

		if (!nn)
			abort();
		nodes = nn;
		cnodes = c;
	}
	n = &nodes[nnodes++];
	memset(n, 0, sizeof(*n));
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	/* our own descriptor, high and close-on-exec, read-write */
	{
		char link[64];
		int f;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		f = real_open(link, O_RDWR | O_CLOEXEC);
		n->fd = f < 0 ? -1 : fcntl(f, F_DUPFD_CLOEXEC, 700);
		if (f >= 0)
			close(f);
	}
	n->path = strdup(p);
	return n;
}

void add_ev(struct node *n, int trunc, off_t off, size_t len, off_t size)
{
	struct dev_ev *e;
	off_t end = trunc ? size : (off + (off_t)len < size ? off + (off_t)len : size);
	off_t from = off;

	if (n->nev == n->cap) {
		size_t c = n->cap ? n->cap * 2 : 16;
		struct dev_ev *ne = realloc(n->ev, c * sizeof(*ne));

		if (!ne)
			abort();
		n->ev = ne;
		n->cap = c;
	}
	e = &n->ev[n->nev++];
	memset(e, 0, sizeof(*e));
	e->trunc = trunc;
	e->off = off;
	e->len = len;
	e->prev_size = size;
	if (end > from && (size_t)(end - from) <= OLD_CAP && n->fd >= 0) {
		e->old = malloc((size_t)(end - from));
		if (!e->old)
			abort();
		ssize_t r = pread(n->fd, e->old, (size_t)(end - from), from);
		e->oldlen = r > 0 ? (size_t)r : 0;
	}
}

void clear_evs(struct node *n)
{
	for (size_t i = 0; i < n->nev; i++)
		free(n->ev[i].old);
	n->nev = 0;
}

void add_nop(enum nop_kind k, const char *a, const char *b, char *stash)
{
	struct nop *o;

	if (nnops == cnops) {
		size_t c = cnops ? cnops * 2 : 64;
		struct nop *nn = realloc(nops, c * sizeof(*nn));

		if (!nn)
			abort();
		nops = nn;
		cnops = c;
	}
	o = &nops[nnops++];
	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->a = strdup(a);
	/* a link adds a name in b's directory only: the source's is untouched */
	o->da = dir_of(k == N_LINK ? b : a);
	if (b && k == N_LINK) {
		o->b = strdup(b);
	} else if (b) {
		o->b = strdup(b);
		o->db = dir_of(b);
		if (!strcmp(o->da, o->db)) {
			free(o->db);
			o->db = NULL;
		}
	}
	o->stash = stash;
}

/* Keep what is at path (a regular file) reachable for an undo. */
char *stash_link(const char *path)
{
	char s[PATH_MAX + 64];
	struct stat st;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	snprintf(s, sizeof(s), "%s/s%ld-%lu", stash_dir, (long)getpid(), ++stash_n);
	return real_link(path, s) == 0 ? strdup(s) : NULL;
}

void dir_synced(int fd)
{
	char p[PATH_MAX];

	if (fd_path(fd, p) < 0)
		return;
	for (size_t i = 0; i < nnops; i++) {
		if (!strcmp(nops[i].da, p))
			nops[i].sa = 1;
		if (nops[i].db && !strcmp(nops[i].db, p))
			nops[i].sb = 1;
	}
}
