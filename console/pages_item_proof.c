/* pages_item_proof: an item's inclusion proof (docs/console.md "Proofs").
 *
 * GET /proof?id=ID&reason=R&view=1 shows what the proof says (the
 * checkpoint it is against, how many of the item's events it proves,
 * which are newer than the checkpoint); without view the proof file is
 * downloaded. The console builds nothing and holds no key: the query
 * service builds the proof (op "proof", recorded as the user's
 * ledger_read with the reason), the console records the page view or the
 * download (console_download, detail "proof") and only then sends it.
 * The file is the service's reply, at most HTTP_DOWNLOAD_MAX bytes; a
 * clerk checks it with `custody check-proof FILE --vkey DOCK.vkey` or an
 * independent verifier written from docs/custody-ledger.md. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "pages.h"

static const char *arg(struct MHD_Connection *c, const char *k)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);

	return v && *v ? v : NULL;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static enum MHD_Result failed(struct MHD_Connection *c, const struct csess *s,
			      unsigned status, const char *title, const char *msg)
{
	struct hbuf b;

	hb_init(&b);
	page_error(&b, s, title, msg);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* The service's refusal as a page: another agency's item and a missing
 * one look the same (404), bad input 400, other refusals 403. */
static enum MHD_Result refused(struct MHD_Connection *c, const struct csess *s,
			       const json_t *reply)
{
	const char *e = jstr(reply, "error"), *m = jstr(reply, "message");

	if (!strcmp(e, "denied"))
		return failed(c, s, strstr(m, "not found") ? MHD_HTTP_NOT_FOUND :
			      MHD_HTTP_FORBIDDEN, "Refused", m);
	return failed(c, s, !strcmp(e, "bad-request") ? MHD_HTTP_BAD_REQUEST :
		      MHD_HTTP_SERVICE_UNAVAILABLE, "No proof",
		      *m ? m : "The service did not answer.");
}

/* The checkpoint note's first line: the log's origin. */
static void origin(struct hbuf *b, const char *note)
{
	const char *nl = strchr(note, '\n');
	char o[256];
	size_t n = nl ? (size_t)(nl - note) : strlen(note);

	if (n >= sizeof(o))
		n = sizeof(o) - 1;
	memcpy(o, note, n);
	o[n] = 0;
	hb_esc(b, o);
}

static void state_page(struct hbuf *b, const struct csess *s, const char *id,
		       const char *reason, const json_t *p)
{
	const json_t *nc = json_object_get(p, "not_covered"), *v;
	size_t proven = json_array_size(json_object_get(p, "events")), i;
	json_int_t total = json_integer_value(json_object_get(p, "events_total"));

	page_head(b, "Inclusion proof", s);
	hb_raw(b, "<h1>Inclusion proof of <span id=\"item-id\">");
	hb_esc(b, id);
	hb_raw(b, "</span></h1><table id=\"proof-state\"><tr><th>checkpoint of</th><td>");
	origin(b, jstr(p, "checkpoint"));
	hb_raw(b, "</td></tr><tr><th>tree size</th><td id=\"tree-size\">");
	hb_num(b, json_integer_value(json_object_get(p, "tree_size")));
	hb_raw(b, "</td></tr><tr><th>events proven included</th><td id=\"proven\">");
	hb_num(b, (int64_t)proven);
	hb_raw(b, " of ");
	hb_num(b, total);
	hb_raw(b, "</td></tr><tr><th>newer than the checkpoint (not yet provable)</th>"
		  "<td id=\"not-covered\">");
	if (!json_array_size(nc))
		hb_raw(b, "none");
	json_array_foreach(nc, i, v) {
		if (i)
			hb_raw(b, ", ");
		hb_num(b, json_integer_value(v));
	}
	hb_raw(b, "</td></tr></table><p>The dock's query service built this proof "
		  "from the ledger; it is a claim until checked. Check the "
		  "downloaded file with <code>custody check-proof FILE --vkey "
		  "DOCK.vkey</code> (the dock's checkpoint key, from the agency) or "
		  "an independent verifier (docs/custody-ledger.md).</p>"
		  "<p><a id=\"proof-download\" href=\"/proof?id=");
	hb_url(b, id);
	hb_raw(b, "&amp;reason=");
	hb_url(b, reason);
	hb_raw(b, "\">Download the proof (JSON)</a> &middot; <a href=\"/item?id=");
	hb_url(b, id);
	hb_raw(b, "&amp;reason=");
	hb_url(b, reason);
	hb_raw(b, "\">Back to the item</a></p>");
	page_foot(b);
}

/* "proof-SERIAL_REC.json": the id's characters that are not letters,
 * digits, '.', '-' become '_' (a header value, never a path). */
static void file_name(const char *id, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "proof-");

	for (; *id && o + 6 < cap; id++) {
		char ch = *id;

		out[o++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ? ch : '_';
	}
	snprintf(out + o, cap - o, ".json");
}

enum MHD_Result handle_proof(struct MHD_Connection *c, const struct csess *s,
			     const char *client)
{
	const char *id = arg(c, "id"), *reason = arg(c, "reason");
	int view = arg(c, "view") != NULL;
	json_t *req, *reply = NULL;
	enum MHD_Result ret;
	char name[160], *body;
	struct hbuf b;
	int rc;

	if (!id)
		return failed(c, s, MHD_HTTP_BAD_REQUEST, "No item",
			      "Which item? Open one from the search.");
	req = json_pack("{s:s, s:s}", "op", "proof", "item", id);
	if (req && reason)
		json_object_set_new(req, "reason", json_string(reason));
	rc = req ? svc_call(http_svc(), s->user, client, req, &reply) : -1;
	json_decref(req);
	if (rc)
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "The custody service did not answer.");
	if (!json_is_true(json_object_get(reply, "ok"))) {
		ret = refused(c, s, reply);
		json_decref(reply);
		return ret;
	}
	/* its event first: nothing leaves without its record */
	if (svc_event(http_svc(), s->user, client, view ? "page_view" : "download",
		      "ok", NULL, "/proof", id, view ? NULL : "proof", NULL)) {
		json_decref(reply);
		return failed(c, s, MHD_HTTP_SERVICE_UNAVAILABLE, "Not available",
			      "This could not be recorded in the custody ledger, "
			      "so it is not sent.");
	}
	if (view) {
		hb_init(&b);
		state_page(&b, s, id, reason, json_object_get(reply, "result"));
		json_decref(reply);
		return http_send(c, MHD_HTTP_OK, &b, NULL, NULL, NULL);
	}
	body = json_dumps(json_object_get(reply, "result"), JSON_INDENT(1) |
			  JSON_PRESERVE_ORDER);
	json_decref(reply);
	file_name(id, name, sizeof(name));
	return http_send_download(c, body, body ? strlen(body) : 0,
				  "application/json", name);
}
