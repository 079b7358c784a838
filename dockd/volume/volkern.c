/* volkern.c - mass-storage volumes through the kernel's vfat/exfat driver,
 * an administrator's choice ([dock] volume_driver = kernel; volkern.h).
 * The default parses the volume in userspace (volmount.c); this path
 * hands the volume's bytes to the kernel's parser, so it keeps what the
 * kernel can enforce around it: a read-only mount (and loop device), no
 * set-uid, device or executable files, no symlinks followed, no atime
 * writes, and a mount namespace of the supervisor's own. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "volkern.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256 /* Linux 5.10 */
#endif

#define ENV_NAME "DOCKD_VOLUME_DRIVER"
#define UMOUNT_TRIES 50 /* x 20 ms: a worker's last close may lag its exit */

static int kernel_driver;
#ifdef LINK_ATTACK_TESTS
static char env_buf[64];
#endif

/* CAP_SYS_ADMIN in our effective set, and our user namespace the initial
 * one (uid_map the identity over all ids): only that capability lets
 * mount(2) run a block file system's parser (vfat and exfat are not
 * mountable from a user namespace). */
static int may_mount_kernel(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned long a = 1, b = 1, n = 0;
	FILE *f;
	int ok;

	if (syscall(SYS_capget, &h, d) < 0 || !(d[0].effective & (1u << CAP_SYS_ADMIN)))
		return 0;
	if (!(f = fopen("/proc/self/uid_map", "re")))
		return 0;
	ok = fscanf(f, "%lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL &&
	     fgetc(f) == '\n' && fgetc(f) == EOF;
	fclose(f);
	return ok;
}

int volk_configure(int kernel, char *err, size_t errlen)
{
	if (kernel && !may_mount_kernel()) {
		snprintf(err, errlen, "[dock] volume_driver = kernel: mounting a camera's volume "
			 "with the kernel's vfat/exfat driver needs CAP_SYS_ADMIN in the initial "
			 "user namespace (dockd run as root), which this dockd (uid %u) does not "
			 "have; not starting (there is no silent fallback to the userspace driver): "
			 "set volume_driver = fuse (the default) or run dockd as root "
			 "(docs/threat-model.md, \"Camera\")", (unsigned)geteuid());
		return -EPERM;
	}
	kernel_driver = kernel;
	return 0;
}

const char *volk_env(void)
{
	if (!kernel_driver)
		return NULL;
#ifdef LINK_ATTACK_TESTS
	/* test build: another kernel file system stands in for vfat/exfat on
	 * machines whose kernel has neither (tests/integration/msc_kernel.sh);
	 * the mount, its flags and the namespace are the same */
	const char *t = getenv("VOLK_TEST_FSTYPE");

	if (t && *t && strlen(t) < 16 && strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(t)) {
		snprintf(env_buf, sizeof(env_buf), ENV_NAME "=kernel:%s", t);
		return env_buf;
	}
#endif
	return ENV_NAME "=kernel";
}

int volk_requested(void)
{
	const char *v = getenv(ENV_NAME);

	return v && (!strcmp(v, "kernel") || !strncmp(v, "kernel:", 7));
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The file system type to mount, and its options: times shown as the
 * volume holds them (vfat tz=UTC, not the kernel's sys_tz; exfat does so
 * by default unless given sys_tz or time_offset, and applies an entry's
 * own UTC offset where it has one, as exfat-fuse does), UTF-8 names,
 * files owned by us with no execute bit. */
static const char *fs_type(const char *fs, char *opt, size_t cap)
{
	unsigned u = (unsigned)geteuid(), g = (unsigned)getegid();

#ifdef LINK_ATTACK_TESTS
	const char *v = getenv(ENV_NAME);

	if (v && !strncmp(v, "kernel:", 7)) {
		opt[0] = '\0';
		return v + 7;
	}
#endif
	if (!strcmp(fs, "vfat"))
		snprintf(opt, cap, "uid=%u,gid=%u,fmask=0133,dmask=0022,tz=UTC,utf8", u, g);
	else
		snprintf(opt, cap, "uid=%u,gid=%u,fmask=0133,dmask=0022,iocharset=utf8", u, g);
	return fs;
}

/* Unmount; a read-write mount is written out here. 0 or -errno. */
static int unmount(const char *mnt)
{
	for (int i = 0; i < UMOUNT_TRIES; i++) {
		if (umount2(mnt, 0) == 0)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(20);
	}
	int r = -errno;

	(void)umount2(mnt, MNT_DETACH); /* still gone from our namespace */
	return r;
}

int volk_main(const char *fs, const char *src, int rw)
{
	char mnt[] = "/tmp/dockd-vol.XXXXXX", dev[64], opt[160];
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NOSYMFOLLOW;
	const char *type = fs_type(fs, opt, sizeof(opt));
	struct stat sb;
	int rootfd, rc, r;

	if (!may_mount_kernel()) {
		fprintf(stderr, "dockd volume: the kernel driver needs CAP_SYS_ADMIN in the initial "
			"user namespace (dockd as root)\n");
		return 71;
	}
	/* the mount exists only in this namespace: not in the host's mount
	 * table, gone with this process even if the unmount below never runs */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "dockd volume: private mount namespace: %s\n", strerror(errno));
		return 71;
	}
	if (stat(src, &sb) < 0) {
		fprintf(stderr, "dockd volume: %s: %s\n", src, strerror(errno));
		return 66;
	}
	if (S_ISREG(sb.st_mode)) {
		/* an image: a loop device, read-only unless rw */
		if ((r = volm_loop_attach(src, dev, sizeof(dev), rw)) < 0) {
			fprintf(stderr, "dockd volume: loop device for %s: %s\n", src, strerror(-r));
			return 71;
		}
		src = dev;
	} else if (!S_ISBLK(sb.st_mode)) {
		fprintf(stderr, "dockd volume: %s: not a block device or image file\n", src);
		return 66;
	}
	if (!rw)
		flags |= MS_RDONLY;
	if (!mkdtemp(mnt)) {
		fprintf(stderr, "dockd volume: mount point: %s\n", strerror(errno));
		return 71;
	}
	if (mount(src, mnt, type, flags, opt[0] ? opt : NULL) < 0) {
		r = errno;
		if (r == ENODEV)
			fprintf(stderr, "dockd volume: the kernel has no %s driver (modprobe %s, or "
				"[dock] volume_driver = fuse)\n", type, type);
		else
			fprintf(stderr, "dockd volume: the kernel's %s driver could not mount %s "
				"(not a valid %s volume, or damaged): %s\n", type, src, type,
				strerror(r));
		(void)rmdir(mnt);
		return r == ENODEV || r == EPERM ? 71 : 3;
	}
	rootfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = rootfd < 0 ? 3 : volm_run_worker(rootfd);
	if ((r = unmount(mnt)) < 0) {
		fprintf(stderr, "dockd volume: unmounting %s: %s\n", src, strerror(-r));
		if (rc == 0 && rw)
			rc = 74; /* what the release step wrote may not be out */
	}
	(void)rmdir(mnt);
	return rc;
}
