#ifndef CONSOLE_TLS_H
#define CONSOLE_TLS_H
/*
 * tls: HTTPS for the console with OpenSSL 3 in front of libmicrohttpd
 * (docs/console.md "TLS: why OpenSSL in front of libmicrohttpd").
 *
 * libmicrohttpd's own TLS is GnuTLS; the project's rule is OpenSSL 3 for
 * all cryptography (one FIPS provider, one audit). So the console accepts
 * TCP itself, completes the TLS handshake with OpenSSL (TLS 1.2 minimum,
 * AES-GCM suites only for 1.2, no renegotiation, no compression), and
 * hands libmicrohttpd one end of a socketpair (MHD_add_connection, with
 * the browser's real address); a relay thread per connection moves the
 * plaintext between the TLS session and the pair. Plain HTTP on the port
 * fails the handshake and the connection is closed: there is no HTTP.
 *
 * At most TLS_MAX_CONN connections at once (beyond that new ones are
 * closed at once); a connection idle for TLS_IDLE_MS, or a handshake not
 * finished in TLS_HANDSHAKE_MS, is closed.
 */
#include <microhttpd.h>

#define TLS_MAX_CONN 64
#define TLS_IDLE_MS 60000
#define TLS_HANDSHAKE_MS 10000

struct tls_server;

/* Load cert (PEM chain) and key (PEM), listen on addr ("HOST:PORT",
 * "[V6]:PORT"). 0, or -errno with a message in err. */
int tls_open(const char *addr, const char *cert, const char *key,
	     struct MHD_Daemon *mhd, struct tls_server **out, char *err,
	     size_t errlen);
/* The port actually bound (for "PORT 0" in tests). */
int tls_port(const struct tls_server *s);
/* Accept until *stop (checked at least every 500 ms). */
void tls_run(struct tls_server *s, volatile int *stop);
void tls_close(struct tls_server *s);

#endif
