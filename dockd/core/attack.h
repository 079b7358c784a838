/* attack.h - what a "compromised" helper process tries, for the TEST
 * build only: the parts the attackers of the storage uploader
 * (storew_attack.c), the custodian (custp_attack.c), the query service
 * (qattack.c) and the camera-link worker (linkw_attack.c) share. Built
 * into build/tests/dockd_attack and dockd-linkw-attack with
 * -DLINK_ATTACK_TESTS; without it this module is empty, so bin/dockd
 * carries none of it.
 *
 * Each attacker reads its action from an environment variable VAR
 * ("STORE_ATTACK"), its target from VAR_ARG, and logs on fd 2 (the
 * daemon's log, which the test greps) lines "VAR: verb what":
 *
 *	static bool armed;
 *
 *	void storew_attack_arm(void)	// before the lock-down
 *	{
 *		armed = attack_armed("STORE_ATTACK");
 *	}
 *
 *	void storew_attack(void)	// after it
 *	{
 *		struct attack a;
 *
 *		if (!armed || attack_get("STORE_ATTACK", &a) < 0)
 *			return;
 *		attack_say(a.var, "trying", a.name);
 *		if (!attack_common(&a))
 *			... this process's own actions ...
 *		attack_say(a.var, "done:", "the attempt returned");
 *	}
 *
 * A sandbox that holds kills the process in the attempt (seccomp,
 * SIGSYS) or makes it fail (landlock, EACCES): "done:" means it returned.
 */
#ifndef DOCKD_ATTACK_H
#define DOCKD_ATTACK_H

#ifdef LINK_ATTACK_TESTS
#include <stdbool.h>

struct attack {
	const char *var;  /* "STORE_ATTACK": the variable, the log lines' prefix */
	const char *name; /* its value: the action */
	const char *arg;  /* $VAR_ARG, "" when unset */
};

/* Whether this process is the one to attack: $VAR is set and the file
 * $VAR_ONCE names was there; it is removed, so the process dockd starts
 * after the attacker's death is an honest one. */
bool attack_armed(const char *var);

/* The action of $VAR into *a: 0, or -ENOENT when $VAR is not set. */
int attack_get(const char *var, struct attack *a);

/* "VAR: verb what" and a newline on fd 2, in one write(2): no stdio (it
 * would fstat, not on every helper's allow-list). A line is cut at
 * PATH_MAX + 64 bytes. */
void attack_say(const char *var, const char *verb, const char *what);

/* Try the action if it is one the helpers share; 1 when it was (the
 * call returned), 0 when it is none of them:
 *   exec          execve("/bin/sh"), which would log "VAR: shell ran"
 *   ptrace PID    PTRACE_ATTACH to PID ("parent": the parent, dockd)
 *   ledger PATH   open PATH for reading and writing
 *   keyfile PATH  open PATH for writing
 *   jit           map anonymous memory executable */
int attack_common(const struct attack *a);

/* socket(AF_INET) and connect to 127.0.0.1:port; "VAR: connected to
 * PORT" when it did. */
void attack_connect(const char *var, const char *port);

#endif
#endif
