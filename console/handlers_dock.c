/* handlers_dock: the dock now (/dock, /dock/events) and the auditors'
 * alerts and witness pages. See handlers.h and docs/console.md.
 *
 * The live view is a server-sent-events stream. libmicrohttpd reads it
 * from sse_read(); between ticks the connection is suspended (never a
 * busy loop, never a blocked pool thread) and one ticker thread resumes
 * the suspended streams once a second. A stream is one console_page_view
 * event (path /dock/events); each tick asks the service for status with
 * "view" = that event's seq, which the service checks and counts as
 * recorded (custody/qrequest.c), so ticks add no events. */
#include "handlers.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pages.h"

#define SSE_MAX 32		/* live views at once (each holds a connection) */
#define SSE_TICK_S 2		/* between status events */
#define SSE_LIFE_S 3600		/* then "end"; the browser reloads for more */
#define SSE_BUF (256 * 1024)	/* one status event at most (200 cameras fit) */

static const char *arg(struct MHD_Connection *c, const char *k)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);

	return v && *v ? v : NULL;
}

static enum MHD_Result unrecorded(struct MHD_Connection *c, const struct csess *s)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Not available",
			  "This page could not be recorded in the custody "
			  "ledger, so it is not shown. Try again; if it "
			  "persists, call the dock administrator.");
}

/* The page's view event; 0 and *seq (when seq is not NULL) if recorded. */
static int viewed(const struct csess *s, const char *client, const char *path,
		  int64_t *seq)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "console-event", "event",
				"page_view", "outcome", "ok", "path", path);
	json_t *reply = NULL;
	int rc = req ? svc_call(http_svc(), s->user, client, req, &reply) : -ENOMEM;

	json_decref(req);
	if (!rc && !json_is_true(json_object_get(reply, "ok")))
		rc = -EIO;
	if (!rc && seq) {
		*seq = json_integer_value(json_object_get(reply, "audit_seq"));
		if (*seq <= 0)
			rc = -EIO;
	}
	json_decref(reply);
	return rc;
}

/* 403 for the service's denials, 503 when it could not answer. */
static unsigned status_of(const json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));

	if (json_is_true(json_object_get(reply, "ok")))
		return MHD_HTTP_OK;
	if (e && !strcmp(e, "denied"))
		return MHD_HTTP_FORBIDDEN;
	return e && !strcmp(e, "bad-request") ? MHD_HTTP_BAD_REQUEST :
	       MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* Ask the service (req consumed); 0 and *reply, or -1 (no answer). */
static int ask(const struct csess *s, const char *client, json_t *req, json_t **reply)
{
	int rc = req ? svc_call(http_svc(), s->user, client, req, reply) : -1;

	json_decref(req);
	return rc ? -1 : 0;
}

static enum MHD_Result unavailable(struct MHD_Connection *c, const struct csess *s)
{
	return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Not available",
			  "The custody service did not answer.");
}

enum MHD_Result handle_dock(struct MHD_Connection *c, const struct csess *s,
			    const char *client)
{
	json_t *reply = NULL;
	unsigned status;
	struct hbuf b;

	if (viewed(s, client, "/dock", NULL))
		return unrecorded(c, s);
	/* the service decides who sees the dock (and records the read) */
	if (ask(s, client, json_pack("{s:s}", "op", "status"), &reply))
		return unavailable(c, s);
	status = status_of(reply);
	hb_init(&b);
	page_dock(&b, s, reply);
	json_decref(reply);
	return http_send_csp(c, status, &b, NULL, status == MHD_HTTP_OK ? CSP_DOCK : NULL);
}

enum MHD_Result handle_witness(struct MHD_Connection *c, const struct csess *s,
			       const char *client)
{
	json_t *reply = NULL;
	unsigned status;
	struct hbuf b;

	if (viewed(s, client, "/witness", NULL))
		return unrecorded(c, s);
	if (ask(s, client, json_pack("{s:s}", "op", "witness-status"), &reply))
		return unavailable(c, s);
	status = status_of(reply);
	hb_init(&b);
	page_witness(&b, s, reply);
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

enum MHD_Result handle_alerts(struct MHD_Connection *c, const struct csess *s,
			      const char *client)
{
	struct audit_args a = { NULL, arg(c, "from"), arg(c, "to"), NULL };
	json_t *req, *reply = NULL;
	char week[16];
	time_t then = time(NULL) - 7 * 86400;
	struct tm tm;
	unsigned status;
	struct hbuf b;

	if (viewed(s, client, "/alerts", NULL))
		return unrecorded(c, s);
	if (!a.from && gmtime_r(&then, &tm) && strftime(week, sizeof(week), "%Y-%m-%d", &tm))
		a.from = week;
	req = json_pack("{s:s, s:i}", "op", "alerts", "limit", 200);
	if (req && a.from)
		json_object_set_new(req, "from", json_string(a.from));
	if (req && a.to)
		json_object_set_new(req, "to", json_string(a.to));
	if (ask(s, client, req, &reply))
		return unavailable(c, s);
	status = status_of(reply);
	hb_init(&b);
	page_alerts(&b, s, &a, reply);
	json_decref(reply);
	return http_send(c, status, &b, NULL, NULL, NULL);
}

/* ---- the live view (server-sent events) -------------------------------- */

struct stream {
	struct stream *next;
	struct MHD_Connection *c;
	char sid[SESS_HEX + 1], user[SESS_NAME_MAX + 1], client[64], view[24];
	char *buf;		/* the event being sent */
	size_t len, off;
	time_t due, end;
	int suspended, done;
};

static pthread_mutex_t sse_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sse_cv = PTHREAD_COND_INITIALIZER;
static struct stream *streams;
static unsigned n_streams;
static int sse_stopping, ticker_started;
static pthread_t ticker;

/* Resume every suspended stream once a second (the reader decides
 * whether a tick is due). */
static void *tick_all(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&sse_mu);
	while (!sse_stopping) {
		for (struct stream *t = streams; t; t = t->next)
			if (t->suspended) {
				t->suspended = 0;
				MHD_resume_connection(t->c);
			}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&sse_cv, &sse_mu, &ts);
	}
	pthread_mutex_unlock(&sse_mu);
	return NULL;
}

void sse_stop(void)
{
	int started;

	pthread_mutex_lock(&sse_mu);
	sse_stopping = 1;
	started = ticker_started;
	for (struct stream *t = streams; t; t = t->next)
		if (t->suspended) {	/* MHD must not stop with suspended ones */
			t->suspended = 0;
			t->done = 1;
			MHD_resume_connection(t->c);
		}
	pthread_cond_broadcast(&sse_cv);
	pthread_mutex_unlock(&sse_mu);
	if (started)
		pthread_join(ticker, NULL);
}

/* One event "name" with data (one line: compact JSON or plain text). */
static void sse_event(struct stream *t, const char *name, const char *data)
{
	int n = snprintf(t->buf, SSE_BUF, "event: %s\ndata: %s\n\n", name, data);

	t->len = n > 0 && n < SSE_BUF ? (size_t)n : 0;
	t->off = 0;
}

/* The next event of t: status, or "end" (session over, refused, time). */
static void sse_tick(struct stream *t, time_t now)
{
	json_t *req, *reply = NULL, *res;
	struct csess s;
	char *js;

	if (sess_peek(t->sid, &s) || strcmp(s.user, t->user)) {
		sse_event(t, "end", "your session ended.");
		t->done = 1;
		return;
	}
	req = json_pack("{s:s, s:s}", "op", "status", "view", t->view);
	if (!req || svc_call(http_svc(), t->user, t->client, req, &reply) ||
	    !json_is_true(json_object_get(reply, "ok"))) {
		const char *m = json_string_value(json_object_get(reply, "message"));

		sse_event(t, "end", m && !strchr(m, '\n') ? m : "the custody service did not answer.");
		t->done = 1;
	} else {
		res = json_object_get(reply, "result");
		js = json_dumps(res, JSON_COMPACT);
		if (js && strlen(js) + 32 < SSE_BUF)
			sse_event(t, "status", js);
		else
			sse_event(t, "end", "the dock's status is too large to show live.");
		free(js);
		if (now >= t->end) {
			/* the next call sends "end": one view has a bounded life */
			t->end = 0;
		}
	}
	json_decref(req);
	json_decref(reply);
	t->due = now + SSE_TICK_S;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *t = cls;
	time_t now = time(NULL);
	size_t n;

	(void)pos;
	if (t->off >= t->len) {
		if (t->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (t->end == 0) {
			sse_event(t, "end", "this live view reached its time limit.");
			t->done = 1;
		} else if (now < t->due) {
			pthread_mutex_lock(&sse_mu);
			if (sse_stopping) {
				pthread_mutex_unlock(&sse_mu);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			t->suspended = 1;
			MHD_suspend_connection(t->c);
			pthread_mutex_unlock(&sse_mu);
			return 0;
		} else {
			sse_tick(t, now);
		}
		if (t->off >= t->len)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = t->len - t->off < max ? t->len - t->off : max;
	memcpy(buf, t->buf + t->off, n);
	t->off += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct stream *t = cls, **pp;

	pthread_mutex_lock(&sse_mu);
	for (pp = &streams; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			n_streams--;
			break;
		}
	pthread_mutex_unlock(&sse_mu);
	free(t->buf);
	free(t);
}

enum MHD_Result handle_dock_events(struct MHD_Connection *c, const struct csess *s,
				   const char *client)
{
	struct MHD_Response *resp;
	struct stream *t;
	enum MHD_Result ret;
	int64_t seq = 0;
	int busy;

	pthread_mutex_lock(&sse_mu);
	busy = n_streams >= SSE_MAX || sse_stopping;
	pthread_mutex_unlock(&sse_mu);
	if (busy)
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, s, "Busy",
				  "Too many live views; reload the page later.");
	if (viewed(s, client, "/dock/events", &seq))
		return unrecorded(c, s);
	t = calloc(1, sizeof(*t));
	if (t)
		t->buf = malloc(SSE_BUF);
	if (!t || !t->buf) {
		free(t);
		return MHD_NO;
	}
	t->c = c;
	snprintf(t->sid, sizeof(t->sid), "%s", s->id);
	snprintf(t->user, sizeof(t->user), "%s", s->user);
	snprintf(t->client, sizeof(t->client), "%s", client);
	snprintf(t->view, sizeof(t->view), "%" PRId64, seq);
	t->end = time(NULL) + SSE_LIFE_S;
	/* the first tick now: a refusal (another agency, a removed user) is
	 * the service's recorded denial and a plain 403, not a stream */
	sse_tick(t, time(NULL));
	if (t->done) {
		free(t->buf);
		free(t);
		return http_error(c, MHD_HTTP_FORBIDDEN, s, "Refused",
				  "The live view of the dock was refused (recorded).");
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, t, sse_free);
	if (!resp) {
		free(t->buf);
		free(t);
		return MHD_NO;
	}
	pthread_mutex_lock(&sse_mu);
	if (!ticker_started && pthread_create(&ticker, NULL, tick_all, NULL) == 0)
		ticker_started = 1;
	t->next = streams;
	streams = t;
	n_streams++;
	pthread_mutex_unlock(&sse_mu);
	http_headers(resp, NULL);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
