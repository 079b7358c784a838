/* pages_dock: "the dock now" and the auditors' alerts and witness pages
 * (docs/console.md "Pages"), and the one script of the console. The
 * status comes from dockd through the query service: every member may be
 * missing or of the wrong type (shown as "-"), every string is escaped. */
#include "pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v && *v ? v : "-";
}

/* A non-negative integer member, or -1. */
static int64_t num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	       (int64_t)json_integer_value(v) : -1;
}

/* "512 B", "1.5 MiB"... (the same units as `custody status`). */
static void bytes(struct hbuf *b, int64_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	char buf[32];
	int u = -1;

	if (n < 0) {
		hb_raw(b, "-");
		return;
	}
	if (n < 1024) {
		snprintf(buf, sizeof(buf), "%" PRId64 " B", n);
	} else {
		while (v >= 1024.0 && u < 4) {
			v /= 1024.0;
			u++;
		}
		snprintf(buf, sizeof(buf), "%.1f %s", v, unit[u]);
	}
	hb_raw(b, buf);
}

/* An RFC 3339 UTC time as "YYYY-MM-DD hh:mm:ss" (to the second: the
 * ledger keeps the nanoseconds); anything else as it is, escaped. */
static void when(struct hbuf *b, const char *t)
{
	char buf[20];

	if (strlen(t) < 20 || t[10] != 'T' || t[4] != '-' || t[13] != ':') {
		hb_esc(b, t);
		return;
	}
	memcpy(buf, t, 19);
	buf[10] = ' ';
	buf[19] = '\0';
	hb_esc(b, buf);
}

static void cell_num(struct hbuf *b, int64_t n)
{
	if (n < 0)
		hb_raw(b, "-");
	else
		hb_num(b, n);
}

/* "done / size" and a <progress> bar (no script needed to read it). */
static void progress(struct hbuf *b, const json_t *r)
{
	int64_t done = num(r, "bytes"), size = num(r, "size");

	hb_raw(b, "<span class=\"bytes\">");
	bytes(b, done);
	hb_raw(b, " / ");
	bytes(b, size);
	hb_raw(b, "</span> <progress class=\"bar\" max=\"");
	hb_num(b, size > 0 ? size : 1);
	hb_raw(b, "\" value=\"");
	hb_num(b, done > 0 && size > 0 ? (done < size ? done : size) : 0);
	hb_raw(b, "\"></progress>");
}

static void cameras(struct hbuf *b, const json_t *cams)
{
	const json_t *c;
	size_t i;

	hb_raw(b, "<h2>Cameras docked now</h2>");
	if (!json_array_size(cams)) {
		hb_raw(b, "<p id=\"no-cameras\">No camera is docked.</p>");
		return;
	}
	hb_raw(b, "<table id=\"cameras\"><thead><tr><th>Camera</th><th>Officer</th>"
		  "<th>Link</th><th>Docked since (UTC)</th><th>State</th>"
		  "<th>Recordings done / total</th><th>Recording now</th>"
		  "<th>Bytes and progress</th></tr></thead><tbody>");
	json_array_foreach(cams, i, c) {
		const json_t *r = json_array_get(json_object_get(c, "recordings"), 0);

		if (i >= 200)
			break;
		hb_raw(b, "<tr data-serial=\"");
		hb_esc(b, str(c, "serial"));
		hb_raw(b, "\"><td>");
		hb_esc(b, str(c, "serial"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(c, "officer"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(c, "transport"));
		hb_raw(b, "</td><td>");
		when(b, str(c, "since"));
		hb_raw(b, "</td><td class=\"state\">");
		hb_esc(b, str(c, "state"));
		hb_raw(b, "</td><td class=\"done num\">");
		cell_num(b, num(c, "recordings_done"));
		hb_raw(b, " / ");
		cell_num(b, num(c, "recordings_total"));
		hb_raw(b, "</td><td class=\"rec\">");
		hb_esc(b, r ? str(r, "evidence_id") : "-");
		hb_raw(b, "</td><td class=\"progress\">");
		if (r)
			progress(b, r);
		else
			hb_raw(b, "<span class=\"bytes\">-</span>");
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
}

static void storage(struct hbuf *b, const json_t *st, const json_t *q, const json_t *ups)
{
	const json_t *u;
	size_t i;

	hb_raw(b, "<h2>Storage queue</h2><table class=\"facts\" id=\"storage\"><tr><th>Target"
		  "</th><td>");
	hb_esc(b, str(st, "target"));
	hb_raw(b, "</td></tr><tr><th>State</th><td id=\"storage-state\">");
	hb_esc(b, str(st, "state"));
	hb_raw(b, "</td></tr><tr><th>Waiting for upload</th><td id=\"queue-storage\">");
	cell_num(b, num(q, "storage"));
	hb_raw(b, " recordings, <span id=\"queue-bytes\">");
	bytes(b, num(q, "storage_bytes"));
	hb_raw(b, "</span></td></tr><tr><th>Uploading now</th><td id=\"queue-uploading\">");
	cell_num(b, num(q, "uploading"));
	hb_raw(b, "</td></tr><tr><th>Stored, camera not released yet</th><td>");
	cell_num(b, num(q, "release_pending"));
	hb_raw(b, "</td></tr><tr><th>Last error</th><td id=\"storage-error\"");
	hb_raw(b, json_is_string(json_object_get(st, "last_error")) ? " class=\"warn\">" : ">");
	hb_esc(b, str(st, "last_error"));
	hb_raw(b, "</td></tr></table>");
	if (!json_array_size(ups))
		return;
	hb_raw(b, "<table id=\"uploads\"><thead><tr><th>Uploading</th><th>Bytes and progress"
		  "</th></tr></thead><tbody>");
	json_array_foreach(ups, i, u) {
		if (i >= 200)
			break;
		hb_raw(b, "<tr><td>");
		hb_esc(b, str(u, "evidence_id"));
		hb_raw(b, "</td><td>");
		progress(b, u);
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
}

static void space_row(struct hbuf *b, const char *label, const json_t *fs)
{
	int64_t fr = num(fs, "free"), tot = num(fs, "total");

	hb_raw(b, "<tr><th>");
	hb_raw(b, label);
	hb_raw(b, "</th><td>");
	bytes(b, fr);
	hb_raw(b, " free of ");
	bytes(b, tot);
	if (fr >= 0 && tot > 0) {
		hb_raw(b, " (");
		hb_num(b, (int64_t)((double)fr * 100.0 / (double)tot));
		hb_raw(b, "%)");
	}
	hb_raw(b, "</td></tr>");
}

/* The witnesses as a table: shared by the dock page and /witness. */
static void witnesses(struct hbuf *b, const json_t *ws)
{
	const json_t *w;
	size_t i;

	if (!json_array_size(ws)) {
		hb_raw(b, "<p id=\"no-witnesses\">No witness is configured (or the dock has "
			  "not signed a checkpoint yet).</p>");
		return;
	}
	hb_raw(b, "<table id=\"witnesses\"><thead><tr><th>Witness</th><th>URL</th>"
		  "<th>Last cosigned checkpoint</th><th>Newest checkpoint</th>"
		  "<th>Cosigned at (UTC)</th><th>Age</th><th>Failures in a row</th>"
		  "<th>Last error</th><th>Last attempt (UTC)</th></tr></thead><tbody>");
	json_array_foreach(ws, i, w) {
		int64_t age = num(w, "age_s"), fails = num(w, "failures");

		if (i >= 64)
			break;
		hb_raw(b, "<tr><td>");
		hb_esc(b, str(w, "name"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(w, "url"));
		hb_raw(b, "</td><td class=\"num\">");
		cell_num(b, num(w, "cosigned_size"));
		hb_raw(b, "</td><td class=\"num\">");
		cell_num(b, num(w, "latest_size"));
		hb_raw(b, "</td><td>");
		when(b, str(w, "cosigned_at"));
		hb_raw(b, "</td><td class=\"num\">");
		if (age < 0) {
			hb_raw(b, "-");
		} else {
			char buf[48];

			if (age < 60)
				snprintf(buf, sizeof(buf), "%" PRId64 " s", age);
			else
				snprintf(buf, sizeof(buf), "%" PRId64 " h %02d min", age / 3600,
					 (int)(age / 60 % 60));
			hb_raw(b, buf);
		}
		hb_raw(b, fails > 0 ? "</td><td class=\"num warn\">" : "</td><td class=\"num\">");
		cell_num(b, fails);
		hb_raw(b, "</td><td>");
		hb_esc(b, str(w, "last_error"));
		hb_raw(b, "</td><td>");
		when(b, str(w, "last_attempt"));
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
}

void page_dock(struct hbuf *b, const struct csess *s, const json_t *reply)
{
	const json_t *st = json_object_get(reply, "result"), *a, *sp;
	const json_t *alerts = json_object_get(st, "alerts");
	size_t i;

	page_head(b, "Dock now", s);
	hb_raw(b, "<h1>Dock now</h1>");
	if (!page_reply_ok(b, reply))
		return;
	sp = json_object_get(st, "space");
	hb_raw(b, "<div id=\"dock\"><p>Dock <b>");
	hb_esc(b, str(st, "dock_id"));
	hb_raw(b, "</b> (agency ");
	hb_esc(b, str(st, "agency_id"));
	hb_raw(b, "), as of <span id=\"asof\">");
	when(b, str(st, "time"));
	hb_raw(b, "</span> UTC. <span class=\"live\" id=\"live\">Reload the page for "
		  "news (live updates need JavaScript).</span></p>");
	cameras(b, json_object_get(st, "cameras"));
	storage(b, json_object_get(st, "storage"), json_object_get(st, "queue"),
		json_object_get(st, "uploads"));
	hb_raw(b, "<h2>Alerts</h2>");
	if (!json_array_size(alerts)) {
		hb_raw(b, "<p id=\"no-alerts\">No alert since the dock started.</p>");
	} else {
		hb_raw(b, "<p>Newest last; the dock keeps the last few since it started "
			  "(auditors: the Alerts page lists them from the ledger).</p>"
			  "<ul id=\"alerts\">");
		json_array_foreach(alerts, i, a) {
			hb_raw(b, "<li class=\"warn\">");
			hb_esc(b, json_string_value(a));
			hb_raw(b, "</li>");
		}
		hb_raw(b, "</ul>");
	}
	hb_raw(b, "<h2>Free space</h2><table class=\"facts\" id=\"space\">");
	space_row(b, "Vault", json_object_get(sp, "vault"));
	space_row(b, "State directory (ledger)", json_object_get(sp, "state"));
	hb_raw(b, "</table><h2>Witnesses</h2>");
	witnesses(b, json_object_get(st, "witnesses"));
	/* the one script: same origin, no inline code (CSP script-src 'self') */
	hb_raw(b, "</div><script src=\"/static/dock.js\"></script>");
	page_foot(b);
}

void page_witness(struct hbuf *b, const struct csess *s, const json_t *reply)
{
	const json_t *r = json_object_get(reply, "result");

	page_head(b, "Witnesses", s);
	hb_raw(b, "<h1>Witness status</h1>");
	if (!page_reply_ok(b, reply))
		return;
	hb_raw(b, "<p>Outside witnesses cosign the ledger's checkpoints (docs/witness.md); "
		  "a witness that stops cosigning, or refuses, needs a look. As of ");
	when(b, str(r, "time"));
	hb_raw(b, " UTC.</p>");
	witnesses(b, json_object_get(r, "witnesses"));
	page_foot(b);
}

void page_alerts(struct hbuf *b, const struct csess *s, const struct audit_args *a,
		 const json_t *reply)
{
	const json_t *events, *e;
	size_t i;

	page_head(b, "Alerts", s);
	hb_raw(b, "<h1>Alerts</h1><p>The ledger's events that raise an alert: refused "
		  "requests and cameras, evidence that failed its checks, lockouts. "
		  "Newest first; the last 7 days unless you choose dates.</p>"
		  "<form method=\"get\" action=\"/alerts\" class=\"card search\">"
		  "<label>From <input type=\"date\" name=\"from\" id=\"from\" value=\"");
	hb_esc(b, a->from);
	hb_raw(b, "\"></label><label>to <input type=\"date\" name=\"to\" id=\"to\" value=\"");
	hb_esc(b, a->to);
	hb_raw(b, "\"></label><button type=\"submit\" id=\"show\">Show</button></form>");
	if (!page_reply_ok(b, reply))
		return;
	events = json_object_get(json_object_get(reply, "result"), "events");
	hb_raw(b, "<p id=\"count\">");
	hb_num(b, (int64_t)json_array_size(events));
	hb_raw(b, " alerts</p><table id=\"alerts\"><thead><tr><th>#</th><th>Time (UTC)</th>"
		  "<th>Alert</th><th>Who</th><th>Item</th><th>Why</th></tr></thead><tbody>");
	json_array_foreach(events, i, e) {
		const json_t *d = json_object_get(e, "details");
		const json_t *p = json_object_get(d, "params");
		const char *why = strcmp(str(d, "verdict"), "-") ? str(d, "verdict") :
				  strcmp(str(p, "detail"), "-") ? str(p, "detail") :
				  strcmp(str(d, "why"), "-") ? str(d, "why") : str(d, "error");

		hb_raw(b, "<tr><td>");
		hb_num(b, (int64_t)json_integer_value(json_object_get(e, "seq")));
		hb_raw(b, "</td><td>");
		when(b, str(e, "time"));
		hb_raw(b, "</td><td class=\"warn\">");
		hb_esc(b, str(e, "action"));
		hb_raw(b, "</td><td>");
		hb_esc(b, str(json_object_get(e, "actor"), "id"));
		if (strcmp(str(p, "claimed"), "-")) {
			hb_raw(b, " (typed: ");
			hb_esc(b, str(p, "claimed"));
			hb_raw(b, ")");
		}
		if (strcmp(str(d, "op"), "-")) {
			hb_raw(b, ", op ");
			hb_esc(b, str(d, "op"));
		}
		hb_raw(b, "</td><td>");
		hb_esc(b, str(e, "evidence_id"));
		hb_raw(b, "</td><td>");
		hb_esc(b, why);
		hb_raw(b, "</td></tr>");
	}
	hb_raw(b, "</tbody></table>");
	page_foot(b);
}

/* Served as /static/dock.js (script-src 'self'). It only changes text and
 * <progress> values (textContent, never HTML), from the status events of
 * /dock/events; without it the page is complete, only not live. */
const char console_dock_js[] =
	"'use strict';\n"
	"(function () {\n"
	"  var root = document.getElementById('dock');\n"
	"  var live = document.getElementById('live');\n"
	"  if (!root || !live || !window.EventSource) return;\n"
	"  function units(n) {\n"
	"    if (typeof n !== 'number' || n < 0) return '-';\n"
	"    if (n < 1024) return n + ' B';\n"
	"    var u = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = -1;\n"
	"    while (n >= 1024 && i < 4) { n /= 1024; i++; }\n"
	"    return n.toFixed(1) + ' ' + u[i];\n"
	"  }\n"
	"  function text(el, v) { if (el) el.textContent = (v === undefined || v === null || v === '') ? '-' : String(v); }\n"
	"  function byId(id) { return document.getElementById(id); }\n"
	"  var known = {};\n"
	"  Array.prototype.forEach.call(document.querySelectorAll('#cameras tr[data-serial]'),\n"
	"    function (tr) { known[tr.getAttribute('data-serial')] = tr; });\n"
	"  var src = new EventSource('/dock/events');\n"
	"  src.addEventListener('status', function (ev) {\n"
	"    var st;\n"
	"    try { st = JSON.parse(ev.data); } catch (e) { return; }\n"
	"    var cams = Array.isArray(st.cameras) ? st.cameras : [], seen = 0, changed = false;\n"
	"    cams.forEach(function (c) {\n"
	"      var tr = known[c.serial];\n"
	"      if (!tr) { changed = true; return; }\n"
	"      seen++;\n"
	"      var r = Array.isArray(c.recordings) && c.recordings.length ? c.recordings[0] : null;\n"
	"      text(tr.querySelector('.state'), c.state);\n"
	"      text(tr.querySelector('.done'), c.recordings_done + ' / ' + c.recordings_total);\n"
	"      text(tr.querySelector('.rec'), r ? r.evidence_id : '-');\n"
	"      text(tr.querySelector('.bytes'), r ? units(r.bytes) + ' / ' + units(r.size) : '-');\n"
	"      var bar = tr.querySelector('progress');\n"
	"      if (bar && r && r.size > 0) { bar.max = r.size; bar.value = Math.min(r.bytes, r.size); }\n"
	"    });\n"
	"    if (seen !== Object.keys(known).length) changed = true;\n"
	"    var q = st.queue || {}, s = st.storage || {};\n"
	"    var qs = byId('queue-storage');\n"
	"    if (qs && qs.firstChild) qs.firstChild.textContent = (typeof q.storage === 'number' ? q.storage : '-') + ' recordings, ';\n"
	"    text(byId('queue-bytes'), units(q.storage_bytes));\n"
	"    text(byId('queue-uploading'), q.uploading);\n"
	"    text(byId('storage-state'), s.state);\n"
	"    text(byId('storage-error'), s.last_error);\n"
	"    if (typeof st.time === 'string') text(byId('asof'), st.time.replace('T', ' ').slice(0, 19));\n"
	"    text(live, changed ? 'Live: cameras docked or left since this page was loaded; '\n"
	"         + 'reload it to see them.' : 'Live (updated every 2 s).');\n"
	"    live.className = changed ? 'live warn' : 'live';\n"
	"  });\n"
	"  src.addEventListener('end', function (ev) {\n"
	"    text(live, 'Live updates stopped: ' + ev.data + ' Reload the page.');\n"
	"    src.close();\n"
	"  });\n"
	"})();\n";
