/* witw.h - the witness client process (docs/architecture.md, "The witness
 * client"; protocol with the witnesses in docs/witness.md).
 *
 * dockd (witr.h) forks and execs itself as
 * `dockd --witness-client CONFIG CTL` with its channel (witmsg.h) on fd
 * CTL. The process reads CONFIG itself and keeps only the [witness]
 * section: each witness's URL and cosignature vkey, timeout_s. It opens
 * no ledger, no key, no vault, and locks itself down before it answers:
 *   - no core file, not dumpable (no ptrace or /proc/PID/mem by a process
 *     of the same user), no new privileges;
 *   - landlock (where the kernel has it): no file opened for writing
 *     anywhere, reads only under /usr, /lib*, the TLS trust store and the
 *     name-service files of /etc (nothing of the state directory, ledger,
 *     keys or vault); it cannot ptrace dockd or read its memory, and with
 *     landlock ABI 6 (Linux 6.12) not signal it nor reach an abstract
 *     Unix socket. The network stays open: it is this process's job.
 * It sends WM_READY, then for each WM_POST POSTs the body to
 * <url>/add-checkpoint (timeout_s for connecting and for the whole
 * exchange) and answers WM_ANSWER: for HTTP 200 the answer lines that
 * verify (cosig_verify()) against that witness's vkey and the note in the
 * request, else the answer body or the transport error. dockd checks the
 * cosignatures again before it stores them: this process is trusted with
 * nothing but public checkpoints. End of the channel (dockd closed it or
 * died): it exits. Returns the exit status (1 the configuration did not
 * load or lock-down failed, 2 usage, 3 the channel failed).
 *
 * Test build only (-DLINK_ATTACK_TESTS, make's dockd_attack binary):
 * $WITNESS_ATTACK names a hostile reply the process sends instead of its
 * first WM_ANSWER ("version": a record of version 9; "short": a
 * truncated header; "seq": an answer to another request; "escape": no
 * hostile reply, but ptrace dockd, open its /proc/PID/mem and the file
 * $WITNESS_ATTACK_ARG, signal it, and log each result), armed only
 * when the file $WITNESS_ATTACK_ONCE exists (the process removes it: the
 * restarted process behaves).
 */
#ifndef DOCKD_WITW_H
#define DOCKD_WITW_H

int witw_main(const char *config, const char *ctl_fd);

/* The landlock ABI the process found (0: none, not confined by it). */
extern int witw_landlock_abi;

#endif
