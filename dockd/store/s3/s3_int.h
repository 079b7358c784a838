/* s3_int.h - internals shared by s3.c (client, signing, transfer, retries)
 * and s3_ops.c / s3_mpu.c (the S3 operations), s3_http.c (one request) and
 * s3_xfer.c (its curl callbacks); not an API for anything else. */
#ifndef DOCKD_S3_INT_H
#define DOCKD_S3_INT_H

#include <curl/curl.h>
#include <openssl/evp.h>

#include "s3.h"
#include "sigv4.h"

#define S3_REQ_PARAMS 8
#define S3_REQ_HEADERS 10

/* Where a successful reply body goes. Error bodies always go to memory. */
enum s3_sink { S3_SINK_MEM, S3_SINK_SHA256, S3_SINK_FD };

/* Reply headers we look at. */
struct s3_resp {
	long status;
	char etag[S3_ETAG_MAX + 1];
	char version_id[S3_VERSION_MAX + 1];
	char request_id[128];
	uint64_t content_length;
	bool has_length;
	char lock_mode[16];
	time_t retain_until;
	bool legal_hold;
	int bad; /* a header we needed did not parse */
};

struct s3_req {
	const char *method;  /* GET HEAD PUT POST DELETE */
	const char *key;     /* NULL: a bucket-level request */
	struct sigv4_param params[S3_REQ_PARAMS];
	size_t n_params;
	struct sigv4_header hdr[S3_REQ_HEADERS]; /* extra signed headers */
	size_t n_hdr;
	const struct s3_body *body; /* NULL: empty */
	bool lock_requested;        /* InvalidRequest then means -ENOTSUP */
	enum s3_sink sink;
	int fd;           /* S3_SINK_FD */
	uint64_t max;     /* S3_SINK_FD: byte cap */
	/* results */
	struct s3_resp resp;
	char *reply;      /* S3_SINK_MEM / error body, NUL-terminated; s3_req_done frees */
	size_t reply_len;
	uint64_t got;     /* bytes delivered to the sink */
	uint8_t sha256[32];
	uint8_t body_md5[16]; /* of the request body, computed before sending */
};

struct s3_client {
	const struct s3_conf *conf;
	CURL *curl;
	char base[352];      /* scheme://authority */
	char host[340];      /* Host header value */
	char bucket_path[80]; /* "/bucket" (path style) or "" */
	unsigned connect_timeout_s, low_speed_bps, low_speed_time_s, max_attempts;
	unsigned backoff_base_ms, backoff_max_ms;
	_Atomic uint64_t sent;
	uint64_t requests, connects; /* attempts made, new connections opened (s3_pool) */
	uint64_t tls_new, tls_resumed; /* TLS handshakes on those, how many resumed a session */
	char errbuf[CURL_ERROR_SIZE];
};

/* s3_classify results besides -errno: retry the request after a backoff
 * (S3_THROTTLE: a longer one, the server asked us to slow down). */
#define S3_TRANSIENT 1
#define S3_THROTTLE 2
/* What an S3 error reply (code, HTTP status) means: S3_TRANSIENT,
 * S3_THROTTLE or a negative errno (docs/storage-s3.md, "Error codes").
 * lock_requested: InvalidRequest then means the bucket lacks Object Lock
 * (-ENOTSUP). s3_errors.c */
int s3_classify(const char *code, long status, bool lock_requested);

/* Run q with signing and retries; fills err (never NULL here). */
int s3_do(struct s3_client *c, struct s3_req *q, struct s3_error *err);
void s3_req_done(struct s3_req *q);
void s3_req_param(struct s3_req *q, const char *name, const char *value);
void s3_req_header(struct s3_req *q, const char *name, const char *value);
bool s3_cancelled(const struct s3_client *c);
/* Bandwidth cap: block until part of want may be sent; 0 = cancelled. */
size_t s3_rate_take(const struct s3_client *c, size_t want);
/* "2030-01-02T03:04:05Z" */
void s3_iso8601(time_t t, char out[32]);

/* One transfer of a request: the state libcurl's callbacks share with the
 * attempt that set them up (s3_http.c). */
struct s3_xfer {
	struct s3_client *c;
	struct s3_req *q;
	uint64_t pos;      /* request body bytes handed to curl */
	off_t fd_start;    /* S3_SINK_FD: where the object starts */
	EVP_MD_CTX *sha;   /* S3_SINK_SHA256 */
	size_t reply_cap;
	int cb_err;        /* set by a callback that aborted the transfer */
	int tls;           /* 0 not seen yet, 1 full handshake, 2 resumed session */
};

/* libcurl callbacks, ud being the struct s3_xfer (s3_xfer.c):
 * CURLOPT_READFUNCTION, SEEKFUNCTION, WRITEFUNCTION, HEADERFUNCTION and
 * XFERINFOFUNCTION. A callback that aborts sets cb_err (-errno). */
size_t s3_read_cb(char *ptr, size_t size, size_t nmemb, void *ud);
int s3_seek_cb(void *ud, curl_off_t off, int origin);
size_t s3_write_cb(char *p, size_t size, size_t nmemb, void *ud);
size_t s3_header_cb(char *p, size_t size, size_t nitems, void *ud);
int s3_xferinfo_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

/* Request helpers of the S3 operations, shared by s3_ops.c (objects,
 * buckets; where they are) and s3_mpu.c (multipart). */
/* err may be NULL for callers; the engine always needs one. */
#define S3_ERRP(e) struct s3_error e##_local; if (!e) e = &e##_local

/* A small bounded text builder for XML and header values: p is
 * NUL-terminated, at most 8 MiB; err (-errno) once anything failed. */
struct s3_tb {
	char *p;
	size_t len, cap;
	int err;
};

void s3_tb_str(struct s3_tb *b, const char *s);
void s3_tb_xml(struct s3_tb *b, const char *s); /* XML-escaped */
/* Fill e with a local error (code, message). */
void s3_ops_note(struct s3_error *e, const char *code, const char *msg);
/* A caller's bad arguments: e says so ("LocalError"); returns -EINVAL. */
int s3_ops_bad_arg(struct s3_error *e, const char *msg);
/* Object-write headers shared by PutObject and CreateMultipartUpload
 * (content type, tags, Object Lock); tagging and until hold the values
 * until the request is sent. 0 or -EINVAL / -ENOMEM. */
int s3_put_headers(struct s3_req *q, const struct s3_put_opts *o, struct s3_tb *tagging,
		   char until[32]);
/* 1 if etag is not a plain MD5 ETag or equals md5. */
int s3_etag_matches_md5(const char *etag, const uint8_t md5[16]);
/* 1 if b is a body we may send in one request (<= 5 GiB). */
int s3_body_ok(const struct s3_body *b);
/* Run q with x as its XML body. */
int s3_xml_request(struct s3_client *c, struct s3_req *q, const struct s3_tb *x,
		   struct s3_error *err);

#endif
