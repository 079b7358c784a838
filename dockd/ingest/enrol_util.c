/* enrol_util.c - helpers shared by the two enrolment lists (enrol_util.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "enrol_util.h"
#include "wire.h"

void enrol_say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int enrol_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;

	if (n >= cap)
		return -EBADMSG;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
	return 0;
}

int enrol_prepare(struct cust_ledger *l, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(cust_ledger_db(l), sql, -1, s, NULL) == SQLITE_OK)
		return 0;
	return strstr(sqlite3_errmsg(cust_ledger_db(l)), "no such table") ? -ENOENT : -EIO;
}

bool enrol_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int enrol_make_event(struct cust_event *ev, const char *agency, const char *actor,
		     const char *action_name, const char *reason, json_t *details)
{
	enum cust_action action;
	int r = cust_action_parse(action_name, &action) < 0 ? -ENOSYS : 0;

	if (r == 0)
		r = cust_event_init(ev, agency, CUST_ACTOR_CLERK, actor, action, NULL, CUST_OUTCOME_OK);
	if (r == 0 && reason)
		r = cust_event_set_text(ev->reason, sizeof(ev->reason), reason);
	if (r == 0)
		r = details ? cust_event_set_details(ev, details) : -EINVAL;
	json_decref(details);
	return r;
}

int enrol_end_tx(struct cust_ledger *l, int r)
{
	if (r == 0)
		r = cust_ledger_commit(l);
	if (r < 0)
		cust_ledger_rollback(l);
	return r;
}

int enrol_revoke_args(const char *agency_id, const char *serial, const char *reason,
		      const char *actor_id, char *why, size_t whylen)
{
	if (!agency_id || !proto_id_valid(agency_id) || !serial || !proto_id_valid(serial) ||
	    !reason || !*reason || !enrol_text_ok(reason, CUST_REASON_MAX) || !actor_id ||
	    !*actor_id) {
		enrol_say(why, whylen, "%s", !reason || !*reason ? "a reason is required"
							    : "invalid agency, serial, reason or actor");
		return -EINVAL;
	}
	return 0;
}
