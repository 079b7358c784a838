/* qpackage: the console's court package, built by the query service
 * (qpackage.h). Why a forked handler running the `custody` binary and not
 * a library call: the package writer lives in custody/cmd (the code
 * clerks run, docs/court-package.md), which the service does not link;
 * and the exporter calls back into this service for its `exported`
 * event, so the service's own loop must stay free while it runs. */
#define _GNU_SOURCE
#include "qpackage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERR_MAX 2048		/* the exporter's message kept */
#define ENV_MAX 256		/* environment entries passed on */
#define CONN_FD 3		/* the connection, in the handler */

static const char *str(const json_t *req, const char *k, size_t max)
{
	const char *v = json_string_value(json_object_get(req, k));

	if (!v || !*v || strlen(v) > max)
		return NULL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	return v;
}

int qpackage_parse(const json_t *req, struct qpackage_job *job)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	struct qpackage_job j;

	if (!op || strcmp(op, "export-package"))
		return 0;
	memset(&j, 0, sizeof(j));
	j.user = str(req, "on_behalf", 64);
	j.item = str(req, "item", 128);
	j.reason = str(req, "reason", 512);
	j.case_no = str(req, "case", 128);
	if (!j.user || !j.item || *j.item == '-' || !j.reason ||
	    (json_object_get(req, "case") && !j.case_no))
		return 0;
	job->user = j.user;
	job->item = j.item;
	job->reason = j.reason;
	job->case_no = j.case_no;
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

/* Send line (len bytes) with fd (-1: none) attached to its first byte. */
static int send_line(int conn, const char *line, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)line, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t off;
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(conn, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (off = (size_t)n; off < len; off += (size_t)n) {
		n = send(conn, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
	}
	shutdown(conn, SHUT_WR);
	return 0;
}

static int send_reply(int conn, json_t *reply, int fd)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t n;
	int rc;

	json_decref(reply);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	s[n] = '\n';		/* replaces the NUL: the length is explicit */
	rc = send_line(conn, s, n + 1, fd);
	free(s);
	return rc;
}

/* The one-line error reply, without a descriptor. */
static int send_error(int conn_fd, const char *code, const char *msg)
{
	return send_reply(conn_fd, json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
					     code, "message", msg), -1);
}

/* Remove the private directory and whatever the exporter left in it
 * (flat files: the package, its .partial; proof directories it removes
 * itself). */
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

/* Run argv with TMPDIR=tmp; its stderr (at most cap - 1 bytes) in err.
 * The exit status (0..255; 255 when killed), or -errno. */
static int run(char *const argv[], const char *tmp, char *err, size_t cap)
{
	time_t end = time(NULL) + QPACKAGE_SECONDS;
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
		close_range(3, ~0u, 0);	/* not the console's connection */
		execve(argv[0], argv, envp);
		dprintf(2, "cannot run the exporter %s ([query] custody): %s\n",
			argv[0], strerror(errno));
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
				 QPACKAGE_SECONDS);
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

/* The exporter's message for the reply: without "custody: " prefixes
 * and trailing newlines, printable ASCII (the reply is JSON text). */
static const char *message(char *err)
{
	char *m = err;
	size_t n;

	if (!strncmp(m, "custody: ", 9))
		m += 9;
	n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == '\r'))
		m[--n] = 0;
	for (char *p = m; *p; p++)
		if ((unsigned char)*p >= 0x80 || ((unsigned char)*p < 0x20 && *p != '\n'))
			*p = '?';
	return *m ? m : "the exporter failed without a message";
}

static void handler(const struct qpackage_job *job)
{
	const char *tmpd = getenv("TMPDIR");
	char tmp[256], out[PATH_MAX], bag[160], err[ERR_MAX];
	char *argv[20];
	struct stat st;
	sigset_t none;
	int rc, fd, a = 0;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	snprintf(tmp, sizeof(tmp), "%s/custody-package.XXXXXX",
		 tmpd && *tmpd == '/' && strlen(tmpd) < 200 ? tmpd : "/tmp");
	if (!mkdtemp(tmp)) {
		send_error(CONN_FD, "error", "no private temporary directory "
			   "for the package on the dock");
		_exit(1);
	}
	bag_name(job->item, bag, sizeof(bag));
	snprintf(out, sizeof(out), "%s/%s.tar", tmp, bag);
	argv[a++] = (char *)job->custody_bin;
	argv[a++] = "--config";
	argv[a++] = (char *)job->config_path;
	argv[a++] = "export";
	argv[a++] = (char *)job->item;
	argv[a++] = "--out";
	argv[a++] = out;
	argv[a++] = "--reason";
	argv[a++] = (char *)job->reason;
	if (job->case_no) {
		argv[a++] = "--case";
		argv[a++] = (char *)job->case_no;
	}
	argv[a++] = "--socket";
	argv[a++] = (char *)job->socket_path;
	argv[a++] = "--on-behalf";
	argv[a++] = (char *)job->user;
	argv[a] = NULL;
	rc = run(argv, tmp, err, sizeof(err));
	fd = rc == 0 ? open(out, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	/* the bytes live on in fd; nothing is left on disk either way */
	unlink(out);
	rm_dir(tmp);
	if (rc != 0 || fd < 0) {
		const char *m = rc < 0 ? strerror(-rc) : rc == 0 ?
				"the package was not found after the export" :
				message(err);

		/* the service's refusal ("the dock refused to record ...") */
		send_error(CONN_FD, strstr(m, " refused ") ? "denied" : "error", m);
		_exit(1);
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > QPACKAGE_MAX) {
		send_error(CONN_FD, "too-large", "the package is larger than the "
			   "console sends (export it on the dock with custody export)");
		_exit(1);
	}
	snprintf(out, sizeof(out), "%s.tar", bag);
	rc = send_reply(CONN_FD, json_pack("{s:b, s:s, s:s, s:{s:s, s:s, s:I}}",
					   "ok", 1, "op", "export-package", "user",
					   job->user, "result", "item", job->item,
					   "name", out, "size", (json_int_t)st.st_size),
			fd);
	_exit(rc ? 1 : 0);
}

pid_t qpackage_start(const struct qpackage_job *job, int conn_fd)
{
	pid_t pid;
	int fl;

	if (!job || !job->custody_bin || !job->config_path || !job->socket_path ||
	    conn_fd < 0)
		return -EINVAL;
	pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	/* the handler: only the connection (on CONN_FD) and stdio; nothing
	 * of the service (ledger, listener, epoll) stays open */
	if ((conn_fd != CONN_FD && dup2(conn_fd, CONN_FD) < 0) ||
	    close_range(CONN_FD + 1, ~0u, 0) < 0)
		_exit(1);
	fl = fcntl(CONN_FD, F_GETFL);
	if (fl < 0 || fcntl(CONN_FD, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    fcntl(CONN_FD, F_SETFD, FD_CLOEXEC) < 0)
		_exit(1);
	handler(job);
	_exit(1);
}

/* 1 if uid is the console account (by name, as qrequest names peers). */
static int is_account(uid_t uid, const char *account)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	return account && account[0] &&
	       getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res &&
	       !strcmp(res->pw_name, account);
}

int qpackage_spawn(struct qpackage_pool *pool, const struct qpackage_job *job,
		   int conn_fd, long now_ms)
{
	int slot = -1;
	pid_t pid;

	for (int i = 0; i < QPACKAGE_RUNNING && slot < 0; i++)
		if (pool->pid[i] <= 0)
			slot = i;
	if (slot < 0)
		return -EBUSY;
	pid = qpackage_start(job, conn_fd);
	if (pid < 0)
		return pid;
	pool->pid[slot] = pid;
	pool->deadline_ms[slot] = now_ms + (QPACKAGE_SECONDS + 60) * 1000L;
	pool->running++;
	return 0;
}

int qpackage_request(struct qpackage_pool *pool, struct qpackage_job *job,
		     const char *console_account, uid_t uid, const char *req,
		     size_t len, int conn_fd, long now_ms)
{
	json_t *r;
	int rc = 0;

	if (!pool || !job || !is_account(uid, console_account))
		return 0;
	r = json_loadb(req, len, JSON_REJECT_DUPLICATES, NULL);
	if (!r || !qpackage_parse(r, job))
		goto out;
	rc = pool->launch ? pool->launch(pool->launch_ctx, job, conn_fd) :
	     qpackage_spawn(pool, job, conn_fd, now_ms);
	if (rc == 0)
		rc = 1;
out:
	json_decref(r);		/* the handler has its own copy (fork) */
	return rc;
}

void qpackage_reap(struct qpackage_pool *pool, long now_ms)
{
	for (int i = 0; pool && i < QPACKAGE_RUNNING; i++) {
		if (pool->pid[i] <= 0)
			continue;
		if (waitpid(pool->pid[i], NULL, WNOHANG) == pool->pid[i]) {
			pool->pid[i] = 0;
			pool->running--;
		} else if (now_ms > pool->deadline_ms[i]) {
			kill(pool->pid[i], SIGKILL);
		}
	}
}
