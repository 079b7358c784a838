/*
 * witness.c - `custody witness`: a C2SP tlog-witness over HTTP
 * (libmicrohttpd), and `custody witness keygen` for its key.
 *
 *   custody witness --listen HOST:PORT --state DIR --key WITNESS.key
 *                   --name NAME --log 'ORIGIN VKEY' [--log ...]
 *   custody witness keygen --key WITNESS.key --vkey WITNESS.vkey --name NAME
 *
 * Serves POST /add-checkpoint and GET /<hex SHA-256(origin)>/checkpoint
 * in plain HTTP: a cosignature is checked by signature, not by the
 * channel, so TLS adds privacy only; put a TLS reverse proxy in front
 * when that is wanted (docs/witness.md says why not in-process).
 * The witness logic and state are custody/witness.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cmd.h"
#include "cosig.h"
#include "keyspec.h"
#include "witness.h"

#define MAX_LOG_ARGS (WITNESS_MAX_LOGS * WITNESS_MAX_LOGKEYS)

struct upload {
	char *buf;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
				  const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	if (u) {
		free(u->buf);
		free(u);
		*con_cls = NULL;
	}
}

static enum MHD_Result get_checkpoint(struct witness *w,
				      struct MHD_Connection *c, const char *url)
{
	char hex[65];
	size_t len = 0;
	char *note = NULL;
	enum MHD_Result ret;

	/* "/" 64 hex "/checkpoint" */
	if (strlen(url) != 1 + 64 + 11 || strcmp(url + 65, "/checkpoint"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	memcpy(hex, url + 1, 64);
	hex[64] = '\0';
	if (witness_get_checkpoint(w, hex, &note, &len))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "no checkpoint\n");
	ret = reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", note, len);
	free(note);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct witness *w = cls;
	struct upload *u = *con_cls;
	char resp[WITNESS_MAX_RESP], why[WITNESS_MAX_RESP - 8];
	const char *ctype, *cl;
	int status;

	if (!strcmp(method, "GET") && !u)
		return get_checkpoint(w, c, url);
	if (strcmp(method, "POST") || strcmp(url, "/add-checkpoint"))
		return reply_text(c, strcmp(method, "POST") ?
				  MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
				  "only POST /add-checkpoint and GET "
				  "/<origin hash>/checkpoint\n");
	if (!u) {
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > WITNESS_MAX_BODY)
			return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
					  "request body too large\n");
		if (!(u = calloc(1, sizeof(*u))) ||
		    !(u->buf = malloc(WITNESS_MAX_BODY + 1))) {
			free(u);
			return MHD_NO;
		}
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		if (*data_size > WITNESS_MAX_BODY - u->len) {
			/* no Content-Length (chunked) and over the cap: MHD
			 * cannot answer mid-upload, so close without reading
			 * the rest rather than swallow an endless body */
			fprintf(stderr, "custody witness: add-checkpoint body over "
				"%d bytes: connection closed\n", WITNESS_MAX_BODY);
			return MHD_NO;
		}
		memcpy(u->buf + u->len, data, *data_size);
		u->len += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	why[0] = '\0';
	status = witness_add_checkpoint(w, u->buf, u->len, resp, sizeof(resp),
					&ctype, why, sizeof(why));
	fprintf(stderr, "custody witness: add-checkpoint %d%s%s\n", status,
		why[0] ? ": " : "", why);
	if (status != 200 && status != 409) {
		snprintf(resp, sizeof(resp), "%s\n", why[0] ? why : "refused");
		ctype = "text/plain; charset=utf-8";
	}
	return reply(c, (unsigned)status, ctype, resp, strlen(resp));
}

/* "HOST:PORT" or "[V6]:PORT" into ss. */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			int *v6)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	char *end;
	size_t n;

	if (!colon || colon == s)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port > 65535)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*v6 = 1;
		return 0;
	}
	return -EINVAL;
}

static int keygen(int argc, char **argv)
{
	return cmd_vkey_keygen(argc, argv, 2, NULL, true, "witness keygen",
			       "usage: custody witness keygen --key WITNESS.key "
			       "--vkey WITNESS.vkey --name NAME");
}

struct opts {
	const char *listen, *state, *key, *name;
	const char *logs[MAX_LOG_ARGS];
	size_t n_logs;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], **dst = NULL;

		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(a, "--listen")) dst = &o->listen;
		else if (!strcmp(a, "--state")) dst = &o->state;
		else if (!strcmp(a, "--key")) dst = &o->key;
		else if (!strcmp(a, "--name")) dst = &o->name;
		else if (!strcmp(a, "--log") && o->n_logs < MAX_LOG_ARGS)
			dst = &o->logs[o->n_logs++];
		if (!dst)
			return -EINVAL;
		*dst = argv[i + 1];
	}
	return o->listen && o->state && o->key && o->name && o->n_logs ?
		0 : -EINVAL;
}

static int serve(struct witness *w, const struct opts *o)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	char vk[CKPT_MAX_VKEY];
	sigset_t set;
	int v6 = 0, sig = 0;

	if (parse_listen(o->listen, &ss, &v6)) {
		cmd_err("--listen %s: want IPv4:PORT or [IPv6]:PORT", o->listen);
		return CMD_ERROR;
	}
	/* the server thread inherits the mask: signals come to sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* One polling thread: requests are handled one at a time, slow
	 * clients cost a connection slot until the timeout, not the thread. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			     (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, handler, w,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
			     MHD_OPTION_NOTIFY_COMPLETED, done_cb, NULL,
			     MHD_OPTION_END);
	if (!d) {
		cmd_err("cannot listen on %s: %s", o->listen, strerror(errno));
		return CMD_ERROR;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	witness_vkey(w, vk, sizeof(vk));
	printf("witness %s listening on %s port %u\nvkey %s\n", o->name,
	       o->listen, info ? (unsigned)info->port : 0u, vk);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	fprintf(stderr, "custody witness: stopped (signal %d)\n", sig);
	return CMD_OK;
}

int cmd_witness(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct witness *w = NULL;
	struct edkey *k = NULL;
	struct opts o;
	char err[512];
	int r, rc = CMD_ERROR;

	if (argc > 1 && !strcmp(argv[1], "keygen"))
		return keygen(argc, argv);
	if (parse_opts(argc, argv, &o)) {
		cmd_err("usage: custody witness --listen HOST:PORT --state DIR "
			"--key WITNESS.key --name NAME --log 'ORIGIN VKEY' "
			"[--log ...]\n       custody witness keygen --key F "
			"--vkey F --name NAME");
		return CMD_ERROR;
	}
	if ((r = keyspec_open(o.key, "witness key", &k, err, sizeof(err)))) {
		cmd_err("%s", err);	/* a PEM file or a PKCS#11 URI */
		return CMD_ERROR;
	}
	if (witness_new(o.name, k, o.state, &w, err, sizeof(err)))
		goto fail;
	for (size_t i = 0; i < o.n_logs; i++)
		if (witness_add_log(w, o.logs[i], err, sizeof(err)))
			goto fail;
	if (witness_load(w, err, sizeof(err)))
		goto fail;
	rc = serve(w, &o);
	goto out;
fail:
	cmd_err("witness: %s", err);
out:
	witness_free(w);
	edkey_free(k);
	return rc;
}
