/* pages_audit: the auditors' access log (docs/console.md "Pages"). */
#include "pages.h"

#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static void audit_form(struct hbuf *b, const struct audit_args *a)
{
	static const char *const actions[][2] = {
		{ "access_denied", "denials (access_denied)" },
		{ "console_", "console (logins, refusals, lockouts, views)" },
		{ "ledger_read", "reads (ledger_read)" },
		{ "logon", "service logons" },
		{ "user_", "user changes" } };

	hb_raw(b, "<form method=\"get\" action=\"/audit\" class=\"card search\">"
		  "<label>Events <select name=\"action\" id=\"action\">");
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		hb_raw(b, "<option value=\"");
		hb_raw(b, actions[i][0]);
		hb_raw(b, a->action && !strcmp(a->action, actions[i][0]) ?
			  "\" selected>" : "\">");
		hb_raw(b, actions[i][1]);
		hb_raw(b, "</option>");
	}
	hb_raw(b, "</select></label><label>From <input type=\"date\" name=\"from\" id=\"from\" value=\"");
	hb_esc(b, a->from);
	hb_raw(b, "\"></label><label>to <input type=\"date\" name=\"to\" id=\"to\" value=\"");
	hb_esc(b, a->to);
	hb_raw(b, "\"></label><label>Reason (recorded) <input type=\"text\" name=\"reason\" "
		  "id=\"reason\" required value=\"");
	hb_esc(b, a->reason);
	hb_raw(b, "\"></label><button type=\"submit\" id=\"show\">Show</button></form>");
}

void page_audit(struct hbuf *b, const struct csess *s,
		const struct audit_args *a, const json_t *reply)
{
	const json_t *events, *e;
	size_t i;

	page_head(b, "Access log", s);
	hb_raw(b, "<h1>Access log</h1>");
	audit_form(b, a);
	if (!page_reply_ok(b, reply))
		return;
	events = json_object_get(json_object_get(reply, "result"), "events");
	hb_raw(b, "<p id=\"count\">");
	hb_num(b, (int64_t)json_array_size(events));
	hb_raw(b, " events, newest first</p><table id=\"events\"><thead><tr><th>#</th>"
		  "<th>Time (UTC)</th><th>Action</th><th>Who</th><th>Outcome</th>"
		  "<th>Item</th><th>Reason</th><th>Details</th></tr></thead><tbody>");
	json_array_foreach(events, i, e) {
		const json_t *d = json_object_get(e, "details");
		const json_t *p = json_object_get(d, "params");
		const char *why = str(d, "verdict")[0] ? str(d, "verdict") :
				  str(p, "detail")[0] ? str(p, "detail") : str(d, "error");

		hb_raw(b, "<tr><td>");
		hb_num(b, (int64_t)json_integer_value(json_object_get(e, "seq")));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "time"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "action"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(json_object_get(e, "actor"), "id"));
		if (str(p, "claimed")[0]) {
			hb_raw(b, " (typed: ");
			hb_esc(b, str(p, "claimed"));
			hb_raw(b, ")");
		}
		if (str(d, "client")[0]) {
			hb_raw(b, " from ");
			hb_esc(b, str(d, "client"));
		}
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "outcome"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "evidence_id"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "reason"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(p, "event"));
		hb_raw(b, " ");
		hb_esc(b, why);
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
	page_foot(b);
}
