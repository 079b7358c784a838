/* facts.c - a governing row must be backed by its event (see facts.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "facts.h"

/* 1 if details[key] is the string want (or absent and alt == want). */
static int field_is(json_t *d, const char *key, const char *want,
		    const char *alt)
{
	json_t *v = json_object_get(d, key);
	const char *s = v ? json_string_value(v) : alt;

	return s && want && !strcmp(s, want);
}

/* Load the event at seq; 0, -EPERM (none, wrong action or not ok), or a
 * ledger error. *det is the parsed details (caller decrefs). */
static int load(struct cust_ledger *l, uint64_t seq,
		const enum cust_action *ok, size_t n_ok,
		struct cust_event *ev, json_t **det)
{
	size_t i;
	int r;

	if (!seq)
		return -EPERM;
	r = cust_ledger_get(l, seq, ev);
	if (r == -ENOENT)
		return -EPERM;
	if (r)
		return r;
	if (ev->outcome != CUST_OUTCOME_OK)
		return -EPERM;
	for (i = 0; i < n_ok && ok[i] != ev->action; i++)
		;
	if (i == n_ok)
		return -EPERM;
	return cust_event_details(ev, det) ? -EPERM : 0;
}

struct want { const char *key, *val; };

/* The event at seq is one of ok[], succeeded, its details hold every
 * want[i] as a string, and its agency (details "agency", else the event's
 * own) is `agency` and so is the event's agency_id.  0, -EPERM or a
 * ledger error / -ENOMEM. */
static int backed(struct cust_ledger *l, uint64_t seq,
		  const enum cust_action *ok, size_t n_ok,
		  const struct want *want, size_t n_want, const char *agency)
{
	struct cust_event *ev = malloc(sizeof(*ev));
	json_t *d = NULL;
	size_t i;
	int r;

	if (!ev)
		return -ENOMEM;
	r = load(l, seq, ok, n_ok, ev, &d);
	for (i = 0; !r && i < n_want; i++)
		if (!field_is(d, want[i].key, want[i].val, NULL))
			r = -EPERM;
	if (!r && !(field_is(d, "agency", agency, ev->agency_id) &&
		    !strcmp(ev->agency_id, agency)))
		r = -EPERM;
	json_decref(d);
	free(ev);
	return r;
}

int facts_user_backed(struct cust_ledger *l, const char *name,
		      const char *role, const char *agency, uint64_t seq)
{
	static const enum cust_action ok[] = { CUST_A_USER_ADDED,
					       CUST_A_PERMISSION_CHANGED };
	const struct want w[] = { { "user", name }, { "role", role } };

	return backed(l, seq, ok, 2, w, sizeof(w) / sizeof(w[0]), agency);
}

int facts_camera_backed(struct cust_ledger *l, const char *serial,
			const char *pubkey_hex, const char *officer,
			const char *model, const char *agency, uint64_t seq)
{
	static const enum cust_action ok[] = { CUST_A_DEVICE_ENROLLED };
	const struct want w[] = { { "serial", serial }, { "pubkey", pubkey_hex },
				  { "officer", officer }, { "model", model } };

	return backed(l, seq, ok, 1, w, sizeof(w) / sizeof(w[0]), agency);
}
