/* storew.h - the storage uploader process (docs/architecture.md, "The
 * storage uploader").
 *
 * dockd (store_remote.c) forks and execs itself as
 * `dockd --store-worker CONFIG CTL` with the control channel
 * (storemsg.h) on fd CTL. The uploader reads CONFIG itself, opens the
 * storage target (store_open(): for s3:// it loads the credentials file,
 * builds the S3 client and opens <state_dir>/uploads.db), then locks
 * itself down before it answers anything:
 *   - not dumpable (no core file, no ptrace or /proc/PID/mem by a process
 *     of the same user: the daemon cannot read the S3 secret back);
 *   - no new privileges; landlock (where the kernel has it): no file
 *     opened for writing except uploads.db and its -wal / -shm, reads
 *     only under /usr, /lib*, the TLS trust store, the name-service files
 *     of /etc and the configured CA file; nothing of the state directory
 *     (ledger, keys) or the vault. The vault ciphertext arrives as open
 *     descriptors, fetch destinations too;
 *   - seccomp (storew_sandbox.h): an allow-list fitted to the uploader;
 *     any other system call kills it (SIGSYS), which dockd records and
 *     alerts.
 * It sends SM_READY (the open's result), then serves SM_NEWCHAN /
 * SM_CANCEL on the control channel and each operation channel in a thread
 * of its own. End of the control channel (dockd closed it or died): the
 * uploader exits at once; an unfinished multipart upload stays in
 * uploads.db and resumes under the next uploader. Returns the exit status
 * (1 the target did not open, 2 usage, 3 the channel failed).
 */
#ifndef DOCKD_STOREW_H
#define DOCKD_STOREW_H

int storew_main(const char *config, const char *ctl_fd);

#ifdef LINK_ATTACK_TESTS
/* Test build only (storew_attack.c): arm before the lock-down, attack
 * after SM_READY. */
void storew_attack_arm(void);
void storew_attack(void);
#endif

/* The landlock ABI the uploader found (0: none, not confined by it). */
extern int storew_landlock_abi;

#endif
