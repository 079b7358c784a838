/* volmount.c - the volume supervisor: `dockd --volume-mount FS SOURCE`,
 * exec'd by volc.c (a fresh process: it holds no copy of the daemon's keys
 * or ledger). It presents the camera's volume to the volume reader worker
 * without the kernel ever parsing the volume's bytes:
 *   1. FS "dir": SOURCE is a directory (profile testing, `volume-scan
 *      --dir`); no mount, go to 5.
 *   2. unshare(CLONE_NEWNS), / made private: the mount below exists only
 *      in this process's namespace, nobody else on the dock sees it. Not
 *      root (the packaged service user, no capabilities): the mount
 *      namespace is created inside a new user namespace that maps only
 *      the caller's own uid and gid (setgroups denied), which gives this
 *      process CAP_SYS_ADMIN over that namespace and nothing outside it;
 *      the FUSE driver alone gets CAP_SYS_ADMIN back across its exec (as
 *      an ambient capability) so libfuse mounts with mount(2) directly
 *      (FAT) or dockd's fusermount does (exFAT, 3), never the setuid
 *      fusermount; the worker gets none;
 *   3. FS "auto" reads the boot sector's name field ("EXFAT   " or not);
 *      exfat-fuse always asks for "fuseblk", which needs a block device:
 *      as root a regular file is attached to a read-only, auto-clearing
 *      loop device first (LOOP_CONFIGURE). The kernel refuses fuseblk in
 *      a user namespace (EPERM): not root, libfuse falls back to
 *      fusermount, and this namespace's fusermount is dockd's own
 *      (volfm.h: bind-mounted over /bin/fusermount, first on the
 *      driver's PATH), which mounts plain "fuse", ro,nosuid,nodev,noexec,
 *      and hands the descriptor back; exfat-fuse reads a regular file
 *      itself (no loop device). Read-only only: not root, "rw:exfat"
 *      (release by deletion) is refused with a clear error (exit 3);
 *   4. the userspace driver (fusefat, or mount.exfat-fuse) runs in the
 *      foreground as a child, read-only, on a fresh directory under /tmp;
 *      the kernel sees FUSE requests, never FAT/exFAT structures;
 *   5. the worker (`dockd --volume-worker`) gets the root as fd 3 and the
 *      channel as fd 4;
 *   6. when the worker exits: unmount, stop the driver, remove the
 *      directory; exit with the worker's status (128 + signal if killed).
 * Every child gets PR_SET_PDEATHSIG SIGKILL: a killed daemon leaves no
 * driver or worker behind. Exit 3: the driver refused the volume. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "volc.h"
#include "volfm.h"
#include "volkern.h"
#include "volw.h"

#define FUSE_MAGIC 0x65735546
#define MOUNT_WAIT_MS 10000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int is_exfat(const char *src)
{
	char b[11] = { 0 };
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof(b), 0);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof(b) && !memcmp(b + 3, "EXFAT   ", 8);
}

/* A loop device over the regular file src, into dev: read-only unless
 * rw (release by deletion). */
static int loop_attach(const char *src, char *dev, size_t cap, int rw)
{
	struct loop_config lc;
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), fd = -1, lfd = -1, n, r = -EIO;

	if (ctl < 0)
		return -errno;
	for (int tries = 0; tries < 8 && r < 0; tries++) {
		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			break;
		snprintf(dev, cap, "/dev/loop%d", n);
		if ((fd = open(src, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC)) < 0 ||
		    (lfd = open(dev, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC)) < 0) {
			r = -errno;
			break;
		}
		memset(&lc, 0, sizeof(lc));
		lc.fd = (uint32_t)fd;
		lc.info.lo_flags = (rw ? 0 : LO_FLAGS_READ_ONLY) | LO_FLAGS_AUTOCLEAR;
		r = ioctl(lfd, LOOP_CONFIGURE, &lc) < 0 ? -errno : 0;
		close(fd);
		fd = -1;
		if (r < 0) {
			close(lfd);
			lfd = -1;
		}
	}
	close(ctl);
	/* lfd stays open (and is inherited by the driver): autoclear frees the
	 * device when the last user closes it */
	return r < 0 ? r : 0;
}

static int in_userns; /* not root: step 2 made a user namespace */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

/* Step 2. Not root: a user namespace mapping only our own ids (an
 * unprivileged process may map exactly its own euid and, once setgroups
 * is denied, its own egid), so files keep their real owners and nothing
 * else on the dock becomes reachable. */
static int private_ns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int r;

	if (uid == 0)
		return unshare(CLONE_NEWNS) < 0 ? -errno : 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -errno;
	in_userns = 1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	r = write_file("/proc/self/uid_map", map);
	if (r == 0)
		r = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (r == 0)
		r = write_file("/proc/self/gid_map", map);
	return r;
}

/* In the driver's child, in the user namespace: keep CAP_SYS_ADMIN (of
 * that namespace only) across exec as an ambient capability, and no other
 * capability: libfuse's mount(2) of "fuse" then succeeds (fusefat), and
 * exfat-fuse's fallback, dockd's fusermount, inherits it (volfm.h); the
 * setuid fusermount would not help (a user namespace ignores its bit). */
static int keep_mount_cap(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].inheritable = 1u << CAP_SYS_ADMIN;
	d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) < 0)
		return -errno;
	return 0;
}

/* envp NULL: the supervisor's environment */
static pid_t spawn(char *const argv[], char *const envp[], int quiet)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in_userns && keep_mount_cap() < 0)
			_exit(126);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			if (quiet)
				dup2(nul, 2);
		}
		if (envp)
			execvpe(argv[0], argv, envp); /* found on our PATH, run with envp */
		else
			execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* exFAT, not root (volfm.h): dockd's fusermount, by absolute path from
 * the folder above this executable's (as the camera-link worker's), where
 * libfuse looks for fusermount in this namespace only: over
 * VOLFM_LIBFUSE_PATH when it exists, and on the driver's PATH (its folder,
 * into dir) when it does not. */
static int fm_setup(char *dir, size_t cap)
{
	char self[PATH_MAX], exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct stat sb;
	char *slash;
	int k;

	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	for (k = 0; k < 2; k++) { /* drop the file name, then its folder */
		if (!(slash = strrchr(self, '/')))
			return -ENOENT;
		*slash = '\0';
	}
	k = snprintf(exe, sizeof(exe), "%s/%s", self, VOLFM_EXE_REL);
	if (k < 0 || (size_t)k >= sizeof(exe) || (size_t)k >= cap)
		return -ENAMETOOLONG;
	errno = 0;
	if (stat(exe, &sb) < 0 || !S_ISREG(sb.st_mode) || access(exe, X_OK) < 0) {
		fprintf(stderr, "dockd volume: exFAT without root needs dockd's fusermount, %s: "
			"%s\n", exe, strerror(errno ? errno : ENOEXEC));
		return -ENOENT;
	}
	if (stat(VOLFM_LIBFUSE_PATH, &sb) == 0 &&
	    mount(exe, VOLFM_LIBFUSE_PATH, NULL, MS_BIND, NULL) < 0) {
		k = -errno;
		fprintf(stderr, "dockd volume: bind %s over %s: %s\n", exe, VOLFM_LIBFUSE_PATH,
			strerror(-k));
		return k;
	}
	*strrchr(exe, '/') = '\0';
	snprintf(dir, cap, "%s", exe);
	return 0;
}

static int mounted(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) == 0 && (unsigned long)sf.f_type == FUSE_MAGIC;
}

static volatile pid_t worker_pid;

/* SIGTERM from the daemon (it stopped trusting the worker): the worker
 * dies, the normal unmount and cleanup follow. */
static void on_term(int sig)
{
	(void)sig;
	if (worker_pid > 0)
		kill(worker_pid, SIGKILL);
}

static int rw_mode; /* "rw:" FS: release by deletion */

static int run_worker(int rootfd)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *argv[] = { "dockd", "--volume-worker", NULL }, *envp[4] = { NULL, NULL, NULL, NULL };
#ifdef LINK_ATTACK_TESTS
	char a1[128], a2[600];
	const char *av = getenv("VOL_ATTACK");

	if (av) {
		snprintf(a1, sizeof(a1), "VOL_ATTACK=%s", av);
		av = getenv("VOL_ATTACK_ARG");
		snprintf(a2, sizeof(a2), "VOL_ATTACK_ARG=%s", av ? av : "");
		envp[0] = a1;
		envp[1] = a2;
	}
#endif
	if (rw_mode)
		envp[envp[0] ? 2 : 0] = "VOLW_RW=1";
	pid_t pid;
	int st;

	if (n <= 0)
		return 71;
	exe[n] = '\0';
	pid = fork();
	if (pid == 0) {
		/* via a high fd: dup2 onto itself would keep close-on-exec */
		int hi = fcntl(rootfd, F_DUPFD, 16);

		if (hi < 0 || dup2(hi, VOLW_FD_ROOT) < 0)
			_exit(126);
		syscall(SYS_close_range, VOLW_FD_CHAN + 1, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(exe, argv, envp);
		_exit(127);
	}
	if (pid < 0)
		return 71;
	worker_pid = pid;
	close(rootfd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 71;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void stop_driver(const char *mnt, pid_t drv)
{
	int st;

	if (umount2(mnt, 0) < 0)
		(void)umount2(mnt, MNT_DETACH);
	for (int i = 0; i < 50; i++) {
		if (waitpid(drv, &st, WNOHANG) == drv)
			return;
		if (i == 20)
			kill(drv, SIGTERM);
		sleep_ms(50);
	}
	kill(drv, SIGKILL);
	(void)waitpid(drv, &st, 0);
}

int volm_main(int argc, char **argv)
{
	const char *fs, *src;
	char mnt[] = "/tmp/dockd-vol.XXXXXX", dev[64];
	pid_t drv;
	int rootfd, st, rc;

	struct sigaction sa;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (argc != 4)
		return 64;
	fs = argv[2];
	src = argv[3];
	if (!strncmp(fs, "rw:", 3)) {
		rw_mode = 1;
		fs += 3;
	}
	if (!strcmp(fs, "dir")) {
		rootfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (rootfd < 0) {
			fprintf(stderr, "dockd volume: %s: %s\n", src, strerror(errno));
			return 66;
		}
		return run_worker(rootfd);
	}
	if (!strcmp(fs, "auto"))
		fs = is_exfat(src) ? "exfat" : "vfat";
	if (strcmp(fs, "vfat") && strcmp(fs, "exfat"))
		return 64;
	if (volk_requested()) /* [dock] volume_driver = kernel (volkern.c) */
		return volk_main(fs, src, rw_mode);
	if ((rc = private_ns()) < 0 ||
	    (rc = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? -errno : 0) < 0) {
		fprintf(stderr, "dockd volume: private mount namespace%s: %s\n", in_userns ?
			" in a user namespace (disabled? sysctl user.max_user_namespaces, "
			"kernel.unprivileged_userns_clone; systemd RestrictNamespaces=)" : "",
			strerror(-rc));
		return 71;
	}
	if (!strcmp(fs, "exfat") && in_userns && rw_mode) {
		fprintf(stderr, "dockd volume: %s: deleting from an exFAT volume needs the dock to "
			"run the reader as root (not root, exFAT is mounted read-only only); "
			"nothing deleted\n", src);
		return 3;
	}
	if (!strcmp(fs, "exfat") && !in_userns) {
		struct stat sb;

		if (stat(src, &sb) < 0) {
			fprintf(stderr, "dockd volume: %s: %s\n", src, strerror(errno));
			return 66;
		}
		if (S_ISREG(sb.st_mode)) {
			int r = loop_attach(src, dev, sizeof(dev), rw_mode);
			if (r < 0) {
				fprintf(stderr, "dockd volume: loop device for %s: %s\n", src,
					strerror(-r));
				return 71;
			}
			src = dev;
		}
	}
	if (!mkdtemp(mnt)) {
		fprintf(stderr, "dockd volume: mount point: %s\n", strerror(errno));
		return 71;
	}
	{
		/* read-write only for release by deletion (fusefat's "rw+").
		 * Files owned by us: in a user namespace mapping only our ids,
		 * files owned by anyone else (root by default) have an unmapped
		 * owner, and the kernel refuses to unlink those (EOVERFLOW). */
		char o[96], xo[96], path[PATH_MAX + 8], fmmnt[sizeof(mnt) + 32];
		char *vf[] = { "fusefat", "-f", "-o", o, (char *)src, mnt, NULL };
		char *ex[] = { "mount.exfat-fuse", "-d", "-o", xo, (char *)src, mnt, NULL };
		char *exenv[] = { path, fmmnt, NULL };

		snprintf(o, sizeof(o), "%s,nosuid,nodev,noexec,uid=%u,gid=%u",
			 rw_mode ? "rw+" : "ro", (unsigned)geteuid(), (unsigned)getegid());
		snprintf(xo, sizeof(xo), "%s,nosuid,nodev,noexec", rw_mode ? "rw" : "ro");
		if (!strcmp(fs, "vfat")) {
			drv = spawn(vf, NULL, 1);
		} else if (!in_userns) {
			drv = spawn(ex, NULL, 1);
		} else {
			/* the driver's whole environment: PATH, dockd's fusermount's
			 * folder alone; the mount point it may mount on */
			memcpy(path, "PATH=", 5);
			snprintf(fmmnt, sizeof(fmmnt), "%s=%s", VOLFM_MNT_ENV, mnt);
			drv = fm_setup(path + 5, sizeof(path) - 5) < 0 ? -1 : spawn(ex, exenv, 1);
		}
	}
	rc = drv < 0 ? 71 : 3;
	for (int waited = 0; drv > 0 && waited < MOUNT_WAIT_MS; waited += 20) {
		if (mounted(mnt)) {
			rc = 0;
			break;
		}
		if (waitpid(drv, &st, WNOHANG) == drv) {
			drv = -1; /* it gave up: not a volume it can read */
			break;
		}
		sleep_ms(20);
	}
	if (rc == 0) {
		rootfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = rootfd < 0 ? 3 : run_worker(rootfd);
	} else if (rc == 3) {
		fprintf(stderr, "dockd volume: the %s driver could not read %s (not a valid %s "
			"volume, or damaged)\n", fs, src, fs);
	}
	if (drv > 0)
		stop_driver(mnt, drv);
	(void)rmdir(mnt);
	return rc;
}

/* For volk_main (volkern.h): the same loop device and worker steps. */
int volm_loop_attach(const char *src, char *dev, size_t cap, int rw)
{
	return loop_attach(src, dev, cap, rw);
}

int volm_run_worker(int rootfd)
{
	return run_worker(rootfd);
}
