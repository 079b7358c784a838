/* linkw_sandbox.c - lock the camera-link worker down (see linkw_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "linkw_sandbox.h"
#include "llrule.h"

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

static int allow(scmp_filter_ctx f, int nr)
{
	return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
}

static int seccomp_install(void)
{
	static const int plain[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
		SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(futex), SCMP_SYS(close),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
		SCMP_SYS(getrandom),
	};
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof(plain) / sizeof(plain[0]); i++)
		r = allow(f, plain[i]);
	/* memory for malloc, never executable (no new code after lockdown) */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#if defined(__SANITIZE_ADDRESS__)
	/* ASan builds (make check's second pass) only: the runtime takes its
	 * alternate signal stack down when the worker exits */
	if (r == 0)
		r = allow(f, SCMP_SYS(sigaltstack));
#endif
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
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
		r = seccomp_install();
	return r;
}
