/*
 * tlogproof.c - parse, format and check C2SP tlog-proof@v1 files (see
 * tlogproof.h; building them from a ledger is tlogproof_build.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cosig.h"
#include "query.h"
#include "tlogproof.h"

/* Strict base64 of s[0..n) into out (cap bytes): standard alphabet,
 * padded, canonical (re-encoding the bytes gives s back). */
static int b64_dec(const char *s, size_t n, uint8_t *out, size_t cap, size_t *olen)
{
	uint8_t *tmp;
	char *re;
	size_t i, pad = 0, len;
	int d, r = -EBADMSG;

	if (n == 0 || n % 4 || n > 4 * ((TLP_MAX_FILE + 2) / 3))
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=' && i >= n - 2)
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -EBADMSG;
	}
	if (s[n - 1] != '=' && s[n - 2] == '=')
		return -EBADMSG;
	pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
	len = n / 4 * 3 - pad;
	if (len > cap)
		return -E2BIG;
	tmp = malloc(n / 4 * 3 + 1);
	re = malloc(n + 1);
	if (!tmp || !re) {
		r = -ENOMEM;
		goto out;
	}
	d = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (d < 0 || (size_t)d != n / 4 * 3)
		goto out;
	/* canonical: the unused bits of the last character are zero */
	if (EVP_EncodeBlock((unsigned char *)re, tmp, (int)len) != (int)n ||
	    memcmp(re, s, n))
		goto out;
	memcpy(out, tmp, len);
	*olen = len;
	r = 0;
out:
	free(tmp);
	free(re);
	return r;
}

/* Base64 of b[0..n) appended at buf + *pos (cap total), NUL-terminated. */
static int b64_put(const uint8_t *b, size_t n, char *buf, size_t cap, size_t *pos)
{
	size_t need = 4 * ((n + 2) / 3);

	if (*pos + need + 1 > cap)
		return -E2BIG;
	EVP_EncodeBlock((unsigned char *)buf + *pos, b, (int)n);
	*pos += need;
	return 0;
}

static int put(const char *s, size_t n, char *buf, size_t cap, size_t *pos)
{
	if (*pos + n + 1 > cap)
		return -E2BIG;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}

/* Next line of [*p, end): its start and length (without '\n'); -EBADMSG
 * when no '\n' ends it. */
static int line(const char **p, const char *end, const char **s, size_t *n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return -EBADMSG;
	*s = *p;
	*n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int starts(const char *s, size_t n, const char *kw, const char **val, size_t *vn)
{
	size_t k = strlen(kw);

	if (n <= k || memcmp(s, kw, k))
		return 0;
	*val = s + k;
	*vn = n - k;
	return 1;
}

static int parse_extra(const uint8_t *x, size_t n, struct tlp *t)
{
	const char *p = (const char *)x, *end = p + n, *s, *v;
	size_t sn, vn;
	int r;

	if (memchr(x, '\0', n) || line(&p, end, &s, &sn) ||
	    sn != strlen(TLP_EXTRA_TYPE) || memcmp(s, TLP_EXTRA_TYPE, sn))
		return -EBADMSG;
	if (line(&p, end, &s, &sn) || !starts(s, sn, "leaf ", &v, &vn))
		return -EBADMSG;
	if ((r = b64_dec(v, vn, t->leaf, sizeof(t->leaf), &t->leaf_len)))
		return r;
	if (line(&p, end, &s, &sn) || !starts(s, sn, "custody-cert ", &v, &vn))
		return -EBADMSG;
	if ((r = b64_dec(v, vn, (uint8_t *)t->cert, AGN_MAX_NOTE, &t->cert_len)))
		return r;
	t->cert[t->cert_len] = '\0';
	if (memchr(t->cert, '\0', t->cert_len))
		return -EBADMSG;
	return p == end ? 0 : -EBADMSG;
}

int tlp_parse(const char *buf, size_t len, struct tlp *out)
{
	struct tlp *t;
	const char *p = buf, *end = buf + len, *s, *v;
	uint8_t *extra = NULL;
	size_t sn, vn, xn = 0, i, hl;
	int r = -EBADMSG;

	if (!buf || !out)
		return -EINVAL;
	if (len > TLP_MAX_FILE)
		return -E2BIG;
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	if (!(t = calloc(1, sizeof(*t))) || !(extra = malloc(TLP_MAX_EXTRA))) {
		free(t);
		return -ENOMEM;
	}
	if (line(&p, end, &s, &sn) || sn != strlen(TLP_HEADER) || memcmp(s, TLP_HEADER, sn))
		goto out;
	/* our files always carry extra: without it there is no leaf data */
	if (line(&p, end, &s, &sn) || !starts(s, sn, "extra ", &v, &vn))
		goto out;
	if ((r = b64_dec(v, vn, extra, TLP_MAX_EXTRA, &xn)) || (r = parse_extra(extra, xn, t)))
		goto out;
	r = -EBADMSG;
	if (line(&p, end, &s, &sn) || !starts(s, sn, "index ", &v, &vn) || vn > 19 ||
	    (vn > 1 && v[0] == '0'))
		goto out;
	for (i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			goto out;
		t->index = t->index * 10 + (uint64_t)(v[i] - '0');
	}
	if (t->index >= MERKLE_MAX_SIZE)
		goto out;
	for (;;) {
		if (line(&p, end, &s, &sn))
			goto out;
		if (sn == 0)
			break;
		if (t->n_proof == MERKLE_MAX_PROOF) {
			r = -E2BIG;
			goto out;
		}
		if (sn != 44 || b64_dec(s, sn, t->proof[t->n_proof], MERKLE_HASH_LEN, &hl) ||
		    hl != MERKLE_HASH_LEN)
			goto out;
		t->n_proof++;
	}
	/* the rest is the signed note, verbatim; its grammar is the note
	 * parser's (checkpoint_parse_verify) */
	t->note_len = (size_t)(end - p);
	if (t->note_len == 0 || t->note_len > CKPT_MAX_NOTE) {
		r = t->note_len ? -E2BIG : -EBADMSG;
		goto out;
	}
	memcpy(t->note, p, t->note_len);
	t->note[t->note_len] = '\0';
	memcpy(out, t, sizeof(*t));
	r = 0;
out:
	free(extra);
	free(t);
	return r;
}

int tlp_format(const struct tlp *t, char **out, size_t *out_len)
{
	size_t xcap = TLP_MAX_EXTRA + 1, xn = 0, cap = TLP_MAX_FILE + 1, n = 0, i;
	char *x = malloc(xcap), *buf = malloc(cap), num[32];
	int r;

	if (!t || !out || !out_len)
		r = -EINVAL;
	else if (!x || !buf)
		r = -ENOMEM;
	else if (t->leaf_len > sizeof(t->leaf) || t->cert_len > AGN_MAX_NOTE ||
		 t->n_proof > MERKLE_MAX_PROOF || t->note_len > CKPT_MAX_NOTE)
		r = -EINVAL;
	else {
		r = put(TLP_EXTRA_TYPE "\nleaf ", strlen(TLP_EXTRA_TYPE) + 6, x, xcap, &xn);
		if (!r)
			r = b64_put(t->leaf, t->leaf_len, x, xcap, &xn);
		if (!r)
			r = put("\ncustody-cert ", 14, x, xcap, &xn);
		if (!r)
			r = b64_put((const uint8_t *)t->cert, t->cert_len, x, xcap, &xn);
		if (!r)
			r = put("\n", 1, x, xcap, &xn);
		if (!r)
			r = put(TLP_HEADER "\nextra ", strlen(TLP_HEADER) + 7, buf, cap, &n);
		if (!r)
			r = b64_put((const uint8_t *)x, xn, buf, cap, &n);
		snprintf(num, sizeof(num), "\nindex %llu\n", (unsigned long long)t->index);
		if (!r)
			r = put(num, strlen(num), buf, cap, &n);
		for (i = 0; !r && i < t->n_proof; i++) {
			r = b64_put(t->proof[i], MERKLE_HASH_LEN, buf, cap, &n);
			if (!r)
				r = put("\n", 1, buf, cap, &n);
		}
		if (!r)
			r = put("\n", 1, buf, cap, &n);
		if (!r)
			r = put(t->note, t->note_len, buf, cap, &n);
	}
	free(x);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static void say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *out, const char *fmt, ...)
{
	va_list ap;

	if (!out)
		return;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}

static const char *utc(int64_t s, char buf[AGN_TIME_LEN + 1])
{
	if (agn_time_format(s, buf))
		snprintf(buf, AGN_TIME_LEN + 1, "?");
	return buf;
}

static int check(const struct tlp *t, const struct ckpt_vkey *agency,
		 const struct ckpt_vkey *wit, size_t n_wit, unsigned quorum, FILE *out)
{
	struct agn_cert c;
	struct checkpoint cp;
	struct cust_event *ev = NULL;
	merkle_hash leaf;
	uint8_t ok[TLP_MAX_WITNESSES] = { 0 };
	uint64_t oldest = 0;
	size_t count = 0, i;
	char t1[AGN_TIME_LEN + 1], t2[AGN_TIME_LEN + 1], when[64];
	int r;

	/* 1. the agency certified a checkpoint key for a log origin */
	if ((r = agn_open_cert(t->cert, t->cert_len, agency, &c))) {
		say(out, "custody-cert: FAILED: not a custody certificate signed by the agency "
		    "key %s (%s)\n", agency->name, checkpoint_strerror(r));
		return r;
	}
	say(out, "custody-cert: agency %s certified dock %s, log '%s', key %s, valid %s to %s\n",
	    c.agency, c.dock, c.origin, c.ckpt_key.name, utc(c.not_before, t1),
	    utc(c.not_after, t2));
	/* 2. the checkpoint is that log's, signed by that key */
	if (checkpoint_parse_verify(t->note, t->note_len, &c.ckpt_key, 1, &cp, NULL) ||
	    strcmp(cp.origin, c.origin)) {
		say(out, "checkpoint: FAILED: not signed by the certified checkpoint key of "
		    "log '%s'\n", c.origin);
		return -EPERM;
	}
	say(out, "checkpoint: log '%s', tree size %llu, signed by the certified key\n",
	    cp.origin, (unsigned long long)cp.size);
	/* 3. enough of the auditor's witnesses cosigned it */
	r = cosig_note_check(t->note, t->note_len, wit, n_wit, ok, &count, &oldest);
	if (r || count < quorum) {
		say(out, "witnesses: FAILED: %zu valid cosignature(s) from the given witnesses, "
		    "%u needed%s%s\n", r ? 0 : count, quorum, r ? ": " : "",
		    r ? checkpoint_strerror(r) : "");
		return -ENOLINK;
	}
	for (i = 0; i < n_wit; i++)
		if (ok[i])
			say(out, "witness: %s cosigned\n", wit[i].name);
	say(out, "witnesses: %zu of %zu given witness(es) cosigned (quorum %u), the "
	    "earliest at %s\n", count, n_wit, quorum, utc((int64_t)oldest, t1));
	/* 4. the leaf data is at index in that tree */
	if (merkle_leaf_hash(t->leaf, t->leaf_len, leaf))
		return -EIO;
	if (t->index >= cp.size ||
	    merkle_verify_inclusion(t->index, cp.size, leaf, t->proof, t->n_proof, cp.root)) {
		say(out, "inclusion: FAILED: the leaf data is not leaf %llu of this tree\n",
		    (unsigned long long)t->index);
		return -EDOM;
	}
	/* 5. and it is the ledger event of that index (leaf index = seq - 1) */
	if (!(ev = malloc(sizeof(*ev))))
		return -ENOMEM;
	if (cust_event_decode(t->leaf, t->leaf_len, ev) || ev->seq != t->index + 1) {
		say(out, "event: FAILED: the leaf is not a custody event with seq %llu\n",
		    (unsigned long long)t->index + 1);
		free(ev);
		return -ESRCH;
	}
	cust_format_utc(ev->time_ns, when, sizeof(when));
	say(out, "proves: event seq %llu (%s %s by %s/%s, %s, item '%s', agency %s) is "
	    "leaf %llu of log '%s' at tree size %llu, signed by the key the agency "
	    "certified and cosigned by %zu witness(es)\n", (unsigned long long)ev->seq,
	    when, cust_action_name(ev->action), cust_actor_name(ev->actor_kind),
	    ev->actor_id, cust_outcome_name(ev->outcome), ev->evidence_id,
	    ev->agency_id, (unsigned long long)t->index, cp.origin,
	    (unsigned long long)cp.size, count);
	say(out, "does not prove: that these are all of the item's events (no completeness), "
	    "anything after tree size %llu, the recording's content (compare its hash with "
	    "the event's details), or that the dock kept to the certificate's validity "
	    "period (the checkpoint carries no time of its own)\n",
	    (unsigned long long)cp.size);
	free(ev);
	return 0;
}

int tlp_check(const char *buf, size_t len, const struct ckpt_vkey *agency,
	      const struct ckpt_vkey *wit, size_t n_wit, unsigned quorum, FILE *out)
{
	struct tlp *t;
	int r;

	if (!buf || !agency || (!wit && n_wit) || n_wit > TLP_MAX_WITNESSES ||
	    quorum < 1 || quorum > n_wit)
		return -EINVAL;
	if (!(t = malloc(sizeof(*t))))
		return -ENOMEM;
	r = tlp_parse(buf, len, t);
	if (r)
		say(out, "FAILED: not a tlog-proof file of this format (%s)\n",
		    r == -E2BIG ? "over a size cap" : "malformed");
	else
		r = check(t, agency, wit, n_wit, quorum, out);
	free(t);
	return r;
}
