/*
 * tlogproof_build.c - write an item's tlog-proof files from the ledger
 * (see tlogproof.h, docs/custody-ledger.md "tlog-proof files").
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "ledger_cosig.h"
#include "ledger_int.h"
#include "tlogproof.h"

#define MAX_CERTS 64	/* custody_certified events looked at, newest first */

/* Newest cosigned checkpoint size; -ENODATA if none (or no table). */
static int cosigned_size(struct cust_ledger *l, uint64_t *size)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(cust_ledger_db(l), "SELECT max(size) FROM checkpoint_cosigs",
			       -1, &s, NULL) != SQLITE_OK)
		return -ENODATA;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*size = (uint64_t)sqlite3_column_int64(s, 0);
	else
		rc = rc == SQLITE_ROW ? SQLITE_DONE : rc;
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return -ENODATA;
	return rc == SQLITE_ROW ? 0 : cust_ledger_sqlerr(l, rc);
}

/* The note of the newest custody_certified event whose checkpoint key
 * signed `note` for its origin (no agency check here: the checker does
 * that against the auditor's agency vkey). */
static int find_cert(struct cust_ledger *l, const char *note, size_t nlen,
		     struct tlp *t)
{
	sqlite3_stmt *s;
	uint64_t seqs[MAX_CERTS];
	size_t n = 0, i;
	struct cust_event *ev = malloc(sizeof(*ev));
	int rc, found = -ENOKEY;

	if (!ev)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(cust_ledger_db(l), "SELECT seq FROM events WHERE action = ?"
				" ORDER BY seq DESC LIMIT ?", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		free(ev);
		return cust_ledger_sqlerr(l, rc);
	}
	sqlite3_bind_int(s, 1, CUST_A_CUSTODY_CERTIFIED);
	sqlite3_bind_int(s, 2, MAX_CERTS);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		seqs[n++] = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(ev);
		return cust_ledger_sqlerr(l, rc);
	}
	for (i = 0; i < n && found; i++) {
		struct agn_cert c;
		struct checkpoint cp;
		json_t *d = NULL, *jn;
		const char *cn;
		size_t cl, tl, sigs;

		if (cust_ledger_get(l, seqs[i], ev) || cust_event_details(ev, &d))
			continue;
		jn = json_object_get(d, "note");
		cn = json_string_value(jn);
		cl = cn ? json_string_length(jn) : 0;
		if (cn && cl <= AGN_MAX_NOTE && !cosig_note_text(cn, cl, &tl, &sigs) &&
		    !agn_cert_parse(cn, tl, &c) &&
		    !checkpoint_parse_verify(note, nlen, &c.ckpt_key, 1, &cp, NULL) &&
		    !strcmp(cp.origin, c.origin)) {
			memcpy(t->cert, cn, cl);
			t->cert[cl] = '\0';
			t->cert_len = cl;
			found = 0;
		}
		json_decref(d);
	}
	free(ev);
	return found;
}

struct walk {
	struct tlp *t; struct cust_mem_leaves *m; uint64_t size; const char *dir;
	FILE *log; size_t written, uncovered;
};

static int write_one(void *arg, const struct cust_event *ev)
{
	struct walk *w = arg;
	struct merkle_source src = { w->m, cust_mem_leaves_get, NULL };
	char path[PATH_MAX], *text = NULL;
	size_t len;
	FILE *f;
	int r;

	if (ev->seq > w->size) {
		if (w->log)
			fprintf(w->log, "seq %llu: after the newest cosigned checkpoint (size "
				"%llu): no file\n", (unsigned long long)ev->seq,
				(unsigned long long)w->size);
		w->uncovered++;
		return 0;
	}
	w->t->index = ev->seq - 1;
	w->t->leaf_len = cust_event_encode_fast(ev, w->t->leaf);
	if ((r = merkle_inclusion_proof(&src, w->t->index, w->size, w->t->proof,
					&w->t->n_proof)))
		return r;
	if ((r = tlp_format(w->t, &text, &len)))
		return r;
	if (snprintf(path, sizeof(path), "%s/%llu.tlog-proof", w->dir,
		     (unsigned long long)ev->seq) >= (int)sizeof(path)) {
		free(text);
		return -ENAMETOOLONG;
	}
	if (!(f = fopen(path, "wx"))) {
		r = -errno;
		free(text);
		return r;
	}
	r = fwrite(text, 1, len, f) == len ? 0 : -EIO;
	if (fclose(f) && !r)
		r = -EIO;
	free(text);
	if (!r)
		w->written++;
	return r;
}

int tlp_build_dir(struct cust_ledger *l, const char *agency,
		  const char *evidence_id, const char *dir, FILE *log,
		  size_t *written)
{
	char owner[CUST_AGENCY_MAX + 1], *note = NULL;
	struct walk w = { 0 };
	struct cust_mem_leaves m = { 0 };
	struct checkpoint cp;
	struct ckpt_vkey key;
	merkle_hash root;
	uint64_t size = 0;
	size_t nlen = 0;
	int r;

	if (!l || !evidence_id || !dir || !written)
		return -EINVAL;
	if ((r = cust_ledger_item_agency(l, evidence_id, owner, sizeof(owner))))
		return r;
	if (agency && strcmp(agency, owner))
		return -EACCES;
	if (!(w.t = calloc(1, sizeof(*w.t))))
		return -ENOMEM;
	if ((r = sqlite3_exec(cust_ledger_db(l), "BEGIN", NULL, NULL, NULL))) {
		free(w.t);
		return cust_ledger_sqlerr(l, r);
	}
	if ((r = cosigned_size(l, &size)) || (r = cust_cosig_note(l, size, &note, &nlen)))
		goto out;
	if (nlen > CKPT_MAX_NOTE) {
		r = -E2BIG;
		goto out;
	}
	if ((r = find_cert(l, note, nlen, w.t)))
		goto out;
	/* the certified key signed it (find_cert); its root must be the
	 * ledger's, or the ledger was altered since */
	{
		struct agn_cert c;
		size_t tl, sigs;
		if (cosig_note_text(w.t->cert, w.t->cert_len, &tl, &sigs) ||
		    agn_cert_parse(w.t->cert, tl, &c)) {
			r = -ENOKEY;
			goto out;
		}
		key = c.ckpt_key;
	}
	if (checkpoint_parse_verify(note, nlen, &key, 1, &cp, NULL)) {
		r = -ENOKEY;
		goto out;
	}
	if (!(r = cust_mem_leaves_load(l, size, &m, root)) &&
	    memcmp(root, cp.root, sizeof(root)))
		r = -EUCLEAN;
	if (r)
		goto out;
	memcpy(w.t->note, note, nlen);
	w.t->note[nlen] = '\0';
	w.t->note_len = nlen;
	w.m = &m;
	w.size = size;
	w.dir = dir;
	w.log = log;
	r = cust_ledger_foreach(l, evidence_id, 1, 0, write_one, &w);
	if (!r)
		*written = w.written;
out:
	sqlite3_exec(cust_ledger_db(l), "COMMIT", NULL, NULL, NULL);
	free(m.leaves);
	free(note);
	free(w.t);
	return r;
}
