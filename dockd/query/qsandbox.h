/* qsandbox.h - the query-service process's landlock ruleset and
 * seccomp-bpf allow-list (docs/threat-model.md, "The query service";
 * docs/architecture.md "The query-service process").
 *
 * The landlock ruleset (qsandbox_landlock), restricted just before the
 * filter (whose list has no landlock call), leaves the process reading
 * only /usr, /lib and /lib64 (also executable there), /etc/passwd,
 * /etc/nsswitch.conf, /etc/ld.so.cache, /etc/localtime, /dev/urandom,
 * the configuration file itself (SIGHUP) and the ledger with its -wal and
 * -shm; no write, no new file anywhere, and with landlock ABI >= 4 no TCP
 * bind or connect. So the dock and checkpoint key files, the vault and
 * the state directory are out of reach (EACCES) though the uid is
 * dockd's. The launcher (qlaunch.h) is forked before and is not bound.
 *
 * The seccomp filter is loaded by qworker once the ledger is open (SQLite has opened the
 * database read-only and its -wal and -shm), the export-package launcher
 * forked (qlaunch.h) and the service listening; anything not listed kills
 * the process (SIGSYS; dockd records link_worker_killed with process
 * query-service, alerts, and starts a new one). Allowed: reading and
 * polling descriptors it holds, accept4 on its listening socket,
 * send/recv on its connections and channels, file opens for reading only
 * (the configuration on SIGHUP, /etc/passwd for peer names, /dev/urandom),
 * memory that is never both anonymous and executable, SQLite's POSIX
 * locks, its own timers. Not allowed: execve/execveat, fork/vfork and
 * clone without CLONE_THREAD, ptrace, process_vm_*, kill but of itself,
 * socket() (AF_UNIX answers EACCES: glibc's nscd probe then reads the
 * files; every other family kills), connect, bind, an open for writing or
 * creating, write() on any descriptor but 1 and 2 (the -wal is open
 * read-write by SQLite: pwrite, ftruncate and a shared mapping of it are
 * refused too), shared writable mappings of anything but the -shm index
 * (shm_fd), clock_adjtime (EPERM: the clock is dockd's; it re-stamps the
 * events anyway).
 */
#ifndef DOCKD_QSANDBOX_H
#define DOCKD_QSANDBOX_H

/* Restrict this process (and children it could start: none) to the
 * ruleset above. config: the configuration file; ledger: the ledger's real
 * path (NULL: none). *abi_out: the kernel's landlock ABI, 0 when it has
 * none (then nothing is restricted and 0 returned: the filter still
 * applies). 0 or -errno. */
int qsandbox_landlock(const char *config, const char *ledger, int *abi_out);

/* Load the filter. shm_fd: SQLite's -shm descriptor (-1: none). 0 or
 * -errno. */
int qsandbox_seccomp(int shm_fd);

/* The descriptor whose /proc/self/fd link is path (e.g. the ledger's
 * "-shm"), or -1. */
int qsandbox_find_fd(const char *path);

#endif
