/*
 * totp.c - `custody console-totp NAME --file TOTP_FILE --reason R`: enrol
 * (or re-enrol) a console user's second factor (docs/console.md "TOTP
 * enrolment").
 *
 * A new 160-bit secret from OpenSSL's RAND_bytes replaces NAME's line in
 * the console's totp_file ("NAME BASE32SECRET"), and the enrolment is a
 * ledger event (key_changed, details command "console-totp", user, file;
 * never the secret). Order, so that the ledger never misses an enrolment:
 * the new file is written and synced under a temporary name, then the
 * event is appended, then the file is renamed into place; if the event
 * cannot be written nothing changes. The file keeps its owner, group and
 * mode 0600 (the console refuses anything else). NAME must be a user of
 * the ledger. Local route only: the caller must be able to write the
 * ledger (the service account or root), like `custody user add`.
 * Prints the secret and its otpauth:// URI once, for the user's app.
 *
 * `custody console-totp NAME --revoke --file TOTP_FILE --reason R` removes
 * NAME's line instead (a lost phone, a clerk who left): the console then
 * refuses every login of NAME. Recorded the same way and in the same order
 * (key_changed, details change "revoked"); NAME need not be a user of the
 * ledger any more (a removed user's factor is still revocable), but must
 * have a line (else nothing changes and nothing is recorded).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cmd.h"
#include "users.h"

#define TOTP_FILE_MAX (256 * 1024)	/* hard cap on the file we rewrite */
#define SECRET_BYTES 20			/* 160 bits, RFC 4226's recommendation */

/* RFC 4648 base32 without padding (20 bytes -> 32 chars). */
static void base32(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned buf = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = a[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = a[(buf << (5 - bits)) & 31];
	out[o] = 0;
}

/* The current file (empty if absent) into *buf; its owner in *st (the
 * caller's ids when absent). */
static int read_old(const char *path, char **buf, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t r;
	char *b;

	if (fd < 0 && errno == ENOENT) {
		st->st_uid = getuid();
		st->st_gid = getgid();
		*buf = NULL;
		*len = 0;
		return 0;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st->st_size > TOTP_FILE_MAX || !(b = malloc((size_t)st->st_size + 1))) {
		close(fd);
		return -EFBIG;
	}
	r = read(fd, b, (size_t)st->st_size);
	close(fd);
	if (r != st->st_size) {
		free(b);
		return -EIO;
	}
	*buf = b;
	*len = (size_t)r;
	return 0;
}

/* Does the text hold a line for NAME ("NAME SECRET")? */
static int has_line(const char *old, size_t len, const char *name)
{
	size_t i = 0, nl = strlen(name);

	while (i < len) {
		const char *e = memchr(old + i, '\n', len - i);
		size_t l = e ? (size_t)(e - (old + i)) : len - i;

		if (l > nl && !memcmp(old + i, name, nl) &&
		    (old[i + nl] == ' ' || old[i + nl] == '\t'))
			return 1;
		i += l + 1;
	}
	return 0;
}

/* Write old minus NAME's lines plus "NAME SECRET" (none when secret is
 * NULL: a revocation) to a new temporary file next to path (0600, path's
 * owner), synced. Its name into tmp. */
static int write_new(const char *path, const char *old, size_t len,
		     const struct stat *st, const char *name, const char *secret,
		     char *tmp, size_t cap)
{
	size_t i = 0, nl = strlen(name);
	FILE *f;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, cap, "%s.new.XXXXXX", path) >= cap)
		return -ENAMETOOLONG;
	if ((fd = mkstemp(tmp)) < 0)
		return -errno;
	if (fchmod(fd, 0600) || (fchown(fd, st->st_uid, st->st_gid) && errno != EPERM) ||
	    !(f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		goto fail;
	}
	while (i < len) {	/* copy every line that is not NAME's */
		const char *e = memchr(old + i, '\n', len - i);
		size_t l = e ? (size_t)(e - (old + i)) : len - i;

		if (!(l > nl && !memcmp(old + i, name, nl) &&
		      (old[i + nl] == ' ' || old[i + nl] == '\t')))
			fprintf(f, "%.*s\n", (int)l, old + i);
		i += l + 1;
	}
	if (secret)
		fprintf(f, "%s %s\n", name, secret);
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	if (fclose(f) && !r)
		r = -EIO;
	if (!r)
		return 0;
fail:
	unlink(tmp);
	return r;
}

static int sync_dir(const char *path)
{
	char d[4096];
	int fd, r = 0;

	snprintf(d, sizeof(d), "%s", path);
	if ((fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd))
		r = -errno;
	close(fd);
	return r;
}

int cmd_console_totp(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *name = NULL, *file = NULL, *reason = NULL;
	int revoke = 0;
	unsigned char raw[SECRET_BYTES];
	char secret[SECRET_BYTES * 8 / 5 + 2], tmp[4200];
	char *old = NULL;
	struct cust_user u;
	struct stat st;
	size_t len = 0;
	json_t *d;
	int i, r, rc = CMD_ERROR;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--reason") && i + 1 < argc)
			reason = argv[++i];
		else if (!strcmp(argv[i], "--revoke"))
			revoke = 1;
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else {
			cmd_err("usage: custody console-totp NAME [--revoke] --file "
				"TOTP_FILE --reason R");
			return CMD_ERROR;
		}
	}
	if (!name || !file || !reason || !*reason) {
		cmd_err("usage: custody console-totp NAME [--revoke] --file TOTP_FILE "
			"--reason R (the console's [console] totp_file; a reason is "
			"recorded)");
		return CMD_ERROR;
	}
	if (!users_name_valid(name)) {
		cmd_err("console-totp: bad user name '%s'", name);
		return CMD_ERROR;
	}
	if (cmd_open_ledger(ctx, false))
		return CMD_ERROR;
	if (ctx->read_only) {	/* cmd_audit() would skip the event */
		cmd_err("console-totp: the ledger is open read-only, so the "
			"change could not be recorded (drop --read-only)");
		return CMD_ERROR;
	}
	if (!revoke && (r = users_lookup(ctx->ledger, name, &u))) {
		cmd_err("console-totp %s: %s (map the account first: custody user "
			"add %s --role ROLE --agency AGENCY)", name,
			r == -ENOENT ? "not a user of the custody ledger" : strerror(-r),
			name);
		return CMD_ERROR;
	}
	if ((r = read_old(file, &old, &len, &st))) {
		cmd_err("console-totp: %s: %s", file, r == -EFBIG ?
			"larger than 256 KiB" : r == -EINVAL ? "not a regular file" :
			strerror(-r));
		return CMD_ERROR;
	}
	if (revoke && !has_line(old, len, name)) {
		cmd_err("console-totp %s --revoke: %s has no second factor for %s "
			"(nothing changed, nothing recorded)", name, file, name);
		goto fail;
	}
	if (revoke) {
		secret[0] = 0;
	} else if (RAND_bytes(raw, sizeof(raw)) != 1) {
		cmd_err("console-totp: no random bytes from OpenSSL");
		goto fail;
	}
	if (!revoke)
		base32(raw, sizeof(raw), secret);
	if ((r = write_new(file, old, len, &st, name, revoke ? NULL : secret, tmp,
			   sizeof(tmp)))) {
		cmd_err("console-totp: cannot write a new %s: %s", file, strerror(-r));
		goto fail;
	}
	ctx->reason = reason;
	d = json_pack("{s:s, s:s, s:s, s:s}", "user", name, "factor", "totp",
		      "file", file, "change", revoke ? "revoked" : "enrolled");
	if (!d || cmd_audit(ctx, CUST_A_KEY_CHANGED, NULL, "console-totp", d)) {
		json_decref(d);
		unlink(tmp);	/* not recorded: nothing changes */
		goto fail;
	}
	json_decref(d);
	if (rename(tmp, file) || sync_dir(file)) {
		cmd_err("console-totp: %s: %s (the change is recorded but the "
			"file is unchanged: run the command again)", file, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	if (revoke) {
		printf("console-totp %s: second factor revoked (recorded): the "
		       "console refuses %s's logins from now on\n", name, name);
		rc = 0;
		goto fail;
	}
	printf("console-totp %s: enrolled (recorded). Give the user, once and "
	       "never by e-mail:\n  secret %s\n  otpauth://totp/Dock:%s?secret=%s"
	       "&issuer=Dock\n", name, secret, name, secret);
	rc = 0;
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (old) {
		OPENSSL_cleanse(old, len);
		free(old);
	}
	return rc;
}
