/*
 * proof.c - build and check portable inclusion proofs (see proof.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ledger_int.h"
#include "proof.h"
#include "publish.h"
#include "query.h"

#define PROOF_MALFORMED (-EINVAL)

static json_t *hex(const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	json_t *j;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = d[b[i] >> 4];
		s[2 * i + 1] = d[b[i] & 15];
	}
	s[2 * n] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = s ? strlen(s) : 0, i;

	if (!s || n % 2 || n / 2 > cap)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -EBADMSG;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	*len = n / 2;
	return 0;
}

/* Newest checkpoint from the table. */
static int newest(struct cust_ledger *l, uint64_t *size, char **note)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT size, note FROM checkpoints"
				" ORDER BY size DESC LIMIT 1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return cust_ledger_sqlerr(l, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*size = (uint64_t)sqlite3_column_int64(s, 0);
		*note = strdup((const char *)sqlite3_column_text(s, 1) ?: "");
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return -ENODATA;
	if (rc != SQLITE_ROW)
		return cust_ledger_sqlerr(l, rc);
	return *note ? 0 : -ENOMEM;
}

struct collect {
	json_t *events; struct cust_mem_leaves *m; uint64_t size; json_t *uncovered; int r;
	EVP_MD_CTX *claim;	/* SHA-256 of the listed events' leaf hashes */
};

/* The completeness claim (docs/custody-ledger.md "Proof files"): a note
 * in checkpoint form, signed by the log's key, whose origin is the log's
 * origin + CLAIM_SUFFIX (so it can never pass for a checkpoint of the
 * log), size = the tree size, root = SHA-256 over the leaf hashes of the
 * item's events up to that size in seq order, and three extension lines. */
#define CLAIM_SUFFIX " item-events"
#define CLAIM_TYPE "evidence-dock/item-events/v1"

static int claim_ext(const char *id, size_t n, char *buf, size_t cap)
{
	int w = snprintf(buf, cap, CLAIM_TYPE "\n%s\nevents %zu\n", id, n);

	return w < 0 || (size_t)w >= cap ? -E2BIG : 0;
}

static int claim_sign(const struct cust_signer *s, const char *origin, uint64_t size,
		      const char *id, size_t n, EVP_MD_CTX *md, json_t **out)
{
	char *buf = malloc(CKPT_MAX_SIGNED);
	struct checkpoint cp;
	unsigned len = 0;
	size_t blen;
	int r;

	memset(&cp, 0, sizeof(cp));
	cp.size = size;
	if (!buf)
		return -ENOMEM;
	r = snprintf(cp.origin, sizeof(cp.origin), "%s" CLAIM_SUFFIX, origin) >=
		(int)sizeof(cp.origin) ? -E2BIG : 0;
	if (!r && !EVP_DigestFinal_ex(md, cp.root, &len))
		r = -EIO;
	if (!r)
		r = claim_ext(id, n, cp.extensions, sizeof(cp.extensions));
	if (!r)
		r = checkpoint_format(&cp, s->origin, s->key, buf, CKPT_MAX_SIGNED, &blen);
	if (!r && !(*out = json_stringn(buf, blen)))
		r = -ENOMEM;
	free(buf);
	return r;
}

static int add(void *arg, const struct cust_event *ev)
{
	struct collect *c = arg;
	struct merkle_source src = { c->m, cust_mem_leaves_get, NULL };
	merkle_hash proof[MERKLE_MAX_PROOF];
	uint8_t canon[CUST_CANON_MAX];
	size_t len, plen, i;
	json_t *p, *e;
	int r;

	if (ev->seq > c->size)
		return json_array_append_new(c->uncovered, json_integer((json_int_t)ev->seq)) ?
			-ENOMEM : 0;
	if (json_array_size(c->events) >= CUST_PROOF_MAX_EVENTS)
		return -E2BIG;
	len = cust_event_encode_fast(ev, canon);
	if ((r = merkle_inclusion_proof(&src, ev->seq - 1, c->size, proof, &plen)))
		return r;
	if (!EVP_DigestUpdate(c->claim, c->m->leaves[ev->seq - 1], MERKLE_HASH_LEN))
		return -EIO;
	if (!(p = json_array()))
		return -ENOMEM;
	for (i = 0; i < plen; i++)
		json_array_append_new(p, hex(proof[i], MERKLE_HASH_LEN));
	e = json_pack("{s:I, s:o, s:o}", "seq", (json_int_t)ev->seq,
		      "canonical", hex(canon, len), "proof", p);
	return !e || json_array_append_new(c->events, e) ? -ENOMEM : 0;
}

int cust_proof_build(struct cust_ledger *l, const char *agency,
		     const char *evidence_id, const struct cust_signer *s, json_t **out)
{
	struct collect c = { 0 };
	json_t *claim = NULL;
	struct cust_mem_leaves m = { 0 };
	char owner[CUST_AGENCY_MAX + 1], *note = NULL;
	uint64_t size = 0;
	merkle_hash root;
	json_t *o = NULL;
	int r;

	if ((r = cust_ledger_item_agency(l, evidence_id, owner, sizeof(owner))))
		return r;
	if (agency && strcmp(agency, owner))
		return -EACCES;
	if ((r = sqlite3_exec(cust_ledger_db(l), "BEGIN", NULL, NULL, NULL)))
		return cust_ledger_sqlerr(l, r);
	if ((r = newest(l, &size, &note)))
		goto out;
	/* the proof must reproduce the signed root, or the ledger was altered */
	if (!(r = cust_mem_leaves_load(l, size, &m, root))) {
		char body[CKPT_MAX_SIGNED];
		struct checkpoint cp;
		size_t blen;
		memset(&cp, 0, sizeof(cp));
		cp.size = size;
		memcpy(cp.root, root, sizeof(root));
		/* the note starts with "origin\nsize\nroot\n": rebuild and compare */
		if (!strchr(note, '\n') ||
		    (size_t)(strchr(note, '\n') - note) >= sizeof(cp.origin)) {
			r = -EUCLEAN;
		} else {
			memcpy(cp.origin, note, (size_t)(strchr(note, '\n') - note));
			if (checkpoint_body(&cp, body, sizeof(body), &blen) ||
			    strncmp(note, body, blen))
				r = -EUCLEAN;
		}
	}
	if (r)
		goto out;
	c.events = json_array();
	c.uncovered = json_array();
	c.m = &m;
	c.size = size;
	c.claim = EVP_MD_CTX_new();
	if (!c.events || !c.uncovered || !c.claim ||
	    !EVP_DigestInit_ex(c.claim, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = cust_ledger_foreach(l, evidence_id, 1, 0, add, &c)))
		goto out;
	/* only the log's own key can claim completeness for its origin */
	if (s && !strncmp(note, s->origin, strlen(s->origin)) &&
	    note[strlen(s->origin)] == '\n' &&
	    (r = claim_sign(s, s->origin, size, evidence_id, json_array_size(c.events),
			    c.claim, &claim)))
		goto out;
	o = json_pack("{s:s, s:s, s:s, s:I, s:O, s:I, s:O}", "format", CUST_PROOF_FORMAT,
		      "evidence_id", evidence_id, "checkpoint", note,
		      "tree_size", (json_int_t)size, "events", c.events,
		      "events_total", (json_int_t)json_array_size(c.events),
		      "not_covered", c.uncovered);
	if (o && claim && json_object_set(o, "events_claim", claim)) {
		json_decref(o);
		o = NULL;
	}
	r = o ? 0 : -ENOMEM;
	if (o)
		*out = o;
out:
	sqlite3_exec(cust_ledger_db(l), "COMMIT", NULL, NULL, NULL);
	json_decref(c.events);
	json_decref(c.uncovered);
	json_decref(claim);
	EVP_MD_CTX_free(c.claim);
	free(m.leaves);
	free(note);
	return r;
}

static int check_one(const json_t *e, const struct checkpoint *cp, const char *id,
		     FILE *out, merkle_hash leaf_out)
{
	uint8_t canon[CUST_CANON_MAX];
	merkle_hash proof[MERKLE_MAX_PROOF], leaf;
	struct cust_event ev;
	const json_t *p = json_object_get(e, "proof");
	json_t *seqj = json_object_get(e, "seq");
	size_t len, plen, i, hl;
	json_int_t seq;
	char when[64];
	int r;

	if (!json_is_integer(seqj) || (seq = json_integer_value(seqj)) < 1 ||
	    !json_is_array(p) || json_array_size(p) > MERKLE_MAX_PROOF ||
	    unhex(json_string_value(json_object_get(e, "canonical")), canon,
		  sizeof(canon), &len))
		return PROOF_MALFORMED;
	for (i = 0; i < json_array_size(p); i++)
		if (unhex(json_string_value(json_array_get(p, i)), proof[i],
			  MERKLE_HASH_LEN, &hl) || hl != MERKLE_HASH_LEN)
			return PROOF_MALFORMED;
	plen = json_array_size(p);
	if (cust_event_decode(canon, len, &ev) || ev.seq != (uint64_t)seq ||
	    strcmp(ev.evidence_id, id)) {
		if (out)
			fprintf(out, "seq %lld: FAILED: event bytes do not belong to %s at "
				"this seq\n", (long long)seq, id);
		return MERKLE_E_VERIFY;
	}
	if (merkle_leaf_hash(canon, len, leaf))
		return -EIO;
	memcpy(leaf_out, leaf, MERKLE_HASH_LEN);
	r = merkle_verify_inclusion((uint64_t)seq - 1, cp->size, leaf, proof, plen, cp->root);
	if (out) {
		cust_format_utc(ev.time_ns, when, sizeof(when));
		fprintf(out, "seq %lld: %s  %s %s %s/%s %s\n", (long long)seq,
			r ? "FAILED" : "included", when, cust_action_name(ev.action),
			cust_actor_name(ev.actor_kind), ev.actor_id,
			cust_outcome_name(ev.outcome));
	}
	/* -EINVAL from the library: seq beyond the tree size - not proven */
	return r ? MERKLE_E_VERIFY : 0;
}

/* not_covered: the item's events after the checkpoint, strictly
 * increasing, all beyond the tree size and after the proven ones. */
static int check_not_covered(const json_t *proof, const struct checkpoint *cp,
			     json_int_t prev, FILE *out)
{
	const json_t *nc = json_object_get(proof, "not_covered"), *x;
	size_t i;

	if (!nc)
		return 0;
	json_array_foreach(nc, i, x) {
		json_int_t s = json_is_integer(x) ? json_integer_value(x) : 0;
		if (s <= prev || (uint64_t)s <= cp->size) {
			if (out)
				fprintf(out, "not_covered: FAILED: seq %lld is within the checkpoint "
					"or out of order\n", (long long)s);
			return 1;
		}
		prev = s;
	}
	return 0;
}

static int proof_check(const json_t *proof, const struct ckpt_vkey *keys,
		       size_t n_keys, FILE *out, size_t *checked, EVP_MD_CTX *md);

/* events_claim: signed by the key of the checkpoint's log, for exactly
 * the listed events (count and SHA-256 of their leaf hashes). 0 if it
 * holds, else 1 (reported). md holds the listed events' leaf hashes. */
static int check_claim(const json_t *proof, const struct checkpoint *cp,
		       const struct ckpt_vkey *keys, size_t n_keys, const char *id,
		       size_t n, EVP_MD_CTX *md, FILE *out)
{
	const char *note = json_string_value(json_object_get(proof, "events_claim"));
	char want[CKPT_MAX_EXT + 1], origin[CKPT_MAX_ORIGIN + 1];
	struct checkpoint c;
	merkle_hash digest;
	unsigned dl = 0;
	size_t signer = 0;
	const char *why = NULL;

	if (!note)
		why = "no events_claim: completeness is not attested by the log's key";
	else if (checkpoint_parse_verify(note, strlen(note), keys, n_keys, &c, &signer))
		why = "events_claim is not validly signed by a trusted key";
	else if (strcmp(keys[signer].name, cp->origin) ||
		 snprintf(origin, sizeof(origin), "%s" CLAIM_SUFFIX, cp->origin) >=
		 (int)sizeof(origin) || strcmp(c.origin, origin))
		why = "events_claim is not by the key of this checkpoint's log";
	else if (c.size != cp->size || claim_ext(id, n, want, sizeof(want)) ||
		 strcmp(c.extensions, want))
		why = "events_claim names another item, tree size or number of events";
	else if (!EVP_DigestFinal_ex(md, digest, &dl) ||
		 memcmp(digest, c.root, MERKLE_HASH_LEN))
		why = "events_claim was signed for other events of the item";
	if (out)
		fprintf(out, "completeness: %s%s\n", why ? "FAILED: " : "",
			why ? why : "the log's key states these are all of the item's "
			"events up to the checkpoint");
	return why ? 1 : 0;
}

int cust_proof_check(const json_t *proof, const struct ckpt_vkey *keys,
		     size_t n_keys, FILE *out, size_t *checked)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		r = -ENOMEM;
	else
		r = proof_check(proof, keys, n_keys, out, checked, md);
	EVP_MD_CTX_free(md);
	return r;
}

static int proof_check(const json_t *proof, const struct ckpt_vkey *keys,
		       size_t n_keys, FILE *out, size_t *checked, EVP_MD_CTX *md)
{
	struct checkpoint cp;
	const char *note = json_string_value(json_object_get(proof, "checkpoint"));
	const char *id = json_string_value(json_object_get(proof, "evidence_id"));
	const char *fmt = json_string_value(json_object_get(proof, "format"));
	const json_t *events = json_object_get(proof, "events");
	const json_t *total;
	merkle_hash leaf;
	json_int_t prev = 0;
	size_t i, ok = 0, signer = 0;
	int r, bad = 0;

	if (!json_is_object(proof) || !note || !id || !fmt ||
	    strcmp(fmt, CUST_PROOF_FORMAT) || !json_is_array(events) ||
	    json_array_size(events) > CUST_PROOF_MAX_EVENTS)
		return PROOF_MALFORMED;
	r = checkpoint_parse_verify(note, strlen(note), keys, n_keys, &cp, &signer);
	if (r) {
		if (out)
			fprintf(out, "checkpoint: %s\n", checkpoint_strerror(r));
		return r;
	}
	/* a key signs for one log: its name is the log's origin. A note of
	 * another log signed by the same key proves nothing about ours. */
	if (strcmp(cp.origin, keys[signer].name)) {
		if (out)
			fprintf(out, "checkpoint: FAILED: origin '%s' is not the log of key '%s'\n",
				cp.origin, keys[signer].name);
		*checked = 0;
		return MERKLE_E_VERIFY;
	}
	/* tree_size is informative; a file whose copy disagrees with the
	 * signed size was edited */
	if (!json_is_integer(json_object_get(proof, "tree_size")) ||
	    json_integer_value(json_object_get(proof, "tree_size")) != (json_int_t)cp.size)
		return PROOF_MALFORMED;
	if (out)
		fprintf(out, "checkpoint: %s, tree size %llu, signature valid\n",
			cp.origin, (unsigned long long)cp.size);
	if (!json_array_size(events)) {
		if (out)
			fprintf(out, "no event of %s is covered by this checkpoint: "
				"nothing is proven\n", id);
		*checked = 0;
		return MERKLE_E_VERIFY;
	}
	total = json_object_get(proof, "events_total");
	if (!json_is_integer(total) || json_integer_value(total) < 0)
		return PROOF_MALFORMED;
	for (i = 0; i < json_array_size(events); i++) {
		json_t *sj = json_object_get(json_array_get(events, i), "seq");
		/* one entry per event, in seq order: a reversed or repeated
		 * event would inflate "K of M proven" */
		if (json_is_integer(sj) && json_integer_value(sj) >= 1 &&
		    json_integer_value(sj) <= prev) {
			if (out)
				fprintf(out, "seq %lld: FAILED: not after seq %lld (events must be in "
					"strictly increasing seq order, each once)\n",
					(long long)json_integer_value(sj), (long long)prev);
			bad = 1;
			continue;
		}
		if (json_is_integer(sj))
			prev = json_integer_value(sj);
		memset(leaf, 0, sizeof(leaf));
		r = check_one(json_array_get(events, i), &cp, id, out, leaf);
		if (!EVP_DigestUpdate(md, leaf, sizeof(leaf)))
			r = -EIO;
		if (r == PROOF_MALFORMED || r == -EIO)
			return r;
		if (r)
			bad = 1;
		else
			ok++;
	}
	/* the file states how many of the item's events the checkpoint
	 * covers; a file with some of them left out is not a proof of the
	 * item's history */
	if ((json_int_t)json_array_size(events) != json_integer_value(total)) {
		if (out)
			fprintf(out, "FAILED: the file lists %zu event(s) but states the checkpoint "
				"covers %lld event(s) of %s: incomplete\n", json_array_size(events),
				(long long)json_integer_value(total), id);
		bad = 1;
	}
	if (check_not_covered(proof, &cp, prev, out))
		bad = 1;
	if (check_claim(proof, &cp, keys, n_keys, id, json_array_size(events), md, out))
		bad = 1;
	*checked = ok;
	return bad ? MERKLE_E_VERIFY : 0;
}
