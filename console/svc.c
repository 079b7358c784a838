/* svc: query-service calls. See svc.h. */
#include "svc.h"

#include <errno.h>
#include <string.h>

#include "qclient.h"

#define SVC_TIMEOUT_MS 15000
#define FIELD_MAX 128		/* the service's string cap (qops.h) */

int svc_call(const struct svc *s, const char *user, const char *client,
	     const json_t *req, json_t **reply)
{
	json_t *r = json_deep_copy(req);
	int rc;

	if (!r)
		return -ENOMEM;
	if (user)
		json_object_set_new(r, "on_behalf", json_string(user));
	if (client)
		json_object_set_new(r, "client", json_string(client));
	rc = qclient_call(s->socket, r, SVC_TIMEOUT_MS, reply);
	json_decref(r);
	return rc;
}

/* Strings the service caps at 128 bytes: cut (at a UTF-8 boundary) so a
 * long path or name still gets its event. */
static void put(json_t *o, const char *k, const char *v)
{
	size_t n;

	if (!v || !*v)
		return;
	n = strlen(v);
	if (n > FIELD_MAX) {
		n = FIELD_MAX;
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
	}
	json_object_set_new(o, k, json_stringn(v, n));
}

int svc_event(const struct svc *s, const char *user, const char *client,
	      const char *event, const char *outcome, const char *claimed,
	      const char *path, const char *item, const char *detail,
	      json_t **result)
{
	json_t *req = json_pack("{s:s, s:s, s:s}", "op", "console-event",
				"event", event, "outcome", outcome);
	json_t *reply = NULL;
	int rc;

	if (!req)
		return -ENOMEM;
	put(req, "claimed", claimed);
	put(req, "path", path);
	put(req, "item", item);
	put(req, "detail", detail);
	rc = svc_call(s, user, client, req, &reply);
	json_decref(req);
	if (rc)
		return -EIO;
	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_decref(reply);
		return -EIO;
	}
	if (result)
		*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return 0;
}
