/* statelock.c - one dockd per state directory; see statelock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statelock.h"

/* The holder's pid, written after locking, only for the message. */
static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int statelock_take(const char *state_dir, const char *config, int *fd, char *err,
		   size_t errlen)
{
	char path[600], pid[32];
	struct stat st;
	int lfd, n, e;

	if (!state_dir || !fd)
		return -EINVAL;
	e = stat(state_dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (e) {
		snprintf(err, errlen, "%s: [dock] state_dir %s: %s: refusing to start; fix: "
			 "create it for the account that runs dockd (install -d -m 0700 -o "
			 "evidence-dock %s; the Debian package does this) or correct state_dir",
			 config, state_dir, strerror(e), state_dir);
		return -e;
	}
	n = snprintf(path, sizeof(path), "%s/%s", state_dir, STATELOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: [dock] state_dir: path too long", config);
		return -ENAMETOOLONG;
	}
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: lock file: %s: refusing to start; fix: the account "
			 "that runs dockd must own [dock] state_dir %s (chown -R it)", path,
			 strerror(e), state_dir);
		return -e;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		long holder = read_pid(lfd);

		e = errno;
		close(lfd);
		if (e == EWOULDBLOCK) {
			snprintf(err, errlen, "%s: another dockd (pid %ld) is already running on "
				 "state_dir %s: refusing to start, nothing touched; fix: use that "
				 "daemon (systemctl status evidence-dockd), or stop it first",
				 path, holder, state_dir);
			return -EBUSY;
		}
		snprintf(err, errlen, "%s: lock: %s", path, strerror(e));
		return -e;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) < 0 || pwrite(lfd, pid, (size_t)n, 0) != n) {
		e = errno ? errno : EIO;
		close(lfd);
		snprintf(err, errlen, "%s: cannot write the lock file: %s", path, strerror(e));
		return -e;
	}
	*fd = lfd;
	return 0;
}
