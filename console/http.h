#ifndef CONSOLE_HTTP_H
#define CONSOLE_HTTP_H
/*
 * http: the console's HTTP layer on libmicrohttpd (plaintext inside the
 * TLS relay of tls.h; libmicrohttpd never listens itself). Routes, the
 * login, sessions and CSRF checks, security headers on every response,
 * and the console events (docs/console.md).
 *
 *   GET  /login, POST /login      PAM password + TOTP code
 *   POST /logout
 *   GET  /search?...              search form and results
 *   GET  /item?id=&reason=        item page (timeline, state, actions)
 *   POST /item                    an action (categorize, case, hold,
 *                                 destroy request/approve)
 *   GET  /report?id=&reason=      printable chain-of-custody report
 *   POST /export                  the item's court package (download)
 *   GET  /audit?action=&reason=   auditors' access log (access-events)
 *   GET  /static/console.css
 */
#include <microhttpd.h>

#include "svc.h"

struct console_cfg {
	struct svc svc;
	const char *pam_service;	/* [console] pam_service */
	const char *totp_file;		/* [console] totp_file */
};

/* Start libmicrohttpd without a listening socket (connections come from
 * tls.c through MHD_add_connection). cfg must outlive the daemon. */
struct MHD_Daemon *http_start(const struct console_cfg *cfg);

#endif
