/*
 * agencyrec.c - start-up check and idempotent recording of the agency's
 * statements (see agencyrec.h).
 */
#include "agencyrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

static int load_note(const char *what, const char *path, char *buf, size_t cap, size_t *len,
		     char *err, size_t errlen)
{
	int r = agn_read_file(path, buf, cap, len);

	if (r)
		snprintf(err, errlen, "[ledger] %s %s: %s", what, path,
			 r == -EFBIG ? "larger than any agency statement" : strerror(-r));
	return r;
}

static int load_agency(const struct cust_config *cfg, struct ckpt_vkey *a, char *err,
		       size_t errlen)
{
	int r;

	if (!cfg->agency_vkey[0]) {
		snprintf(err, errlen, "[ledger] agency_vkey is needed to check custody_cert "
			 "and witness_policy (custody agency-vkey prints it)");
		return -EINVAL;
	}
	if ((r = agn_vkey_file(cfg->agency_vkey, a)))
		snprintf(err, errlen, "[ledger] agency_vkey %s: not a vkey file: %s",
			 cfg->agency_vkey, r == -EBADMSG ? "malformed" : strerror(-r));
	return r;
}

static const char *why(int r)
{
	return r == -EXDEV ? "it names another agency than the agency key" :
	       r == -EMEDIUMTYPE ? "it is another kind of statement" :
	       checkpoint_strerror(r);
}

static int64_t days_left(int64_t not_after, int64_t now)
{
	int64_t d = not_after - now;

	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

int cust_trust_cert_status(const struct cust_config *cfg, int64_t now,
			   struct cust_trust_status *st, char *err, size_t errlen)
{
	struct ckpt_vkey a;
	struct agn_cert c;
	char note[AGN_MAX_NOTE + 1];
	size_t len;
	int r;

	if (!cfg->custody_cert[0])
		return -ENOENT;
	if ((r = load_agency(cfg, &a, err, errlen)) ||
	    (r = load_note("custody_cert", cfg->custody_cert, note, sizeof(note), &len, err,
			   errlen)))
		return r;
	if ((r = agn_open_cert(note, len, &a, &c))) {
		snprintf(err, errlen, "[ledger] custody_cert %s does not verify: %s",
			 cfg->custody_cert, why(r));
		return r;
	}
	memset(st, 0, sizeof(*st));
	st->have_cert = 1;
	st->cert = c;
	st->days_left = days_left(c.not_after, now);
	return 0;
}

/* 1 if an event of `action` with details.note == note exists, 0 if not. */
static int recorded(struct cust_ledger *l, enum cust_action action, const char *note,
		    size_t len, int *found)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT 1 FROM events WHERE action = ?1"
				" AND json_extract(details, '$.note') = ?2 LIMIT 1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	sqlite3_bind_int(s, 1, (int)action);
	sqlite3_bind_text(s, 2, note, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cust_ledger_sqlerr(l, rc);
	*found = rc == SQLITE_ROW;
	return 0;
}

static int append(struct cust_ledger *l, const struct cust_config *cfg, enum cust_action action,
		  enum cust_actor_kind kind, const char *actor, const char *reason, json_t *d)
{
	struct cust_event ev;
	int r;

	if (!d)
		return -ENOMEM;
	r = cust_event_init(&ev, cfg->agency_id, kind, actor, action, NULL, CUST_OUTCOME_OK);
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (r == 0)
		r = cust_event_set_details(&ev, d);
	json_decref(d);
	if (r == 0)
		r = cust_ledger_append(l, &ev);
	return r;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int apply_cert(struct cust_ledger *l, const struct cust_config *cfg,
		      const struct ckpt_vkey *a, const struct cust_signer *signer,
		      const char *dock_id, const uint8_t *dock_key, enum cust_actor_kind kind, const char *actor,
		      int64_t now, int record, struct cust_trust_status *st, char *err,
		      size_t errlen)
{
	char note[AGN_MAX_NOTE + 1], vk[CKPT_MAX_VKEY], dk[2 * EDKEY_PUB_LEN + 1];
	char nb[AGN_TIME_LEN + 1], na[AGN_TIME_LEN + 1];
	uint8_t pub[EDKEY_PUB_LEN];
	struct agn_cert c;
	size_t len;
	int found = 0, r;

	if ((r = load_note("custody_cert", cfg->custody_cert, note, sizeof(note), &len, err,
			   errlen)))
		return r;
	if ((r = agn_open_cert(note, len, a, &c))) {
		snprintf(err, errlen, "[ledger] custody_cert %s does not verify: %s",
			 cfg->custody_cert, why(r));
		return r;
	}
	r = -EKEYREJECTED;
	if (strcmp(c.agency, cfg->agency_id))
		snprintf(err, errlen, "custody_cert: certifies agency '%s', this ledger is "
			 "agency '%s'", c.agency, cfg->agency_id);
	else if (strcmp(c.origin, cfg->checkpoint_origin))
		snprintf(err, errlen, "custody_cert: certifies origin '%s', [ledger] "
			 "checkpoint_origin is '%s'", c.origin, cfg->checkpoint_origin);
	else if (dock_id && strcmp(c.dock, dock_id))
		snprintf(err, errlen, "custody_cert: certifies dock '%s', this is dock '%s'",
			 c.dock, dock_id);
	else if (signer && (edkey_public_raw(signer->key, pub) ||
			    memcmp(pub, c.ckpt_key.pub, EDKEY_PUB_LEN)))
		snprintf(err, errlen, "custody_cert: does not certify [ledger] checkpoint_key "
			 "%s (another key)", cfg->checkpoint_key);
	else if (dock_key && memcmp(dock_key, c.dock_key, EDKEY_PUB_LEN))
		snprintf(err, errlen, "custody_cert: certifies another dock key than [dock] key");
	else if (c.not_before > now)
		snprintf(err, errlen, "custody_cert: not valid before %lld (clock or "
			 "certificate wrong)", (long long)c.not_before);
	else
		r = 0;
	if (r)
		return r;
	st->have_cert = 1;
	st->cert = c;
	st->days_left = days_left(c.not_after, now);
	if (!record)
		return 0;
	if ((r = recorded(l, CUST_A_CUSTODY_CERTIFIED, note, len, &found)) || found)
		goto out;
	ckpt_vkey_format(&c.ckpt_key, vk, sizeof(vk));
	hex(c.dock_key, EDKEY_PUB_LEN, dk);
	agn_time_format(c.not_before, nb);
	agn_time_format(c.not_after, na);
	r = append(l, cfg, CUST_A_CUSTODY_CERTIFIED, kind, actor, "agency custody certificate",
		   json_pack("{s:s%, s:s, s:s, s:s, s:s, s:s, s:s}", "note", note, len,
			     "dock", c.dock, "origin", c.origin, "checkpoint_key", vk,
			     "dock_key", dk, "not_before", nb, "not_after", na));
	st->recorded_cert = r == 0;
out:
	if (r)
		snprintf(err, errlen, "cannot record custody_certified: %s (%s)", strerror(-r),
			 cust_ledger_errmsg(l));
	return r;
}

static int apply_witnesses(struct cust_ledger *l, const struct cust_config *cfg,
			   const struct ckpt_vkey *a, enum cust_actor_kind kind,
			   const char *actor, int record, struct cust_trust_status *st,
			   char *err, size_t errlen)
{
	char note[AGN_MAX_NOTE + 1];
	struct agn_witnesses *w = malloc(sizeof(*w));
	size_t len;
	int found = 0, r;

	if (!w)
		return -ENOMEM;
	if ((r = load_note("witness_policy", cfg->witness_policy, note, sizeof(note), &len,
			   err, errlen)))
		goto out;
	if ((r = agn_open_witnesses(note, len, a, w))) {
		snprintf(err, errlen, "[ledger] witness_policy %s does not verify: %s",
			 cfg->witness_policy, why(r));
		goto out;
	}
	st->have_witnesses = 1;
	st->witness_version = w->version;
	st->quorum = w->quorum;
	if (!record)
		goto out;
	if ((r = recorded(l, CUST_A_WITNESS_POLICY, note, len, &found)) || found)
		goto rec;
	r = append(l, cfg, CUST_A_WITNESS_POLICY, kind, actor, "agency witness policy",
		   json_pack("{s:s%, s:I, s:i}", "note", note, len, "version",
			     (json_int_t)w->version, "quorum", (int)w->quorum));
	st->recorded_witnesses = r == 0;
rec:
	if (r)
		snprintf(err, errlen, "cannot record witness_policy: %s (%s)", strerror(-r),
			 cust_ledger_errmsg(l));
out:
	free(w);
	return r;
}

int cust_trust_apply(struct cust_ledger *l, const struct cust_config *cfg,
		     const struct cust_signer *signer, const char *dock_id,
		     const uint8_t *dock_key, enum cust_actor_kind kind, const char *actor,
		     int64_t now, struct cust_trust_status *st, char *err, size_t errlen)
{
	struct cust_trust_status tmp;
	struct ckpt_vkey a;
	int r;

	if (!l || !cfg || !st || !actor)
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	if (!cfg->custody_cert[0] && !cfg->witness_policy[0]) {
		*st = tmp;
		return 0;
	}
	if ((r = load_agency(cfg, &a, err, errlen)))
		return r;
	/* check both, then record both: a refused start records nothing */
	for (int record = 0; record < 2; record++) {
		if (cfg->custody_cert[0] &&
		    (r = apply_cert(l, cfg, &a, signer, dock_id, dock_key, kind, actor, now,
				    record, &tmp, err, errlen)))
			return r;
		if (cfg->witness_policy[0] &&
		    (r = apply_witnesses(l, cfg, &a, kind, actor, record, &tmp, err, errlen)))
			return r;
	}
	*st = tmp;
	return 0;
}
