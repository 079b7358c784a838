/* storew_sandbox.h - the storage uploader's seccomp allow-list
 * (docs/architecture.md, "The storage uploader").
 *
 * storew_seccomp() is called once by storew_main(), after the target was
 * opened (credentials read, S3 client built, uploads.db open) and after
 * landlock, before SM_READY. It installs a seccomp-bpf filter (libseccomp)
 * fitted to what the uploader does from then on, found with strace -f on
 * the S3 tests: read/write/pread/pwrite on descriptors it holds, sockets of
 * AF_INET, AF_INET6 (the endpoint, DNS) and AF_UNIX (nscd, libcurl's
 * wake-up socketpairs), poll, threads (clone with CLONE_THREAD only;
 * clone3 answers ENOSYS so glibc falls back to clone, whose flags a filter
 * can see), memory never executable (mmap/mprotect without PROT_EXEC),
 * futex, getrandom, clocks, fcntl record locks (SQLite), code mapped only
 * from a file and read-only (PROT_EXEC without PROT_WRITE, not anonymous:
 * glibc loads NSS modules at the first lookup that needs them), openat for
 * reading only (no O_WRONLY/O_RDWR/O_CREAT/O_TRUNC: uploads.db and its
 * -wal/-shm are open already; landlock still decides which paths read).
 * socket(AF_NETLINK) fails with EAFNOSUPPORT instead (glibc's getaddrinfo
 * asks the kernel's interface list with AI_ADDRCONFIG and falls back when
 * netlink is refused). Any other system call -- execve, ptrace,
 * process_vm_readv/writev, kill of another process, an open for writing,
 * another socket family (AF_PACKET...), mount, bpf -- kills the whole
 * process (SCMP_ACT_KILL_PROCESS, SIGSYS); dockd records the death
 * (link_worker_killed with process "storage-uploader") and alerts.
 * ASan builds (SANITIZE=1, __SANITIZE_ADDRESS__) additionally allow what
 * the sanitizer runtime calls (sigaltstack).
 * Returns 0 or -errno (the uploader then does not start).
 */
#ifndef DOCKD_STOREW_SANDBOX_H
#define DOCKD_STOREW_SANDBOX_H

int storew_seccomp(void);

#endif
