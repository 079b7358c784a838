/* linkw_sandbox.c - lock the camera-link worker down (see linkw_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "linkw_sandbox.h"
#include "llrule.h"
#include "scmprule.h"

int linkw_landlock_abi;

static int close_others(void)
{
	for (int fd = 0; fd < 2; fd++)
		(void)close(fd);
	/* everything above the channel: close_range(2) exists since 5.9 */
	if (syscall(SYS_close_range, LINKW_FD_CHAN + 1, ~0U, 0) < 0)
		return -errno;
	return 0;
}

static int limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	return setrlimit(res, &rl) < 0 ? -errno : 0;
}

static int set_limits(void)
{
	int r = limit(RLIMIT_CORE, 0);

	if (r == 0)
		r = limit(RLIMIT_NOFILE, LINKW_FD_CHAN + 1);
	if (r == 0)
		r = limit(RLIMIT_NPROC, 0);
	if (r == 0)
		r = limit(RLIMIT_CPU, LINKW_CPU_S);
#if !defined(__SANITIZE_ADDRESS__) && !defined(LINKW_NO_AS_LIMIT)
	if (r == 0)
		r = limit(RLIMIT_AS, (rlim_t)LINKW_AS_MB << 20);
#endif
	return r;
}

static int landlock(void)
{
	long abi = llrule_abi();
	int fd, r;

	if (abi < 1) {
		linkw_landlock_abi = 0;
		return 0; /* not in this kernel (or disabled): seccomp still applies */
	}
	linkw_landlock_abi = (int)abi;
	/* every right the kernel knows handled: file system, device ioctl,
	 * TCP, signals and abstract sockets outside the domain */
	r = llrule_ruleset(abi, LLRULE_NO_NET | LLRULE_SCOPED | LLRULE_IOCTL_DEV, &fd);
	if (r < 0)
		return r;
	/* no rule added: nothing on any file system is reachable */
	return llrule_restrict(fd, 0);
}

/* read and write its fd 3 and 4 and stderr, its own memory and time;
 * mmap and mprotect never executable (no new code after the lock-down) */
static int add_rules(scmp_filter_ctx f, void *unused)
{
	int r = scmprule_worker(f);

	(void)unused;
	if (r == 0)
		r = scmprule_memory(f, 0);
	return r;
}

int linkw_sandbox_enter(void)
{
	int r = close_others();

	if (r == 0)
		r = set_limits();
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0)
		r = landlock();
	if (r == 0)
		r = scmprule_load(add_rules, NULL);
	return r;
}
