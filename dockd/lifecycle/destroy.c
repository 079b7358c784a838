/* destroy.c - carry out approved destructions. See destroy.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "destroy.h"
#include "destruction.h"
#include "log.h"
#include "retention.h"
#include "vaultpath.h"

static const char *dstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* The dock's pull/upload state of the item ("" when not the dock's). */
static void dock_state(struct cust_ledger *l, const char *item, char *buf, size_t cap)
{
	sqlite3_stmt *s = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT state FROM dock_recordings"
			       " WHERE evidence_id = ?1", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, item, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

/* Still destroyable at execution? "" or why not. */
static const char *recheck(const struct cust_evstate *st, const char *dstate, bool store)
{
	char now[64];
	int64_t t;
	enum cust_clock c;

	cust_clock_now(&t, &c);
	if (cust_utc_text(t, now, sizeof(now)))
		return "clock";
	if (!strcmp(st->status, "destroyed"))
		return "the item is already destroyed";
	if (st->legal_hold)
		return "a legal hold was set after the approval";
	if (!st->retention_until[0] || cust_retention_cmp(st->retention_until, now) > 0)
		return "the retention date was extended after the approval";
	if (!strcmp(dstate, "pulling") || (store && !strcmp(dstate, "stored_local")))
		return "the item's pull or upload is still pending";
	return "";
}

/* unlink path and make the removal durable (fsync of its directory)
 * before `destroyed` is recorded: after a power cut the file must not
 * come back under a ledger that says it is gone. */
static int unlink_durable(const char *path)
{
	char dir[CUST_VAULT_PATH_MAX];
	int fd, r = 0;

	if (path[0] != '/' || (size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -EINVAL;
	if (unlink(path) < 0)
		return -errno;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Delete one copy; sets "result" on it ("deleted", "absent") or returns
 * the error. */
static int delete_copy(struct dockd *d, json_t *copy, char *err, size_t cap)
{
	const char *where = dstr(copy, "where");
	int r;

	if (!strcmp(where, "storage")) {
		const char *loc = dstr(copy, "location");
		if (!d->store) {
			snprintf(err, cap, "no storage target configured for %s", loc);
			return -ENXIO;
		}
		if (strncmp(loc, d->store->ops->scheme, strlen(d->store->ops->scheme)) ||
		    strncmp(loc + strlen(d->store->ops->scheme), "://", 3)) {
			snprintf(err, cap, "%s is not on the configured storage target", loc);
			return -EXDEV;
		}
		r = store_remove(d->store, dstr(copy, "object_key"), dstr(copy, "version_id"));
		if (r == -EACCES)
			snprintf(err, cap, "the storage target refused to delete %s (Object Lock"
				 " retention or legal hold not expired)", loc);
		else if (r < 0 && r != -ENOENT)
			snprintf(err, cap, "deleting %s: %s", loc, strerror(-r));
	} else {
		const char *p = dstr(copy, "path");
		r = unlink_durable(p);
		if (r < 0 && r != -ENOENT)
			snprintf(err, cap, "deleting vault file %s: %s", p, strerror(-r));
	}
	if (r == 0 || r == -ENOENT)
		json_object_set_new(copy, "result", json_string(r ? "absent" : "deleted"));
	return r == -ENOENT ? 0 : r;
}

static void record(struct dockd *d, const char *item, const struct cust_destroy_req *rq,
		   json_t *plan, const char *err)
{
	struct cust_event ev;
	json_t *det = json_deep_copy(plan);
	int r = det ? 0 : -ENOMEM;

	if (det) {
		json_object_set_new(det, "request_seq", json_integer((json_int_t)rq->seq));
		json_object_set_new(det, "requested_by", json_string(rq->by));
		json_object_set_new(det, "approval_seq", json_integer((json_int_t)rq->approved_seq));
		json_object_set_new(det, "approved_by", json_string(rq->approved_by));
		if (err[0])
			json_object_set_new(det, "error", json_string(err));
	}
	if (r == 0)
		r = ledgerw_event(d->w, &ev, CUST_A_DESTROYED, item,
				  err[0] ? CUST_OUTCOME_FAILED : CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_event_set_details(&ev, det);
	if (r == 0)
		r = ledgerw_append(d->w, &ev);
	json_decref(det);
	if (r < 0)
		log_error("destroy %s: recording the destroyed event failed: %s", item,
			  strerror(-r));
	else if (err[0])
		log_error("destroy %s refused or failed: %s (event %llu)", item, err,
			  (unsigned long long)ev.seq);
	else
		log_info("destroyed %s (event %llu)", item, (unsigned long long)ev.seq);
}

void destroy_tick(struct dockd *d)
{
	char item[CUST_EVIDENCE_MAX + 1], dstate[32], err[400] = "";
	struct cust_destroy_req rq;
	struct cust_evstate st;
	struct cust_ledger *l;
	json_t *plan = NULL, *copies, *c;
	const char *why;
	size_t i;
	int r;

	if (!d->w)
		return;
	ledgerw_lock(d->w);
	l = ledgerw_ledger(d->w);
	r = cust_destroy_next_approved(l, item, sizeof(item), &rq);
	if (r == 0)
		r = cust_destroy_record(l, item, &st);
	if (r == 0)
		r = cust_destroy_plan(l, &st, &plan);
	if (r == 0)
		dock_state(l, item, dstate, sizeof(dstate));
	ledgerw_unlock(d->w);
	if (r < 0) {
		if (r != -ENOENT)
			log_error("destroy: reading the ledger: %s", strerror(-r));
		return;
	}
	why = recheck(&st, dstate, d->store != NULL);
	if (why[0])
		snprintf(err, sizeof(err), "%s", why);
	copies = json_object_get(plan, "copies");
	/* storage first: a target that refuses leaves every copy in place */
	json_array_foreach(copies, i, c)
		if (!err[0] && !strcmp(dstr(c, "where"), "storage"))
			(void)delete_copy(d, c, err, sizeof(err));
	json_array_foreach(copies, i, c)
		if (!err[0] && strcmp(dstr(c, "where"), "storage"))
			(void)delete_copy(d, c, err, sizeof(err));
	record(d, item, &rq, plan, err);
	if (err[0])
		dockd_alert(d, "destruction-failed", item, "%s", err);
	json_decref(plan);
}
