/* s3_int.h - internals shared by s3.c (client, signing, transfer, retries)
 * and s3_ops.c (the S3 operations), s3_http.c (one request) and s3_xfer.c
 * (its curl callbacks); not an API for anything else. */
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

#endif
