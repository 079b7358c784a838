/* linkw_sandbox.h - the camera-link worker's lockdown (docs/architecture.md,
 * "Worker sandbox").
 *
 * linkw_sandbox_enter() is called once, in the freshly exec'd worker, after
 * everything that needs the file system (OpenSSL initialised) and before
 * the first camera byte is read. In order:
 *   1. every fd but 2 (log), LINKW_FD_DEV and LINKW_FD_CHAN is closed;
 *   2. rlimits: no core, fds = LINKW_FD_CHAN + 1, address
 *      space LINKW_AS_MB (not under ASan, which reserves terabytes), CPU
 *      LINKW_CPU_S seconds, no child processes (no RLIMIT_FSIZE: fd 2 may be
 *      the daemon's log file, and the worker can open no other file);
 *   3. PR_SET_NO_NEW_PRIVS; PR_SET_DUMPABLE 0 (no ptrace by same-uid
 *      siblings, no core);
 *   4. landlock: every file-system right the kernel knows is handled and
 *      none granted; on ABI >= 4 TCP bind/connect too; on ABI >= 6 abstract
 *      Unix sockets and signals are scoped. On a kernel without landlock
 *      this step is skipped (linkw_landlock_abi = 0): the seccomp list
 *      below still allows no open(), socket() or connect().
 *   5. seccomp (libseccomp): an allow-list; any other syscall kills the
 *      whole process (SCMP_ACT_KILL_PROCESS, SIGSYS).
 * Returns 0 or -errno (the worker then exits: it never runs unconfined).
 */
#ifndef DOCKD_LINKW_SANDBOX_H
#define DOCKD_LINKW_SANDBOX_H

#define LINKW_FD_DEV 3   /* the camera's stream (socket, or the USB relay) */
#define LINKW_FD_CHAN 4  /* the socketpair to the daemon */
/* the daemon passes both above this; the worker moves them to 3 and 4 */
#define LINKW_FD_MIN_PASSED 16
#define LINKW_AS_MB 256
#define LINKW_CPU_S 3600

/* landlock ABI the kernel offered (0: none), filled by linkw_sandbox_enter */
extern int linkw_landlock_abi;

int linkw_sandbox_enter(void);

#endif
