/* recpolicy.c - recipients must match the agency-signed policy (see
 * recpolicy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agencykey.h"
#include "checkpoint.h"
#include "edsig.h"
#include "recpolicy.h"

static const char *note_error(int r)
{
	switch (r) {
	case -EXDEV:
		return "it is signed for another agency";
	case -EMEDIUMTYPE:
		return "it is not an evidence-dock/recipients/v1 statement";
	case -EBADMSG:
		return "it is malformed";
	case -ENOKEY:
		return "it carries no signature by the agency key";
	case -EKEYREJECTED:
		return "the agency's signature does not verify (the text was changed?)";
	default:
		return checkpoint_strerror(r);
	}
}

static bool listed(const struct agn_recipients *rp, const char *hex)
{
	for (size_t i = 0; i < rp->n; i++)
		if (!strcmp(rp->r[i].key_id, hex))
			return true;
	return false;
}

int recpolicy_load(const struct dock_config *c, EVP_PKEY *const *keys, size_t n_keys,
		   struct recpolicy *out, char *err, size_t errlen)
{
	struct recpolicy *p = calloc(1, sizeof(*p));
	struct agn_recipients *rp = calloc(1, sizeof(*rp));
	char hex[2 * AGENCYKEY_ID_LEN + 1];
	struct ckpt_vkey vk;
	uint8_t id[AGENCYKEY_ID_LEN];
	bool used[AGN_MAX_ENTRIES] = { false };
	int r = p && rp ? 0 : -ENOMEM;

	if (r || !c->recipient_policy[0])
		goto out;
	if ((r = agn_vkey_file(c->agency_vkey, &vk)) < 0) {
		snprintf(err, errlen, "%s: [encryption] agency_vkey %s: %s; fix: put the agency's "
			 "vkey line there (`custody agency-vkey`)", c->path, c->agency_vkey,
			 r == -ENOENT ? "no such file" : "not a valid vkey file");
		goto out;
	}
	r = agn_read_file(c->recipient_policy, p->note, sizeof(p->note), &p->note_len);
	if (r == 0)
		r = agn_open_recipients(p->note, p->note_len, &vk, rp);
	if (r < 0) {
		snprintf(err, errlen, "%s: [encryption] recipient_policy %s: %s; fix: install the "
			 "recipient policy the agency signed (`custody agency-sign recipients`)",
			 c->path, c->recipient_policy,
			 r == -ENOENT ? "no such file" : r == -EFBIG ? "too large" : note_error(r));
		goto out;
	}
	if (strcmp(rp->agency, c->agency_id)) {
		r = -EXDEV;
		snprintf(err, errlen, "%s: [encryption] recipient_policy %s is for agency %s, this "
			 "dock is %s; fix: install this agency's policy", c->path,
			 c->recipient_policy, rp->agency, c->agency_id);
		goto out;
	}
	for (size_t i = 0; i < n_keys; i++) {
		if ((r = agencykey_id(keys[i], id)) < 0)
			goto out;
		edsig_hex(id, sizeof(id), hex, sizeof(hex));
		if (!listed(rp, hex)) {
			r = -EPERM;
			snprintf(err, errlen, "%s: [encryption] recipients: %s (key id %s) is not in "
				 "the agency-signed recipient policy %s (version %llu); fix: remove "
				 "it, or have the agency sign a policy that lists it", c->path,
				 c->recipients[i], hex, c->recipient_policy,
				 (unsigned long long)rp->version);
			goto out;
		}
		for (size_t j = 0; j < rp->n; j++)
			used[j] = used[j] || !strcmp(rp->r[j].key_id, hex);
	}
	for (size_t j = 0; j < rp->n; j++)
		if (!used[j]) {
			r = -EPERM;
			snprintf(err, errlen, "%s: the recipient policy %s (version %llu) lists key "
				 "id %s, which no [encryption] recipients file holds; fix: add the "
				 "agency's public key file for it", c->path, c->recipient_policy,
				 (unsigned long long)rp->version, rp->r[j].key_id);
			goto out;
		}
	p->active = true;
	p->version = rp->version;
	p->n = rp->n;
	for (size_t j = 0; j < rp->n; j++)
		memcpy(p->key_ids[j], rp->r[j].key_id, sizeof(p->key_ids[j]));
out:
	if (r == 0)
		*out = *p;
	free(p);
	free(rp);
	return r;
}

/* Note of the newest recipient_policy event ("" none) into buf. */
static int last_note(struct cust_ledger *l, enum cust_action a, char *buf, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int r = 0;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT details FROM events WHERE action = ?1"
			       " ORDER BY seq DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int(s, 1, (int)a);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *d = json_loads((const char *)sqlite3_column_text(s, 0) ?: "", 0, NULL);
		const char *n = json_string_value(json_object_get(d, "note"));

		snprintf(buf, cap, "%s", n ? n : "?"); /* "?": a policy event without note */
		json_decref(d);
		r = 0;
	} else {
		r = r == SQLITE_DONE ? 0 : -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

int recpolicy_record(struct ledgerw *w, const struct recpolicy *p, const char *path,
		     int *recorded, char *err, size_t errlen)
{
	char *prev = malloc(CUST_DETAILS_MAX + 1);
	struct cust_event ev;
	enum cust_action a;
	json_t *d = NULL, *ids = NULL;
	int r = prev ? 0 : -ENOMEM;

	if (recorded)
		*recorded = 0;
	if (r < 0)
		goto out;
	if (cust_action_parse("recipient_policy", &a) < 0) {
		r = p->active ? -ENOSYS : 0; /* a custody library without the action */
		goto out;
	}
	ledgerw_lock(w);
	r = last_note(ledgerw_ledger(w), a, prev, CUST_DETAILS_MAX + 1);
	ledgerw_unlock(w);
	if (r < 0)
		goto out;
	if (!p->active) {
		if (prev[0]) {
			r = -EPERM;
			snprintf(err, errlen, "%s: [encryption] recipient_policy is not set, but this "
				 "ledger already holds an agency-signed recipient policy; fix: "
				 "configure recipient_policy and agency_vkey", path);
		}
		goto out;
	}
	if (!strcmp(prev, p->note))
		goto out; /* in force already */
	ids = json_array();
	for (size_t i = 0; ids && i < p->n; i++)
		if (json_array_append_new(ids, json_string(p->key_ids[i])) < 0)
			r = -ENOMEM;
	d = ids ? json_pack("{s:s,s:I,s:O,s:s}", "note", p->note, "version",
			    (json_int_t)p->version, "key_ids", ids, "file", path) : NULL;
	if (r == 0 && !d)
		r = -ENOMEM;
	if (r == 0)
		r = ledgerw_event(w, &ev, a, NULL, CUST_OUTCOME_OK);
	if (r == 0 && (r = cust_event_set_details(&ev, d)) == -E2BIG) {
		json_object_del(d, "key_ids"); /* they are in the note itself */
		r = cust_event_set_details(&ev, d);
	}
	if (r == 0)
		r = ledgerw_append(w, &ev);
	if (r == 0 && recorded)
		*recorded = 1;
	if (r < 0)
		snprintf(err, errlen, "%s: recipient_policy not recorded in the ledger: %s", path,
			 strerror(-r));
out:
	if (r == -ENOSYS)
		snprintf(err, errlen, "%s: this custody library does not know the recipient_policy "
			 "action", path);
	json_decref(ids);
	json_decref(d);
	free(prev);
	return r;
}
