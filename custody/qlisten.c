/* qlisten: the query service's socket file - bind it (replacing only a
 * stale socket, never another kind of file), set its mode and group, and
 * remove it only while it is still ours. See qservice.h; the service
 * itself is qservice.c. */
#define _GNU_SOURCE
#include "qservice.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Bind the listening socket at path, replacing a stale socket file but
 * never any other kind of file. */
int qservice_listen(const struct qservice_config *cfg, struct qservice_listener *out)
{
	struct sockaddr_un sa;
	struct stat st;
	size_t plen;
	int fd, rc;

	if (!cfg || !cfg->socket_path || !out)
		return -EINVAL;
	plen = strlen(cfg->socket_path);
	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (lstat(cfg->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(cfg->socket_path) < 0)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, cfg->socket_path, plen + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	/* Between bind and chmod the file has umask permissions: harmless,
	 * since the mode only limits who may connect, not who they are. */
	if (chmod(cfg->socket_path, cfg->socket_mode & 07777) < 0)
		goto fail_unlink;
	if (cfg->socket_gid != (gid_t)-1 &&
	    chown(cfg->socket_path, (uid_t)-1, cfg->socket_gid) < 0)
		goto fail_unlink;
	if (lstat(cfg->socket_path, &st) < 0 || listen(fd, 64) < 0)
		goto fail_unlink;
	out->fd = fd;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
fail_unlink:
	rc = -errno;
	unlink(cfg->socket_path);
	close(fd);
	return rc;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

void qservice_unlisten(struct qservice_listener *l, const char *path)
{
	struct stat st;

	if (!l || l->fd < 0)
		return;
	/* Remove the socket only if it is still ours. */
	if (path && lstat(path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(path);
	close(l->fd);
	l->fd = -1;
}
