/* custp_sandbox.c - the custodian's seccomp allow-list and its landlock
 * rules for PKCS#11 modules (custp_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <seccomp.h>

#include "custp_sandbox.h"
#include "llrule.h"
#include "p11key_int.h"

static int allow(scmp_filter_ctx f, int nr)
{
	return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
}

/* Syscalls allowed whatever their arguments: none of them reaches a file,
 * a process or a network the custodian does not already hold. */
static const int plain[] = {
	/* descriptors it holds: the channel, the ledger, the state file */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fcntl),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(getdents64), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	/* the channel (an inherited socketpair end) */
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* memory, time, signals of its own */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(madvise),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid),
	SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(uname),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
};

static int add_rules(scmp_filter_ctx f)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(plain) / sizeof(plain[0]); i++)
		r = allow(f, plain[i]);
	/* opens for reading only (landlock picks the paths); everything it
	 * writes is open already */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	/* memory, never both anonymous and executable */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* code only as a file's read-only mapping: a PKCS#11 module may load
	 * a part of itself at first use; landlock leaves executable only /usr
	 * and /lib*, and nothing writable is ever mapped executable */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* threads only (a vendor's module may start one), never a process */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* abort() signals itself: to this process only */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
#if defined(__SANITIZE_ADDRESS__)
	/* ASan builds only: the runtime's alternate signal stack */
	if (r == 0)
		r = allow(f, SCMP_SYS(sigaltstack));
#endif
	return r;
}

int custp_seccomp(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f ? add_rules(f) : -ENOMEM;

	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}

/* ---- landlock for a PKCS#11 module ---------------------------------------- */

/* softhsm2's token directory from its configuration file conf into dir
 * (its default when the file names none). 0, or -errno when the file
 * cannot be read (softhsm2 itself then failed at C_Initialize). */
static int softhsm_tokendir(const char *conf, char *dir, size_t dirlen)
{
	char line[600];
	FILE *fp = fopen(conf, "re");

	if (!fp)
		return -errno;
	snprintf(dir, dirlen, "%s", "/var/lib/softhsm/tokens");
	while (fgets(line, sizeof(line), fp)) {
		char *k = line + strspn(line, " \t"), *v, *e;

		if (strncmp(k, "directories.tokendir", 20))
			continue;
		v = k + 20 + strspn(k + 20, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (*v)
			snprintf(dir, dirlen, "%s", v);
	}
	fclose(fp);
	return 0;
}

static int module_rules(int fd, const char *module, int *wide)
{
	const char *base = strrchr(module, '/');
	const char *conf = getenv("SOFTHSM2_CONF");
	char dir[P11_PATH_MAX];
	int r;

	base = base ? base + 1 : module;
	if (strcmp(base, "libsofthsm2.so")) {
		*wide = 1;
		return llrule_allow(fd, "/", LL_READ);
	}
	if (!conf || !conf[0])
		conf = "/etc/softhsm/softhsm2.conf";
	if ((r = softhsm_tokendir(conf, dir, sizeof(dir))) < 0)
		return r;
	if ((r = llrule_allow(fd, conf, LANDLOCK_ACCESS_FS_READ_FILE)) < 0)
		return r;
	return llrule_allow(fd, dir, LL_READ);
}

int custp_p11_rules(int ruleset, const char *const keys[], size_t n, int *wide)
{
	char err[300];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct p11uri u;

		if (!keys[i] || !p11key_is_uri(keys[i]))
			continue;
		if ((r = p11uri_parse(keys[i], &u, err, sizeof(err))) == 0)
			r = module_rules(ruleset, u.module, wide);
	}
	return r;
}
