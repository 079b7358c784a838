/* llrule.c - landlock rulesets for dockd's helper processes (llrule.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "llrule.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* The rights landlock accepts on a path beneath rule for a file. */
#define LLRULE_FILE_RIGHTS                                                             \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                \
	 LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_TRUNCATE)

long llrule_abi(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

uint64_t llrule_fs_handled(long abi)
{
	uint64_t fs = (1ULL << 13) - 1;

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return fs;
}

int llrule_ruleset(long abi, unsigned flags, int *fd)
{
	/* landlock_ruleset_attr as of ABI 6: newer than Debian 12's headers */
	struct { uint64_t fs, net, scoped; } a = { 0 };
	size_t asz = sizeof(a.fs);
	int r;

	a.fs = llrule_fs_handled(abi);
	if ((flags & LLRULE_IOCTL_DEV) && abi >= 5)
		a.fs |= 1ULL << 15; /* IOCTL_DEV */
	if ((flags & LLRULE_NO_NET) && abi >= 4) {
		a.net = (1ULL << 0) | (1ULL << 1); /* BIND_TCP, CONNECT_TCP */
		asz = 2 * sizeof(uint64_t);
	}
	if ((flags & LLRULE_SCOPED) && abi >= 6) {
		a.scoped = (1ULL << 0) | (1ULL << 1); /* ABSTRACT_UNIX_SOCKET, SIGNAL */
		asz = sizeof(a);
	}
	r = (int)syscall(SYS_landlock_create_ruleset, &a, asz, 0);
	if (r < 0)
		return -errno;
	*fd = r;
	return 0;
}

int llrule_allow_fd(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { 0 };

	pb.allowed_access = access;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	return 0;
}

int llrule_allow(int ruleset, const char *path, uint64_t access)
{
	struct stat st;
	int r, fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= LLRULE_FILE_RIGHTS;
	r = llrule_allow_fd(ruleset, fd, access);
	close(fd);
	return r;
}

int llrule_allow_ro(int ruleset, const char *const dirs[], const char *const files[])
{
	int r = 0;

	for (size_t i = 0; r == 0 && dirs && dirs[i]; i++)
		r = llrule_allow(ruleset, dirs[i], LL_READ | LANDLOCK_ACCESS_FS_EXECUTE);
	for (size_t i = 0; r == 0 && files && files[i]; i++)
		r = llrule_allow(ruleset, files[i], LANDLOCK_ACCESS_FS_READ_FILE);
	return r;
}

int llrule_restrict(int ruleset, int r)
{
	if (r == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		r = -errno;
	close(ruleset);
	return r;
}
