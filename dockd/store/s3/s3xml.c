/* s3xml.c - S3 reply parsing with expat (see s3xml.h).
 *
 * One small engine: expat events feed an element stack and a bounded text
 * buffer; at each end tag the document-specific code sees (parent, name,
 * text). Any violation stops the parser and the call returns -EPROTO.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "s3xml.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum doc { D_ERROR, D_INITIATE, D_PARTS, D_UPLOADS, D_COMPLETE, D_TAGGING, D_LOCK };

static const char *const roots[] = {
	[D_ERROR] = "Error",
	[D_INITIATE] = "InitiateMultipartUploadResult",
	[D_PARTS] = "ListPartsResult",
	[D_UPLOADS] = "ListMultipartUploadsResult",
	[D_COMPLETE] = "CompleteMultipartUploadResult",
	[D_TAGGING] = "Tagging",
	[D_LOCK] = "ObjectLockConfiguration",
};

struct ctx {
	XML_Parser p;
	enum doc want;
	int is_error; /* root was <Error> */
	int bad;
	int depth;
	char names[S3XML_DEPTH_MAX][64];
	char text[S3XML_TEXT_MAX + 1];
	size_t tlen;
	int overflow;
	/* results (scratch) */
	struct s3xml_error err;
	char upload_id[S3_UPLOAD_ID_MAX + 1];
	int have_upload_id;
	char etag[S3_ETAG_MAX + 1];
	bool truncated, lock_enabled;
	unsigned next_marker;
	char next_key[S3_KEY_MAX + 1], next_id[S3_UPLOAD_ID_MAX + 1];
	void *items; /* struct s3_part / s3_upload / s3_tag [cap] */
	size_t cap, n, isz;
	int item_fields; /* bit per field seen in the current item */
};

static void fail(struct ctx *c)
{
	if (!c->bad) {
		c->bad = 1;
		XML_StopParser(c->p, XML_FALSE);
	}
}

/* Copy the text node into dst[cap]; too long or containing NUL is fatal. */
static void take(struct ctx *c, char *dst, size_t cap)
{
	if (c->overflow || c->tlen >= cap || memchr(c->text, '\0', c->tlen)) {
		fail(c);
		return;
	}
	memcpy(dst, c->text, c->tlen);
	dst[c->tlen] = '\0';
}

/* Like take() but cuts silently: for human-readable messages only. */
static void take_cut(struct ctx *c, char *dst, size_t cap)
{
	size_t n = c->tlen < cap - 1 ? c->tlen : cap - 1;
	memcpy(dst, c->text, n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < ' ')
			dst[i] = ' ';
}

static int parse_u64(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int take_bool(struct ctx *c, bool *out)
{
	if (c->tlen == 4 && memcmp(c->text, "true", 4) == 0)
		*out = true;
	else if (c->tlen == 5 && memcmp(c->text, "false", 5) == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static void take_etag(struct ctx *c, char *dst)
{
	char tmp[S3_ETAG_MAX + 3];
	size_t n;
	take(c, tmp, sizeof(tmp));
	if (c->bad)
		return;
	n = strlen(tmp);
	if (n >= 2 && tmp[0] == '"' && tmp[n - 1] == '"') {
		memmove(tmp, tmp + 1, n - 2);
		tmp[n - 2] = '\0';
		n -= 2;
	}
	if (n > S3_ETAG_MAX || strchr(tmp, '"')) {
		fail(c);
		return;
	}
	memcpy(dst, tmp, n + 1);
}

int s3xml_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *e;
	time_t t;
	memset(&tm, 0, sizeof(tm));
	if (!s || !(e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -EPROTO;
	if (*e == '.') {
		e++;
		if (*e < '0' || *e > '9')
			return -EPROTO;
		while (*e >= '0' && *e <= '9')
			e++;
	}
	if (strcmp(e, "Z") != 0)
		return -EPROTO;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EPROTO;
	*out = t;
	return 0;
}

/* ---- per-document end-of-element handling -------------------------------- */

static void end_part(struct ctx *c, const char *name)
{
	struct s3_part *p = (struct s3_part *)c->items + c->n;
	unsigned long long v;
	if (strcmp(name, "PartNumber") == 0) {
		if (parse_u64(c->text, c->tlen, S3_MAX_PARTS, &v) || v == 0)
			return fail(c);
		p->number = (unsigned)v;
		c->item_fields |= 1;
	} else if (strcmp(name, "ETag") == 0) {
		take_etag(c, p->etag);
		c->item_fields |= 2;
	} else if (strcmp(name, "Size") == 0) {
		if (parse_u64(c->text, c->tlen, 5ULL << 30, &v))
			return fail(c);
		p->size = v;
		c->item_fields |= 4;
	}
}

static void end_upload(struct ctx *c, const char *name)
{
	struct s3_upload *u = (struct s3_upload *)c->items + c->n;
	if (strcmp(name, "Key") == 0) {
		take(c, u->key, sizeof(u->key));
		c->item_fields |= 1;
	} else if (strcmp(name, "UploadId") == 0) {
		take(c, u->upload_id, sizeof(u->upload_id));
		c->item_fields |= 2;
	} else if (strcmp(name, "Initiated") == 0) {
		char t[64];
		take(c, t, sizeof(t));
		if (!c->bad && s3xml_parse_time(t, &u->initiated))
			fail(c);
	}
}

static void end_tag(struct ctx *c, const char *name)
{
	struct s3_tag *t = (struct s3_tag *)c->items + c->n;
	if (strcmp(name, "Key") == 0) {
		take(c, t->key, sizeof(t->key));
		c->item_fields |= 1;
	} else if (strcmp(name, "Value") == 0) {
		take(c, t->value, sizeof(t->value));
		c->item_fields |= 2;
	}
}

/* An item element closed: it must have had its required fields. */
static void end_item(struct ctx *c, int need)
{
	if ((c->item_fields & need) != need)
		return fail(c);
	c->n++;
}

static void end_in_root(struct ctx *c, const char *name)
{
	unsigned long long v;
	if (c->is_error) {
		if (strcmp(name, "Code") == 0)
			take(c, c->err.code, sizeof(c->err.code));
		else if (strcmp(name, "Message") == 0)
			take_cut(c, c->err.message, sizeof(c->err.message));
		else if (strcmp(name, "RequestId") == 0)
			take_cut(c, c->err.request_id, sizeof(c->err.request_id));
		return;
	}
	if (strcmp(name, "IsTruncated") == 0) {
		if (take_bool(c, &c->truncated))
			fail(c);
	} else if (c->want == D_INITIATE && strcmp(name, "UploadId") == 0) {
		take(c, c->upload_id, sizeof(c->upload_id));
		c->have_upload_id = 1;
	} else if (c->want == D_PARTS && strcmp(name, "NextPartNumberMarker") == 0) {
		if (parse_u64(c->text, c->tlen, S3_MAX_PARTS, &v))
			return fail(c);
		c->next_marker = (unsigned)v;
	} else if (c->want == D_UPLOADS && strcmp(name, "NextKeyMarker") == 0) {
		take(c, c->next_key, sizeof(c->next_key));
	} else if (c->want == D_UPLOADS && strcmp(name, "NextUploadIdMarker") == 0) {
		take(c, c->next_id, sizeof(c->next_id));
	} else if (c->want == D_COMPLETE && strcmp(name, "ETag") == 0) {
		take_etag(c, c->etag);
	} else if (c->want == D_LOCK && strcmp(name, "ObjectLockEnabled") == 0) {
		c->lock_enabled = c->tlen == 7 && memcmp(c->text, "Enabled", 7) == 0;
	}
}

static const char *item_name(enum doc d)
{
	return d == D_PARTS ? "Part" : d == D_UPLOADS ? "Upload" : d == D_TAGGING ? "Tag" : NULL;
}

/* ---- expat callbacks ------------------------------------------------------ */

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct ctx *c = ud;
	const char *item = item_name(c->want);
	(void)attrs;
	if (c->bad)
		return;
	if (c->depth >= S3XML_DEPTH_MAX || strlen(name) >= sizeof(c->names[0]))
		return fail(c);
	if (c->depth == 0) {
		if (strcmp(name, "Error") == 0)
			c->is_error = 1;
		else if (strcmp(name, roots[c->want]) != 0)
			return fail(c);
	}
	/* Item containers: Part/Upload directly under the root, Tag under TagSet. */
	if (!c->is_error && item && strcmp(name, item) == 0 &&
	    c->depth == (c->want == D_TAGGING ? 2 : 1)) {
		if (c->n >= c->cap)
			return fail(c);
		memset((char *)c->items + c->n * c->isz, 0, c->isz);
		c->item_fields = 0;
	}
	snprintf(c->names[c->depth], sizeof(c->names[0]), "%s", name);
	c->depth++;
	c->tlen = 0;
	c->overflow = 0;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct ctx *c = ud;
	const char *item = item_name(c->want);
	int d;
	if (c->bad)
		return;
	d = --c->depth; /* depth of the element that closes */
	c->text[c->tlen < sizeof(c->text) ? c->tlen : sizeof(c->text) - 1] = '\0';
	if (d == 1) {
		if (!c->is_error && item && c->want != D_TAGGING && strcmp(name, item) == 0)
			end_item(c, c->want == D_PARTS ? 7 : 3);
		else
			end_in_root(c, name);
	} else if (!c->is_error && d == 2 && c->want == D_PARTS &&
		   strcmp(c->names[1], "Part") == 0) {
		end_part(c, name);
	} else if (!c->is_error && d == 2 && c->want == D_UPLOADS &&
		   strcmp(c->names[1], "Upload") == 0) {
		end_upload(c, name);
	} else if (!c->is_error && c->want == D_TAGGING && d == 2 && strcmp(name, "Tag") == 0 &&
		   strcmp(c->names[1], "TagSet") == 0) {
		end_item(c, 3);
	} else if (!c->is_error && c->want == D_TAGGING && d == 3 &&
		   strcmp(c->names[1], "TagSet") == 0 && strcmp(c->names[2], "Tag") == 0) {
		end_tag(c, name);
	}
	c->tlen = 0;
	c->overflow = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct ctx *c = ud;
	if (c->bad || len < 0)
		return;
	if ((size_t)len > S3XML_TEXT_MAX - c->tlen) {
		c->overflow = 1;
		return;
	}
	memcpy(c->text + c->tlen, s, (size_t)len);
	c->tlen += (size_t)len;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal)
{
	(void)name; (void)sysid; (void)pubid; (void)has_internal;
	fail(ud);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *v,
			      int vlen, const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name; (void)pe; (void)v; (void)vlen; (void)base; (void)sysid; (void)pubid;
	(void)notation;
	fail(ud);
}

/* Parse into c (already set up). 0, -ENOMSG (Error document) or -EPROTO. */
static int run(struct ctx *c, const char *xml, size_t n)
{
	int r = -EPROTO;
	if (!xml || n == 0 || n > S3_REPLY_MAX)
		return -EPROTO;
	c->p = XML_ParserCreate("UTF-8");
	if (!c->p)
		return -ENOMEM;
	XML_SetUserData(c->p, c);
	XML_SetElementHandler(c->p, on_start, on_end);
	XML_SetCharacterDataHandler(c->p, on_text);
	XML_SetStartDoctypeDeclHandler(c->p, on_doctype);
	XML_SetEntityDeclHandler(c->p, on_entity);
	XML_SetParamEntityParsing(c->p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(c->p, xml, (int)n, XML_TRUE) == XML_STATUS_OK && !c->bad && c->depth == 0)
		r = c->is_error ? (c->err.code[0] ? -ENOMSG : -EPROTO) : 0;
	XML_ParserFree(c->p);
	return r;
}

static struct ctx *ctx_new(enum doc d, size_t item_size, size_t cap)
{
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->want = d;
	c->cap = cap;
	c->isz = item_size;
	if (cap && !(c->items = calloc(cap, item_size))) {
		free(c);
		return NULL;
	}
	return c;
}

static void ctx_free(struct ctx *c)
{
	if (c) {
		free(c->items);
		free(c);
	}
}

/* Common tail: an Error document is handed back through err. */
static int finish(struct ctx *c, int r, struct s3xml_error *err)
{
	if (r == -ENOMSG && err)
		*err = c->err;
	return r;
}

int s3xml_error(const char *xml, size_t n, struct s3xml_error *out)
{
	struct ctx *c = ctx_new(D_ERROR, 0, 0);
	int r;
	if (!c)
		return -ENOMEM;
	r = run(c, xml, n);
	if (r == 0 || (r == -ENOMSG && !c->is_error))
		r = -EPROTO;
	if (r == -ENOMSG) {
		if (out)
			*out = c->err;
		r = 0;
	}
	ctx_free(c);
	return r;
}

int s3xml_initiate(const char *xml, size_t n, char upload_id[S3_UPLOAD_ID_MAX + 1],
		   struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_INITIATE, 0, 0);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	if (r == 0 && (!c->have_upload_id || !c->upload_id[0]))
		r = -EPROTO;
	if (r == 0)
		memcpy(upload_id, c->upload_id, strlen(c->upload_id) + 1);
	ctx_free(c);
	return r;
}

int s3xml_list_parts(const char *xml, size_t n, struct s3_part *parts, size_t cap,
		     size_t *n_out, bool *truncated, unsigned *next_marker,
		     struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_PARTS, sizeof(struct s3_part), cap);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	/* Parts must ascend, else paging by marker could loop or skip. */
	for (size_t i = 1; r == 0 && i < c->n; i++)
		if (((struct s3_part *)c->items)[i].number <= ((struct s3_part *)c->items)[i - 1].number)
			r = -EPROTO;
	if (r == 0 && c->truncated && c->n &&
	    c->next_marker < ((struct s3_part *)c->items)[c->n - 1].number)
		r = -EPROTO;
	if (r == 0) {
		if (c->n)
			memcpy(parts, c->items, c->n * sizeof(*parts));
		*n_out = c->n;
		*truncated = c->truncated;
		*next_marker = c->next_marker;
	}
	ctx_free(c);
	return r;
}

int s3xml_list_uploads(const char *xml, size_t n, struct s3_upload *ups, size_t cap,
		       size_t *n_out, bool *truncated, char next_key[S3_KEY_MAX + 1],
		       char next_id[S3_UPLOAD_ID_MAX + 1], struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_UPLOADS, sizeof(struct s3_upload), cap);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	if (r == 0) {
		if (c->n)
			memcpy(ups, c->items, c->n * sizeof(*ups));
		*n_out = c->n;
		*truncated = c->truncated;
		memcpy(next_key, c->next_key, strlen(c->next_key) + 1);
		memcpy(next_id, c->next_id, strlen(c->next_id) + 1);
	}
	ctx_free(c);
	return r;
}

int s3xml_complete(const char *xml, size_t n, char etag[S3_ETAG_MAX + 1],
		   struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_COMPLETE, 0, 0);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	if (r == 0)
		memcpy(etag, c->etag, strlen(c->etag) + 1);
	ctx_free(c);
	return r;
}

int s3xml_tagging(const char *xml, size_t n, struct s3_tag *tags, size_t cap, size_t *n_out,
		  struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_TAGGING, sizeof(struct s3_tag), cap);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	if (r == 0) {
		if (c->n)
			memcpy(tags, c->items, c->n * sizeof(*tags));
		*n_out = c->n;
	}
	ctx_free(c);
	return r;
}

int s3xml_object_lock(const char *xml, size_t n, bool *enabled, struct s3xml_error *err)
{
	struct ctx *c = ctx_new(D_LOCK, 0, 0);
	int r;
	if (!c)
		return -ENOMEM;
	r = finish(c, run(c, xml, n), err);
	if (r == 0)
		*enabled = c->lock_enabled;
	ctx_free(c);
	return r;
}
