#ifndef CONSOLE_HANDLERS_H
#define CONSOLE_HANDLERS_H
/*
 * handlers: the logged-in pages (search, item + actions, report), between
 * http.c (routing, session, CSRF already checked) and the query service.
 * Internal to the console. Each page is first a console event
 * (page_view, download); when its event cannot be written the page is
 * not served (503): nothing leaves without its record.
 */
#include <microhttpd.h>

#include "html.h"
#include "http.h"
#include "session.h"
#include "svc.h"

struct req;

/* From http.c. */
const char *http_field(const struct req *r, const char *name);
enum MHD_Result http_send(struct MHD_Connection *c, unsigned status,
			  struct hbuf *b, const char *content_type,
			  const char *cookie, const char *location);
enum MHD_Result http_error(struct MHD_Connection *c, unsigned status,
			   const struct csess *s, const char *title,
			   const char *msg);
enum MHD_Result http_redirect(struct MHD_Connection *c, const char *to,
			      const char *cookie);
const struct svc *http_svc(void);
/* The largest download the console sends (the service's reply cap). */
#define HTTP_DOWNLOAD_MAX (16u << 20)
enum MHD_Result http_send_download(struct MHD_Connection *c, char *body,
				   size_t len, const char *content_type,
				   const char *filename);
/* http_send with another Content-Security-Policy (NULL: the default). */
enum MHD_Result http_send_csp(struct MHD_Connection *c, unsigned status,
			      struct hbuf *b, const char *content_type,
			      const char *csp);
/* The security headers (csp NULL: the default policy) on a response. */
void http_headers(struct MHD_Response *resp, const char *csp);

/* The default policy allows no script at all; the dock page loads one
 * same-origin file (/static/dock.js) that opens /dock/events. Still no
 * inline script, no eval, nothing from elsewhere. */
#define CSP_DEFAULT "default-src 'none'; style-src 'self'; img-src 'self'; " \
		    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
#define CSP_DOCK CSP_DEFAULT "; script-src 'self'; connect-src 'self'"

/* The console's configuration and the security headers of every
 * response (http.c), for replies built outside http.c. */
const struct console_cfg *http_cfg(void);
/* The largest court package the console streams (from a file, never
 * copied into memory); larger ones are exported on the dock. */
#define HTTP_PACKAGE_MAX (4ull << 30)

enum MHD_Result handle_search(struct MHD_Connection *c, const struct csess *s,
			      const char *client);
/* r NULL: GET (show); else POST (an action, then show). */
enum MHD_Result handle_item(struct MHD_Connection *c, const struct csess *s,
			    const char *client, const struct req *r);
enum MHD_Result handle_audit(struct MHD_Connection *c, const struct csess *s,
			     const char *client);
enum MHD_Result handle_report(struct MHD_Connection *c, const struct csess *s,
			      const char *client);
/* GET /proof?id=&reason=[&view=1]: the item's inclusion proof from the
 * service (op proof), shown (view) or downloaded (pages_item_proof.c). */
enum MHD_Result handle_proof(struct MHD_Connection *c, const struct csess *s,
			     const char *client);
/* POST /export (id, reason, case; CSRF checked): the item's BagIt court
 * package, made by the `custody` exporter for the user, recorded, then
 * streamed as an attachment (pages_item_export.c). */
enum MHD_Result handle_export(struct MHD_Connection *c, const struct csess *s,
			      const char *client, const struct req *r);

/* handlers_dock.c: GET /dock, /dock/events (server-sent events),
 * /alerts, /witness. */
enum MHD_Result handle_dock(struct MHD_Connection *c, const struct csess *s,
			    const char *client);
enum MHD_Result handle_dock_events(struct MHD_Connection *c, const struct csess *s,
				   const char *client);
enum MHD_Result handle_alerts(struct MHD_Connection *c, const struct csess *s,
			      const char *client);
enum MHD_Result handle_witness(struct MHD_Connection *c, const struct csess *s,
			       const char *client);
/* End every live view (before MHD_stop_daemon: no connection may stay
 * suspended). */
void sse_stop(void);

#endif
