/* storew_sandbox.c - the storage uploader's seccomp allow-list
 * (storew_sandbox.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "scmprule.h"
#include "storew_sandbox.h"

/* Syscalls allowed whatever their arguments, beside scmprule_helper()'s:
 * none of them reaches a file, a process or a network the uploader does
 * not already hold. */
static const int plain[] = {
	/* descriptors it holds: channels, sockets, uploads.db, vault fds */
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(ftruncate), SCMP_SYS(readlink),
	SCMP_SYS(fadvise64),
	/* network on sockets (socket() itself is filtered below) */
	SCMP_SYS(connect), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(shutdown),
	SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(bind),
	SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	/* beside scmprule_base()'s memory, time and signals */
	SCMP_SYS(sysinfo),
};

static int add_rules(scmp_filter_ctx f, void *unused)
{
	int r = scmprule_allow(f, plain, sizeof(plain) / sizeof(plain[0]));

	(void)unused;
	/* the channels, uploads.db, vault fds; openat for reading only
	 * (landlock picks the paths); threads only; tgkill to itself; code
	 * only as a file's read-only mapping: glibc loads an NSS module
	 * (nsswitch.conf's mdns, resolve, myhostname...) at the first lookup
	 * that reaches it, after the lock-down, and landlock leaves only /usr
	 * and /lib* readable */
	if (r == 0)
		r = scmprule_helper(f);
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
	return r;
}

int storew_seccomp(void)
{
	return scmprule_load(add_rules, NULL);
}
