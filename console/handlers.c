/* handlers: search, item, report. See handlers.h. */
#include "handlers.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pages.h"

static const char *arg(struct MHD_Connection *c, const char *k)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);

	return v && *v ? v : NULL;
}

/* The page's own event first; 0 when recorded. */
static int viewed(const struct csess *s, const char *client, const char *path,
		  const char *item)
{
	return svc_event(http_svc(), s->user, client, "page_view", "ok", NULL,
			 path, item, NULL, NULL);
}

static enum MHD_Result unrecorded(struct MHD_Connection *c, const struct csess *s)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Not available",
			  "This page could not be recorded in the custody "
			  "ledger, so it is not shown. Try again; if it "
			  "persists, call the dock administrator.");
}

/* HTTP status for a service refusal: another agency's item and a missing
 * one look the same (404); other refusals 403; bad input 400. */
static unsigned refusal_status(const json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));
	const char *m = json_string_value(json_object_get(reply, "message"));

	if (e && !strcmp(e, "denied"))
		return m && strstr(m, "not found") ? MHD_HTTP_NOT_FOUND :
		       MHD_HTTP_FORBIDDEN;
	if (e && !strcmp(e, "bad-request"))
		return MHD_HTTP_BAD_REQUEST;
	return MHD_HTTP_SERVICE_UNAVAILABLE;
}

static const char *msg_of(const json_t *reply)
{
	const char *m = json_string_value(json_object_get(reply, "message"));

	return m ? m : "The service did not answer.";
}

static void put(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

/* Send req (consumed; NULL: out of memory) to the service as s->user;
 * 0 with *reply set, or -1 when the service did not answer. */
static int ask(const struct csess *s, const char *client, json_t *req, json_t **reply)
{
	int rc = req ? svc_call(http_svc(), s->user, client, req, reply) : -1;

	json_decref(req);
	return rc;
}

static enum MHD_Result unavailable(struct MHD_Connection *c, const struct csess *s)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Not available",
			  "The custody service did not answer.");
}

/* The service refused a read of an item: its message, as not found or refused. */
static enum MHD_Result refused_page(struct MHD_Connection *c, const struct csess *s,
				    json_t *reply)
{
	unsigned status = refusal_status(reply);
	struct hbuf b;

	hb_init(&b);
	page_error(&b, s, status == MHD_HTTP_NOT_FOUND ? "Not found" : "Refused",
		   msg_of(reply));
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

enum MHD_Result handle_search(struct MHD_Connection *c, const struct csess *s,
			      const char *client)
{
	struct search_args a = {
		arg(c, "officer"), arg(c, "from"), arg(c, "to"), arg(c, "case"),
		arg(c, "category"), arg(c, "status"), arg(c, "hold"), arg(c, "reason") };
	json_t *req = NULL, *reply = NULL;
	unsigned status = MHD_HTTP_OK;
	struct hbuf b;

	if (viewed(s, client, "/search", NULL))
		return unrecorded(c, s);
	if (a.officer || a.from || a.to || a.case_no || a.category || a.status ||
	    a.hold || a.reason) {
		req = json_pack("{s:s, s:i}", "op", "search", "limit", 200);
		put(req, "reason", a.reason);
		put(req, "officer", a.officer);
		put(req, "from", a.from);
		put(req, "to", a.to);
		put(req, "case", a.case_no);
		put(req, "category", a.category);
		put(req, "status", a.status);
		put(req, "hold", a.hold);
		if (ask(s, client, req, &reply))
			return unavailable(c, s);
		if (!json_is_true(json_object_get(reply, "ok")))
			status = refusal_status(reply);
	}
	hb_init(&b);
	page_search(&b, s, &a, reply);
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* history of id through the service; *reply always set on 0. */
static int history(const struct csess *s, const char *client, const char *id,
		   const char *reason, json_t **reply)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "history", "item", id);

	put(req, "reason", reason);
	return ask(s, client, req, reply);
}

/* The action of a POST /item, as a service request; NULL when the form
 * names no action the console offers (the service decides the rest). */
static json_t *action_request(const struct req *r)
{
	static const char *const ops[] = { "categorize", "case", "hold", "destroy", NULL };
	const char *op = http_field(r, "op");
	json_t *req;
	int i;

	for (i = 0; op && ops[i] && strcmp(op, ops[i]); i++)
		;
	if (!op || !ops[i] || !http_field(r, "id"))
		return NULL;
	req = json_pack("{s:s, s:s}", "op", op, "item", http_field(r, "id"));
	put(req, "reason", http_field(r, "reason"));
	put(req, "action", http_field(r, "action"));
	put(req, "category", http_field(r, "category"));
	put(req, "case", http_field(r, "case"));
	return req;
}

enum MHD_Result handle_item(struct MHD_Connection *c, const struct csess *s,
			    const char *client, const struct req *r)
{
	const char *id = r ? http_field(r, "id") : arg(c, "id");
	const char *reason = r ? http_field(r, "reason") : arg(c, "reason");
	json_t *reply = NULL, *act = NULL, *req;
	unsigned status = MHD_HTTP_OK;
	char msg[256] = "";
	struct hbuf b;

	if (!id)
		return http_error(c, MHD_HTTP_BAD_REQUEST, s, "No item",
				  "Which item? Open one from the search.");
	if (viewed(s, client, "/item", NULL))
		return unrecorded(c, s);
	if (r) {
		if (!(req = action_request(r)))
			return http_error(c, MHD_HTTP_BAD_REQUEST, s, "Bad request",
					  "Unknown action.");
		if (ask(s, client, req, &act))
			return unavailable(c, s);
		if (json_is_true(json_object_get(act, "ok")))
			snprintf(msg, sizeof(msg), "Done: %s %s (recorded as "
				 "event %lld).", http_field(r, "op"),
				 http_field(r, "action") ? http_field(r, "action") : "",
				 (long long)json_integer_value(json_object_get(act,
								"audit_seq")));
		else {
			snprintf(msg, sizeof(msg), "Refused: %s", msg_of(act));
			status = refusal_status(act);
		}
		json_decref(act);
	}
	if (history(s, client, id, reason, &reply))
		return unavailable(c, s);
	if (!json_is_true(json_object_get(reply, "ok")))
		return refused_page(c, s, reply);
	hb_init(&b);
	page_item(&b, s, reply, reason, msg[0] ? msg : NULL);
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

enum MHD_Result handle_report(struct MHD_Connection *c, const struct csess *s,
			      const char *client)
{
	const char *id = arg(c, "id"), *reason = arg(c, "reason");
	json_t *reply = NULL;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	struct hbuf b;

	if (!id)
		return http_error(c, MHD_HTTP_BAD_REQUEST, s, "No item",
				  "Which item? Open one from the search.");
	if (history(s, client, id, reason, &reply))
		return unavailable(c, s);
	if (!json_is_true(json_object_get(reply, "ok")))
		return refused_page(c, s, reply);
	/* the report leaves the dock (printed, saved as PDF): a download */
	if (svc_event(http_svc(), s->user, client, "download", "ok", NULL,
		      "/report", id, "custody-report", NULL)) {
		json_decref(reply);
		return unrecorded(c, s);
	}
	if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "unknown");
	hb_init(&b);
	page_report(&b, s, reply, reason, when);
	json_decref(reply);
	return http_send(c, MHD_HTTP_OK, &b, NULL, NULL, NULL);
}

enum MHD_Result handle_audit(struct MHD_Connection *c, const struct csess *s,
			     const char *client)
{
	struct audit_args a = { arg(c, "action"), arg(c, "from"), arg(c, "to"),
				arg(c, "reason") };
	json_t *req, *reply = NULL;
	unsigned status = MHD_HTTP_OK;
	struct hbuf b;

	if (viewed(s, client, "/audit", NULL))
		return unrecorded(c, s);
	if (a.action || a.from || a.to || a.reason) {
		/* the service decides (auditors only) and records the read */
		req = json_pack("{s:s, s:i}", "op", "access-events", "limit", 200);
		put(req, "reason", a.reason);
		put(req, "action", a.action);
		put(req, "from", a.from);
		put(req, "to", a.to);
		if (ask(s, client, req, &reply))
			return unavailable(c, s);
		if (!json_is_true(json_object_get(reply, "ok")))
			status = refusal_status(reply);
	}
	hb_init(&b);
	page_audit(&b, s, &a, reply);
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}
