/* custp_sandbox.h - the custodian's seccomp allow-list and the landlock
 * rules for a key in a PKCS#11 token (docs/architecture.md, "The
 * custodian"; custp.h says when they are applied).
 *
 * custp_seccomp() is called once by custp_main(), after the keys were
 * opened (a PKCS#11 module loaded, logged in, its session open), the
 * ledger opened read-only, the state file opened, and after landlock,
 * before CM_READY. The allow-list is what the custodian does from then on,
 * found with strace -f on tests/integration/dockd_custodian.sh and
 * dockd_pkcs11.sh (softhsm2): read/write/pread/pwrite/fdatasync on the
 * descriptors it holds (the channel, the ledger and its -wal/-shm, the
 * state file), sendto/recvmsg/poll on the channel, fcntl (SQLite's and
 * softhsm2's record locks), openat for reading only (no O_WRONLY, O_RDWR,
 * O_CREAT or O_TRUNC: the configuration on reload, /etc/localtime,
 * /dev/urandom, softhsm2's token files, which it reads again at every
 * sign; landlock still decides which paths), getdents64 (a module listing
 * its token directory), memory never executable (mmap/mprotect without
 * PROT_EXEC; code only as a file's read-only mapping, for a module that
 * loads a part of itself late), threads (clone with CLONE_THREAD only;
 * clone3 answers ENOSYS so glibc uses clone, whose flags a filter sees),
 * futex, getrandom, clocks, tgkill of itself (abort). No socket of any
 * family (socket and socketpair are not allowed: the custodian talks only
 * on the channel it inherited; softhsm2 opens none), no connect, no
 * execve/execveat, no ptrace, no process_vm_readv/writev, no kill of
 * another process, no open for writing, no unlink or rename, no mount,
 * no bpf: any of these kills the whole process (SCMP_ACT_KILL_PROCESS,
 * SIGSYS). dockd records the death (link_worker_killed, action 57, with
 * details.process "custodian", signal 31), alerts, and restarts it.
 * ASan builds (SANITIZE=1) additionally allow sigaltstack.
 * Returns 0 or -errno (the custodian then does not start).
 */
#ifndef DOCKD_CUSTP_SANDBOX_H
#define DOCKD_CUSTP_SANDBOX_H

#include <stddef.h>

int custp_seccomp(void);

/* Landlock rules for the PKCS#11 modules named by the key specs keys[0..n)
 * (entries that are not PKCS#11 URIs are skipped), added to ruleset:
 *   - softhsm2 (the module file is named libsofthsm2.so): its
 *     configuration ($SOFTHSM2_CONF, else /etc/softhsm/softhsm2.conf) and
 *     its token directory (directories.tokendir, default
 *     /var/lib/softhsm/tokens), read only: signing reads the token's
 *     object files again, it writes nothing;
 *   - any other module: read (files and listings) everywhere, written
 *     nowhere. Which files or devices a vendor's module opens after its
 *     session is open is not knowable from outside; the seccomp filter
 *     still forbids every open for writing, every socket and every exec.
 * *wide is set when a rule of the second kind was added. 0 or -errno. */
int custp_p11_rules(int ruleset, const char *const keys[], size_t n, int *wide);

#ifdef LINK_ATTACK_TESTS
/* Test build only (custp_attack.c): arm before the lock-down, attack at
 * the first CM_RECEIPT request. */
void custp_attack_arm(void);
void custp_attack(void);
#endif

#endif
