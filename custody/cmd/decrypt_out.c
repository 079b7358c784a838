/*
 * decrypt_out.c - the output file of `custody decrypt` (see decrypt.h):
 * plaintext exists under a name only once it is verified.
 */
#define _GNU_SOURCE	/* mkostemp, O_TMPFILE, AT_EMPTY_PATH */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "decrypt.h"

/* Removed by the signal handler if we are interrupted mid-write. */
static volatile sig_atomic_t tmp_live;
static char tmp_for_signal[DEC_PATH_MAX];

static void on_signal(int sig)
{
	if (tmp_live)
		unlink(tmp_for_signal);
	signal(sig, SIG_DFL);
	raise(sig);
}

void dec_install_signals(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

/* --out, or "<recording id>.plain" in the current directory; the temp
 * file is created beside it (same filesystem: link() is atomic). */
int dec_make_temp(struct dec_job *j)
{
	char dirbuf[DEC_PATH_MAX], cwd[DEC_PATH_MAX];
	const char *out = j->o.out;
	char def[EVFILE_MAX_ID + 8];
	struct stat st;
	int n;

	if (!out) {
		snprintf(def, sizeof(def), "%s.plain", j->info.recording_id);
		out = def;
	}
	if (out[0] != '/' && getcwd(cwd, sizeof(cwd)))
		n = snprintf(j->out_path, sizeof(j->out_path), "%s/%s", cwd, out);
	else
		n = snprintf(j->out_path, sizeof(j->out_path), "%s", out);
	if (n < 0 || (size_t)n >= sizeof(j->out_path)) {
		cmd_err("%s: output path too long", out);
		return CMD_ERROR;
	}
	if (lstat(j->out_path, &st) == 0) {
		cmd_err("%s: exists; refusing to overwrite (choose --out)", j->out_path);
		return CMD_ERROR;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", j->out_path);
	/* An unnamed file in the output directory: if we are killed (even
	 * SIGKILL, which no handler sees) the kernel frees it, and no partial
	 * plaintext is ever left under a name. It gets its name by linkat()
	 * only after the last chunk verified and the SHA-256 matched. */
	j->tmp_fd = open(dirname(dirbuf), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (j->tmp_fd >= 0) {
		j->tmp_path[0] = '\0';
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		cmd_err("%s: cannot create a file there: %s", j->out_path, strerror(errno));
		return CMD_ERROR;
	}
	/* e.g. vfat (a disclosure USB stick): a named hidden temp file, removed
	 * on failure and on SIGINT/SIGTERM/SIGHUP, but not on SIGKILL or a
	 * power cut - say so before any plaintext exists */
	cmd_err("warning: %s: this filesystem has no unnamed temporary files "
		"(O_TMPFILE); if this process is killed (kill -9, power loss) a "
		"partial plaintext file .decrypt-XXXXXX may remain there: delete it",
		j->out_path);
	snprintf(dirbuf, sizeof(dirbuf), "%s", j->out_path);
	n = snprintf(j->tmp_path, sizeof(j->tmp_path), "%s/.decrypt-XXXXXX",
		     dirname(dirbuf));
	if (n < 0 || (size_t)n >= sizeof(j->tmp_path)) {
		cmd_err("%s: output path too long", out);
		return CMD_ERROR;
	}
	j->tmp_fd = mkostemp(j->tmp_path, O_CLOEXEC);	/* mode 0600 */
	if (j->tmp_fd < 0) {
		cmd_err("%s: cannot create a file there: %s", j->out_path, strerror(errno));
		j->tmp_path[0] = '\0';
		return CMD_ERROR;
	}
	memcpy(tmp_for_signal, j->tmp_path, sizeof(tmp_for_signal));
	tmp_live = 1;
	return 0;
}

/* Move tmp to out unless out exists; tmp is gone afterwards on success.
 * link() is atomic; filesystems without hard links (a FAT USB stick for a
 * disclosure) get check-then-rename, racy only against the caller's own
 * processes writing the same name. */
static int link_noreplace(const char *tmp, const char *out)
{
	struct stat st;

	if (link(tmp, out) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	if (lstat(out, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, out);
}

/* Give the unnamed (O_TMPFILE) file fd the name out; never replaces. */
static int link_unnamed(int fd, const char *out)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, out, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != ENOENT)	/* ENOENT: no /proc mounted */
		return -1;
	return linkat(fd, "", AT_FDCWD, out, AT_EMPTY_PATH);
}

/* Durable temp file, linked to --out only if that name is still free. */
int dec_commit_output(struct dec_job *j)
{
	char dirbuf[DEC_PATH_MAX];
	int dfd, e = fsync(j->tmp_fd) ? errno : 0;

	if (!e && !j->tmp_path[0] && link_unnamed(j->tmp_fd, j->out_path)) {
		e = errno;
		cmd_err("%s: %s", j->out_path, e == EEXIST ?
			"appeared meanwhile; refusing to overwrite" : strerror(e));
		return CMD_ERROR;	/* the unnamed file goes with its fd */
	}
	if (close(j->tmp_fd) && !e)
		e = errno;
	j->tmp_fd = -1;
	if (e) {
		cmd_err("%s: %s", j->out_path, strerror(e));
		return CMD_ERROR;
	}
	if (j->tmp_path[0] && link_noreplace(j->tmp_path, j->out_path)) {
		cmd_err("%s: %s", j->out_path, errno == EEXIST ?
			"appeared meanwhile; refusing to overwrite" : strerror(errno));
		return CMD_ERROR;
	}
	tmp_live = 0;
	j->tmp_path[0] = '\0';
	snprintf(dirbuf, sizeof(dirbuf), "%s", j->out_path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Remove the temp file (partial or unverified plaintext). */
void dec_discard_temp(struct dec_job *j)
{
	if (j->tmp_fd >= 0)
		close(j->tmp_fd);
	j->tmp_fd = -1;
	if (j->tmp_path[0])
		unlink(j->tmp_path);
	j->tmp_path[0] = '\0';
	tmp_live = 0;
}
