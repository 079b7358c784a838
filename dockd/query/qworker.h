/* qworker.h - the query-service process (docs/architecture.md, "The
 * query-service process"): clerks' and the console's request bytes are
 * parsed here, in a process that holds no key, no storage secret and only
 * a read-only ledger handle.
 *
 * dockd (qproc.c) forks and execs itself as
 *     dockd --query-service CONFIG AGENCY LEDGER LISTENFD CHANFD
 * LISTENFD: the listening socket dockd made (qservice_listen()); CHANFD:
 * a socketpair to dockd (qmsg.h). Both are passed by number, >=
 * QWORKER_FD_MIN_PASSED, and moved to QWORKER_FD_LISTEN / QWORKER_FD_CHAN
 * here after exec (dup2 in a forked child of a threaded daemon failed with
 * EBUSY under libfiu; linkw.h). Then every other descriptor above 2 is
 * closed, no core, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0 (no ptrace by
 * same-uid processes, no /proc/PID/mem), [query]/[alert]/[retention] are
 * read from CONFIG, the ledger is opened read-only with its appends
 * forwarded to dockd (cust_ledger_set_forward), status and checkpoint
 * publishing go to dockd too, and so do its alerts (QM_ALERT: dockd runs
 * the alert command). Before the ledger is opened the export-package
 * launcher is forked (qlaunch.h); after the service is set up the seccomp
 * allow-list is loaded (qsandbox.h: no exec, no new process, no open for
 * writing, no socket), and the query service (custody/qservice.h) runs
 * until SIGTERM. SIGHUP re-reads the retention table.
 * The key files are never opened (the configuration's key paths are not
 * even read: only the [query], [alert] and [retention] sections).
 *
 * Exit status: 0 after SIGTERM, 3 bad arguments or descriptors, 1 a
 * failure to start or a broken channel (dockd logs and restarts it).
 *
 * Test build only (-DLINK_ATTACK_TESTS, dockd_attack): QUERY_ATTACK=forge
 * makes the process, once started, ask dockd to append an event the query
 * service never writes (QUERY_ATTACK_ARG: the action name, default
 * "destroyed") and write dockd's answer to stderr; QUERY_ATTACK=exec,
 * ptrace, ledger, walwrite, connect, jit, alertkind or read makes it try that once
 * locked down (qattack.c).
 */
#ifndef DOCKD_QWORKER_H
#define DOCKD_QWORKER_H

#define QWORKER_FD_LISTEN 3
#define QWORKER_FD_CHAN 4
#define QWORKER_FD_MIN_PASSED 16

int qworker_main(int argc, char **argv);

#ifdef LINK_ATTACK_TESTS
/* qattack.c (test build only) */
void qattack_arm(void);
void qattack(void);
#endif

#endif
