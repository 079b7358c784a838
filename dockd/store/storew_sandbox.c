/* storew_sandbox.c - the storage uploader's seccomp allow-list
 * (storew_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "scmprule.h"
#include "storew_sandbox.h"

/* Syscalls allowed whatever their arguments: none of them reaches a file,
 * a process or a network the uploader does not already hold. */
static const int plain[] = {
	/* descriptors it holds: channels, sockets, uploads.db, vault fds */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(fcntl), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(getdents64), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(fadvise64),
	/* network on sockets (socket() itself is filtered below) */
	SCMP_SYS(connect), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(shutdown),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(bind),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	/* beside scmprule_base()'s memory, time and signals */
	SCMP_SYS(sysinfo),
};

static int add_rules(scmp_filter_ctx f, void *unused)
{
	int r = scmprule_allow(f, plain, sizeof(plain) / sizeof(plain[0]));

	(void)unused;
	if (r == 0)
		r = scmprule_base(f);
	/* openat for reading only (landlock picks the paths), mprotect never
	 * executable, threads only, tgkill to itself */
	if (r == 0)
		r = scmprule_common(f);
	/* sockets: the endpoint and DNS (inet), nscd and wake-ups (unix) */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* memory for malloc and thread stacks, never executable */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* code only as a file's read-only mapping: glibc loads an NSS module
	 * (nsswitch.conf's mdns, resolve, myhostname...) at the first lookup
	 * that reaches it, after the lock-down; landlock leaves only /usr and
	 * /lib* readable, and nothing both writable and executable is mapped */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0));
	return r;
}

int storew_seccomp(void)
{
	return scmprule_load(add_rules, NULL);
}
