/* ledgerw.c - the shared ledger handle (see ledgerw.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agencyrec.h"
#include "checkpoint.h"
#include "custc.h"
#include "dockkey.h"
#include "ledgerw.h"
#include "log.h"
#include "p11key.h"
#include "publish.h"

#include <jansson.h>
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
	/* the daemon: checkpoints come from the custodian process (custc.h) */
	struct custc *cust;
	struct ckpt_vkey vk;	/* its checkpoint key: each note it returns is checked */
	char ext_dir[CUST_CONFIG_PATH_MAX];
	char config_path[CUST_CONFIG_PATH_MAX];
	custc_notify_fn alert;
	void *alert_ctx;
};

static int open_common(const char *config_path, const char *agency, const char *dock_id,
		       bool dock, struct ledgerw **out, char *err, size_t errlen)
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
	snprintf(w->config_path, sizeof(w->config_path), "%s", config_path);
	snprintf(w->ext_dir, sizeof(w->ext_dir), "%s", cc.external_checkpoint_dir);
	w->interval_s = cc.checkpoint_interval_s;
	r = cust_ledger_open(cc.ledger_path, CUST_LEDGER_CREATE, &w->l, err, errlen);
	if (r < 0)
		goto fail;
	if (dock) { /* the keys are the custodian's: ledgerw_attach_custodian() */
		*out = w;
		return 0;
	}
	if (cc.checkpoint_key[0]) {
		r = cust_signer_load(&cc, &w->signer, err, errlen);
		if (r < 0)
			goto fail;
		w->have_signer = true;
	} else {
		log_warning("[ledger] checkpoint_key not set: no signed checkpoints will be written");
	}
	r = cust_trust_apply(w->l, &cc, w->have_signer ? &w->signer : NULL, dock_id, NULL,
			     CUST_ACTOR_DOCK, dock_id, (int64_t)time(NULL), &w->trust, err, errlen);
	if (r < 0)
		goto fail;
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

int ledgerw_open(const char *config_path, const char *agency, const char *dock_id,
		 struct ledgerw **out, char *err, size_t errlen)
{
	return open_common(config_path, agency, dock_id, false, out, err, errlen);
}

int ledgerw_open_dock(const char *config_path, const char *agency, const char *dock_id,
		      struct ledgerw **out, char *err, size_t errlen)
{
	return open_common(config_path, agency, dock_id, true, out, err, errlen);
}

int ledgerw_attach_custodian(struct ledgerw *w, struct custc *c, custc_notify_fn alert,
			     void *ctx, char *err, size_t errlen)
{
	uint8_t dock_pub[EDKEY_PUB_LEN], ckpt_pub[EDKEY_PUB_LEN];
	struct cust_config cc;
	struct cust_signer pub = { 0 }; /* public half only: for the certificate check */
	bool have = false;
	int r;

	r = cust_config_load(w->config_path, &cc, err, errlen);
	if (r < 0)
		return r;
	custc_keys(c, dock_pub, &have, ckpt_pub);
	if (have) {
		snprintf(pub.origin, sizeof(pub.origin), "%s", cc.checkpoint_origin);
		r = edkey_from_public_raw(ckpt_pub, &pub.key);
		if (r == 0)
			r = ckpt_vkey_from_edkey(cc.checkpoint_origin, pub.key, &w->vk);
		if (r < 0) {
			snprintf(err, errlen, "checkpoint key from the custodian: %s", strerror(-r));
			edkey_free(pub.key);
			return r;
		}
	} else {
		log_warning("[ledger] checkpoint_key not set: no signed checkpoints will be written");
	}
	/* the agency's certificate of this dock's checkpoint and dock keys:
	 * refuse to start on one that does not verify or certifies others */
	r = cust_trust_apply(w->l, &cc, have ? &pub : NULL, w->actor, dock_pub, CUST_ACTOR_DOCK,
			     w->actor, (int64_t)time(NULL), &w->trust, err, errlen);
	edkey_free(pub.key);
	if (r < 0)
		return r;
	if (!w->trust.have_cert)
		log_warning("[ledger] custody_cert not set: auditors cannot tie this dock's "
			    "checkpoints to the agency (docs/trust.md)");
	else if (w->trust.days_left < CUST_CERT_WARN_DAYS)
		log_warning("custody certificate %s %lld day(s): renew it (docs/operations.md)",
			    w->trust.days_left < 0 ? "expired" : "expires in",
			    (long long)(w->trust.days_left < 0 ? -w->trust.days_left
							       : w->trust.days_left));
	w->cust = c;
	w->have_signer = have;
	w->alert = alert;
	w->alert_ctx = ctx;
	r = ledgerw_checkpoint(w); /* republish what a crash left unpublished */
	if (r < 0 && r != -EPERM && r != -EIO) {
		snprintf(err, errlen, "startup checkpoint failed: %s", strerror(-r));
		return r;
	}
	return 0;
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
	if (w->have_signer && !w->cust)
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

/* checkpoint_refused {size, why}: the custodian would not sign the
 * ledger's tree. Recorded (the attempt is part of the history) and alerted. */
static void record_ckpt_refused(struct ledgerw *w, const char *why)
{
	struct cust_event ev;
	uint64_t n = 0;
	json_t *o;
	int r;

	ledgerw_lock(w);
	(void)cust_ledger_size(w->l, &n);
	ledgerw_unlock(w);
	o = json_pack("{s:I,s:s}", "size", (json_int_t)n, "why", why);
	r = o ? ledgerw_event(w, &ev, CUST_A_CHECKPOINT_REFUSED, NULL, CUST_OUTCOME_DENIED)
	      : -ENOMEM;
	if (r == 0)
		r = cust_event_set_details(&ev, o);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), why);
	if (r == 0)
		r = ledgerw_append(w, &ev);
	json_decref(o);
	if (r < 0)
		log_error("ledger: checkpoint_refused not recorded: %s", strerror(-r));
	if (w->alert) {
		char what[CUST_REASON_MAX + 64];

		snprintf(what, sizeof(what), "custodian refused to sign the ledger's tree: %s", why);
		w->alert(w->alert_ctx, "checkpoint-refused", what);
	}
}

/* The daemon's checkpoint: signed by the custodian over the tree it read
 * itself; dockd checks the note and stores and publishes it. */
static int remote_checkpoint(struct ledgerw *w)
{
	char why[CUST_REASON_MAX] = "", err[256] = "", *note = NULL;
	struct checkpoint cp;
	uint64_t size = 0;
	size_t len = 0;
	int r;

	r = custc_checkpoint(w->cust, &size, &note, &len, why, sizeof(why));
	if (r == -ENODATA || r == -ENOKEY)
		return 0;
	if (r == -EPERM) {
		log_error("checkpoint refused by the custodian: %s", why);
		record_ckpt_refused(w, why[0] ? why : "refused");
		return r;
	}
	if (r < 0) {
		log_error("checkpoint: custodian: %s", why[0] ? why : strerror(-r));
		return r;
	}
	r = checkpoint_parse_verify(note, len, &w->vk, 1, &cp, NULL);
	if (r == 0 && (cp.size != size || strlen(note) != len))
		r = -EBADMSG;
	if (r < 0) {
		log_error("checkpoint from the custodian does not verify: %s", checkpoint_strerror(r));
		free(note);
		return r;
	}
	ledgerw_lock(w);
	r = cust_checkpoint_store(w->l, size, note, w->ext_dir, err, sizeof(err));
	void (*hook)(void *) = w->ckpt_hook;
	void *hook_arg = w->ckpt_hook_arg;
	ledgerw_unlock(w);
	free(note);
	if (r < 0)
		log_error("checkpoint: %s", err[0] ? err : strerror(-r));
	else if (hook)
		hook(hook_arg);
	return r;
}

int ledgerw_checkpoint(struct ledgerw *w)
{
	char err[256] = "";
	int r;

	if (!w->have_signer)
		return 0;
	if (w->cust)
		return remote_checkpoint(w);
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
