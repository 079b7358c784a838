/* startmsg.c - start-up refusals with a cause and a fix; see startmsg.h. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "startmsg.h"

/* A PEM private key has a "PRIVATE KEY-----" armour line (PKCS#8, SEC1,
 * PKCS#1, encrypted or not). Only the first 64 KiB are looked at; the
 * file is never parsed as a key here. */
static int is_private_pem(const char *path)
{
	static const char tag[] = "PRIVATE KEY-----";
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), found = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		found = memmem(buf, (size_t)n, tag, sizeof(tag) - 1) != NULL;
	}
	OPENSSL_cleanse(buf, sizeof(buf)); /* it may be a private key */
	return found;
}

int startmsg_recipient(const char *config, const char *key, int r, char *err, size_t errlen)
{
	if (r == -EPROTO && is_private_pem(key))
		snprintf(err, errlen, "%s: [encryption] recipients: %s is a PRIVATE key: the dock "
			 "holds only the agency's PUBLIC encryption key; fix: at the agency run "
			 "`openssl pkey -in KEY -pubout -out agency-enc.pub`, list the .pub "
			 "here, and remove %s from the dock (docs/operations.md, section 2)",
			 config, key, key);
	else if (r == -EPROTO)
		snprintf(err, errlen, "%s: [encryption] recipients: %s is not a PEM public key "
			 "(\"-----BEGIN PUBLIC KEY-----\"); fix: list the agency's encryption "
			 "public key, agency-enc.pub (docs/operations.md, section 2)", config, key);
	else if (r == -EPROTONOSUPPORT)
		snprintf(err, errlen, "%s: [encryption] recipients: %s is not an encryption key "
			 "(only P-256, P-384 or RSA >= 3072 are; an Ed25519 key such as "
			 "agency-sign.pub signs, it cannot receive evidence); fix: list the "
			 "agency's encryption public key made by `custody agency-keygen --type "
			 "p384` (docs/operations.md, section 2)", config, key);
	else
		snprintf(err, errlen, "%s: [encryption] recipients: %s: %s%s", config, key,
			 strerror(-r), r == -ENOENT ? "; fix: copy the agency's agency-enc.pub "
			 "there or correct the path" : "");
	return r == -EPROTO || r == -EPROTONOSUPPORT ? -EINVAL : r;
}

static void dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;

	if (!slash)
		path = ".";
	if (n == 0)
		n = 1; /* "/x" */
	if (n >= cap)
		n = cap - 1;
	memcpy(dir, path, n);
	dir[n] = '\0';
}

int startmsg_query(const char *config, const char *socket, const char *group, int r,
		   char *err, size_t errlen)
{
	char dir[512];
	struct stat st;

	dir_of(socket, dir, sizeof(dir));
	if (group && group[0] && !getgrnam(group))
		snprintf(err, errlen, "%s: [query] socket_group %s: no such group; fix: "
			 "groupadd --system %s and add the clerks to it (the Debian package "
			 "creates evidence-clerks), or change socket_group", config, group, group);
	else if (stat(dir, &st) < 0)
		snprintf(err, errlen, "%s: [query] socket %s: directory %s: %s; fix: create it "
			 "for the account that runs dockd (the systemd unit's "
			 "RuntimeDirectory= makes /run/evidence-dock), or change socket",
			 config, socket, dir, strerror(errno));
	else if (r == -EPERM && group && group[0])
		snprintf(err, errlen, "%s: [query] socket %s: cannot give it to group %s: the "
			 "account that runs dockd is not in it; fix: usermod -aG %s evidence-dock "
			 "(the Debian package does this)", config, socket, group, group);
	else if (r == -EEXIST)
		snprintf(err, errlen, "%s: [query] socket %s: a file that is not a socket is in "
			 "the way; fix: remove it or change socket", config, socket);
	else
		snprintf(err, errlen, "%s: [query] socket %s: %s%s", config, socket, strerror(-r),
			 r == -EACCES || r == -EROFS ? "; fix: the directory must be writable by "
			 "the account that runs dockd" : "");
	return r;
}

int startmsg_vault_writable(const char *config, const char *vault_dir, char *err,
			    size_t errlen)
{
	char probe[600];
	int fd, e;

	/* An unnamed file: nothing to remove afterwards (a named probe whose
	 * unlink failed made dockd refuse a vault it can write, and would
	 * leave a stray file there). */
	fd = open(vault_dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL)
		goto refuse;
	/* a file system without O_TMPFILE */
	snprintf(probe, sizeof(probe), "%s/.dockd-write-probe-%ld", vault_dir, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd);
		if (unlink(probe) == 0)
			return 0;
	}
	e = errno;
refuse:
	snprintf(err, errlen, "%s: [dock] vault_dir %s: dockd cannot write there (%s): "
		 "refusing to start, no camera would be emptied into it; fix: make it "
		 "writable by the account that runs dockd (chown evidence-dock); under the "
		 "systemd unit a directory outside /var/lib/evidence-dock also needs "
		 "ReadWritePaths=%s (systemctl edit evidence-dockd)",
		 config, vault_dir, strerror(e), vault_dir);
	return -e;
}
