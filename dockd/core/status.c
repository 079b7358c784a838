/* status.c - live status table (see status.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "status.h"
#include "wire.h"

struct cam_slot {
	bool used;
	char transport[16], peer[64], serial[PROTO_ID_MAX + 1], officer[PROTO_ID_MAX + 1];
	char evidence_id[2 * PROTO_ID_MAX + 2], state[24];
	int64_t since_ns, rec_start_ns;
	uint64_t size, bytes, start_bytes;
	uint64_t rec_done, rec_total;	/* this docking's pulls (status_cam_counts) */
};

struct wit_slot {
	bool used;
	char name[80], url[300], error[160];
	uint64_t cosigned, latest;
	int64_t cosigned_ns, last_try;
	unsigned failures;
};

struct up_slot {
	bool used;
	char evidence_id[2 * PROTO_ID_MAX + 2], object_key[520];
	int64_t start_ns;
	uint64_t size;
	_Atomic uint64_t bytes;
};

struct status {
	pthread_mutex_t mu;
	char dock_id[65], agency_id[65];
	struct cam_slot cams[STATUS_MAX_CAMERAS];
	struct up_slot ups[STATUS_MAX_UPLOADS];
	char alerts[STATUS_MAX_ALERTS][160];
	unsigned n_alerts, next_alert;
	uint64_t q_storage, q_release, q_bytes;
	void (*refresh)(void *ctx);
	void *refresh_ctx;
	char st_target[256], st_state[24], st_error[200];
	unsigned st_workers;
	int64_t st_since, st_retry;
	struct wit_slot wits[STATUS_MAX_WITNESSES];
	bool have_space;
	uint64_t vault_free, vault_total, state_free, state_total;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int status_new(const char *dock_id, const char *agency_id, struct status **out)
{
	struct status *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	snprintf(st->dock_id, sizeof(st->dock_id), "%s", dock_id);
	snprintf(st->agency_id, sizeof(st->agency_id), "%s", agency_id);
	*out = st;
	return 0;
}

void status_free(struct status *st)
{
	if (!st)
		return;
	pthread_mutex_destroy(&st->mu);
	free(st);
}

int status_cam_add(struct status *st, unsigned limit, const char *transport, const char *peer)
{
	int slot = -EBUSY;
	unsigned used = 0;

	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_CAMERAS; i++)
		used += st->cams[i].used;
	for (unsigned i = 0; i < STATUS_MAX_CAMERAS && used < limit; i++) {
		struct cam_slot *c = &st->cams[i];

		if (c->used)
			continue;
		memset(c, 0, sizeof(*c));
		c->used = true;
		snprintf(c->transport, sizeof(c->transport), "%s", transport);
		snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "");
		snprintf(c->state, sizeof(c->state), "authenticating");
		c->since_ns = now_ns();
		slot = (int)i;
		break;
	}
	pthread_mutex_unlock(&st->mu);
	return slot;
}

static struct cam_slot *slot_of(struct status *st, int slot)
{
	return slot >= 0 && slot < STATUS_MAX_CAMERAS ? &st->cams[slot] : NULL;
}

void status_cam_remove(struct status *st, int slot)
{
	struct cam_slot *c = slot_of(st, slot);

	if (!c)
		return;
	pthread_mutex_lock(&st->mu);
	c->used = false;
	pthread_mutex_unlock(&st->mu);
}

unsigned status_cam_count(struct status *st)
{
	unsigned n = 0;

	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_CAMERAS; i++)
		n += st->cams[i].used;
	pthread_mutex_unlock(&st->mu);
	return n;
}

int status_cam_identity(struct status *st, int slot, const char *serial, const char *officer)
{
	struct cam_slot *c = slot_of(st, slot);
	int r = 0;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	for (int i = 0; i < STATUS_MAX_CAMERAS; i++)
		if (i != slot && st->cams[i].used && !strcmp(st->cams[i].serial, serial))
			r = -EBUSY;
	if (r == 0) {
		snprintf(c->serial, sizeof(c->serial), "%s", serial);
		snprintf(c->officer, sizeof(c->officer), "%s", officer);
	}
	pthread_mutex_unlock(&st->mu);
	return r;
}

void status_cam_recording(struct status *st, int slot, const char *evidence_id, uint64_t size,
			  uint64_t bytes)
{
	struct cam_slot *c = slot_of(st, slot);

	if (!c)
		return;
	pthread_mutex_lock(&st->mu);
	snprintf(c->evidence_id, sizeof(c->evidence_id), "%s", evidence_id ? evidence_id : "");
	c->size = size;
	c->bytes = c->start_bytes = bytes;
	c->rec_start_ns = now_ns();
	pthread_mutex_unlock(&st->mu);
}

void status_cam_bytes(struct status *st, int slot, uint64_t bytes)
{
	struct cam_slot *c = slot_of(st, slot);

	if (!c)
		return;
	pthread_mutex_lock(&st->mu);
	c->bytes = bytes;
	pthread_mutex_unlock(&st->mu);
}

void status_cam_state(struct status *st, int slot, const char *state)
{
	struct cam_slot *c = slot_of(st, slot);

	if (!c)
		return;
	pthread_mutex_lock(&st->mu);
	snprintf(c->state, sizeof(c->state), "%s", state);
	pthread_mutex_unlock(&st->mu);
}

void status_alert(struct status *st, const char *summary)
{
	pthread_mutex_lock(&st->mu);
	snprintf(st->alerts[st->next_alert], sizeof(st->alerts[0]), "%s", summary);
	st->next_alert = (st->next_alert + 1) % STATUS_MAX_ALERTS;
	if (st->n_alerts < STATUS_MAX_ALERTS)
		st->n_alerts++;
	pthread_mutex_unlock(&st->mu);
}

void status_queue(struct status *st, uint64_t storage, uint64_t release_pending)
{
	pthread_mutex_lock(&st->mu);
	st->q_storage = storage;
	st->q_release = release_pending;
	pthread_mutex_unlock(&st->mu);
}

void status_queue_bytes(struct status *st, uint64_t bytes)
{
	pthread_mutex_lock(&st->mu);
	st->q_bytes = bytes;
	pthread_mutex_unlock(&st->mu);
}

void status_set_refresh(struct status *st, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&st->mu);
	st->refresh = fn;
	st->refresh_ctx = ctx;
	pthread_mutex_unlock(&st->mu);
}

int status_upload_begin(struct status *st, const char *evidence_id, const char *object_key,
			uint64_t size)
{
	int slot = -EBUSY;

	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_UPLOADS; i++) {
		struct up_slot *u = &st->ups[i];

		if (u->used)
			continue;
		u->used = true;
		snprintf(u->evidence_id, sizeof(u->evidence_id), "%s", evidence_id);
		snprintf(u->object_key, sizeof(u->object_key), "%s", object_key);
		u->size = size;
		u->start_ns = now_ns();
		atomic_store(&u->bytes, 0);
		slot = (int)i;
		break;
	}
	pthread_mutex_unlock(&st->mu);
	return slot;
}

_Atomic uint64_t *status_upload_progress(struct status *st, int slot)
{
	return slot >= 0 && slot < STATUS_MAX_UPLOADS ? &st->ups[slot].bytes : NULL;
}

void status_upload_end(struct status *st, int slot)
{
	if (slot < 0 || slot >= STATUS_MAX_UPLOADS)
		return;
	pthread_mutex_lock(&st->mu);
	st->ups[slot].used = false;
	pthread_mutex_unlock(&st->mu);
}

void status_storage(struct status *st, const char *target, const char *state, unsigned workers,
		    const char *last_error, int64_t since, int64_t retry_at)
{
	pthread_mutex_lock(&st->mu);
	snprintf(st->st_target, sizeof(st->st_target), "%s", target);
	snprintf(st->st_state, sizeof(st->st_state), "%s", state);
	snprintf(st->st_error, sizeof(st->st_error), "%s", last_error ? last_error : "");
	st->st_workers = workers;
	st->st_since = since;
	st->st_retry = retry_at;
	pthread_mutex_unlock(&st->mu);
}

static json_t *utc_or_null(int64_t s);

void status_cam_counts(struct status *st, int slot, uint64_t done, uint64_t total)
{
	struct cam_slot *c = slot_of(st, slot);

	if (!c)
		return;
	pthread_mutex_lock(&st->mu);
	c->rec_done = done;
	c->rec_total = total;
	pthread_mutex_unlock(&st->mu);
}

void status_space(struct status *st, uint64_t vault_free, uint64_t vault_total,
		  uint64_t state_free, uint64_t state_total)
{
	pthread_mutex_lock(&st->mu);
	st->have_space = true;
	st->vault_free = vault_free;
	st->vault_total = vault_total;
	st->state_free = state_free;
	st->state_total = state_total;
	pthread_mutex_unlock(&st->mu);
}

void status_witness(struct status *st, const struct status_witness *w)
{
	struct wit_slot *slot = NULL;

	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_WITNESSES && !slot; i++)
		if (st->wits[i].used && !strcmp(st->wits[i].name, w->name))
			slot = &st->wits[i];
	for (unsigned i = 0; i < STATUS_MAX_WITNESSES && !slot; i++)
		if (!st->wits[i].used)
			slot = &st->wits[i];
	if (slot) {
		slot->used = true;
		snprintf(slot->name, sizeof(slot->name), "%s", w->name);
		snprintf(slot->url, sizeof(slot->url), "%s", w->url ? w->url : "");
		snprintf(slot->error, sizeof(slot->error), "%s", w->error ? w->error : "");
		slot->cosigned = w->cosigned;
		slot->latest = w->latest;
		slot->cosigned_ns = w->cosigned_ns;
		slot->last_try = w->last_try;
		slot->failures = w->failures;
	}
	pthread_mutex_unlock(&st->mu);
}

static json_t *wit_json(const struct wit_slot *w, int64_t now)
{
	char at[64] = "";
	json_t *when = json_null(), *age = json_null();

	if (w->cosigned_ns > 0 && cust_utc_text(w->cosigned_ns, at, sizeof(at)) >= 0) {
		when = json_string(at);
		age = json_integer((json_int_t)((now - w->cosigned_ns) / 1000000000LL));
	}
	return json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:I,s:o,s:o}", "name", w->name, "url", w->url,
			 "cosigned_size", (json_int_t)w->cosigned, "latest_size",
			 (json_int_t)w->latest, "cosigned_at", when, "age_s", age, "failures",
			 (json_int_t)w->failures, "last_error",
			 w->error[0] ? json_string(w->error) : json_null(), "last_attempt",
			 utc_or_null(w->last_try));
}

static json_t *space_json(const struct status *st)
{
	if (!st->have_space)
		return json_null();
	return json_pack("{s:{s:I,s:I},s:{s:I,s:I}}", "vault", "free", (json_int_t)st->vault_free,
			 "total", (json_int_t)st->vault_total, "state", "free",
			 (json_int_t)st->state_free, "total", (json_int_t)st->state_total);
}

/* bytes done of size since start_ns: rate (B/s, 0 = unknown) and ETA. */
static void rate_eta(uint64_t done, uint64_t start, uint64_t size, int64_t start_ns, int64_t now,
		     double *rate, json_t **eta)
{
	double secs = (double)(now - start_ns) / 1e9;

	*rate = secs > 0.05 && done > start ? (double)(done - start) / secs : 0;
	*eta = *rate > 0 && size >= done ? json_integer((json_int_t)((double)(size - done) / *rate))
					 : json_null();
}

static json_t *up_json(const struct up_slot *u, int64_t now)
{
	uint64_t done = atomic_load(&u->bytes);
	char since[64] = "";
	double rate;
	json_t *eta;

	cust_utc_text(u->start_ns, since, sizeof(since));
	rate_eta(done, 0, u->size, u->start_ns, now, &rate, &eta);
	return json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:s}", "evidence_id", u->evidence_id,
			 "object_key", u->object_key, "bytes", (json_int_t)done, "size",
			 (json_int_t)u->size, "rate_bps", (json_int_t)rate, "eta_s", eta, "since",
			 since);
}

/* A UTC second as RFC 3339, or null for 0. */
static json_t *utc_or_null(int64_t s)
{
	char buf[64] = "";

	if (s <= 0 || cust_utc_text(s * 1000000000LL, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static json_t *storage_json(const struct status *st)
{
	if (!st->st_state[0])
		return json_pack("{s:s,s:s}", "target", "", "state", "none");
	return json_pack("{s:s,s:s,s:I,s:o,s:o,s:o}", "target", st->st_target, "state",
			 st->st_state, "workers", (json_int_t)st->st_workers, "last_error",
			 st->st_error[0] ? json_string(st->st_error) : json_null(), "since",
			 utc_or_null(st->st_since), "retry_at", utc_or_null(st->st_retry));
}

static json_t *cam_json(const struct cam_slot *c, int64_t now)
{
	char since[64] = "";
	json_t *recs = json_array(), *o;

	cust_utc_text(c->since_ns, since, sizeof(since));
	if (recs && c->evidence_id[0]) {
		double rate;
		json_t *eta;

		rate_eta(c->bytes, c->start_bytes, c->size, c->rec_start_ns, now, &rate, &eta);

		json_array_append_new(recs, json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "evidence_id",
						      c->evidence_id, "state", c->state, "bytes",
						      (json_int_t)c->bytes, "size", (json_int_t)c->size,
						      "rate_bps", (json_int_t)rate, "eta_s", eta));
	}
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:I}", "serial", c->serial, "officer",
		      c->officer, "transport", c->transport, "peer", c->peer, "since", since, "state",
		      c->state, "recordings", recs ? recs : json_array(), "recordings_done",
		      (json_int_t)c->rec_done, "recordings_total", (json_int_t)c->rec_total);
	return o;
}

json_t *status_json(struct status *st)
{
	int64_t now;
	char when[64] = "";
	json_t *cams = json_array(), *alerts = json_array(), *ups = json_array(), *o;
	json_t *wits = json_array();
	void (*refresh)(void *);
	void *rctx;
	unsigned n_up = 0;

	if (!cams || !alerts || !ups || !wits) {
		json_decref(wits);
		json_decref(cams);
		json_decref(alerts);
		json_decref(ups);
		return NULL;
	}
	pthread_mutex_lock(&st->mu);
	refresh = st->refresh;
	rctx = st->refresh_ctx;
	pthread_mutex_unlock(&st->mu);
	if (refresh)
		refresh(rctx); /* takes the ledger lock: never under st->mu */
	now = now_ns();
	cust_utc_text(now, when, sizeof(when));
	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_CAMERAS; i++)
		if (st->cams[i].used)
			json_array_append_new(cams, cam_json(&st->cams[i], now));
	for (unsigned i = 0; i < STATUS_MAX_UPLOADS; i++)
		if (st->ups[i].used) {
			json_array_append_new(ups, up_json(&st->ups[i], now));
			n_up++;
		}
	for (unsigned i = 0; i < st->n_alerts; i++) {
		unsigned k = (st->next_alert + STATUS_MAX_ALERTS - st->n_alerts + i) % STATUS_MAX_ALERTS;
		json_array_append_new(alerts, json_string(st->alerts[k]));
	}
	for (unsigned i = 0; i < STATUS_MAX_WITNESSES; i++)
		if (st->wits[i].used)
			json_array_append_new(wits, wit_json(&st->wits[i], now));
	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:{s:I,s:I,s:I},s:o}", "dock_id", st->dock_id,
		      "agency_id", st->agency_id, "time", when, "cameras", cams, "uploads", ups,
		      "storage", storage_json(st), "queue", "storage", (json_int_t)st->q_storage,
		      "uploading", (json_int_t)n_up, "release_pending", (json_int_t)st->q_release,
		      "alerts", alerts);
	if (o) {
		json_object_set_new(json_object_get(o, "queue"), "storage_bytes",
				    json_integer((json_int_t)st->q_bytes));
		json_object_set_new(o, "witnesses", wits);
		json_object_set_new(o, "space", space_json(st));
	} else {
		json_decref(wits);
	}
	pthread_mutex_unlock(&st->mu);
	return o;
}
