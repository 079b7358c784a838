/*
 * agencynote.c - the agency's signed statements: text formats, strict
 * parsers, and verification against the agency vkey (see agencynote.h).
 * The note layer (signatures, caps, UTF-8) is signote.c's; this file
 * only knows the three statement grammars.
 */
#define _GNU_SOURCE
#include "agencynote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cosig.h"
#include "signote.h"

/* ---- small pieces ---------------------------------------------------------- */

int agn_id_valid(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, AGN_ID_MAX + 1);
	return n >= 1 && n <= AGN_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._:-") == n;
}

int agn_key_name(const char *agency, char *buf, size_t cap)
{
	int n;

	if (!agn_id_valid(agency) || !buf)
		return -EINVAL;
	n = snprintf(buf, cap, "%s/agency", agency);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int agn_time_parse(const char *s, size_t n, int64_t *out)
{
	struct tm tm;
	char back[AGN_TIME_LEN + 1];
	time_t t;

	if (!s || !out || n != AGN_TIME_LEN || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2) ||
	    !digits(s + 11, 2) || !digits(s + 14, 2) || !digits(s + 17, 2))
		return -EBADMSG;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 8, 2);
	tm.tm_hour = num(s + 11, 2);
	tm.tm_min = num(s + 14, 2);
	tm.tm_sec = num(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -EBADMSG;
	t = timegm(&tm);
	/* round trip: catches February 30th and friends */
	if (t == (time_t)-1 || agn_time_format((int64_t)t, back) ||
	    memcmp(back, s, AGN_TIME_LEN))
		return -EBADMSG;
	*out = (int64_t)t;
	return 0;
}

int agn_time_format(int64_t t, char buf[AGN_TIME_LEN + 1])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || t > 253402300799LL || !gmtime_r(&tt, &tm) ||
	    strftime(buf, AGN_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != AGN_TIME_LEN)
		return -EINVAL;
	return 0;
}

static int version_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 16 || s[0] == '0' || !digits(s, n))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > AGN_MAX_VERSION)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int hex64_valid(const char *s, size_t n)
{
	return n == 64 && strspn(s, "0123456789abcdef") >= 64;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int type_valid(const char *t)
{
	return !strcmp(t, "p256") || !strcmp(t, "p384") || !strcmp(t, "rsa");
}

/* ---- line reader ----------------------------------------------------------- */

struct rd {
	const char *p, *end;
};

/* Next line must be "<kw> <value>\n" with a non-empty value; the value
 * is copied NUL-terminated into val (cap bytes, -E2BIG if longer). */
static int take(struct rd *r, const char *kw, char *val, size_t cap)
{
	size_t kl = strlen(kw), n;
	const char *nl;

	if (r->p >= r->end || !(nl = memchr(r->p, '\n', (size_t)(r->end - r->p))))
		return -EBADMSG;
	n = (size_t)(nl - r->p);
	if (n <= kl + 1 || memcmp(r->p, kw, kl) || r->p[kl] != ' ')
		return -EBADMSG;
	n -= kl + 1;
	if (n >= cap)
		return -E2BIG;
	memcpy(val, r->p + kl + 1, n);
	val[n] = '\0';
	if (strlen(val) != n)
		return -EBADMSG;
	r->p = nl + 1;
	return 0;
}

/* 1 if the next line starts with "<kw> ". */
static int next_is(const struct rd *r, const char *kw)
{
	size_t kl = strlen(kw);

	return (size_t)(r->end - r->p) > kl && !memcmp(r->p, kw, kl) && r->p[kl] == ' ';
}

static int first_line(struct rd *r, const char *type)
{
	size_t tl = strlen(type);

	if ((size_t)(r->end - r->p) <= tl || memcmp(r->p, type, tl) || r->p[tl] != '\n')
		return -EMEDIUMTYPE;
	r->p += tl + 1;
	return 0;
}

static int take_id(struct rd *r, const char *kw, char *out)
{
	char v[AGN_ID_MAX + 1];
	int rc = take(r, kw, v, sizeof(v));

	if (rc)
		return rc == -E2BIG ? -EBADMSG : rc;
	if (!agn_id_valid(v))
		return -EBADMSG;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int take_time(struct rd *r, const char *kw, int64_t *out)
{
	char v[AGN_TIME_LEN + 2];
	int rc = take(r, kw, v, sizeof(v));

	if (rc)
		return -EBADMSG;
	return agn_time_parse(v, strlen(v), out);
}

static int take_version(struct rd *r, uint64_t *out)
{
	char v[24];

	if (take(r, "version", v, sizeof(v)))
		return -EBADMSG;
	return version_parse(v, strlen(v), out);
}

/* ---- custody certificate ---------------------------------------------------- */

int agn_cert_parse(const char *text, size_t len, struct agn_cert *out)
{
	struct rd r = { text, text + len };
	struct agn_cert c;
	char v[CKPT_MAX_VKEY + 1];
	int rc;

	if (!text || !out)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = first_line(&r, AGN_CERT_TYPE)) || (rc = take_id(&r, "agency", c.agency)) ||
	    (rc = take_id(&r, "dock", c.dock)))
		return rc;
	if (take(&r, "origin", c.origin, sizeof(c.origin)) ||
	    !ckpt_origin_valid(c.origin) || !ckpt_name_valid(c.origin))
		return -EBADMSG;
	if (take(&r, "checkpoint-key", v, sizeof(v)) ||
	    ckpt_vkey_parse(v, strlen(v), &c.ckpt_key) ||
	    strcmp(c.ckpt_key.name, c.origin))
		return -EBADMSG;
	if (take(&r, "dock-key", v, sizeof(v)) || !hex64_valid(v, strlen(v)) ||
	    hex_decode(v, c.dock_key, EDKEY_PUB_LEN))
		return -EBADMSG;
	if ((rc = take_time(&r, "not-before", &c.not_before)) ||
	    (rc = take_time(&r, "not-after", &c.not_after)))
		return rc;
	if (r.p != r.end || c.not_before >= c.not_after)
		return -EBADMSG;
	*out = c;
	return 0;
}

int agn_cert_text(const struct agn_cert *c, char *buf, size_t cap, size_t *len)
{
	char vk[CKPT_MAX_VKEY], hex[2 * EDKEY_PUB_LEN + 1];
	char nb[AGN_TIME_LEN + 1], na[AGN_TIME_LEN + 1];
	struct agn_cert back;
	int n;

	if (!c || !buf || !agn_id_valid(c->agency) || !agn_id_valid(c->dock) ||
	    ckpt_vkey_format(&c->ckpt_key, vk, sizeof(vk)) ||
	    agn_time_format(c->not_before, nb) || agn_time_format(c->not_after, na))
		return -EINVAL;
	hex_encode(c->dock_key, EDKEY_PUB_LEN, hex);
	n = snprintf(buf, cap, AGN_CERT_TYPE "\nagency %s\ndock %s\norigin %s\n"
		     "checkpoint-key %s\ndock-key %s\nnot-before %s\nnot-after %s\n",
		     c->agency, c->dock, c->origin, vk, hex, nb, na);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	/* what we write must be what we accept */
	if (agn_cert_parse(buf, (size_t)n, &back)) {
		buf[0] = '\0';
		return -EINVAL;
	}
	if (len)
		*len = (size_t)n;
	return 0;
}

/* ---- recipient policy ------------------------------------------------------- */

int agn_recipients_parse(const char *text, size_t len, struct agn_recipients *out)
{
	struct rd r = { text, text + len };
	struct agn_recipients *p;
	char v[80];
	int rc;

	if (!text || !out)
		return -EINVAL;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	if ((rc = first_line(&r, AGN_RECIPIENTS_TYPE)) ||
	    (rc = take_id(&r, "agency", p->agency)) || (rc = take_version(&r, &p->version)) ||
	    (rc = take_time(&r, "issued", &p->issued)))
		goto out;
	while (r.p < r.end) {
		struct agn_recipient *e = &p->r[p->n];
		char *sp;

		rc = -E2BIG;
		if (p->n == AGN_MAX_ENTRIES)
			goto out;
		rc = -EBADMSG;
		if (take(&r, "recipient", v, sizeof(v)) || !(sp = strchr(v, ' ')))
			goto out;
		*sp = '\0';
		if (!type_valid(v) || !hex64_valid(sp + 1, strlen(sp + 1)))
			goto out;
		memcpy(e->type, v, strlen(v) + 1);	/* type_valid: <= 4 bytes */
		memcpy(e->key_id, sp + 1, 65);
		for (size_t i = 0; i < p->n; i++)
			if (!strcmp(p->r[i].key_id, e->key_id))
				goto out;
		p->n++;
	}
	rc = p->n ? 0 : -EBADMSG;
	if (!rc)
		*out = *p;
out:
	free(p);
	return rc;
}

int agn_recipients_text(const struct agn_recipients *p, char *buf, size_t cap,
			size_t *len)
{
	struct agn_recipients *back;
	char is[AGN_TIME_LEN + 1];
	size_t o;
	int n, rc;

	if (!p || !buf || !agn_id_valid(p->agency) || agn_time_format(p->issued, is) ||
	    p->n == 0 || p->n > AGN_MAX_ENTRIES)
		return -EINVAL;
	n = snprintf(buf, cap, AGN_RECIPIENTS_TYPE "\nagency %s\nversion %llu\nissued %s\n",
		     p->agency, (unsigned long long)p->version, is);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	o = (size_t)n;
	for (size_t i = 0; i < p->n; i++) {
		n = snprintf(buf + o, cap - o, "recipient %s %s\n", p->r[i].type, p->r[i].key_id);
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOSPC;
		o += (size_t)n;
	}
	if (!(back = malloc(sizeof(*back))))
		return -ENOMEM;
	rc = agn_recipients_parse(buf, o, back) ? -EINVAL : 0;
	free(back);
	if (rc)
		buf[0] = '\0';
	else if (len)
		*len = o;
	return rc;
}

/* ---- witness policy --------------------------------------------------------- */

int agn_witnesses_parse(const char *text, size_t len, struct agn_witnesses *out)
{
	struct rd r = { text, text + len };
	struct agn_witnesses *w;
	char v[CKPT_MAX_VKEY + 1];
	int rc;

	if (!text || !out)
		return -EINVAL;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	if ((rc = first_line(&r, AGN_WITNESSES_TYPE)) ||
	    (rc = take_id(&r, "agency", w->agency)) || (rc = take_version(&r, &w->version)) ||
	    (rc = take_time(&r, "issued", &w->issued)))
		goto out;
	rc = -EBADMSG;
	if (take(&r, "quorum", v, sizeof(v)) || strlen(v) > 2 || v[0] == '0' ||
	    !digits(v, strlen(v)))
		goto out;
	w->quorum = (unsigned)num(v, strlen(v));
	while (r.p < r.end) {
		rc = -E2BIG;
		if (w->n == AGN_MAX_ENTRIES)
			goto out;
		rc = -EBADMSG;
		if (!next_is(&r, "witness") || take(&r, "witness", v, sizeof(v)) ||
		    cosig_vkey_parse(v, strlen(v), &w->w[w->n]))
			goto out;
		/* one name per witness (the cosignature names it) */
		for (size_t i = 0; i < w->n; i++)
			if (!strcmp(w->w[i].name, w->w[w->n].name) ||
			    !memcmp(w->w[i].pub, w->w[w->n].pub, EDKEY_PUB_LEN))
				goto out;
		w->n++;
	}
	rc = w->n && w->quorum <= w->n ? 0 : -EBADMSG;
	if (!rc)
		*out = *w;
out:
	free(w);
	return rc;
}

int agn_witnesses_text(const struct agn_witnesses *w, char *buf, size_t cap,
		       size_t *len)
{
	struct agn_witnesses *back;
	char is[AGN_TIME_LEN + 1], vk[CKPT_MAX_VKEY];
	size_t o;
	int n, rc;

	if (!w || !buf || !agn_id_valid(w->agency) || agn_time_format(w->issued, is) ||
	    w->n == 0 || w->n > AGN_MAX_ENTRIES)
		return -EINVAL;
	n = snprintf(buf, cap, AGN_WITNESSES_TYPE "\nagency %s\nversion %llu\nissued %s\n"
		     "quorum %u\n", w->agency, (unsigned long long)w->version, is, w->quorum);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	o = (size_t)n;
	for (size_t i = 0; i < w->n; i++) {
		if (cosig_vkey_format(&w->w[i], vk, sizeof(vk)))
			return -EINVAL;
		n = snprintf(buf + o, cap - o, "witness %s\n", vk);
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOSPC;
		o += (size_t)n;
	}
	if (!(back = malloc(sizeof(*back))))
		return -ENOMEM;
	rc = agn_witnesses_parse(buf, o, back) ? -EINVAL : 0;
	free(back);
	if (rc)
		buf[0] = '\0';
	else if (len)
		*len = o;
	return rc;
}

/* ---- signed statements ------------------------------------------------------ */

int agn_kind(const char *note, size_t len, enum agn_kind *out)
{
	static const struct { const char *t; enum agn_kind k; } kinds[] = {
		{ AGN_CERT_TYPE, AGN_CERT },
		{ AGN_RECIPIENTS_TYPE, AGN_RECIPIENTS },
		{ AGN_WITNESSES_TYPE, AGN_WITNESSES },
	};

	if (!note || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct rd r = { note, note + len };
		if (first_line(&r, kinds[i].t) == 0) {
			*out = kinds[i].k;
			return 0;
		}
	}
	return -EMEDIUMTYPE;
}

/* A note of kind `kind` (else -EMEDIUMTYPE), its signature by the agency
 * vkey and the text's "agency" line (line 2) naming the vkey's agency:
 * *tlen = signed text length. */
static int open_note(const char *note, size_t len, const struct ckpt_vkey *agency,
		     enum agn_kind kind, size_t *tlen)
{
	char want[AGN_ID_MAX + 16];
	const char *a, *nl;
	enum agn_kind k;
	size_t an;
	int rc;

	if ((rc = agn_kind(note, len, &k)) || (k != kind && (rc = -EMEDIUMTYPE)))
		return rc;
	if (!note || !agency)
		return -EINVAL;
	if (len > AGN_MAX_NOTE)
		return -E2BIG;
	if ((rc = signote_verify(note, len, agency, 1, tlen, NULL)))
		return rc;
	an = strlen(agency->name);
	if (an < 8 || strcmp(agency->name + an - 7, "/agency"))
		return -EXDEV;	/* not an agency key by its name */
	snprintf(want, sizeof(want), "agency %.*s\n", (int)(an - 7), agency->name);
	if (!(nl = memchr(note, '\n', *tlen)))
		return -EBADMSG;
	a = nl + 1;
	if ((size_t)(note + *tlen - a) < strlen(want) || memcmp(a, want, strlen(want)))
		return -EXDEV;
	return 0;
}

int agn_open_cert(const char *note, size_t len, const struct ckpt_vkey *agency,
		  struct agn_cert *out)
{
	size_t tl;
	int rc;

	if (!out)
		return -EINVAL;
	if ((rc = open_note(note, len, agency, AGN_CERT, &tl)))
		return rc;
	return agn_cert_parse(note, tl, out);
}

int agn_open_recipients(const char *note, size_t len,
			const struct ckpt_vkey *agency, struct agn_recipients *out)
{
	size_t tl;
	int rc;

	if (!out)
		return -EINVAL;
	if ((rc = open_note(note, len, agency, AGN_RECIPIENTS, &tl)))
		return rc;
	return agn_recipients_parse(note, tl, out);
}

int agn_open_witnesses(const char *note, size_t len,
		       const struct ckpt_vkey *agency, struct agn_witnesses *out)
{
	size_t tl;
	int rc;

	if (!out)
		return -EINVAL;
	if ((rc = open_note(note, len, agency, AGN_WITNESSES, &tl)))
		return rc;
	return agn_witnesses_parse(note, tl, out);
}

/* ---- files ------------------------------------------------------------------ */

int agn_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, rc = 0;

	if (!path || !buf || !len || cap == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	while (off < cap && (n = read(fd, buf + off, cap - off)) > 0)
		off += (size_t)n;
	if (n < 0)
		rc = -errno;
	close(fd);
	if (!rc && off >= cap)
		rc = -EFBIG;
	if (rc)
		return rc;
	buf[off] = '\0';
	*len = off;
	return 0;
}

int agn_vkey_file(const char *path, struct ckpt_vkey *out)
{
	char buf[4096], *line, *save = NULL;
	struct ckpt_vkey v;
	size_t len;
	int rc, found = 0;

	if (!out)
		return -EINVAL;
	if ((rc = agn_read_file(path, buf, sizeof(buf), &len)))
		return rc;
	if (strlen(buf) != len)
		return -EBADMSG;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (found++ || (rc = ckpt_vkey_parse(line, strlen(line), &v)))
			return found > 1 ? -EBADMSG : rc;
	}
	if (!found)
		return -EBADMSG;
	*out = v;
	return 0;
}
