/* qsandbox.c - the query-service process's landlock ruleset and seccomp
 * allow-list (qsandbox.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "llrule.h"
#include "qsandbox.h"
#include "scmprule.h"

/* ---- landlock ------------------------------------------------------------ */

int qsandbox_landlock(const char *config, const char *ledger, int *abi_out)
{
	/* code and data of the libraries, zoneinfo, an NSS module glibc
	 * loads at a lookup that reaches one */
	static const char *const ro_dirs[] = { LLRULE_CODE_DIRS, NULL };
	/* peer names (getpwuid_r: nsswitch.conf, then the files; a module
	 * through ld.so.cache), the time zone (qtime.c's local times), the
	 * random seed SQLite reads; /etc/group is read only before, for the
	 * socket's group */
	static const char *const ro_files[] = {
		"/etc/passwd", "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/localtime",
		"/dev/urandom", NULL,
	};
	static const char *const db_suffix[] = { "", "-wal", "-shm" };
	long abi = llrule_abi();
	char f[PATH_MAX + 8];
	int fd, r;

	if (abi < 1) {
		*abi_out = 0;
		return 0;	/* not in this kernel: the seccomp filter still applies */
	}
	/* no network: TCP bind and connect handled (ABI 4), no rule grants them */
	if ((r = llrule_ruleset(abi, LLRULE_NO_NET, &fd)) < 0)
		return r;
	r = llrule_allow_ro(fd, ro_dirs, ro_files);
	/* the configuration file itself, not its directory: keys may live
	 * beside it (a replaced file is out of reach: on SIGHUP dockd starts
	 * a new query process, qproc_reload) */
	if (r == 0)
		r = llrule_allow(fd, config, LANDLOCK_ACCESS_FS_READ_FILE);
	/* the ledger and its WAL files are open already; read only, should
	 * SQLite open them again (never the state directory: the keys) */
	for (size_t i = 0; r == 0 && ledger && i < sizeof(db_suffix) / sizeof(db_suffix[0]); i++) {
		if (snprintf(f, sizeof(f), "%s%s", ledger, db_suffix[i]) >= (int)sizeof(f))
			r = -ENAMETOOLONG;
		else
			r = llrule_allow(fd, f, LANDLOCK_ACCESS_FS_READ_FILE);
	}
	if ((r = llrule_restrict(fd, r)) == 0)
		*abi_out = (int)abi;
	return r;
}

/* ---- seccomp ------------------------------------------------------------- */

/* Whatever their arguments: none reaches a file, a process or a network
 * the query process does not already hold. */
static const int plain[] = {
	/* descriptors it holds: listener, connections, channels, ledger */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(fcntl), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	/* (readlinkat: libnss_systemd, for a uid with no /etc/passwd line) */
	SCMP_SYS(getdents64),
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(shutdown), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	/* beside scmprule_base()'s memory, signals and time */
	SCMP_SYS(getppid), SCMP_SYS(sysinfo),
};

static int add_rules(scmp_filter_ctx f, void *arg)
{
	int shm_fd = *(const int *)arg;
	int r = scmprule_allow(f, plain, sizeof(plain) / sizeof(plain[0]));

	if (r == 0)
		r = scmprule_base(f);
	/* openat for reading only, threads only, tgkill to itself */
	if (r == 0)
		r = scmprule_common(f);
	/* private memory, never executable; code only as a file's read-only
	 * private mapping (an NSS module glibc loads at its first lookup
	 * that reaches one); mprotect never to executable */
	if (r == 0)
		r = scmprule_memory(f, SCMPRULE_MAP_CODE | SCMPRULE_MAP_PRIVATE);
	/* writes: its log (stdout, stderr) only; sockets take send() */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				     SCMP_A0(SCMP_CMP_LE, 2));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
				     SCMP_A0(SCMP_CMP_LE, 2));
	/* glibc asks nscd first: no socket, so it reads /etc/passwd */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* ntp_gettime(): the clock's quality is dockd's to stamp */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clock_adjtime), 0);
	/* shared: only SQLite's -shm index (a reader maps more of it as the
	 * WAL grows); never the -wal, which SQLite holds read-write (a shared
	 * read-only mapping could be mprotect()ed writable) */
	if (r == 0 && shm_fd >= 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
				     SCMP_A4(SCMP_CMP_EQ, (scmp_datum_t)shm_fd));
	return r;
}

int qsandbox_seccomp(int shm_fd)
{
	return scmprule_load(add_rules, &shm_fd);
}

int qsandbox_find_fd(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[PATH_MAX], name[300];
	int found = -1;

	while (d && found < 0 && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(name, sizeof(name), "/proc/self/fd/%s", de->d_name);
		n = readlink(name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, path))
			found = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}
