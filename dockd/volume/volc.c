/* volc.c - the daemon's side of the volume reader worker (see volc.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "volc.h"
#include "volkern.h"
#include "volmsg.h"
#include "volw.h"

struct volc {
	pid_t pid;      /* the supervisor (volmount.c), leader of its process group */
	int chan;
	int timeout_ms;
	int dead;
	uint32_t files;
	char why[1200];
	uint8_t buf[LINKMSG_MAX];
};

/* what: the reason; arg: a detail appended (may be cut short) */
static void stop(struct volc *v, const char *what, const char *arg)
{
	if (!v->dead) {
		int n = snprintf(v->why, sizeof(v->why), "%s%s", what, arg);
		(void)n;
		/* the supervisor kills its worker on SIGTERM and still unmounts
		 * and removes its mount point; volc_close kills the whole group
		 * if it does not exit in time */
		shutdown(v->chan, SHUT_RDWR);
		kill(v->pid, SIGTERM);
		v->dead = 1;
	}
}

int volc_open(const char *fs, const char *source, int timeout_ms, struct volc **out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *argv[] = { "dockd", "--volume-mount", (char *)fs, (char *)source, NULL };
	char *envp[5] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL, NULL };
#ifdef LINK_ATTACK_TESTS
	/* test build: pass the attack on (volw_attack.c) */
	char a1[128], a2[600];
	const char *av = getenv("VOL_ATTACK");

	if (av) {
		snprintf(a1, sizeof(a1), "VOL_ATTACK=%s", av);
		av = getenv("VOL_ATTACK_ARG");
		snprintf(a2, sizeof(a2), "VOL_ATTACK_ARG=%s", av ? av : "");
		envp[1] = a1;
		envp[2] = a2;
	}
#endif
	struct volc *v;
	int sv[2];
	pid_t pid;

	const char *base = !strncmp(fs, "rw:", 3) ? fs + 3 : fs;
	if (volk_env()) /* [dock] volume_driver = kernel (volkern.h) */
		envp[envp[1] ? 3 : 1] = (char *)volk_env();

	if (n <= 0 || (strcmp(base, "auto") && strcmp(base, "vfat") && strcmp(base, "exfat") &&
		       strcmp(base, "dir")))
		return -EINVAL;
	exe[n] = '\0';
	if (!(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(v);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		int ch = fcntl(sv[1], F_DUPFD, 16);

		if (ch < 0 || dup2(ch, VOLW_FD_CHAN) < 0)
			_exit(126);
		syscall(SYS_close_range, VOLW_FD_CHAN + 1, ~0U, 0);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(exe, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		free(v);
		return -EAGAIN;
	}
	setpgid(pid, pid);
	v->pid = pid;
	v->chan = sv[0];
	v->timeout_ms = timeout_ms;
	*out = v;
	return 0;
}

const char *volc_why(const struct volc *v)
{
	return v->why;
}

static int io_full(struct volc *v, uint8_t *p, size_t n, int writing)
{
	while (n) {
		ssize_t g;
		struct pollfd pf = { v->chan, writing ? POLLOUT : POLLIN, 0 };
		int pr = poll(&pf, 1, v->timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			stop(v, "volume worker silent past the timeout", writing ? " (writing)" : " (reading)");
			return -ECONNABORTED;
		}
		g = writing ? send(v->chan, p, n, MSG_NOSIGNAL) : read(v->chan, p, n);
		if (g < 0 && errno == EINTR)
			continue;
		if (g <= 0) {
			stop(v, "volume worker closed its channel (it exited or died)", "");
			return -ECONNABORTED;
		}
		p += g;
		n -= (size_t)g;
	}
	return 0;
}

static int send_msg(struct volc *v, const struct volmsg *m)
{
	uint8_t b[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];
	size_t len;
	int r;

	if (v->dead)
		return -ECONNABORTED;
	if ((r = volmsg_encode(m, b, sizeof(b), &len)) < 0)
		return r;
	return io_full(v, b, len, 1);
}

static int recv_msg(struct volc *v, struct volmsg *m)
{
	struct linkmsg_hdr h;
	int r;

	if (v->dead)
		return -ECONNABORTED;
	if ((r = io_full(v, v->buf, LINKMSG_HDR_LEN, 0)) < 0)
		return r;
	if (volmsg_hdr_decode(v->buf, &h) < 0 ||
	    (h.type != VM_DATA && h.type != VM_FILE && h.type != VM_SKIP &&
	     h.type != VM_LIST_DONE && h.type != VM_READ_DONE && h.type != VM_DELETE_DONE)) {
		stop(v, "volume worker sent a ", "malformed or daemon-side header");
		return -ECONNABORTED;
	}
	if ((r = io_full(v, v->buf + LINKMSG_HDR_LEN, h.length, 0)) < 0)
		return r;
	if (volmsg_decode(&h, v->buf + LINKMSG_HDR_LEN, m) < 0) {
		stop(v, "volume worker sent a malformed ", "volmsg message");
		return -ECONNABORTED;
	}
	return 0;
}

int volc_list(struct volc *v, const struct msc_profile *p, volc_file_fn on_file,
	      volc_skip_fn on_skip, void *ctx)
{
	struct volmsg m;
	uint32_t next = 0;
	int r, cb = 0;

	volmsg_list_from_profile(p, &m);
	if ((r = send_msg(v, &m)) < 0)
		return r;
	for (;;) {
		if ((r = recv_msg(v, &m)) < 0)
			return r;
		if (m.type == VM_LIST_DONE) {
			if (m.u.done.files != next) {
				stop(v, "volume worker's file count ", "disagrees with its listing");
				return -ECONNABORTED;
			}
			v->files = next;
			return cb < 0 ? cb : m.u.done.result;
		}
		if (m.type == VM_SKIP) {
			if (on_skip)
				on_skip(ctx, volmsg_skip_name(m.u.skip.why), m.u.skip.path);
			continue;
		}
		if (m.type != VM_FILE) {
			stop(v, "volume worker sent ", "an unexpected message during a listing");
			return -ECONNABORTED;
		}
		/* checked again here: numbered in order, capped, and inside the
		 * profile with the kind the worker says */
		if (m.u.file.index != next || next >= p->max_files ||
		    profile_match(p, m.u.file.path) != (enum profile_kind)m.u.file.kind) {
			stop(v, "volume worker listed a file outside the profile or out of order: ",
			     m.u.file.path);
			return -ECONNABORTED;
		}
		next++;
		if (cb == 0) {
			struct volc_file f = { m.u.file.index, (enum profile_kind)m.u.file.kind,
					       m.u.file.size, m.u.file.mtime_s, m.u.file.path };
			cb = on_file(ctx, &f);
		}
	}
}

int volc_read(struct volc *v, uint32_t index, uint64_t off, uint64_t len, int uncached,
	      volc_sink_fn sink, void *ctx)
{
	struct volmsg m = { .type = VM_READ };
	uint64_t pos = off;
	int r, cb = 0;

	if (index >= v->files)
		return -ENOENT;
	m.u.read.index = index;
	m.u.read.offset = off;
	m.u.read.length = len;
	m.u.read.uncached = uncached ? 1 : 0;
	if ((r = send_msg(v, &m)) < 0)
		return r;
	for (;;) {
		if ((r = recv_msg(v, &m)) < 0)
			return r;
		if (m.type == VM_READ_DONE) {
			if (m.u.result == 0 && pos != off + len) {
				stop(v, "volume worker ended a read ", "short without an error");
				return -ECONNABORTED;
			}
			return cb ? cb : m.u.result;
		}
		if (m.type != VM_DATA || m.u.data.offset != pos || m.u.data.len == 0 ||
		    m.u.data.len > off + len - pos) {
			stop(v, "volume worker sent data ", "out of order or past the end");
			return -ECONNABORTED;
		}
		if (cb == 0)
			cb = sink(ctx, m.u.data.data, m.u.data.len);
		pos += m.u.data.len;
	}
}

int volc_delete(struct volc *v, uint32_t index)
{
	struct volmsg m = { .type = VM_DELETE };
	int r;

	if (index >= v->files)
		return -ENOENT;
	m.u.read.index = index;
	if ((r = send_msg(v, &m)) < 0 || (r = recv_msg(v, &m)) < 0)
		return r;
	if (m.type != VM_DELETE_DONE) {
		stop(v, "volume worker sent ", "an unexpected message for a deletion");
		return -ECONNABORTED;
	}
	return m.u.result;
}

int volc_close(struct volc *v)
{
	struct volmsg m = { .type = VM_BYE };
	int st = 0, rc = -1;

	if (!v)
		return 0;
	if (!v->dead)
		(void)send_msg(v, &m);
	close(v->chan);
	/* bounded: the supervisor unmounts and stops its driver */
	for (int i = 0; i < 200; i++) {
		pid_t p = waitpid(v->pid, &st, WNOHANG);
		if (p == v->pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (p < 0 && errno != EINTR)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (rc == -1) {
		kill(-v->pid, SIGKILL);
		kill(v->pid, SIGKILL);
		(void)waitpid(v->pid, &st, 0);
	}
	free(v);
	return rc;
}
