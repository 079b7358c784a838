/* scmprule.h - the seccomp rules dockd's helper processes (the custodian,
 * the storage uploader, the query service) share, so that each allow-list
 * file says only what is particular to its process.
 *
 *	static int add_rules(scmp_filter_ctx f, void *arg)
 *	{
 *		int r = scmprule_allow(f, plain, sizeof(plain) / sizeof(plain[0]));
 *
 *		if (r == 0)
 *			r = scmprule_base(f);
 *		if (r == 0)
 *			r = scmprule_common(f);
 *		...		(mmap and socket rules of this process)
 *		return r;
 *	}
 *	r = scmprule_load(add_rules, NULL);
 *
 * The filter kills the whole process (SIGSYS) on any system call no rule
 * allows. mmap is left to each process: what it may map differs (the query
 * service maps SQLite's -shm shared, the others nothing shared). Results:
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
 * paths); mprotect never to executable; threads only, never a new process
 * (clone with CLONE_THREAD; clone3, whose flags sit behind a pointer the
 * filter cannot read, answers ENOSYS and glibc falls back to clone);
 * tgkill to this process only (abort); sigaltstack in ASan builds only
 * (the runtime's per-thread signal stack). */
int scmprule_common(scmp_filter_ctx f);

/* Build a filter that kills the process by default, add add(f, arg)'s
 * rules and load it into the calling thread (and the threads it starts
 * later). No rule is loaded when add fails. */
int scmprule_load(int (*add)(scmp_filter_ctx f, void *arg), void *arg);

#endif
