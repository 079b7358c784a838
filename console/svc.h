#ifndef CONSOLE_SVC_H
#define CONSOLE_SVC_H
/*
 * svc: the console as a client of the query service (custody/qclient.h).
 * Every read, edit and console event goes through the service, so roles,
 * deny-by-default, reasons and ledger events are the service's own code;
 * the console only says on whose behalf it asks (docs/console.md).
 */
#include <jansson.h>

struct svc {
	const char *socket;	/* [query] socket */
};

/* Send req (borrowed; "on_behalf" = user when user is non-NULL, "client"
 * = client when non-NULL are added to a copy). 0 and *reply, or -errno
 * (no service, timeout...). */
int svc_call(const struct svc *s, const char *user, const char *client,
	     const json_t *req, json_t **reply);

/* One console event (custody/qconsole.c). user: the logged-in user, or
 * NULL with claimed = the name typed at a failed login. 0 only when the
 * service answered ok (the event is in the ledger); *result (optional)
 * gets the reply's result (new reference). -EIO otherwise: the caller
 * must then refuse to serve what the event was about. */
int svc_event(const struct svc *s, const char *user, const char *client,
	      const char *event, const char *outcome, const char *claimed,
	      const char *path, const char *item, const char *detail,
	      json_t **result);

#endif
