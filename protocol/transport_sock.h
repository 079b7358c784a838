/* transport_sock.h - the transport (transport.h) over a connected stream
 * socket: how simulated cameras "dock" over a Unix socket, and how camsim
 * talks over an inherited fd (the USB harness bridges bulk transfers to it).
 *
 * Every call waits with poll() against a deadline of timeout_ms for the
 * whole call (a negative timeout waits forever, 0 does not wait). Results
 * follow transport.h: -ETIMEDOUT, -ECONNRESET (peer closed: EOF, EPIPE,
 * ECONNRESET), -EIO or another -errno. SIGPIPE is never raised
 * (MSG_NOSIGNAL). Out-parameters are untouched on failure.
 *
 * Dock side:
 *	int lfd;
 *	transport_sock_listen("/run/dock/cam.sock", &lfd);
 *	struct transport *t;
 *	if (transport_sock_accept(lfd, 1000, &t) == 0) { ...; transport_close(t); }
 *	transport_sock_listen_close(lfd, "/run/dock/cam.sock");
 */
#ifndef DOCK_TRANSPORT_SOCK_H
#define DOCK_TRANSPORT_SOCK_H

#include "transport.h"

/* Connect to the Unix stream socket at path (max 107 bytes). */
int transport_sock_connect(const char *path, struct transport **out);

/* Wrap a connected stream socket. The transport owns fd from now on: it is
 * closed by transport_close(), or right here when this call fails. */
int transport_sock_from_fd(int fd, struct transport **out);

/* Create a listening Unix stream socket at path with mode 0660 (the file is
 * chmod'ed before listen(), so nobody can connect through wider
 * permissions). A stale socket left at path is replaced; any other kind of
 * file there is refused with -EEXIST. *lfd_out is close-on-exec and
 * non-blocking (poll it in an event loop). */
int transport_sock_listen(const char *path, int *lfd_out);

/* Accept one connection on lfd within timeout_ms (-ETIMEDOUT otherwise). The
 * transport's peer string names the peer's pid/uid (SO_PEERCRED). */
int transport_sock_accept(int lfd, int timeout_ms, struct transport **out);

/* The stream fd of a transport made here (still owned by t), or -EINVAL
 * for any other transport: dockd hands it to its camera-link worker. */
int transport_sock_fd(const struct transport *t);

/* Close a listening socket and remove its path (path may be NULL). */
void transport_sock_listen_close(int lfd, const char *path);

#endif
