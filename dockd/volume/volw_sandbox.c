/* volw_sandbox.c - lock the volume reader worker down (see volw.h and
 * docs/architecture.md, "The volume reader worker"). Same shape as the
 * camera-link worker's (linkw_sandbox.c); differences: landlock grants
 * READ_FILE and READ_DIR beneath the volume's root (fd 3) and nothing
 * else, and seccomp also allows the calls that walk and read it (openat,
 * getdents64, fstat, newfstatat, pread64, lseek, fadvise64, fcntl). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "llrule.h"
#include "scmprule.h"
#include "volw.h"

static int limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	return setrlimit(res, &rl) < 0 ? -errno : 0;
}

static int set_limits(void)
{
	int r = limit(RLIMIT_CORE, 0);

	if (r == 0)
		r = limit(RLIMIT_NOFILE, VOLW_NOFILE);
	if (r == 0)
		r = limit(RLIMIT_NPROC, 0);
	if (r == 0)
		r = limit(RLIMIT_CPU, VOLW_CPU_S);
	/* no RLIMIT_FSIZE: fd 2 may be the daemon's log file; landlock grants no write */
#if !defined(__SANITIZE_ADDRESS__)
	if (r == 0)
		r = limit(RLIMIT_AS, (rlim_t)VOLW_AS_MB << 20);
#endif
	return r;
}

static int landlock(int rw)
{
	uint64_t access = LL_READ;
	long abi = llrule_abi();
	int fd, r;

	if (abi < 1)
		return 0; /* seccomp below still applies; openat stays confined by O_NOFOLLOW walk */
	r = llrule_ruleset(abi, LLRULE_NO_NET | LLRULE_SCOPED | LLRULE_IOCTL_DEV, &fd);
	if (r < 0)
		return r;
	if (rw) /* release by deletion: remove, never create or write */
		access |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
	return llrule_restrict(fd, llrule_allow_fd(fd, VOLW_FD_ROOT, access));
}

/* the camera-link worker's list, and walking and reading the volume
 * (landlock: read-only beneath fd 3) */
static int add_rules(scmp_filter_ctx f, void *arg)
{
	static const int walk[] = {
		SCMP_SYS(openat), SCMP_SYS(getdents64), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(fadvise64), SCMP_SYS(fcntl),
	};
	int r = scmprule_worker(f);

	if (r == 0)
		r = scmprule_allow(f, walk, sizeof(walk) / sizeof(walk[0]));
	if (r == 0 && *(const int *)arg) /* rw; flags 0: never AT_REMOVEDIR */
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 1,
				     SCMP_A2(SCMP_CMP_EQ, 0));
	if (r == 0)
		r = scmprule_memory(f, 0);
	return r;
}

int volw_sandbox_enter(void)
{
	return volw_sandbox_enter_rw(0);
}

int volw_sandbox_enter_rw(int rw)
{
	int r = 0;

	(void)close(0);
	(void)close(1);
	if (syscall(SYS_close_range, VOLW_FD_CHAN + 1, ~0U, 0) < 0)
		r = -errno;
	if (r == 0)
		r = set_limits();
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0)
		r = landlock(rw);
	if (r == 0)
		r = scmprule_load(add_rules, &rw);
	return r;
}
