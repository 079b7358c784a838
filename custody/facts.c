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

int facts_user_backed(struct cust_ledger *l, const char *name,
		      const char *role, const char *agency, uint64_t seq)
{
	static const enum cust_action ok[] = { CUST_A_USER_ADDED,
					       CUST_A_PERMISSION_CHANGED };
	struct cust_event *ev = malloc(sizeof(*ev));
	json_t *d = NULL;
	int r;

	if (!ev)
		return -ENOMEM;
	r = load(l, seq, ok, 2, ev, &d);
	if (!r && !(field_is(d, "user", name, NULL) &&
		    field_is(d, "role", role, NULL) &&
		    field_is(d, "agency", agency, ev->agency_id) &&
		    !strcmp(ev->agency_id, agency)))
		r = -EPERM;
	json_decref(d);
	free(ev);
	return r;
}

int facts_camera_backed(struct cust_ledger *l, const char *serial,
			const char *pubkey_hex, const char *officer,
			const char *model, const char *agency, uint64_t seq)
{
	static const enum cust_action ok[] = { CUST_A_DEVICE_ENROLLED };
	struct cust_event *ev = malloc(sizeof(*ev));
	json_t *d = NULL;
	int r;

	if (!ev)
		return -ENOMEM;
	r = load(l, seq, ok, 1, ev, &d);
	if (!r && !(field_is(d, "serial", serial, NULL) &&
		    field_is(d, "pubkey", pubkey_hex, NULL) &&
		    field_is(d, "officer", officer, NULL) &&
		    field_is(d, "model", model, NULL) &&
		    field_is(d, "agency", agency, ev->agency_id) &&
		    !strcmp(ev->agency_id, agency)))
		r = -EPERM;
	json_decref(d);
	free(ev);
	return r;
}
