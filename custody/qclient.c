/* qclient: one request/reply exchange with the query service. */
#include "qclient.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qrequest.h"
#include "qservice.h"
#include "qstatus.h"
#include "query.h"

int qclient_should_use(const char *socket_opt, const char *config_socket,
		       const char *ledger_path)
{
	if (socket_opt && *socket_opt)
		return 1;
	if (!config_socket || !*config_socket)
		return 0;
	return !ledger_path || !*ledger_path || access(ledger_path, R_OK) != 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for fd to become ready for events until deadline. */
static int wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const char *buf, size_t len, long deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* Read until EOF into a growing buffer capped at the service's limit. */
static int recv_all(int fd, char **out, size_t *outlen, long deadline)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap), *nb;
	int rc;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= QSERVICE_REPLY_MAX + 1) {
				rc = -EMSGSIZE;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			goto fail;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc)
			goto fail;
	}
	*out = buf;
	*outlen = len;
	return 0;
fail:
	free(buf);
	return rc;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa;
	size_t plen = strlen(path);
	int fd, rc;

	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int qclient_call_raw(const char *socket_path, const char *req, size_t len,
		     int timeout_ms, char **reply, size_t *reply_len)
{
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms :
				    QCLIENT_DEFAULT_TIMEOUT_MS);
	int fd, rc;

	if (!socket_path || (!req && len) || !reply || !reply_len)
		return -EINVAL;
	fd = connect_to(socket_path);
	if (fd < 0)
		return fd;
	rc = send_all(fd, req, len, deadline);
	/* The service may answer (too-large) and close before we are done
	 * sending: its reply still counts. */
	if (rc == -EPIPE || rc == -ECONNRESET)
		rc = 0;
	if (!rc) {
		shutdown(fd, SHUT_WR);
		rc = recv_all(fd, reply, reply_len, deadline);
	}
	close(fd);
	return rc;
}

int qclient_call(const char *socket_path, const json_t *request,
		 int timeout_ms, json_t **reply)
{
	char *req = NULL, *resp = NULL;
	size_t reqlen, resplen = 0;
	json_error_t jerr;
	json_t *r;
	int rc;

	if (!socket_path || !json_is_object(request) || !reply)
		return -EINVAL;
	req = json_dumps(request, JSON_COMPACT);
	if (!req)
		return -ENOMEM;
	reqlen = strlen(req);
	if (reqlen + 1 > QREQ_MAX) {
		rc = -EMSGSIZE;
		goto out;
	}
	req[reqlen++] = '\n';	/* replaces the NUL; length is explicit */
	rc = qclient_call_raw(socket_path, req, reqlen, timeout_ms, &resp,
			      &resplen);
	if (rc)
		goto out;
	r = json_loadb(resp, resplen, 0, &jerr);
	if (!json_is_object(r)) {
		json_decref(r);
		rc = -EBADMSG;
		goto out;
	}
	*reply = r;
out:
	free(req);
	free(resp);
	return rc;
}

#define FD_REPLY_MAX 65536	/* the export-package reply is one short line */

int qclient_call_fd(const char *socket_path, const json_t *request,
		    int timeout_ms, json_t **reply, int *fd_out)
{
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms :
				    QCLIENT_DEFAULT_TIMEOUT_MS);
	char *req = NULL, *buf = NULL;
	size_t reqlen, len = 0;
	int fd = -1, got = -1, rc;
	json_t *r;

	if (!socket_path || !json_is_object(request) || !reply || !fd_out)
		return -EINVAL;
	req = json_dumps(request, JSON_COMPACT);
	buf = malloc(FD_REPLY_MAX);
	if (!req || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	reqlen = strlen(req);
	if (reqlen + 1 > QREQ_MAX) {
		rc = -EMSGSIZE;
		goto out;
	}
	req[reqlen++] = '\n';
	fd = connect_to(socket_path);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = send_all(fd, req, reqlen, deadline);
	if (rc == -EPIPE || rc == -ECONNRESET)
		rc = 0;
	if (rc)
		goto out;
	shutdown(fd, SHUT_WR);
	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov = { buf + len, FD_REPLY_MAX - len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		ssize_t n;

		if (len == FD_REPLY_MAX) {
			rc = -EMSGSIZE;
			goto out;
		}
		n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((rc = wait_fd(fd, POLLIN, deadline)))
				goto out;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		/* keep the first descriptor received; close any other */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			size_t k;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int x;

				memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (got < 0)
					got = x;
				else
					close(x);
			}
		}
		if (m.msg_flags & MSG_CTRUNC) {
			rc = -EPROTO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = json_loadb(buf, len, 0, NULL);
	if (!json_is_object(r)) {
		json_decref(r);
		rc = -EBADMSG;
		goto out;
	}
	/* a descriptor only with an ok reply */
	if (json_is_true(json_object_get(r, "ok")) != (got >= 0)) {
		json_decref(r);
		rc = -EPROTO;
		goto out;
	}
	*reply = r;
	*fd_out = got;
	got = -1;
out:
	if (got >= 0)
		close(got);
	if (fd >= 0)
		close(fd);
	free(req);
	free(buf);
	return rc;
}

static int print_users(const json_t *res, FILE *out)
{
	const json_t *u;
	size_t i;

	fprintf(out, "%-24s %-11s %-16s %s\n", "USER", "ROLE", "AGENCY",
		"CHANGED");
	json_array_foreach(json_object_get(res, "users"), i, u) {
		char when[64];	/* the one form of times (query.h) */
		if (cust_format_time_text(json_string_value(json_object_get(u, "changed")),
					  when, sizeof(when)))
			snprintf(when, sizeof(when), "?");
		fprintf(out, "%-24s %-11s %-16s %s (seq %lld)\n",
			json_string_value(json_object_get(u, "user")),
			json_string_value(json_object_get(u, "role")),
			json_string_value(json_object_get(u, "agency")), when,
			(long long)json_integer_value(
				json_object_get(u, "changed_seq")));
	}
	return 0;
}

/* A metadata edit: its events, then the item's category, cases, hold and
 * retention as they now stand. */
static int print_edit(const json_t *res, FILE *out)
{
	const json_t *rec = json_object_get(res, "record"), *ev, *c;
	size_t i;

	fprintf(out, "%s:", json_string_value(json_object_get(res, "item")));
	json_array_foreach(json_object_get(res, "events"), i, ev)
		fprintf(out, "%s %s (event %lld)", i ? "," : "",
			json_string_value(json_object_get(ev, "action")),
			(long long)json_integer_value(json_object_get(ev, "seq")));
	fprintf(out, "\n  category %s, legal hold %s, retention until %s\n  cases:",
		json_string_value(json_object_get(rec, "category")) ?: "-",
		json_is_true(json_object_get(rec, "legal_hold")) ? "yes" : "no",
		json_string_value(json_object_get(rec, "retention_until")) ?: "-");
	json_array_foreach(json_object_get(rec, "cases"), i, c)
		fprintf(out, "%s \"%s\"", i ? "," : "", json_string_value(c));
	fprintf(out, "%s\n", json_array_size(json_object_get(rec, "cases")) ? "" : " none");
	return 0;
}

int qclient_print(const json_t *reply, const char *op, FILE *out,
		  int as_json)
{
	const json_t *res = json_object_get(reply, "result");
	const char *err = json_string_value(json_object_get(reply, "error"));
	const char *msg = json_string_value(json_object_get(reply, "message"));

	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "custody: %s\n", msg ? msg : err ? err :
			"the query service refused the request");
		return err && !strcmp(err, "denied") ? 1 : 2;
	}
	/* the same JSON layout as the local commands' --json */
	if (as_json || !op) {
		json_dumpf(res, out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', out);
		return 0;
	}
	if (!strcmp(op, "history"))
		return cust_format_history(res, out) < 0 ? 2 : 0;
	if (!strcmp(op, "search"))
		return cust_format_search(res, out) < 0 ? 2 : 0;
	if (!strcmp(op, "access-events"))
		return cust_format_events(res, out) < 0 ? 2 : 0;
	if (!strcmp(op, "user-list"))
		return print_users(res, out);
	if (!strcmp(op, "status"))
		return qstatus_format(res, out) < 0 ? 2 : 0;
	if (!strcmp(op, "categorize") || !strcmp(op, "hold") ||
	    !strcmp(op, "case") || !strcmp(op, "annotate"))
		return print_edit(res, out);
	if (!strcmp(op, "user-admin")) {
		fprintf(out, "user %s %s: recorded as event %lld\n",
			json_string_value(json_object_get(res, "action")),
			json_string_value(json_object_get(res, "user")),
			(long long)json_integer_value(
				json_object_get(reply, "audit_seq")));
		return 0;
	}
	json_dumpf(res, out, JSON_INDENT(2));
	fputc('\n', out);
	return 0;
}
