/* pages_item_export: an item's court package (docs/console.md "Court
 * packages").
 *
 * POST /export (id, reason, optional case; the CSRF token is checked by
 * http.c before this runs) runs the workstation's exporter, the
 * `custody` binary, as the console's own account:
 *
 *   custody --config CONF export ID --out TMP/court-ID.tar --reason R
 *           [--case C] --socket SOCK --on-behalf USER
 *
 * so the code that writes the package is the one clerks run on the dock
 * and at workstations (docs/court-package.md): the `exported` event is
 * written by the query service for USER (via=console; the service accepts
 * --on-behalf only from its console_account and decides roles and agency
 * as for the user) BEFORE any byte of the package exists, the evidence
 * is copied and checked against the ledger's hash, a damaged copy aborts
 * with a failed `exported` event and no package. Why a child process and
 * not a library call: the package writer lives in custody/cmd, and a
 * crash or leak while reading the vault stays out of the console.
 *
 * TMP is a private directory (mkdtemp, 0700) also given to the child as
 * TMPDIR. On success the console opens the package, removes the file and
 * the directory (the open descriptor keeps the bytes), records the
 * download (console_download, detail "package") and only then streams
 * the descriptor to the browser (MHD_create_response_from_fd: no memory
 * copy), at most HTTP_PACKAGE_MAX bytes. A failure removes whatever the
 * child left, is recorded (console_download failed, with the exporter's
 * message) and shows that message.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "pages.h"

#define ERR_MAX 2048		/* the exporter's message kept for the page */
#define EXPORT_SECONDS 1800	/* a child still running then is killed */

static enum MHD_Result failed(struct MHD_Connection *c, const struct csess *s,
			      unsigned status, const char *title, const char *msg)
{
	struct hbuf b;

	hb_init(&b);
	page_error(&b, s, title, msg);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* One line of printable text (the exporter refuses others too). */
static int one_line(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* "court-SERIAL_REC": letters, digits, '.', '-' kept, others '_' (the
 * exporter takes the bag's name from it; never a path). */
static void bag_name(const char *id, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "court-");

	for (; *id && o + 1 < cap; id++) {
		char ch = *id;

		out[o++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ? ch : '_';
	}
	out[o] = 0;
}

/* Remove the private directory and whatever is in it (the child writes
 * only flat files there: the package, its .partial, proof directories it
 * removes itself). */
static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			if (unlink(p) && errno == EISDIR)
				rmdir(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

#define ENV_MAX 256		/* environment entries passed on */

/* Run argv with the console's environment and TMPDIR=tmp; its stderr (at
 * most cap - 1 bytes kept) in err. The exit status (0..255), or -errno.
 * The console is multi-threaded: between fork and exec the child makes
 * only async-signal-safe calls (the environment is built before). */
static int run(char *const argv[], const char *tmp, char *err, size_t cap)
{
	static const char cannot[] = "cannot run the exporter ([console] custody)\n";
	time_t end = time(NULL) + EXPORT_SECONDS;
	char *envp[ENV_MAX + 2], tmpenv[300];
	int p[2], st = 0, devnull, n_env = 0;
	size_t have = 0;
	pid_t pid;

	err[0] = 0;
	snprintf(tmpenv, sizeof(tmpenv), "TMPDIR=%s", tmp);
	for (char **e = environ; *e && n_env < ENV_MAX; e++)
		if (strncmp(*e, "TMPDIR=", 7))
			envp[n_env++] = *e;
	envp[n_env++] = tmpenv;
	envp[n_env] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(127);
		/* no browser connection or service socket goes to the child */
		close_range(3, ~0u, 0);
		signal(SIGPIPE, SIG_DFL);	/* the console ignores it */
		execve(argv[0], argv, envp);
		(void)!write(2, cannot, sizeof(cannot) - 1);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		char buf[512];
		ssize_t n;
		int left = (int)(end - time(NULL));

		if (left <= 0 || poll(&pf, 1, left * 1000) == 0) {
			kill(pid, SIGKILL);
			snprintf(err, cap, "the exporter did not finish within %d s",
				 EXPORT_SECONDS);
			break;
		}
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (have + 1 < cap) {
			size_t k = (size_t)n < cap - 1 - have ? (size_t)n : cap - 1 - have;

			memcpy(err + have, buf, k);
			have += k;
			err[have] = 0;
		}
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* The exporter's message without its "custody: " prefixes and trailing
 * newline, for the page and the event. */
static const char *message(char *err)
{
	char *m = err;
	size_t n;

	if (!strncmp(m, "custody: ", 9))
		m += 9;
	n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == '\r'))
		m[--n] = 0;
	return *m ? m : "the exporter failed without a message";
}

/* A failure: recorded (with the item when the service lets the console
 * name it, i.e. it is in the user's agency), then shown. */
static enum MHD_Result export_failed(struct MHD_Connection *c,
				     const struct csess *s, const char *client,
				     const char *id, unsigned status,
				     const char *msg)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "package: %s", msg);
	if (svc_event(http_svc(), s->user, client, "download", "failed", NULL,
		      "/export", id, detail, NULL) &&
	    svc_event(http_svc(), s->user, client, "download", "failed", NULL,
		      "/export", NULL, detail, NULL))
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "The export failed and the failure could not be "
			      "recorded in the custody ledger.");
	return failed(c, s, status, "Export failed", msg);
}

enum MHD_Result handle_export(struct MHD_Connection *c, const struct csess *s,
			      const char *client, const struct req *r)
{
	const struct console_cfg *cfg = http_cfg();
	const char *id = http_field(r, "id"), *reason = http_field(r, "reason");
	const char *kase = http_field(r, "case"), *tmpd = getenv("TMPDIR");
	char tmp[256], out[PATH_MAX], bag[160], disp[220], *err = NULL;
	char *argv[20];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct stat st;
	int rc, fd, a = 0;

	if (!id || !*id || *id == '-' || strlen(id) > 128 || !one_line(id))
		return failed(c, s, MHD_HTTP_BAD_REQUEST, "No item",
			      "Which item? Open one from the search.");
	if (!reason || !*reason || !one_line(reason) || strlen(reason) > 512)
		return failed(c, s, MHD_HTTP_BAD_REQUEST, "A reason is required",
			      "Give the reason for the export (one line): it is "
			      "recorded with the export.");
	if (kase && (!*kase || !one_line(kase) || strlen(kase) > 128))
		kase = NULL;
	snprintf(tmp, sizeof(tmp), "%s/custody-console-export.XXXXXX",
		 tmpd && *tmpd == '/' ? tmpd : "/tmp");
	if (!mkdtemp(tmp))
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "No private temporary directory for the package.");
	bag_name(id, bag, sizeof(bag));
	snprintf(out, sizeof(out), "%s/%s.tar", tmp, bag);
	argv[a++] = (char *)cfg->custody_bin;
	argv[a++] = "--config";
	argv[a++] = (char *)cfg->config_path;
	argv[a++] = "export";
	argv[a++] = (char *)id;
	argv[a++] = "--out";
	argv[a++] = out;
	argv[a++] = "--reason";
	argv[a++] = (char *)reason;
	if (kase) {
		argv[a++] = "--case";
		argv[a++] = (char *)kase;
	}
	argv[a++] = "--socket";
	argv[a++] = (char *)cfg->svc.socket;
	argv[a++] = "--on-behalf";
	argv[a++] = (char *)s->user;
	argv[a] = NULL;
	if (!(err = malloc(ERR_MAX))) {
		rm_dir(tmp);
		return MHD_NO;
	}
	rc = run(argv, tmp, err, ERR_MAX);
	fd = rc == 0 ? open(out, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	/* the bytes live on in fd; nothing is left on disk either way */
	rm_dir(tmp);
	if (rc != 0 || fd < 0) {
		const char *m = rc < 0 ? strerror(-rc) : rc == 0 ?
				"the package was not found after the export" :
				message(err);

		/* the service's refusal ("the dock refused to record...") is
		 * a 403 like the other refused pages; anything else 500 */
		ret = export_failed(c, s, client, id, strstr(m, " refused ") ?
				    MHD_HTTP_FORBIDDEN :
				    MHD_HTTP_INTERNAL_SERVER_ERROR, m);
		free(err);
		return ret;
	}
	free(err);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > HTTP_PACKAGE_MAX) {
		close(fd);
		return export_failed(c, s, client, id, MHD_HTTP_CONTENT_TOO_LARGE,
				     "the package is larger than the console sends "
				     "(export it on the dock with custody export)");
	}
	/* its event first: nothing leaves without its record */
	if (svc_event(http_svc(), s->user, client, "download", "ok", NULL,
		      "/export", id, "package", NULL)) {
		close(fd);
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "This could not be recorded in the custody ledger, "
			      "so it is not sent.");
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	http_headers(resp, NULL);
	MHD_add_response_header(resp, "Content-Type", "application/x-tar");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.tar\"", bag);
	MHD_add_response_header(resp, "Content-Disposition", disp);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
