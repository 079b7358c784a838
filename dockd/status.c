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
};

struct status {
	pthread_mutex_t mu;
	char dock_id[65], agency_id[65];
	struct cam_slot cams[STATUS_MAX_CAMERAS];
	char alerts[STATUS_MAX_ALERTS][160];
	unsigned n_alerts, next_alert;
	uint64_t q_storage, q_release;
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

static json_t *cam_json(const struct cam_slot *c, int64_t now)
{
	char since[64] = "";
	json_t *recs = json_array(), *o;

	cust_utc_text(c->since_ns, since, sizeof(since));
	if (recs && c->evidence_id[0]) {
		double secs = (double)(now - c->rec_start_ns) / 1e9;
		double rate = secs > 0.05 ? (double)(c->bytes - c->start_bytes) / secs : 0;
		json_t *eta = rate > 0 ? json_integer((json_int_t)((double)(c->size - c->bytes) / rate))
				       : json_null();

		json_array_append_new(recs, json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "evidence_id",
						      c->evidence_id, "state", c->state, "bytes",
						      (json_int_t)c->bytes, "size", (json_int_t)c->size,
						      "rate_bps", (json_int_t)rate, "eta_s", eta));
	}
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "serial", c->serial, "officer", c->officer,
		      "transport", c->transport, "peer", c->peer, "since", since, "state", c->state,
		      "recordings", recs ? recs : json_array());
	return o;
}

json_t *status_json(struct status *st)
{
	int64_t now = now_ns();
	char when[64] = "";
	json_t *cams = json_array(), *alerts = json_array(), *o;

	if (!cams || !alerts) {
		json_decref(cams);
		json_decref(alerts);
		return NULL;
	}
	cust_utc_text(now, when, sizeof(when));
	pthread_mutex_lock(&st->mu);
	for (unsigned i = 0; i < STATUS_MAX_CAMERAS; i++)
		if (st->cams[i].used)
			json_array_append_new(cams, cam_json(&st->cams[i], now));
	for (unsigned i = 0; i < st->n_alerts; i++) {
		unsigned k = (st->next_alert + STATUS_MAX_ALERTS - st->n_alerts + i) % STATUS_MAX_ALERTS;
		json_array_append_new(alerts, json_string(st->alerts[k]));
	}
	o = json_pack("{s:s,s:s,s:s,s:o,s:{s:I,s:I},s:o}", "dock_id", st->dock_id, "agency_id",
		      st->agency_id, "time", when, "cameras", cams, "queue", "storage",
		      (json_int_t)st->q_storage, "release_pending", (json_int_t)st->q_release,
		      "alerts", alerts);
	pthread_mutex_unlock(&st->mu);
	return o;
}
