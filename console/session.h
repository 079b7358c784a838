#ifndef CONSOLE_SESSION_H
#define CONSOLE_SESSION_H
/*
 * session: the console's in-memory sessions, CSRF tokens and login
 * lockout (docs/console.md "Sessions"). Thread-safe (one mutex); state is
 * lost on restart, which only logs everyone out.
 *
 * A session id and its CSRF token are 32 bytes from OpenSSL's RAND_bytes
 * (hex). A browser gets a session (not logged in) with the login form, so
 * the login POST carries a CSRF token too; a successful login replaces the
 * session with a new id (no fixation). Sessions end after idle_s without a
 * request and after SESS_MAX_AGE_S in any case.
 *
 * Lockout: after `failures` failed logins in a row for one name (a wrong
 * password or a wrong second factor alike), that name is locked for
 * lock_s; a success resets the count. TOTP codes are single-use per user
 * (the last accepted time step is remembered).
 */
#include <stdint.h>
#include <time.h>


#define SESS_MAX 512
#define SESS_HEX 64			/* 32 random bytes as hex */
#define SESS_MAX_AGE_S (12 * 3600)
#define SESS_NAME_MAX 64
#define SESS_AGENCY_MAX 64

struct csess {
	char id[SESS_HEX + 1];
	char csrf[SESS_HEX + 1];
	char user[SESS_NAME_MAX + 1];	/* "" when not logged in */
	char role[16];
	char agency[SESS_AGENCY_MAX + 1];
	time_t created, last;
};

void sess_setup(int idle_s, int failures, int lock_s);
/* A new, not logged-in session. 0, -ENOSPC (table full), -EIO (no
 * randomness). */
int sess_new(struct csess *out);
/* Look id up (and refresh it). 0, -ENOENT (unknown), or -ETIMEDOUT (it
 * expired: removed, and its last state copied to *out so the caller can
 * record the logout). */
int sess_get(const char *id, struct csess *out);
/* The same without refreshing it (a live view's ticks must not keep an
 * idle session alive) and without ending an expired one: 0, -ENOENT,
 * -ETIMEDOUT. */
int sess_peek(const char *id, struct csess *out);
/* Log in: drop old_id (may be NULL), make a new logged-in session. */
int sess_login(const char *old_id, const char *user, const char *role,
	       const char *agency, struct csess *out);
void sess_drop(const char *id);
/* Constant-time check of a submitted CSRF token: 1 if it matches. */
int sess_csrf_ok(const struct csess *s, const char *token);

/* 1 if name is locked now. */
int lock_is_locked(const char *name);
/* Count a failure; 1 if this failure locked the name. */
int lock_fail(const char *name);
void lock_ok(const char *name);
/* TOTP replay guard: 0 and remember step if step is newer than the last
 * accepted one for name, else -EALREADY. */
int lock_totp_step(const char *name, int64_t step);

#endif
