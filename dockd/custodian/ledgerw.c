/* ledgerw.c - the shared ledger handle (see ledgerw.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agencyrec.h"
#include "dockkey.h"
#include "ledgerw.h"
#include "log.h"
#include "p11key.h"
#include "publish.h"

#include <sqlite3.h>

struct ledgerw {
	pthread_mutex_t mu;
	struct cust_ledger *l;
	struct cust_signer signer;
	bool have_signer;
	struct cust_trust_status trust;	/* agency statements checked at open */
	uint32_t interval_s;
	char agency[CUST_AGENCY_MAX + 1];
	char actor[CUST_ACTOR_ID_MAX + 1];
	void (*ckpt_hook)(void *arg); /* after each checkpoint written (no lock held) */
	void *ckpt_hook_arg;
};

int ledgerw_open(const char *config_path, const char *agency, const char *dock_id,
		 struct ledgerw **out, char *err, size_t errlen)
{
	return ledgerw_open_dock(config_path, agency, dock_id, NULL, out, err, errlen);
}

int ledgerw_open_dock(const char *config_path, const char *agency, const char *dock_id,
		      const uint8_t *dock_key, struct ledgerw **out, char *err, size_t errlen)
{
	struct cust_config cc;
	struct ledgerw *w;
	int r;

	r = cust_config_load(config_path, &cc, err, errlen);
	if (r < 0)
		return r;
	if (!cc.ledger_path[0]) {
		snprintf(err, errlen, "%s: [ledger] path is required", config_path);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	snprintf(w->agency, sizeof(w->agency), "%s", agency);
	snprintf(w->actor, sizeof(w->actor), "%s", dock_id);
	w->interval_s = cc.checkpoint_interval_s;
	r = cust_ledger_open(cc.ledger_path, CUST_LEDGER_CREATE, &w->l, err, errlen);
	if (r < 0)
		goto fail;
	if (cc.checkpoint_key[0]) {
		/* the daemon (dock_key given; not an admin command run by another
		 * account) refuses a key file others can read or replace */
		if (dock_key && !p11key_is_uri(cc.checkpoint_key) &&
		    (r = dockkey_check_file(cc.checkpoint_key, "checkpoint key", err, errlen)) < 0)
			goto fail;
		r = cust_signer_load(&cc, &w->signer, err, errlen);
		if (r < 0)
			goto fail;
		w->have_signer = true;
	} else {
		log_warning("[ledger] checkpoint_key not set: no signed checkpoints will be written");
	}
	/* the agency's certificate of this dock's checkpoint key: refuse to
	 * start on one that does not verify or certifies another key */
	r = cust_trust_apply(w->l, &cc, w->have_signer ? &w->signer : NULL, dock_id,
			     dock_key, CUST_ACTOR_DOCK, dock_id, (int64_t)time(NULL), &w->trust, err, errlen);
	if (r < 0)
		goto fail;
	if (!w->trust.have_cert)
		log_warning("[ledger] custody_cert not set: auditors cannot tie this dock's "
			    "checkpoints to the agency (docs/trust.md)");
	else if (w->trust.days_left < CUST_CERT_WARN_DAYS)
		log_warning("custody certificate %s %lld day(s): renew it (docs/operations.md)",
			    w->trust.days_left < 0 ? "expired" : "expires in",
			    (long long)(w->trust.days_left < 0 ? -w->trust.days_left
							       : w->trust.days_left));
	r = ledgerw_checkpoint(w); /* republish what a crash left unpublished */
	if (r < 0) {
		snprintf(err, errlen, "%s: startup checkpoint failed: %s", cc.ledger_path,
			 strerror(-r));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	ledgerw_close(w);
	return r;
}

const struct cust_trust_status *ledgerw_trust(struct ledgerw *w)
{
	return &w->trust;
}

int ledgerw_wrap(struct cust_ledger *l, const char *agency, const char *dock_id,
		 struct ledgerw **out)
{
	struct ledgerw *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	w->l = l;
	snprintf(w->agency, sizeof(w->agency), "%s", agency);
	snprintf(w->actor, sizeof(w->actor), "%s", dock_id);
	*out = w;
	return 0;
}

void ledgerw_close(struct ledgerw *w)
{
	if (!w)
		return;
	if (w->have_signer)
		cust_signer_free(&w->signer);
	cust_ledger_close(w->l);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void ledgerw_lock(struct ledgerw *w)
{
	pthread_mutex_lock(&w->mu);
}

void ledgerw_unlock(struct ledgerw *w)
{
	pthread_mutex_unlock(&w->mu);
}

struct cust_ledger *ledgerw_ledger(struct ledgerw *w)
{
	return w->l;
}

int ledgerw_event(struct ledgerw *w, struct cust_event *ev, enum cust_action a,
		  const char *evidence_id, enum cust_outcome o)
{
	return cust_event_init(ev, w->agency, CUST_ACTOR_DOCK, w->actor, a, evidence_id, o);
}

int ledgerw_event_named(struct ledgerw *w, struct cust_event *ev, const char *action,
			const char *evidence_id, enum cust_outcome o)
{
	enum cust_action a;

	if (cust_action_parse(action, &a) < 0)
		return -ENOENT;
	return ledgerw_event(w, ev, a, evidence_id, o);
}

int ledgerw_append(struct ledgerw *w, struct cust_event *ev)
{
	int r;

	ledgerw_lock(w);
	r = cust_ledger_append(w->l, ev);
	ledgerw_unlock(w);
	if (r < 0)
		log_error("ledger append (%s) failed: %s", cust_action_name(ev->action),
			  strerror(-r));
	return r;
}

int ledgerw_checkpoint(struct ledgerw *w)
{
	char err[256] = "";
	int r;

	if (!w->have_signer)
		return 0;
	ledgerw_lock(w);
	r = cust_checkpoint_write(w->l, &w->signer, NULL, err, sizeof(err));
	void (*hook)(void *) = w->ckpt_hook;
	void *hook_arg = w->ckpt_hook_arg;
	ledgerw_unlock(w);
	if (r == 0 && hook)
		hook(hook_arg);
	if (r == -ENODATA)
		return 0;
	if (r < 0)
		log_error("checkpoint: %s", err[0] ? err : strerror(-r));
	return r;
}

int ledgerw_tick(struct ledgerw *w)
{
	int due = 0, r;

	if (!w->have_signer || w->interval_s == 0)
		return 0;
	ledgerw_lock(w);
	r = cust_checkpoint_due(w->l, w->interval_s, &due);
	ledgerw_unlock(w);
	if (r < 0 || !due)
		return r;
	return ledgerw_checkpoint(w);
}

void ledgerw_set_checkpoint_hook(struct ledgerw *w, void (*fn)(void *arg), void *arg)
{
	ledgerw_lock(w);
	w->ckpt_hook = fn;
	w->ckpt_hook_arg = arg;
	ledgerw_unlock(w);
}

int ledgerw_checkpoint_newest(struct ledgerw *w, uint64_t after, uint64_t *size, char **note,
			      size_t *len)
{
	sqlite3_stmt *s = NULL;
	int rc, r = -ENOENT;

	ledgerw_lock(w);
	rc = sqlite3_prepare_v2(cust_ledger_db(w->l), "SELECT size, note FROM checkpoints"
				" WHERE size > ?1 ORDER BY size DESC LIMIT 1", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 1);
		size_t n = (size_t)sqlite3_column_bytes(s, 1);
		char *copy = t && n <= CKPT_MAX_NOTE ? malloc(n + 1) : NULL;

		r = copy ? 0 : t && n <= CKPT_MAX_NOTE ? -ENOMEM : -EBADMSG;
		if (copy) {
			memcpy(copy, t, n);
			copy[n] = '\0';
			*size = (uint64_t)sqlite3_column_int64(s, 0);
			*note = copy;
			*len = n;
		}
	} else if (rc != SQLITE_DONE) {
		r = -EIO;
	}
	sqlite3_finalize(s);
	ledgerw_unlock(w);
	return r;
}
