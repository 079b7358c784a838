/* pages: HTML of the console. See pages.h. */
#include "pages.h"

#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

bool page_reply_ok(struct hbuf *b, const json_t *reply)
{
	if (reply && json_is_true(json_object_get(reply, "ok")))
		return true;
	if (reply) {
		hb_raw(b, "<p class=\"error\" id=\"message\">");
		hb_esc(b, str(reply, "message"));
		hb_raw(b, "</p>");
	}
	page_foot(b);
	return false;
}

void page_head(struct hbuf *b, const char *title, const struct csess *s)
{
	hb_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		  "<meta name=\"viewport\" content=\"width=device-width\">"
		  "<link rel=\"stylesheet\" href=\"/static/console.css\"><title>");
	hb_esc(b, title);
	hb_raw(b, " - evidence dock</title></head><body><header><span class=\"brand\">"
		  "Evidence dock</span>");
	if (s && s->user[0]) {
		hb_raw(b, strcmp(s->role, "auditor") ?
			  "<nav><a href=\"/search\">Search</a> "
			  "<a href=\"/dock\">Dock now</a></nav>" :
			  "<nav><a href=\"/audit\">Access log</a> "
			  "<a href=\"/alerts\">Alerts</a> "
			  "<a href=\"/witness\">Witnesses</a> "
			  "<a href=\"/dock\">Dock now</a></nav>");
		hb_raw(b, "<form class=\"who\" "
			  "method=\"post\" action=\"/logout\"><span>");
		hb_esc(b, s->user);
		hb_raw(b, " (");
		hb_esc(b, s->role);
		hb_raw(b, ", ");
		hb_esc(b, s->agency);
		hb_raw(b, ")</span><input type=\"hidden\" name=\"csrf\" value=\"");
		hb_esc(b, s->csrf);
		hb_raw(b, "\"><button type=\"submit\">Log out</button></form>");
	}
	hb_raw(b, "</header><main>");
}

void page_foot(struct hbuf *b)
{
	hb_raw(b, "</main></body></html>\n");
}

static void csrf_field(struct hbuf *b, const struct csess *s)
{
	hb_raw(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	hb_esc(b, s->csrf);
	hb_raw(b, "\">");
}

static void field(struct hbuf *b, const char *label, const char *name,
		  const char *type, const char *value, int required)
{
	hb_raw(b, "<label>");
	hb_esc(b, label);
	hb_raw(b, " <input type=\"");
	hb_raw(b, type);
	hb_raw(b, "\" name=\"");
	hb_raw(b, name);
	hb_raw(b, "\" id=\"");
	hb_raw(b, name);
	hb_raw(b, "\" value=\"");
	hb_esc(b, value);
	hb_raw(b, required ? "\" required></label>" : "\"></label>");
}

void page_login(struct hbuf *b, const struct csess *s, const char *msg)
{
	page_head(b, "Log in", NULL);
	hb_raw(b, "<h1>Log in</h1>");
	if (msg) {
		hb_raw(b, "<p class=\"error\" id=\"message\">");
		hb_esc(b, msg);
		hb_raw(b, "</p>");
	}
	hb_raw(b, "<form method=\"post\" action=\"/login\" class=\"card\">");
	csrf_field(b, s);
	field(b, "Account", "user", "text", NULL, 1);
	field(b, "Password", "password", "password", NULL, 1);
	hb_raw(b, "<label>Authenticator code <input type=\"text\" name=\"otp\" id=\"otp\" "
		  "inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" "
		  "required></label><button type=\"submit\" id=\"login\">Log in</button></form>");
	page_foot(b);
}

static void search_form(struct hbuf *b, const struct search_args *a)
{
	static const char *const statuses[] = { "", "docked", "ingesting", "ingested",
		"stored", "uploading", "uploaded", "verified", "quarantined",
		"destroyed", "released", NULL };

	hb_raw(b, "<form method=\"get\" action=\"/search\" class=\"card search\">");
	field(b, "Officer", "officer", "text", a->officer, 0);
	field(b, "Recorded from", "from", "date", a->from, 0);
	field(b, "to", "to", "date", a->to, 0);
	field(b, "Case", "case", "text", a->case_no, 0);
	field(b, "Category", "category", "text", a->category, 0);
	hb_raw(b, "<label>Status <select name=\"status\" id=\"status\">");
	for (int i = 0; statuses[i]; i++) {
		hb_raw(b, "<option value=\"");
		hb_raw(b, statuses[i]);
		hb_raw(b, a->status && !strcmp(a->status, statuses[i]) ?
			  "\" selected>" : "\">");
		hb_raw(b, statuses[i][0] ? statuses[i] : "any");
		hb_raw(b, "</option>");
	}
	hb_raw(b, "</select></label><label>Hold <select name=\"hold\" id=\"hold\">");
	hb_raw(b, "<option value=\"\">any</option><option value=\"yes\"");
	hb_raw(b, a->hold && !strcmp(a->hold, "yes") ? " selected" : "");
	hb_raw(b, ">on hold</option><option value=\"no\"");
	hb_raw(b, a->hold && !strcmp(a->hold, "no") ? " selected" : "");
	hb_raw(b, ">not on hold</option></select></label>");
	field(b, "Reason (recorded)", "reason", "text", a->reason, 1);
	hb_raw(b, "<button type=\"submit\" id=\"search\">Search</button></form>");
}

void page_search(struct hbuf *b, const struct csess *s,
		 const struct search_args *a, const json_t *reply)
{
	const json_t *items, *it;
	size_t i;

	page_head(b, "Search", s);
	hb_raw(b, "<h1>Search recordings</h1>");
	search_form(b, a);
	if (!page_reply_ok(b, reply))
		return;
	items = json_object_get(json_object_get(reply, "result"), "items");
	hb_raw(b, "<p id=\"count\">");
	hb_num(b, (int64_t)json_array_size(items));
	hb_raw(b, json_array_size(items) == 1 ? " recording" : " recordings");
	if (json_is_true(json_object_get(json_object_get(reply, "result"), "truncated")))
		hb_raw(b, " (more: narrow the search)");
	hb_raw(b, "</p><table id=\"results\"><thead><tr><th>Evidence id</th><th>Officer</th>"
		  "<th>Camera</th><th>Recorded (UTC)</th><th>Category</th><th>Status</th>"
		  "<th>Hold</th></tr></thead><tbody>");
	json_array_foreach(items, i, it) {
		hb_raw(b, "<tr><td><a href=\"/item?id=");
		hb_url(b, str(it, "evidence_id"));
		hb_raw(b, "&amp;reason=");
		hb_url(b, a->reason);
		hb_raw(b, "\">");
		hb_esc(b, str(it, "evidence_id"));
		hb_raw(b, "</a></td><td>");
		hb_esc(b, str(it, "officer"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(it, "camera"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(it, "recording_start"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(it, "category"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(it, "status"));
		hb_raw(b, "</td><td>");
		hb_raw(b, json_is_true(json_object_get(it, "legal_hold")) ? "yes" : "no");
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
	page_foot(b);
}

/* Facts of the record: verification state, hash, hold, retention. */
static void record_table(struct hbuf *b, const json_t *rec)
{
	static const char *const keys[][2] = {
		{ "status", "Status" }, { "sha256", "SHA-256" },
		{ "officer", "Officer" }, { "camera", "Camera" },
		{ "category", "Category" }, { "retention_until", "Retain until" },
		{ "object_key", "Stored object" }, { "first_time", "First seen" },
		{ "last_time", "Last event" } };
	const json_t *cases = json_object_get(rec, "cases"), *c;
	size_t i;

	hb_raw(b, "<table class=\"facts\" id=\"facts\">");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		hb_raw(b, "<tr><th>");
		hb_raw(b, keys[i][1]);
		hb_raw(b, "</th><td>");
		hb_esc(b, str(rec, keys[i][0]));
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "<tr><th>Legal hold</th><td>");
	hb_raw(b, json_is_true(json_object_get(rec, "legal_hold")) ? "yes" : "no");
	hb_raw(b, "</td></tr><tr><th>Cases</th><td>");
	json_array_foreach(cases, i, c) {
		if (i)
			hb_raw(b, "; ");
		hb_esc(b, json_string_value(c));
	}
	hb_raw(b, "</td></tr></table>");
}

static void timeline(struct hbuf *b, const json_t *events)
{
	const json_t *e;
	size_t i;

	hb_raw(b, "<table class=\"timeline\" id=\"timeline\"><thead><tr><th>#</th>"
		  "<th>Time (UTC)</th><th>Action</th><th>Actor</th><th>Outcome</th>"
		  "<th>Reason</th></tr></thead><tbody>");
	json_array_foreach(events, i, e) {
		const json_t *actor = json_object_get(e, "actor");

		hb_raw(b, "<tr><td>");
		hb_num(b, (int64_t)json_integer_value(json_object_get(e, "seq")));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "time"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "action"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(actor, "kind"));
		hb_raw(b, ": ");
		hb_esc(b, str(actor, "id"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "outcome"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "reason"));
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
}

/* One action form: POST /item with op (and action), a value field when
 * named, a reason, and the CSRF token. */
static void action_form(struct hbuf *b, const struct csess *s, const char *id,
			const char *op, const char *action, const char *value_name,
			const char *label)
{
	hb_raw(b, "<form method=\"post\" action=\"/item\" class=\"action\">");
	csrf_field(b, s);
	hb_raw(b, "<input type=\"hidden\" name=\"id\" value=\"");
	hb_esc(b, id);
	hb_raw(b, "\"><input type=\"hidden\" name=\"op\" value=\"");
	hb_raw(b, op);
	hb_raw(b, "\">");
	if (action) {
		hb_raw(b, "<input type=\"hidden\" name=\"action\" value=\"");
		hb_raw(b, action);
		hb_raw(b, "\">");
	}
	if (value_name) {
		hb_raw(b, "<input type=\"text\" required name=\"");
		hb_raw(b, value_name);
		hb_raw(b, "\" placeholder=\"");
		hb_raw(b, value_name);
		hb_raw(b, "\">");
	}
	hb_raw(b, "<input type=\"text\" required name=\"reason\" placeholder=\"reason\">"
		  "<button type=\"submit\" id=\"do-");
	hb_raw(b, op);
	if (action) {
		hb_raw(b, "-");
		hb_raw(b, action);
	}
	hb_raw(b, "\">");
	hb_raw(b, label);
	hb_raw(b, "</button></form>");
}

void page_item(struct hbuf *b, const struct csess *s, const json_t *reply,
	       const char *reason, const char *msg)
{
	const json_t *res = json_object_get(reply, "result");
	const json_t *rec = json_object_get(res, "record");
	const char *id = str(res, "evidence_id");
	int sup = !strcmp(s->role, "supervisor"), clerk = !strcmp(s->role, "clerk");

	page_head(b, id, s);
	hb_raw(b, "<h1>Recording <span id=\"item-id\">");
	hb_esc(b, id);
	hb_raw(b, "</span></h1>");
	if (msg) {
		/* a refusal in red, a done action in green */
		hb_raw(b, strncmp(msg, "Refused", 7) ? "<p class=\"notice\" id=\"message\">" :
			  "<p class=\"error\" id=\"message\">");
		hb_esc(b, msg);
		hb_raw(b, "</p>");
	}
	hb_raw(b, "<p><a id=\"report\" href=\"/report?id=");
	hb_url(b, id);
	hb_raw(b, "&amp;reason=");
	hb_url(b, reason);
	hb_raw(b, "\">Chain-of-custody report (printable)</a> &middot; <a id=\"proof\" "
		  "href=\"/proof?view=1&amp;id=");
	hb_url(b, id);
	hb_raw(b, "&amp;reason=");
	hb_url(b, reason);
	hb_raw(b, "\">Inclusion proof</a></p><h2>Verification state</h2>");
	record_table(b, rec);
	hb_raw(b, "<h2>Custody timeline</h2>");
	timeline(b, json_object_get(res, "events"));
	if (sup || clerk) {
		hb_raw(b, "<h2>Actions</h2><div class=\"actions\">");
		if (sup) {
			action_form(b, s, id, "categorize", NULL, "category", "Set category");
			action_form(b, s, id, "hold", "set", NULL, "Set legal hold");
			action_form(b, s, id, "hold", "release", NULL, "Release hold");
		}
		action_form(b, s, id, "case", "assign", "case", "Assign case");
		if (sup) {
			action_form(b, s, id, "destroy", "request", NULL,
				    "Request destruction");
			action_form(b, s, id, "destroy", "approve", NULL,
				    "Approve destruction");
		}
		/* the court package (POST /export, pages_item_export.c) */
		hb_raw(b, "<form method=\"post\" action=\"/export\" class=\"action\">");
		csrf_field(b, s);
		hb_raw(b, "<input type=\"hidden\" name=\"id\" value=\"");
		hb_esc(b, id);
		hb_raw(b, "\"><input type=\"text\" name=\"case\" placeholder=\"case (optional)\">"
			  "<input type=\"text\" required name=\"reason\" placeholder=\"reason\">"
			  "<button type=\"submit\" id=\"do-export\">Export court package"
			  "</button></form>");
		hb_raw(b, "</div>");
	}
	page_foot(b);
}

void page_report(struct hbuf *b, const struct csess *s, const json_t *reply,
		 const char *reason, const char *generated)
{
	const json_t *res = json_object_get(reply, "result");
	const char *id = str(res, "evidence_id");

	page_head(b, "Chain of custody", s);
	hb_raw(b, "<article class=\"report\"><h1>Chain-of-custody report</h1>"
		  "<table class=\"facts\"><tr><th>Evidence id</th><td id=\"item-id\">");
	hb_esc(b, id);
	hb_raw(b, "</td></tr><tr><th>Agency</th><td>");
	hb_esc(b, str(res, "agency_id"));
	hb_raw(b, "</td></tr><tr><th>Prepared by</th><td>");
	hb_esc(b, s->user);
	hb_raw(b, "</td></tr><tr><th>Prepared at (UTC)</th><td>");
	hb_esc(b, generated);
	hb_raw(b, "</td></tr><tr><th>Purpose</th><td>");
	hb_esc(b, reason);
	hb_raw(b, "</td></tr></table><h2>Recording</h2>");
	record_table(b, json_object_get(res, "record"));
	hb_raw(b, "<h2>Custody events</h2>");
	timeline(b, json_object_get(res, "events"));
	hb_raw(b, "<p class=\"fine\">Every event above is in the dock's signed custody "
		  "ledger (audit sequence ");
	hb_num(b, (int64_t)json_integer_value(json_object_get(reply, "audit_seq")));
	hb_raw(b, " records this report). Verify with custody verify or an independent "
		  "verifier (docs/custody-ledger.md).</p><p class=\"sign\">Received by: "
		  "______________________ Date: __________</p></article>");
	page_foot(b);
}

void page_error(struct hbuf *b, const struct csess *s, const char *title,
		const char *msg)
{
	page_head(b, title, s);
	hb_raw(b, "<h1>");
	hb_esc(b, title);
	hb_raw(b, "</h1><p class=\"error\" id=\"message\">");
	hb_esc(b, msg);
	hb_raw(b, "</p>");
	page_foot(b);
}

const char console_css[] =
	"body{font-family:sans-serif;margin:0;color:#111;background:#f6f6f4}"
	"header{display:flex;gap:1em;align-items:center;background:#1d2b3a;color:#fff;"
	"padding:.5em 1em}header a{color:#fff}.brand{font-weight:bold}"
	".who{margin-left:auto;display:flex;gap:.5em;align-items:center}"
	"main{padding:1em 2em;max-width:70em}"
	".card{display:flex;flex-wrap:wrap;gap:.75em;align-items:end;background:#fff;"
	"padding:1em;border:1px solid #ccc}.card label{display:flex;flex-direction:column;"
	"font-size:.9em}table{border-collapse:collapse;margin:1em 0;background:#fff}"
	"th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
	".facts th{width:12em}.error{color:#a00;font-weight:bold}.notice{color:#064;"
	"font-weight:bold}.actions form{margin:.3em 0}.fine{font-size:.85em}"
	".sign{margin-top:3em}nav a{margin-right:.8em}.warn{color:#a50;font-weight:bold}"
	"progress{width:12em;vertical-align:middle}.live{color:#555;font-size:.9em}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	"@media print{header,nav,.actions,form{display:none}body{background:#fff}"
	"main{padding:0;max-width:none}table{width:100%;font-size:9pt}"
	"h1{font-size:16pt}a{color:#000;text-decoration:none}"
	"tr{page-break-inside:avoid}}\n";
