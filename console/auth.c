/* auth: PAM and TOTP. See auth.h. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <security/pam_appl.h>

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_LINE_MAX 512

int auth_init(void)
{
	return oath_init() == OATH_OK ? 0 : -EIO;
}

/* Answer password prompts with the password, name prompts with the user;
 * messages are dropped. */
static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *appdata)
{
	const char *const *cred = appdata;	/* { user, password } */
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *v = NULL;

		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			v = cred[1];
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			v = cred[0];
		if (v && !(r[i].resp = strdup(v))) {
			for (int j = 0; j < i; j++) {
				if (r[j].resp)
					OPENSSL_cleanse(r[j].resp, strlen(r[j].resp));
				free(r[j].resp);
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

int auth_pam(const char *service, const char *user, const char *password)
{
	const char *cred[2] = { user, password };
	struct pam_conv pc = { conv, (void *)cred };
	pam_handle_t *ph = NULL;
	int rc;

	if (pam_start(service, user, &pc, &ph) != PAM_SUCCESS)
		return -EACCES;
	rc = pam_authenticate(ph, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_DISALLOW_NULL_AUTHTOK);
	pam_end(ph, rc);
	return rc == PAM_SUCCESS ? 0 : -EACCES;
}

/* The base32 secret of user in f, decoded (caller cleanses and frees). */
static int find_secret(FILE *f, const char *user, char **sec, size_t *len)
{
	char line[TOTP_LINE_MAX];
	int rc = -EACCES;

	while (fgets(line, sizeof(line), f)) {
		char *name, *b32, *save = NULL;

		if (line[0] == '#')
			continue;
		name = strtok_r(line, " \t\r\n", &save);
		b32 = strtok_r(NULL, " \t\r\n", &save);
		if (!name || !b32 || strcmp(name, user))
			continue;
		rc = oath_base32_decode(b32, strlen(b32), sec, len) == OATH_OK &&
		     *len >= 10 ? 0 : -EACCES;
		break;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

int auth_totp(const char *totp_file, const char *user, const char *code,
	      int64_t *step)
{
	char *sec = NULL;
	size_t len = 0;
	struct stat st;
	time_t now = time(NULL);
	int fd, pos = 0, rc;
	FILE *f;

	if (!code || strlen(code) != TOTP_DIGITS)
		return -EACCES;
	fd = open(totp_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	rc = find_secret(f, user, &sec, &len);
	fclose(f);
	if (rc)
		return rc;
	rc = oath_totp_validate2(sec, len, now, TOTP_STEP, 0, 1, &pos, code);
	OPENSSL_cleanse(sec, len);
	free(sec);
	if (rc < 0)
		return -EACCES;
	*step = (int64_t)(now / TOTP_STEP) + pos;
	return 0;
}
