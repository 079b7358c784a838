/* custp.h - the custodian process (docs/architecture.md, "The custodian").
 *
 * dockd (custc.h) forks and execs itself as `dockd --custodian CONFIG CTL`
 * with its channel (custmsg.h) on fd CTL. The custodian reads CONFIG
 * itself and opens what only it holds:
 *   - the dock key ([dock] key: a 0600 file or a PKCS#11 URI, dockkey.h)
 *     and the dock certificate it must match;
 *   - the checkpoint key ([ledger] checkpoint_key, file or PKCS#11), when
 *     set;
 *   - the ledger, READ-ONLY (its own SQLite connection): it never writes
 *     the ledger, it only reads what dockd wrote;
 *   - its state file <state_dir>/custodian.state (custckpt.c): the last
 *     tree it signed.
 * Then it locks itself down before it answers anything: not dumpable (no
 * core file, no ptrace or /proc/PID/mem by dockd: the keys cannot be read
 * back), no new privileges; when the kernel has landlock, no file opened
 * except the ledger's files (read; the -shm index read-write, SQLite's
 * reader needs it), the configuration (read) and, for a key in a PKCS#11
 * token, the module's files (read; custp_p11_rules()), nothing written but
 * the already open state file, and (landlock ABI 4) no TCP bind or
 * connect; last, the seccomp allow-list (custp_seccomp(): no socket, no
 * exec, no ptrace, no open for writing; anything outside the list kills
 * it with SIGSYS).
 *
 * It sends CM_READY (the open's result and the two public keys), then
 * answers one request at a time:
 *   CM_AUTH    the bytes must be exactly an AUTH_DOCK tbs (docs/protocol.md
 *              7.2) over its own certificate, any nonces and a valid serial;
 *   CM_RECEIPT signed only when the ledger replay (custgate.c) shows the
 *              item serial/recording in the state the release policy
 *              demands with exactly that sha256; else rc -EPERM, text why;
 *   CM_CKPT    the tree head computed from its own read of the ledger,
 *              signed only when it extends the last tree it signed
 *              (custckpt.c); else rc -EPERM, text why;
 *   CM_RELOAD  read CONFIG again (the release policy may change on SIGHUP).
 * End of the channel (dockd closed it or died): it exits at once.
 * Returns the exit status (1 a key or the ledger did not open, 2 usage,
 * 3 the channel failed).
 */
#ifndef DOCKD_CUSTP_H
#define DOCKD_CUSTP_H

int custp_main(const char *config, const char *ctl_fd);

/* The landlock ABI the custodian found and applied (0: not confined by it). */
extern int custp_landlock_abi;

#endif
