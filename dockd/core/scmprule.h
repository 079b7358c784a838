/* scmprule.h - the seccomp rules dockd's helper processes (the custodian,
 * the storage uploader, the query service) and its workers (the
 * camera-link worker, the volume reader) share, so that each allow-list
 * file says only what is particular to its process.
 *
 *	static int add_rules(scmp_filter_ctx f, void *arg)
 *	{
 *		int r = scmprule_allow(f, plain, sizeof(plain) / sizeof(plain[0]));
 *
 *		if (r == 0)
 *			r = scmprule_helper(f);	// or base, common, memory
 *		...		(socket rules of this process)
 *		return r;
 *	}
 *	r = scmprule_load(add_rules, NULL);
 *
 * A worker that parses untrusted bytes takes scmprule_worker() and
 * scmprule_memory(f, 0) instead of the helpers' rules. The filter kills
 * the whole process (SIGSYS) on any system call no rule allows. Results:
 * 0 or -errno (libseccomp's results are negative errno values).
 */
#ifndef DOCKD_SCMPRULE_H
#define DOCKD_SCMPRULE_H

#include <stddef.h>

#include <seccomp.h>

/* Allow each of nr[0..n) whatever its arguments. */
int scmprule_allow(scmp_filter_ctx f, const int *nr, size_t n);

/* A process's own memory, time, signals and exit, whatever their
 * arguments: futex, brk, munmap, madvise, clock_gettime, getpid,
 * rt_sigaction, exit_group and the like (none reaches another process,
 * a file or a network). */
int scmprule_base(scmp_filter_ctx f);

/* The rules every helper's filter has with arguments checked: openat for
 * reading only (no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC: landlock picks the
 * paths); threads only, never a new process (clone with CLONE_THREAD;
 * clone3, whose flags sit behind a pointer the filter cannot read, answers
 * ENOSYS and glibc falls back to clone); tgkill to this process only
 * (abort). Memory: scmprule_memory(). */
int scmprule_common(scmp_filter_ctx f);

/* The least a worker that parses untrusted bytes (the camera-link worker,
 * the volume reader) needs, whatever the arguments: read, write, readv,
 * writev, recvfrom, sendto, recvmsg, sendmsg, poll, ppoll and close on
 * the descriptors it holds; futex; exit, exit_group, rt_sigreturn;
 * clock_gettime, gettimeofday, clock_nanosleep; munmap, mremap, brk,
 * madvise; getrandom. Narrower than scmprule_base(): no signal
 * handlers or masks, no process or user ids, no nanosleep. */
int scmprule_worker(scmp_filter_ctx f);

/* Flags of scmprule_memory() */
#define SCMPRULE_MAP_CODE 1u    /* also a file's read-only executable mapping (a
				 * library glibc or a PKCS#11 module loads after
				 * the lock-down; landlock picks the files) */
#define SCMPRULE_MAP_PRIVATE 2u /* never MAP_SHARED (nor MAP_SHARED_VALIDATE) */

/* Every filter's memory rules: mmap never executable (with
 * SCMPRULE_MAP_CODE: executable only as a file's mapping that is not
 * writable, never anonymous), mprotect never to executable (nothing
 * mapped writable becomes code), and in ASan builds sigaltstack (the
 * runtime's per-thread signal stack). A process that maps one descriptor
 * shared adds that rule itself. */
int scmprule_memory(scmp_filter_ctx f, unsigned flags);

/* What the custodian's and the storage uploader's filters share:
 * scmprule_base(); the calls on descriptors they hold (the channel,
 * SQLite's database files, a state file), whatever the arguments: read,
 * write, readv, writev, pread64, pwrite64, lseek, close, fstat,
 * newfstatat, statx, fcntl, fsync, fdatasync, getdents64, sendto,
 * recvfrom, sendmsg, recvmsg, poll, ppoll, and access, faccessat,
 * faccessat2 (a path landlock lets it reach); scmprule_common(); and
 * scmprule_memory(f, SCMPRULE_MAP_CODE): each may load code after the
 * lock-down (a part of a PKCS#11 module, an NSS module at a lookup). The
 * query service writes no file and maps nothing shared but SQLite's
 * -shm: it takes base, common and memory on their own. */
int scmprule_helper(scmp_filter_ctx f);

/* Build a filter that kills the process by default, add add(f, arg)'s
 * rules and load it into the calling thread (and the threads it starts
 * later). No rule is loaded when add fails. */
int scmprule_load(int (*add)(scmp_filter_ctx f, void *arg), void *arg);

#endif
