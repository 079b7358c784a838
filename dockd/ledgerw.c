/* ledgerw.c - the shared ledger handle (see ledgerw.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledgerw.h"
#include "log.h"
#include "publish.h"

struct ledgerw {
	pthread_mutex_t mu;
	struct cust_ledger *l;
	struct cust_signer signer;
	bool have_signer;
	uint32_t interval_s;
	char agency[CUST_AGENCY_MAX + 1];
	char actor[CUST_ACTOR_ID_MAX + 1];
};

int ledgerw_open(const char *config_path, const char *agency, const char *dock_id,
		 struct ledgerw **out, char *err, size_t errlen)
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
		r = cust_signer_load(&cc, &w->signer, err, errlen);
		if (r < 0)
			goto fail;
		w->have_signer = true;
	} else {
		log_warning("[ledger] checkpoint_key not set: no signed checkpoints will be written");
	}
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
	ledgerw_unlock(w);
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
