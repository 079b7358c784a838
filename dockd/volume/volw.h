/* volw.h - the volume reader worker: `dockd --volume-worker`, exec'd by
 * the daemon's volume supervisor (volc.h) with
 *	fd 2  the daemon's log
 *	fd 3  the volume's root directory (opened read-only; on a FUSE mount
 *	      in the supervisor's private mount namespace, or a directory)
 *	fd 4  the channel (volmsg.h)
 * and nothing else. It locks itself down (volw_sandbox_enter: rlimits,
 * no_new_privs, landlock allowing only reading beneath fd 3, a seccomp
 * allow-list), then answers VM_LIST and VM_READ until VM_BYE.
 * docs/architecture.md, "The volume reader worker".
 */
#ifndef DOCKD_VOLW_H
#define DOCKD_VOLW_H

#define VOLW_FD_ROOT 3
#define VOLW_FD_CHAN 4
#define VOLW_NOFILE 16          /* 5 + a directory per level + the file read */
#define VOLW_AS_MB 256
#define VOLW_CPU_S 3600
#define VOLW_PIECE (256u * 1024) /* bytes per VM_DATA */

/* The worker's main; the process exit status. With VOLW_RW=1 in its
 * environment (set by the supervisor for a read-write mount, volmount.c)
 * it also obeys VM_DELETE: landlock adds REMOVE_FILE beneath fd 3 (no
 * other write: no file is created, written, renamed or truncated) and
 * seccomp adds unlinkat. */
int volw_main(void);

/* The lockdown for a read-write worker (rw: also remove files). */
int volw_sandbox_enter_rw(int rw);

/* The lockdown (volw_sandbox.c); 0 or -errno (the worker then exits). */
int volw_sandbox_enter(void);

#ifdef LINK_ATTACK_TESTS
/* Test build only (volw_attack.c): $VOL_ATTACK's name, and the attacks
 * tried right after the lockdown. */
const char *volw_attack_name(void);
void volw_attack_early(void);
void volw_attack_data(const char *path, int uncached, uint8_t *data, size_t n);
#endif

#endif
