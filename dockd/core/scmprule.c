/* scmprule.c - seccomp rules the helper processes share (scmprule.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scmprule.h"

static const int base[] = {
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(madvise),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* the kernel restarts a poll or sleep a signal (or a debugger's stop)
	 * interrupted through it */
	SCMP_SYS(restart_syscall),
};

/* scmprule_helper()'s calls on descriptors held: see scmprule.h */
static const int fdio[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fcntl),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(getdents64), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
};

/* scmprule_worker(): see scmprule.h */
static const int worker[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(futex), SCMP_SYS(close),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
	SCMP_SYS(getrandom),
};

int scmprule_allow(scmp_filter_ctx f, const int *nr, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr[i], 0);
	return r;
}

int scmprule_base(scmp_filter_ctx f)
{
	return scmprule_allow(f, base, sizeof(base) / sizeof(base[0]));
}

int scmprule_worker(scmp_filter_ctx f)
{
	return scmprule_allow(f, worker, sizeof(worker) / sizeof(worker[0]));
}

int scmprule_common(scmp_filter_ctx f)
{
	int r;

	r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	return r;
}

int scmprule_memory(scmp_filter_ctx f, unsigned flags)
{
	/* MAP_SHARED's bit is set in MAP_SHARED_VALIDATE too */
	scmp_datum_t shared = flags & SCMPRULE_MAP_PRIVATE ? MAP_SHARED : 0;
	int r;

	if (shared)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0));
	else
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0 && (flags & SCMPRULE_MAP_CODE))
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS | shared, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#if defined(__SANITIZE_ADDRESS__)
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
#endif
	return r;
}

int scmprule_helper(scmp_filter_ctx f)
{
	int r = scmprule_base(f);

	if (r == 0)
		r = scmprule_allow(f, fdio, sizeof(fdio) / sizeof(fdio[0]));
	if (r == 0)
		r = scmprule_common(f);
	if (r == 0)
		r = scmprule_memory(f, SCMPRULE_MAP_CODE);
	return r;
}

int scmprule_load(int (*add)(scmp_filter_ctx f, void *arg), void *arg)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f ? add(f, arg) : -ENOMEM;

	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}
