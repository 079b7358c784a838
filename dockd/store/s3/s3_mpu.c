/* s3_mpu.c - the S3 multipart upload operations of s3.h (create, upload a
 * part, list parts, complete, abort, list uploads), built on s3_do()
 * (s3_http.c) and the request helpers of s3_ops.c (s3_int.h). */
#define _GNU_SOURCE
#include "s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

static int upload_id_ok(const char *id)
{
	return id && id[0] && strlen(id) <= S3_UPLOAD_ID_MAX;
}

int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *o,
		  char upload_id[S3_UPLOAD_ID_MAX + 1], struct s3_error *err)
{
	struct s3_req q = { .method = "POST", .key = key };
	struct s3_put_opts lo;
	struct s3_tb tagging = { 0 };
	struct s3xml_error xe;
	char until[32];
	int r;
	S3_ERRP(err);

	if (!c || !key || !upload_id)
		return s3_ops_bad_arg(err, "bad arguments to create multipart upload");
	if (o) { /* RGW 16 drops x-amz-tagging here: callers tag after completion */
		lo = *o;
		lo.tags = NULL;
		lo.n_tags = 0;
		o = &lo;
	}
	r = s3_put_headers(&q, o, &tagging, until);
	if (r)
		return s3_ops_bad_arg(err, "bad lock options");
	s3_req_param(&q, "uploads", NULL);
	r = s3_do(c, &q, err);
	if (r == 0) {
		r = s3xml_initiate(q.reply, q.reply_len, upload_id, &xe);
		if (r) {
			s3_ops_note(err, r == -ENOMSG ? xe.code : "BadReply", "CreateMultipartUpload reply");
			r = -EPROTO;
		}
	}
	s3_req_done(&q);
	return r;
}

int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id,
		       unsigned part_no, const struct s3_body *body,
		       char etag_out[S3_ETAG_MAX + 1], struct s3_error *err)
{
	struct s3_req q = { .method = "PUT", .key = key, .body = body };
	char num[16];
	int r;
	S3_ERRP(err);

	if (!c || !key || !upload_id_ok(upload_id) || part_no < 1 || part_no > S3_MAX_PARTS ||
	    !s3_body_ok(body) || !etag_out)
		return s3_ops_bad_arg(err, "bad arguments to upload part");
	snprintf(num, sizeof(num), "%u", part_no);
	s3_req_param(&q, "partNumber", num);
	s3_req_param(&q, "uploadId", upload_id);
	r = s3_do(c, &q, err);
	if (r == 0 && !q.resp.etag[0]) {
		s3_ops_note(err, "BadReply", "UploadPart reply without ETag");
		r = -EPROTO;
	}
	if (r == 0 && !s3_etag_matches_md5(q.resp.etag, q.body_md5)) {
		s3_ops_note(err, "ETagMismatch", "the stored part's MD5 differs from what we sent");
		r = -EBADMSG;
	}
	if (r == 0)
		memcpy(etag_out, q.resp.etag, strlen(q.resp.etag) + 1);
	s3_req_done(&q);
	return r;
}

int s3_mpu_list_parts(struct s3_client *c, const char *key, const char *upload_id,
		      unsigned *marker, struct s3_part *parts, size_t cap, size_t *n,
		      bool *truncated, struct s3_error *err)
{
	struct s3_req q = { .method = "GET", .key = key };
	struct s3xml_error xe;
	char maxp[16], mk[16];
	unsigned next = 0;
	int r;
	S3_ERRP(err);

	if (!c || !key || !upload_id_ok(upload_id) || !marker || !parts || cap == 0 ||
	    cap > 1000 || !n || !truncated || *marker > S3_MAX_PARTS)
		return s3_ops_bad_arg(err, "bad arguments to list parts");
	snprintf(maxp, sizeof(maxp), "%zu", cap);
	snprintf(mk, sizeof(mk), "%u", *marker);
	s3_req_param(&q, "max-parts", maxp);
	if (*marker)
		s3_req_param(&q, "part-number-marker", mk);
	s3_req_param(&q, "uploadId", upload_id);
	r = s3_do(c, &q, err);
	if (r == 0) {
		size_t got = 0;
		bool tr = false;
		r = s3xml_list_parts(q.reply, q.reply_len, parts, cap, &got, &tr, &next, &xe);
		/* Pages must move forward, or paging would never end. */
		if (r == 0 && ((got && parts[0].number <= *marker) || (tr && next <= *marker)))
			r = -EPROTO;
		if (r) {
			s3_ops_note(err, r == -ENOMSG ? xe.code : "BadReply", "ListParts reply");
			r = -EPROTO;
		} else {
			*n = got;
			*truncated = tr;
			if (tr)
				*marker = next;
			else if (got)
				*marker = parts[got - 1].number;
		}
	}
	s3_req_done(&q);
	return r;
}

int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t n, struct s3_obj_info *out,
		    struct s3_error *err)
{
	struct s3_req q = { .method = "POST", .key = key };
	struct s3xml_error xe;
	struct s3_tb x = { 0 };
	char etag[S3_ETAG_MAX + 1], line[64];
	int r;
	S3_ERRP(err);

	if (!c || !key || !upload_id_ok(upload_id) || !parts || n == 0 || n > S3_MAX_PARTS)
		return s3_ops_bad_arg(err, "bad arguments to complete multipart upload");
	s3_tb_str(&x, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < n; i++) {
		if (parts[i].number < 1 || parts[i].number > S3_MAX_PARTS ||
		    (i && parts[i].number <= parts[i - 1].number) || !parts[i].etag[0] ||
		    !memchr(parts[i].etag, 0, sizeof(parts[i].etag))) {
			free(x.p);
			return s3_ops_bad_arg(err, "parts must ascend and carry ETags");
		}
		snprintf(line, sizeof(line), "<Part><PartNumber>%u</PartNumber><ETag>\"",
			 parts[i].number);
		s3_tb_str(&x, line);
		s3_tb_xml(&x, parts[i].etag);
		s3_tb_str(&x, "\"</ETag></Part>");
	}
	s3_tb_str(&x, "</CompleteMultipartUpload>");
	if (x.err) {
		free(x.p);
		return s3_ops_bad_arg(err, "out of memory");
	}
	s3_req_param(&q, "uploadId", upload_id);
	r = s3_xml_request(c, &q, &x, err);
	free(x.p);
	if (r == 0) {
		/* S3 may answer 200 and still fail: the body then is an <Error>. */
		r = s3xml_complete(q.reply, q.reply_len, etag, &xe);
		if (r == -ENOMSG) {
			snprintf(err->code, sizeof(err->code), "%s", xe.code);
			snprintf(err->message, sizeof(err->message), "%s", xe.message);
			snprintf(err->request_id, sizeof(err->request_id), "%s", xe.request_id);
			r = strcmp(xe.code, "InternalError") == 0 || strcmp(xe.code, "SlowDown") == 0
				    ? -EAGAIN : strcmp(xe.code, "NoSuchUpload") == 0 ? -ESRCH
				    : strncmp(xe.code, "InvalidPart", 11) == 0 ? -EBADMSG
				    : strcmp(xe.code, "EntityTooSmall") == 0 ? -EFBIG : -EINVAL;
		} else if (r) {
			s3_ops_note(err, "BadReply", "CompleteMultipartUpload reply");
			r = -EPROTO;
		}
	}
	if (r == 0 && out) {
		memset(out, 0, sizeof(*out));
		memcpy(out->etag, etag, sizeof(out->etag));
		memcpy(out->version_id, q.resp.version_id, sizeof(out->version_id));
	}
	s3_req_done(&q);
	return r;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
		 struct s3_error *err)
{
	struct s3_req q = { .method = "DELETE", .key = key };
	int r;
	S3_ERRP(err);

	if (!c || !key || !upload_id_ok(upload_id))
		return s3_ops_bad_arg(err, "bad arguments to abort");
	s3_req_param(&q, "uploadId", upload_id);
	r = s3_do(c, &q, err);
	s3_req_done(&q);
	return r;
}

int s3_mpu_list(struct s3_client *c, const char *prefix, char key_marker[S3_KEY_MAX + 1],
		char id_marker[S3_UPLOAD_ID_MAX + 1], struct s3_upload *ups, size_t cap,
		size_t *n, bool *truncated, struct s3_error *err)
{
	struct s3_req q = { .method = "GET" };
	struct s3xml_error xe;
	char maxu[16];
	int r;
	S3_ERRP(err);

	if (!c || !key_marker || !id_marker || !ups || cap == 0 || cap > 1000 || !n ||
	    !truncated)
		return s3_ops_bad_arg(err, "bad arguments to list uploads");
	snprintf(maxu, sizeof(maxu), "%zu", cap);
	s3_req_param(&q, "uploads", NULL);
	s3_req_param(&q, "max-uploads", maxu);
	if (prefix && prefix[0])
		s3_req_param(&q, "prefix", prefix);
	if (key_marker[0])
		s3_req_param(&q, "key-marker", key_marker);
	if (id_marker[0])
		s3_req_param(&q, "upload-id-marker", id_marker);
	r = s3_do(c, &q, err);
	if (r == 0) {
		char nk[S3_KEY_MAX + 1], ni[S3_UPLOAD_ID_MAX + 1];
		size_t got = 0;
		bool tr = false;
		r = s3xml_list_uploads(q.reply, q.reply_len, ups, cap, &got, &tr, nk, ni, &xe);
		if (r == 0 && tr && !nk[0])
			r = -EPROTO; /* truncated without a marker: would loop */
		if (r) {
			s3_ops_note(err, r == -ENOMSG ? xe.code : "BadReply", "ListMultipartUploads reply");
			r = -EPROTO;
		} else {
			*n = got;
			*truncated = tr;
			memcpy(key_marker, nk, strlen(nk) + 1);
			memcpy(id_marker, ni, strlen(ni) + 1);
		}
	}
	s3_req_done(&q);
	return r;
}
