/* llrule.h - landlock rulesets as dockd's helper processes (the
 * custodian, the storage uploader, the witness client, the query
 * service) and its workers (the camera-link worker, the volume reader)
 * build them at lock-down: the ruleset, its path rules, the restriction.
 *
 *	static const char *const dirs[] = { LLRULE_CODE_DIRS, NULL };
 *	static const char *const files[] = { "/etc/localtime", NULL };
 *	long abi = llrule_abi();
 *	int fd, r;
 *
 *	if (abi < 1)
 *		return 0;	// no landlock in this kernel
 *	if ((r = llrule_ruleset(abi, LLRULE_NO_NET, &fd)) < 0)
 *		return r;
 *	r = llrule_allow_ro(fd, dirs, files);
 *	if (r == 0)
 *		r = llrule_allow(fd, config, LANDLOCK_ACCESS_FS_READ_FILE);
 *	return llrule_restrict(fd, r);	// closes fd
 *
 * Results: 0 or -errno; out-parameters untouched on failure.
 */
#ifndef DOCKD_LLRULE_H
#define DOCKD_LLRULE_H

#include <linux/landlock.h>
#include <stddef.h>
#include <stdint.h>

/* Read a directory tree: its files and its listings. */
#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

/* Lists of paths for llrule_allow_ro(), shared so that two processes
 * needing the same thing name the same paths. The libraries' code and
 * data (zoneinfo, an NSS module glibc loads at a lookup): */
#define LLRULE_CODE_DIRS "/usr", "/lib", "/lib64"
/* A TLS client's CA certificates (libcurl through OpenSSL): */
#define LLRULE_TLS_DIRS "/etc/ssl", "/etc/pki", "/etc/ca-certificates"
/* What a host-name lookup reads (getaddrinfo): */
#define LLRULE_RESOLVER_FILES                                                        \
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",    \
		"/etc/gai.conf", "/etc/services"

/* The kernel's landlock ABI version (>= 1), or < 1 when it has none (or
 * landlock is disabled): then no ruleset can be made. */
long llrule_abi(void);

/* The file-system rights a ruleset handles on a kernel of landlock ABI
 * abi (>= 1), so that what no rule grants is denied (ABI 1: EXECUTE ..
 * MAKE_SYM; 2: REFER; 3: TRUNCATE). ABI 5's IOCTL_DEV only on request
 * (LLRULE_IOCTL_DEV, the workers' rulesets): the helper processes'
 * rulesets have never handled it. */
uint64_t llrule_fs_handled(long abi);

/* What a ruleset handles beside those (flags of llrule_ruleset) */
#define LLRULE_NO_NET 1u    /* ABI >= 4: TCP bind and connect; no rule grants them */
#define LLRULE_SCOPED 2u    /* ABI >= 6: no signal to a process outside the domain,
			     * no abstract Unix socket */
#define LLRULE_IOCTL_DEV 4u /* ABI >= 5: ioctl on a device it opens (a worker
			     * that reaches no device) */

/* A new ruleset into *fd for a kernel of landlock ABI abi (>= 1): it
 * handles llrule_fs_handled(abi) and what flags ask for, where abi knows
 * it (on an older kernel that part is left open). */
int llrule_ruleset(long abi, unsigned flags, int *fd);

/* One rule: access under path (a directory or one file).
 *
 *	r = llrule_allow(ruleset_fd, "/usr", LL_READ | LANDLOCK_ACCESS_FS_EXECUTE);
 *
 * A path that does not exist (or cannot be reached: ENOTDIR, EACCES) is
 * skipped, 0: what is not there needs no right. For a path that is not a
 * directory only the rights that apply to a file are kept (landlock
 * refuses directory rights on a file with EINVAL); the caller passes
 * only rights its ruleset handles (e.g. TRUNCATE only with ABI >= 3). */
int llrule_allow(int ruleset, const char *path, uint64_t access);

/* One rule: access beneath the directory (or file) open as fd, which
 * stays open. Unlike llrule_allow(), access is passed on as it is (a
 * directory right on a file: -EINVAL). */
int llrule_allow_fd(int ruleset, int fd, uint64_t access);

/* Read-only rules: read, list and execute under each of dirs; read each
 * of files. Both lists end with NULL; either may be NULL. Stops at the
 * first llrule_allow() that fails. */
int llrule_allow_ro(int ruleset, const char *const dirs[], const char *const files[]);

/* Restrict the calling thread to ruleset when r is 0 (the result of
 * adding its rules); close ruleset either way. Returns r when it is not
 * 0, else 0 or -errno of landlock_restrict_self. */
int llrule_restrict(int ruleset, int r);

#endif
