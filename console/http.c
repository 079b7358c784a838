/* http: routes, login, sessions, CSRF, headers. See http.h. */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "handlers.h"
#include "pages.h"
#include "session.h"

#define BODY_MAX 16384
#define FIELD_MAX 2048
#define FIELDS_MAX 16
#define COOKIE "__Host-dock"

static const struct console_cfg *cfg;

struct field {
	char name[16];
	char *val;
	size_t len;
};

struct req {
	struct MHD_PostProcessor *pp;
	struct field f[FIELDS_MAX];
	int nf;
	size_t total;
	int bad;			/* too large / too many fields */
};

const char *http_field(const struct req *r, const char *name)
{
	for (int i = 0; r && i < r->nf; i++)
		if (!strcmp(r->f[i].name, name))
			return r->f[i].val;
	return NULL;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *filename,
				const char *ctype, const char *enc,
				const char *data, uint64_t off, size_t size)
{
	struct req *r = cls;
	struct field *f = NULL;
	char *p;

	for (int i = 0; i < r->nf; i++)
		if (!strcmp(r->f[i].name, key))
			f = &r->f[i];
	if (!f) {
		if (r->nf == FIELDS_MAX || strlen(key) >= sizeof(f->name)) {
			r->bad = 1;
			return MHD_NO;
		}
		f = &r->f[r->nf++];
		snprintf(f->name, sizeof(f->name), "%s", key);
	}
	if (f->len + size > FIELD_MAX) {
		r->bad = 1;
		return MHD_NO;
	}
	p = realloc(f->val, f->len + size + 1);
	if (!p) {
		r->bad = 1;
		return MHD_NO;
	}
	memcpy(p + f->len, data, size);
	f->len += size;
	p[f->len] = '\0';
	f->val = p;
	return MHD_YES;
}

static void req_free(struct req *r)
{
	if (!r)
		return;
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	for (int i = 0; i < r->nf; i++) {
		if (r->f[i].val)
			OPENSSL_cleanse(r->f[i].val, r->f[i].len);
		free(r->f[i].val);
	}
	free(r);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	req_free(*con_cls);
	*con_cls = NULL;
}

/* The browser's address, numeric. */
static void client_addr(struct MHD_Connection *c, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(buf, cap, "unknown");
	if (ci && ci->client_addr)
		getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
			    buf, (socklen_t)cap, NULL, 0, NI_NUMERICHOST);
}

void http_headers(struct MHD_Response *resp, const char *csp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", csp ? csp : CSP_DEFAULT);
	MHD_add_response_header(resp, "Strict-Transport-Security",
				"max-age=31536000");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

static enum MHD_Result send_full(struct MHD_Connection *c, unsigned status,
				 struct hbuf *b, const char *content_type,
				 const char *cookie, const char *location,
				 const char *csp)
{
	size_t len = 0;
	char *body = hb_take(b, &len);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!body) {
		static const char oops[] = "internal error\n";

		resp = MHD_create_response_from_buffer(sizeof(oops) - 1, (void *)oops,
						       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	http_headers(resp, csp);
	MHD_add_response_header(resp, "Content-Type", content_type ? content_type :
				"text/html; charset=utf-8");
	if (cookie)
		MHD_add_response_header(resp, "Set-Cookie", cookie);
	if (location)
		MHD_add_response_header(resp, "Location", location);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_send(struct MHD_Connection *c, unsigned status,
			  struct hbuf *b, const char *content_type,
			  const char *cookie, const char *location)
{
	return send_full(c, status, b, content_type, cookie, location, NULL);
}

enum MHD_Result http_send_csp(struct MHD_Connection *c, unsigned status,
			      struct hbuf *b, const char *content_type,
			      const char *csp)
{
	return send_full(c, status, b, content_type, NULL, NULL, csp);
}

static void cookie_for(const struct csess *s, char *buf, size_t cap)
{
	if (s)
		snprintf(buf, cap, COOKIE "=%s; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict", s->id);
	else
		snprintf(buf, cap, COOKIE "=; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict; Max-Age=0");
}

enum MHD_Result http_redirect(struct MHD_Connection *c, const char *to,
			      const char *cookie)
{
	struct hbuf b;

	hb_init(&b);
	hb_raw(&b, "see other\n");
	return http_send(c, MHD_HTTP_SEE_OTHER, &b, "text/plain", cookie, to);
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned status,
			   const struct csess *s, const char *title,
			   const char *msg)
{
	struct hbuf b;

	hb_init(&b);
	page_error(&b, s, title, msg);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* ---- login / logout ---------------------------------------------------- */

static enum MHD_Result login_form(struct MHD_Connection *c, struct csess *s,
				  int have, unsigned status, const char *msg)
{
	char cookie[160];
	struct hbuf b;

	if (!have && sess_new(s))
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
				  "Busy", "Too many sessions; try again later.");
	cookie_for(s, cookie, sizeof(cookie));
	hb_init(&b);
	page_login(&b, s, msg);
	return http_send(c, status, &b, NULL, cookie, NULL);
}

/* A failed login: its event, the count towards lockout (and the lockout's
 * own event when this one locks the name). */
static void login_failed(const char *client, const char *name,
			 const char *stage)
{
	(void)svc_event(&cfg->svc, NULL, client, "login", "failed", name,
			"/login", NULL, stage, NULL);
	if (lock_fail(name))
		(void)svc_event(&cfg->svc, NULL, client, "lockout", "denied",
				name, "/login", NULL, "too many failed logins",
				NULL);
}

static enum MHD_Result do_login(struct MHD_Connection *c, const struct req *r,
				struct csess *s, const char *client)
{
	const char *user = http_field(r, "user"), *pw = http_field(r, "password");
	const char *otp = http_field(r, "otp");
	json_t *res = NULL;
	char cookie[160];
	int64_t step = 0;
	struct csess n;
	int rc;

	if (!user || !*user || strlen(user) > SESS_NAME_MAX || !pw || !otp) {
		login_failed(client, user ? user : "", "incomplete");
		return login_form(c, s, 1, MHD_HTTP_UNAUTHORIZED, "Login failed.");
	}
	if (lock_is_locked(user)) {
		(void)svc_event(&cfg->svc, NULL, client, "login", "denied", user,
				"/login", NULL, "locked", NULL);
		return login_form(c, s, 1, MHD_HTTP_UNAUTHORIZED, "Login failed: "
				  "too many failed attempts; try again later.");
	}
	if (auth_pam(cfg->pam_service, user, pw)) {
		login_failed(client, user, "password");
		return login_form(c, s, 1, MHD_HTTP_UNAUTHORIZED, "Login failed.");
	}
	rc = auth_totp(cfg->totp_file, user, otp, &step);
	if (rc == -EPERM || (rc && rc != -EACCES))
		fprintf(stderr, "custody-console: %s: cannot use the TOTP file "
			"(%s; it must be a regular file of mode 0600 or 0400 "
			"readable by the console account)\n", cfg->totp_file,
			rc == -EPERM ? "group/others have access" : strerror(-rc));
	if (rc || lock_totp_step(user, step)) {
		login_failed(client, user, rc ? "second-factor" : "second-factor-reused");
		return login_form(c, s, 1, MHD_HTTP_UNAUTHORIZED, "Login failed.");
	}
	/* The service decides whether this account is a custody user (and
	 * records the login either way). */
	if (svc_event(&cfg->svc, user, client, "login", "ok", NULL, "/login",
		      NULL, "pam+totp", &res)) {
		if (lock_fail(user))
			(void)svc_event(&cfg->svc, NULL, client, "lockout", "denied",
					user, "/login", NULL, "too many failed logins",
					NULL);
		return login_form(c, s, 1, MHD_HTTP_UNAUTHORIZED, "Login failed.");
	}
	lock_ok(user);
	rc = sess_login(s->id, user, json_string_value(json_object_get(res, "role")),
			json_string_value(json_object_get(res, "agency")), &n);
	json_decref(res);
	if (rc)
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "Busy",
				  "Too many sessions; try again later.");
	cookie_for(&n, cookie, sizeof(cookie));
	return http_redirect(c, strcmp(n.role, "auditor") ? "/search" : "/audit",
			     cookie);
}

/* ---- dispatch ---------------------------------------------------------- */

static enum MHD_Result refuse(struct MHD_Connection *c, const struct csess *s,
			      const char *client, const char *url,
			      const char *claimed, const char *why)
{
	(void)svc_event(&cfg->svc, s && s->user[0] ? s->user : NULL, client,
			"refused", "denied", claimed, url, NULL, why, NULL);
	return http_error(c, MHD_HTTP_FORBIDDEN, NULL, "Request refused",
			  "The request was refused and recorded. Reload the "
			  "page and try again.");
}

static enum MHD_Result dispatch(struct MHD_Connection *c, const char *url,
				int post, const struct req *r)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	char client[64];
	struct csess s;
	int have, rc;

	client_addr(c, client, sizeof(client));
	if (!post && !strcmp(url, "/static/console.css")) {
		struct hbuf b;

		hb_init(&b);
		hb_raw(&b, console_css);
		return http_send(c, MHD_HTTP_OK, &b, "text/css; charset=utf-8",
				 NULL, NULL);
	}
	if (!post && !strcmp(url, "/static/dock.js")) {
		struct hbuf b;

		hb_init(&b);
		hb_raw(&b, console_dock_js);
		return http_send(c, MHD_HTTP_OK, &b, "text/javascript; charset=utf-8",
				 NULL, NULL);
	}
	memset(&s, 0, sizeof(s));
	rc = sid ? sess_get(sid, &s) : -ENOENT;
	if (rc == -ETIMEDOUT && s.user[0])
		(void)svc_event(&cfg->svc, s.user, client, "logout", "ok", NULL,
				url, NULL, "session expired", NULL);
	have = rc == 0;
	if (!have)
		memset(&s, 0, sizeof(s));
	if (post && (!r || r->bad))
		return http_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "Too large",
				  "The form was too large.");
	if (post && (!have || !sess_csrf_ok(&s, http_field(r, "csrf"))))
		return refuse(c, have ? &s : NULL, client, url,
			      !strcmp(url, "/login") ? http_field(r, "user") : NULL,
			      have ? "bad CSRF token" : "no session");
	if (!strcmp(url, "/login"))
		return post ? do_login(c, r, &s, client) :
		       login_form(c, &s, have, MHD_HTTP_OK, NULL);
	if (!have || !s.user[0])
		return post ? refuse(c, NULL, client, url, NULL, "not logged in") :
		       http_redirect(c, "/login", NULL);
	if (post && !strcmp(url, "/logout")) {
		char cookie[160];

		(void)svc_event(&cfg->svc, s.user, client, "logout", "ok", NULL,
				url, NULL, "logout", NULL);
		sess_drop(s.id);
		cookie_for(NULL, cookie, sizeof(cookie));
		return http_redirect(c, "/login", cookie);
	}
	if (!post && !strcmp(url, "/"))
		return http_redirect(c, strcmp(s.role, "auditor") ? "/search" :
				     "/audit", NULL);
	if (!post && !strcmp(url, "/audit"))
		return handle_audit(c, &s, client);
	if (!post && !strcmp(url, "/search"))
		return handle_search(c, &s, client);
	if (!post && !strcmp(url, "/item"))
		return handle_item(c, &s, client, NULL);
	if (post && !strcmp(url, "/item"))
		return handle_item(c, &s, client, r);
	if (!post && !strcmp(url, "/report"))
		return handle_report(c, &s, client);
	if (post && !strcmp(url, "/export"))
		return handle_export(c, &s, client, r);
	if (!post && !strcmp(url, "/proof"))
		return handle_proof(c, &s, client);
	if (!post && !strcmp(url, "/dock"))
		return handle_dock(c, &s, client);
	if (!post && !strcmp(url, "/dock/events"))
		return handle_dock_events(c, &s, client);
	if (!post && !strcmp(url, "/alerts"))
		return handle_alerts(c, &s, client);
	if (!post && !strcmp(url, "/witness"))
		return handle_witness(c, &s, client);
	return http_error(c, MHD_HTTP_NOT_FOUND, &s, "Not found", "No such page.");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	int post = !strcmp(method, "POST");
	struct req *r = *con_cls;

	if (!post && strcmp(method, "GET"))
		return http_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
				  "Not allowed", "GET and POST only.");
	if (!r) {
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		*con_cls = r;
		if (post)
			r->pp = MHD_create_post_processor(c, 4096, on_field, r);
		if (post && !r->pp)
			r->bad = 1;	/* not a urlencoded/multipart form */
		return MHD_YES;
	}
	if (*upload_size) {
		r->total += *upload_size;
		if (r->total > BODY_MAX)
			r->bad = 1;
		if (!r->bad && MHD_post_process(r->pp, upload, *upload_size) != MHD_YES)
			r->bad = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(c, url, post, post ? r : NULL);
}

/* libmicrohttpd's messages, minus the ones a socketpair always causes
 * (TCP_NODELAY/TCP_CORK do not apply to AF_UNIX; see tls.h). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "TCP_NODELAY") || strstr(msg, "TCP_CORK") ||
	    strstr(msg, "push the data from buffers"))
		return;
	fprintf(stderr, "custody-console: libmicrohttpd: %s", msg);
}

struct MHD_Daemon *http_start(const struct console_cfg *c)
{
	cfg = c;
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
				MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
				MHD_ALLOW_SUSPEND_RESUME,
				0, NULL, NULL, handler, NULL,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
				MHD_OPTION_THREAD_POOL_SIZE, 4,
				MHD_OPTION_CONNECTION_TIMEOUT, 60,
				MHD_OPTION_CONNECTION_LIMIT, 128,
				MHD_OPTION_END);
}

const struct svc *http_svc(void)
{
	return &cfg->svc;
}

const struct console_cfg *http_cfg(void)
{
	return cfg;
}

/* A file the browser saves (pages_item_proof.c): body taken over (freed
 * here), at most HTTP_DOWNLOAD_MAX bytes, the security headers, and
 * Content-Disposition: attachment with a name the caller made safe. */
enum MHD_Result http_send_download(struct MHD_Connection *c, char *body,
				   size_t len, const char *content_type,
				   const char *filename)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char disp[200];

	if (!body || len > HTTP_DOWNLOAD_MAX) {
		free(body);
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "Too large",
				  "The file is larger than the console sends.");
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	http_headers(resp, NULL);
	MHD_add_response_header(resp, "Content-Type", content_type);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	MHD_add_response_header(resp, "Content-Disposition", disp);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
