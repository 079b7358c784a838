/* s3_ops.c - the S3 object and bucket operations of s3.h, built on s3_do()
 * (s3_http.c), and the request helpers they share with the multipart
 * operations (s3_mpu.c, s3_int.h). */
#define _GNU_SOURCE
#include "s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "s3xml.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

void s3_ops_note(struct s3_error *e, const char *code, const char *msg)
{
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->message, sizeof(e->message), "%s", msg);
}

int s3_ops_bad_arg(struct s3_error *e, const char *msg)
{
	memset(e, 0, sizeof(*e));
	s3_ops_note(e, "LocalError", msg);
	return -EINVAL;
}

static void version_param(struct s3_req *q, const char *version_id)
{
	if (version_id && version_id[0])
		s3_req_param(q, "versionId", version_id);
}

/* ---- a small bounded text builder for XML and header values ---------------- */

static void tb_add(struct s3_tb *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = cap > (8u << 20) ? NULL : realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void s3_tb_str(struct s3_tb *b, const char *s)
{
	tb_add(b, s, strlen(s));
}

void s3_tb_xml(struct s3_tb *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': s3_tb_str(b, "&amp;"); break;
		case '<': s3_tb_str(b, "&lt;"); break;
		case '>': s3_tb_str(b, "&gt;"); break;
		case '"': s3_tb_str(b, "&quot;"); break;
		case '\'': s3_tb_str(b, "&apos;"); break;
		default: tb_add(b, s, 1);
		}
	}
}

static void tb_enc(struct s3_tb *b, const char *s)
{
	char tmp[3 * 257];
	if (sigv4_uri_encode(s, strlen(s), 0, tmp, sizeof(tmp)) != 0)
		b->err = -EINVAL;
	else
		s3_tb_str(b, tmp);
}

static int tags_ok(const struct s3_tag *t, size_t n)
{
	if (n > S3_TAGS_MAX || (n && !t))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!t[i].key[0] || !memchr(t[i].key, 0, sizeof(t[i].key)) ||
		    !memchr(t[i].value, 0, sizeof(t[i].value)))
			return 0;
	return 1;
}

/* Object-write headers shared by PutObject and CreateMultipartUpload. */
int s3_put_headers(struct s3_req *q, const struct s3_put_opts *o, struct s3_tb *tagging,
		   char until[32])
{
	s3_req_header(q, "content-type",
		      o && o->content_type ? o->content_type : "application/octet-stream");
	if (!o)
		return 0;
	if (o->n_tags) {
		if (!tags_ok(o->tags, o->n_tags))
			return -EINVAL;
		for (size_t i = 0; i < o->n_tags; i++) {
			if (i)
				s3_tb_str(tagging, "&");
			tb_enc(tagging, o->tags[i].key);
			s3_tb_str(tagging, "=");
			tb_enc(tagging, o->tags[i].value);
		}
		if (tagging->err)
			return tagging->err;
		s3_req_header(q, "x-amz-tagging", tagging->p);
	}
	if (o->lock_mode) {
		if (strcmp(o->lock_mode, "COMPLIANCE") != 0 && strcmp(o->lock_mode, "GOVERNANCE") != 0)
			return -EINVAL;
		if (o->retain_until <= 0)
			return -EINVAL;
		s3_iso8601(o->retain_until, until);
		s3_req_header(q, "x-amz-object-lock-mode", o->lock_mode);
		s3_req_header(q, "x-amz-object-lock-retain-until-date", until);
		q->lock_requested = true;
	}
	if (o->legal_hold) {
		s3_req_header(q, "x-amz-object-lock-legal-hold", "ON");
		q->lock_requested = true;
	}
	return 0;
}

int s3_etag_matches_md5(const char *etag, const uint8_t md5[16])
{
	char hex[33];
	sigv4_hex(md5, 16, hex);
	/* Only a plain 32-hex ETag is an MD5 (not multipart, not SSE-KMS). */
	if (strlen(etag) != 32 || strspn(etag, "0123456789abcdef") != 32)
		return 1;
	return strcmp(etag, hex) == 0;
}

int s3_body_ok(const struct s3_body *b)
{
	return b && (b->buf || b->fd >= 0) && b->len <= (5ULL << 30);
}

/* ---- objects ------------------------------------------------------------- */

int s3_put_object(struct s3_client *c, const char *key, const struct s3_body *body,
		  const struct s3_put_opts *o, struct s3_obj_info *out, struct s3_error *err)
{
	struct s3_req q = { .method = "PUT", .key = key, .body = body };
	struct s3_tb tagging = { 0 };
	char until[32];
	int r;
	S3_ERRP(err);

	if (!c || !key || !s3_body_ok(body))
		return s3_ops_bad_arg(err, "bad arguments to put");
	r = s3_put_headers(&q, o, &tagging, until);
	if (r) {
		free(tagging.p);
		return s3_ops_bad_arg(err, "bad tags or lock options");
	}
	r = s3_do(c, &q, err);
	if (r == 0 && !s3_etag_matches_md5(q.resp.etag, q.body_md5)) {
		s3_ops_note(err, "ETagMismatch", "the stored object's MD5 differs from what we sent");
		r = -EBADMSG;
	}
	if (r == 0 && out) {
		memset(out, 0, sizeof(*out));
		out->size = body->len;
		memcpy(out->etag, q.resp.etag, sizeof(out->etag));
		memcpy(out->version_id, q.resp.version_id, sizeof(out->version_id));
		if (o && o->lock_mode) {
			snprintf(out->lock_mode, sizeof(out->lock_mode), "%s", o->lock_mode);
			out->retain_until = o->retain_until;
		}
		out->legal_hold = o && o->legal_hold;
	}
	free(tagging.p);
	s3_req_done(&q);
	return r;
}

int s3_head_object(struct s3_client *c, const char *key, const char *version_id,
		   struct s3_obj_info *out, struct s3_error *err)
{
	struct s3_req q = { .method = "HEAD", .key = key };
	int r;
	S3_ERRP(err);

	if (!c || !key || !out)
		return s3_ops_bad_arg(err, "bad arguments to head");
	version_param(&q, version_id);
	r = s3_do(c, &q, err);
	if (r == 0 && !q.resp.has_length) {
		s3_ops_note(err, "BadReply", "HEAD reply without Content-Length");
		r = -EPROTO;
	}
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		out->size = q.resp.content_length;
		memcpy(out->etag, q.resp.etag, sizeof(out->etag));
		memcpy(out->version_id, q.resp.version_id, sizeof(out->version_id));
		memcpy(out->lock_mode, q.resp.lock_mode, sizeof(out->lock_mode));
		out->retain_until = q.resp.retain_until;
		out->legal_hold = q.resp.legal_hold;
	}
	s3_req_done(&q);
	return r;
}

static int get_common(struct s3_client *c, struct s3_req *q, struct s3_error *err)
{
	int r = s3_do(c, q, err);
	if (r == 0 && q->resp.has_length && q->resp.content_length != q->got) {
		s3_ops_note(err, "ShortBody", "object body length differs from Content-Length");
		r = -EBADMSG;
	}
	return r;
}

int s3_get_object_sha256(struct s3_client *c, const char *key, const char *version_id,
			 uint64_t *size, uint8_t sha256[32], struct s3_error *err)
{
	struct s3_req q = { .method = "GET", .key = key, .sink = S3_SINK_SHA256 };
	int r;
	S3_ERRP(err);

	if (!c || !key || !size || !sha256)
		return s3_ops_bad_arg(err, "bad arguments to get");
	version_param(&q, version_id);
	r = get_common(c, &q, err);
	if (r == 0) {
		*size = q.got;
		memcpy(sha256, q.sha256, 32);
	}
	s3_req_done(&q);
	return r;
}

int s3_get_object_fd(struct s3_client *c, const char *key, const char *version_id, int fd,
		     uint64_t max, struct s3_error *err)
{
	struct s3_req q = { .method = "GET", .key = key, .sink = S3_SINK_FD, .fd = fd,
			    .max = max };
	int r;
	S3_ERRP(err);

	if (!c || !key || fd < 0)
		return s3_ops_bad_arg(err, "bad arguments to get");
	version_param(&q, version_id);
	r = get_common(c, &q, err);
	s3_req_done(&q);
	return r;
}

int s3_delete_object(struct s3_client *c, const char *key, const char *version_id,
		     struct s3_error *err)
{
	struct s3_req q = { .method = "DELETE", .key = key };
	int r;
	S3_ERRP(err);

	if (!c || !key)
		return s3_ops_bad_arg(err, "bad arguments to delete");
	version_param(&q, version_id);
	r = s3_do(c, &q, err);
	s3_req_done(&q);
	return r;
}

/* A request with a small XML body. */
int s3_xml_request(struct s3_client *c, struct s3_req *q, const struct s3_tb *x,
		   struct s3_error *err)
{
	struct s3_body b = { .buf = (const uint8_t *)x->p, .fd = -1, .len = x->len };
	q->body = &b;
	s3_req_header(q, "content-type", "application/xml");
	int r = s3_do(c, q, err);
	q->body = NULL;
	return r;
}

int s3_put_tagging(struct s3_client *c, const char *key, const char *version_id,
		   const struct s3_tag *tags, size_t n, struct s3_error *err)
{
	struct s3_req q = { .method = "PUT", .key = key };
	struct s3_tb x = { 0 };
	int r;
	S3_ERRP(err);

	if (!c || !key || !tags_ok(tags, n))
		return s3_ops_bad_arg(err, "bad arguments to put tagging");
	s3_tb_str(&x, "<Tagging><TagSet>");
	for (size_t i = 0; i < n; i++) {
		s3_tb_str(&x, "<Tag><Key>");
		s3_tb_xml(&x, tags[i].key);
		s3_tb_str(&x, "</Key><Value>");
		s3_tb_xml(&x, tags[i].value);
		s3_tb_str(&x, "</Value></Tag>");
	}
	s3_tb_str(&x, "</TagSet></Tagging>");
	if (x.err) {
		free(x.p);
		return s3_ops_bad_arg(err, "out of memory");
	}
	s3_req_param(&q, "tagging", NULL);
	version_param(&q, version_id);
	r = s3_xml_request(c, &q, &x, err);
	free(x.p);
	s3_req_done(&q);
	return r;
}

int s3_get_tagging(struct s3_client *c, const char *key, const char *version_id,
		   struct s3_tag *tags, size_t cap, size_t *n, struct s3_error *err)
{
	struct s3_req q = { .method = "GET", .key = key };
	struct s3xml_error xe;
	int r;
	S3_ERRP(err);

	if (!c || !key || !n || (cap && !tags))
		return s3_ops_bad_arg(err, "bad arguments to get tagging");
	s3_req_param(&q, "tagging", NULL);
	version_param(&q, version_id);
	r = s3_do(c, &q, err);
	if (r == 0) {
		r = s3xml_tagging(q.reply, q.reply_len, tags, cap, n, &xe);
		if (r)
			s3_ops_note(err, r == -ENOMSG ? xe.code : "BadReply", "GetObjectTagging reply");
		if (r == -ENOMSG)
			r = -EPROTO;
	}
	s3_req_done(&q);
	return r;
}

int s3_put_legal_hold(struct s3_client *c, const char *key, const char *version_id, bool on,
		      struct s3_error *err)
{
	struct s3_req q = { .method = "PUT", .key = key, .lock_requested = true };
	struct s3_tb x = { 0 };
	int r;
	S3_ERRP(err);

	if (!c || !key)
		return s3_ops_bad_arg(err, "bad arguments to legal hold");
	s3_tb_str(&x, "<LegalHold xmlns=\"" S3_XMLNS "\"><Status>");
	s3_tb_str(&x, on ? "ON" : "OFF");
	s3_tb_str(&x, "</Status></LegalHold>");
	if (x.err) {
		free(x.p);
		return s3_ops_bad_arg(err, "out of memory");
	}
	s3_req_param(&q, "legal-hold", NULL);
	version_param(&q, version_id);
	r = s3_xml_request(c, &q, &x, err);
	free(x.p);
	s3_req_done(&q);
	return r;
}

int s3_put_retention(struct s3_client *c, const char *key, const char *version_id,
		     const char *mode, time_t retain_until, struct s3_error *err)
{
	struct s3_req q = { .method = "PUT", .key = key, .lock_requested = true };
	struct s3_tb x = { 0 };
	char until[32];
	int r;
	S3_ERRP(err);

	if (!c || !key || !mode || retain_until <= 0 ||
	    (strcmp(mode, "COMPLIANCE") && strcmp(mode, "GOVERNANCE")))
		return s3_ops_bad_arg(err, "bad arguments to retention");
	s3_iso8601(retain_until, until);
	s3_tb_str(&x, "<Retention xmlns=\"" S3_XMLNS "\"><Mode>");
	s3_tb_str(&x, mode);
	s3_tb_str(&x, "</Mode><RetainUntilDate>");
	s3_tb_str(&x, until);
	s3_tb_str(&x, "</RetainUntilDate></Retention>");
	if (x.err) {
		free(x.p);
		return s3_ops_bad_arg(err, "out of memory");
	}
	s3_req_param(&q, "retention", NULL);
	version_param(&q, version_id);
	r = s3_xml_request(c, &q, &x, err);
	free(x.p);
	s3_req_done(&q);
	return r;
}

/* ---- buckets ------------------------------------------------------------- */

int s3_bucket_lock_enabled(struct s3_client *c, bool *enabled, struct s3_error *err)
{
	struct s3_req q = { .method = "GET" };
	struct s3xml_error xe;
	int r;
	S3_ERRP(err);

	if (!c || !enabled)
		return s3_ops_bad_arg(err, "bad arguments to lock status");
	s3_req_param(&q, "object-lock", NULL);
	r = s3_do(c, &q, err);
	if (r != 0 && strcmp(err->code, "ObjectLockConfigurationNotFoundError") == 0) {
		*enabled = false; /* a bucket without Object Lock: not an error */
		r = 0;
	} else if (r == 0) {
		r = s3xml_object_lock(q.reply, q.reply_len, enabled, &xe);
		if (r) {
			s3_ops_note(err, r == -ENOMSG ? xe.code : "BadReply", "GetObjectLockConfiguration reply");
			r = -EPROTO;
		}
	}
	s3_req_done(&q);
	return r;
}

int s3_create_bucket(struct s3_client *c, bool lock, struct s3_error *err)
{
	struct s3_req q = { .method = "PUT" };
	int r;
	S3_ERRP(err);

	if (!c)
		return s3_ops_bad_arg(err, "bad arguments to create bucket");
	if (lock)
		s3_req_header(&q, "x-amz-bucket-object-lock-enabled", "true");
	r = s3_do(c, &q, err);
	if (r != 0 && strcmp(err->code, "BucketAlreadyOwnedByYou") == 0)
		r = 0;
	s3_req_done(&q);
	return r;
}
