/* qsandbox.h - the query-service process's seccomp-bpf allow-list
 * (docs/threat-model.md, "The query service"; docs/architecture.md).
 *
 * Loaded by qworker once the ledger is open (SQLite has opened the
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

/* Load the filter. shm_fd: SQLite's -shm descriptor (-1: none). 0 or
 * -errno. */
int qsandbox_seccomp(int shm_fd);

/* The descriptor whose /proc/self/fd link is path (e.g. the ledger's
 * "-shm"), or -1. */
int qsandbox_find_fd(const char *path);

#endif
