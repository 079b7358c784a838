/* tls: OpenSSL TLS in front of libmicrohttpd. See tls.h. */
#define _GNU_SOURCE
#include "tls.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RELAY_BUF 16384

struct tls_server {
	int lfd;
	int port;
	SSL_CTX *ctx;
	struct MHD_Daemon *mhd;
	atomic_int conns;
};

struct relay {
	struct tls_server *srv;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

static int split_addr(const char *addr, char *host, size_t hcap,
		      char *port, size_t pcap)
{
	const char *colon;
	size_t hl;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - addr - 1);
		addr++;
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hcap || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= pcap)
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return 0;
}

static int listen_on(const char *addr, int *port_out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[16];
	int fd, one = 1, rc;

	if (split_addr(addr, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -EADDRNOTAVAIL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	*port_out = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	freeaddrinfo(res);
	return fd;
fail:
	freeaddrinfo(res);
	return rc;
}

int tls_open(const char *addr, const char *cert, const char *key,
	     struct MHD_Daemon *mhd, struct tls_server **out, char *err,
	     size_t errlen)
{
	struct tls_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->lfd = -1;
	s->mhd = mhd;
	s->ctx = SSL_CTX_new(TLS_server_method());
	if (!s->ctx || !SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(s->ctx, "ECDHE+AESGCM:!aNULL:!SHA1") ||
	    !SSL_CTX_set_ciphersuites(s->ctx, "TLS_AES_256_GCM_SHA384:"
				      "TLS_AES_128_GCM_SHA256")) {
		snprintf(err, errlen, "OpenSSL TLS setup failed");
		rc = -EIO;
		goto fail;
	}
	SSL_CTX_set_options(s->ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1) {
		snprintf(err, errlen, "%s: cannot load the TLS certificate "
			 "(PEM chain; [console] cert)", cert);
		rc = -EINVAL;
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ctx) != 1) {
		snprintf(err, errlen, "%s: cannot load the TLS key or it does "
			 "not match %s ([console] key)", key, cert);
		rc = -EINVAL;
		goto fail;
	}
	rc = listen_on(addr, &s->port);
	if (rc < 0) {
		snprintf(err, errlen, "[console] listen = %s: %s", addr,
			 rc == -EINVAL ? "must be HOST:PORT or [V6]:PORT" :
			 strerror(-rc));
		goto fail;
	}
	s->lfd = rc;
	*out = s;
	return 0;
fail:
	ERR_clear_error();
	SSL_CTX_free(s->ctx);
	free(s);
	return rc;
}

int tls_port(const struct tls_server *s)
{
	return s->port;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Move bytes both ways until either side ends or the connection idles. */
static void pump(SSL *ssl, int tcp, int plain)
{
	char buf[RELAY_BUF];

	for (;;) {
		struct pollfd p[2] = { { tcp, POLLIN, 0 }, { plain, POLLIN, 0 } };
		int n;

		if (SSL_pending(ssl) > 0)
			p[0].revents = POLLIN;
		else if (poll(p, 2, TLS_IDLE_MS) <= 0)
			break;
		if (p[0].revents) {
			n = SSL_read(ssl, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (write_all(plain, buf, (size_t)n))
				break;
		}
		if (p[1].revents) {
			ssize_t r = read(plain, buf, sizeof(buf));

			if (r <= 0 || SSL_write(ssl, buf, (int)r) <= 0)
				break;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct timeval tv = { TLS_HANDSHAKE_MS / 1000, 0 };
	SSL *ssl = SSL_new(r->srv->ctx);
	int pair[2] = { -1, -1 };

	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!ssl || !SSL_set_fd(ssl, r->fd) || SSL_accept(ssl) != 1)
		goto out;		/* plain HTTP, old TLS, bad client */
	tv.tv_sec = TLS_IDLE_MS / 1000;
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		goto out;
	/* MHD owns pair[1] from here, even when it refuses it */
	if (MHD_add_connection(r->srv->mhd, pair[1], (struct sockaddr *)&r->peer,
			       r->peerlen) != MHD_YES) {
		pair[1] = -1;
		goto out;
	}
	pair[1] = -1;
	pump(ssl, r->fd, pair[0]);
	SSL_shutdown(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (pair[0] >= 0)
		close(pair[0]);
	if (pair[1] >= 0)
		close(pair[1]);
	close(r->fd);
	atomic_fetch_sub(&r->srv->conns, 1);
	free(r);
	return NULL;
}

void tls_run(struct tls_server *s, volatile int *stop)
{
	while (!*stop) {
		struct pollfd p = { s->lfd, POLLIN, 0 };
		struct relay *r;
		pthread_attr_t at;
		pthread_t th;

		if (poll(&p, 1, 500) <= 0)
			continue;
		r = calloc(1, sizeof(*r));
		if (!r)
			continue;
		r->srv = s;
		r->peerlen = sizeof(r->peer);
		r->fd = accept4(s->lfd, (struct sockaddr *)&r->peer, &r->peerlen,
				SOCK_CLOEXEC);
		if (r->fd < 0 || atomic_load(&s->conns) >= TLS_MAX_CONN) {
			if (r->fd >= 0)
				close(r->fd);
			free(r);
			continue;
		}
		atomic_fetch_add(&s->conns, 1);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, relay_main, r)) {
			atomic_fetch_sub(&s->conns, 1);
			close(r->fd);
			free(r);
		}
		pthread_attr_destroy(&at);
	}
}

void tls_close(struct tls_server *s)
{
	if (!s)
		return;
	if (s->lfd >= 0)
		close(s->lfd);
	SSL_CTX_free(s->ctx);
	free(s);
}
