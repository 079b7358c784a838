#ifndef CONSOLE_PAGES_H
#define CONSOLE_PAGES_H
/*
 * pages: the console's server-rendered HTML (no script at all; the CSP
 * forbids it). Every value that comes from the ledger or the request goes
 * through hb_esc()/hb_url() (html.h). docs/console.md "Pages".
 */
#include <stdbool.h>
#include <jansson.h>

#include "html.h"
#include "session.h"

/* The search form's fields, as submitted (NULL: empty). */
struct search_args {
	const char *officer, *from, *to, *case_no, *category, *status, *hold,
		   *reason;
};

void page_head(struct hbuf *b, const char *title, const struct csess *s);
void page_foot(struct hbuf *b);
/* A page that shows a service reply: true when there is one and it is ok.
 * Otherwise it ends the page (the refusal's message shown, escaped) and
 * returns false. */
bool page_reply_ok(struct hbuf *b, const json_t *reply);
void page_login(struct hbuf *b, const struct csess *s, const char *msg);
/* reply: the service's search reply, or NULL (form only). */
void page_search(struct hbuf *b, const struct csess *s,
		 const struct search_args *a, const json_t *reply);
/* reply: the service's history reply (ok). msg: result of an action
 * (NULL: none). */
void page_item(struct hbuf *b, const struct csess *s, const json_t *reply,
	       const char *reason, const char *msg);
/* The printable chain-of-custody report of one item. */
void page_report(struct hbuf *b, const struct csess *s, const json_t *reply,
		 const char *reason, const char *generated);
/* The auditors' access log (pages_audit.c): the form's fields and the
 * service's access-events reply (NULL: form only). */
struct audit_args {
	const char *action, *from, *to, *reason;
};
void page_audit(struct hbuf *b, const struct csess *s,
		const struct audit_args *a, const json_t *reply);

/* pages_dock.c: the dock now (the service's status reply), the
 * auditors' witness status (witness-status reply) and alerts (alerts
 * reply; NULL: form only; a->from/to used). */
void page_dock(struct hbuf *b, const struct csess *s, const json_t *reply);
void page_witness(struct hbuf *b, const struct csess *s, const json_t *reply);
void page_alerts(struct hbuf *b, const struct csess *s, const struct audit_args *a,
		 const json_t *reply);
/* The dock page's script, served as /static/dock.js. */
extern const char console_dock_js[];

/* An error page with a message (already chosen to leak nothing). */
void page_error(struct hbuf *b, const struct csess *s, const char *title,
		const char *msg);

/* The one stylesheet (screen + print), served as /static/console.css. */
extern const char console_css[];

#endif
