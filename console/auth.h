#ifndef CONSOLE_AUTH_H
#define CONSOLE_AUTH_H
/*
 * auth: the two factors of a console login (docs/console.md "Login").
 *
 * auth_pam(): the precinct's accounts through PAM service `service`
 * (pam_authenticate + pam_acct_mgmt; the password is given to the
 * conversation only, never logged). 0 or -EACCES.
 *
 * auth_totp(): RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits, one step
 * of clock skew either way) checked by liboath against the user's secret
 * in totp_file: lines "USER BASE32SECRET", '#' comments; the file must be
 * a regular file not readable or writable by group or others. 0 and
 * *step (the accepted time step, for the replay guard), -EACCES wrong
 * code or no secret for the user, -EPERM file permissions, other -errno
 * reading the file.
 */
#include <stdint.h>

int auth_pam(const char *service, const char *user, const char *password);
int auth_totp(const char *totp_file, const char *user, const char *code,
	      int64_t *step);
/* Once at start (liboath's global state). 0 or -EIO. */
int auth_init(void);

#endif
