/* s3.h - a small S3 client: the requests the s3:// storage target needs.
 *
 * libcurl for HTTP(S), our own SigV4 signer (sigv4.h: libcurl 7.88's
 * CURLOPT_AWS_SIGV4 mis-signs sorted queries, value-less sub-resources and
 * some keys), expat for the XML replies (s3xml.h). Tested against a real
 * Ceph RGW on loopback (tests/s3/rgw.sh).
 *
 * Every request carries a real x-amz-content-sha256 (the hex SHA-256 of the
 * body; of "" when empty) and, when it has a body, Content-MD5 (an integrity
 * checksum the S3 API defines; not used for security). TLS peer and host
 * verification are always on; conf.ca_file adds a CA bundle. Plain http://
 * is refused unless the endpoint host is a loopback address (127.0.0.0/8,
 * ::1, localhost): that exists for an on-host gateway and for the tests'
 * fault-injecting proxy, never for a remote store.
 *
 * Retries: transient failures (HTTP 500/502/503/504, 429, S3 codes
 * SlowDown/InternalError/RequestTimeout, connection reset/refused, timeouts,
 * a stalled transfer caught by the low-speed limit) are retried up to
 * conf.max_attempts times per request, sleeping a random time in
 * [0, min(backoff_max_ms, backoff_base_ms * 2^attempt)] ("full jitter")
 * between attempts. Permanent failures return at once.
 *
 * Results: 0 or a negative errno; err (when not NULL) is filled on every
 * failure. The mapping:
 *   -EACCES     403: AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId,
 *               InvalidToken, ExpiredToken (permanent)
 *   -ETIME      RequestTimeTooSkewed: the dock's clock is off (permanent)
 *   -ENXIO      NoSuchBucket (permanent)
 *   -ENOENT     NoSuchKey / 404 on an object
 *   -ESRCH      NoSuchUpload
 *   -EBADMSG    BadDigest, InvalidDigest, XAmzContentSHA256Mismatch,
 *               InvalidPart, InvalidPartOrder, or a reply that contradicts
 *               what we sent (e.g. size)
 *   -EPROTO     a reply we cannot parse (bad XML, oversized, missing field)
 *   -ENOTSUP    Object Lock requested on a bucket without it
 *   -EFBIG      EntityTooLarge / EntityTooSmall
 *   -ECANCELED  *conf.cancel became true
 *   -EAGAIN     transient failures outlasted max_attempts
 *   -EINVAL     a bad argument, or another 4xx (permanent)
 *   -EKEYREJECTED  TLS: the server's certificate or name did not verify
 *               against the system store / conf.ca_file (permanent; there
 *               is no insecure fallback)
 *   -EIO        reading the body's fd failed
 *   -ENOMEM     out of memory
 * s3_error_permanent() tells whether retrying later could help.
 *
 * Threads: a struct s3_client holds one CURL easy handle (kept-alive
 * connection) and is used by one thread at a time. Create one per thread;
 * they may share the same struct s3_conf (read-only) and struct s3_rate.
 *
 * Connection reuse (s3_pool): a client keeps its connection open between
 * requests (HTTP/1.1 keep-alive; libcurl closes one idle for more than
 * 118 s instead of reusing it). A pool hands out idle clients, so the
 * requests of many uploads and verifications travel over a few
 * connections; its clients share one DNS cache and one TLS session cache
 * (a curl share handle, locked per kind of data), so a new connection
 * resumes a TLS session instead of a full handshake. Connections are not
 * shared between threads: libcurl does not support that.
 *
 * A stale connection: the server may close an idle connection just as a
 * request goes out on it. libcurl notices a connection closed before the
 * request and opens a new one; if the request then fails on the reused
 * connection with a transport error (reset, nothing received), it is sent
 * again at once on a new connection (no backoff; once per request, not
 * counted against max_attempts, counted in s3_error.attempts). Request
 * bodies are re-read from the start (from memory or by pread), never lost.
 */
#ifndef DOCKD_S3_H
#define DOCKD_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define S3_KEY_MAX 1024       /* bytes of UTF-8, as S3 allows */
#define S3_ETAG_MAX 128       /* without quotes */
#define S3_VERSION_MAX 1024
#define S3_UPLOAD_ID_MAX 1024
#define S3_TAGS_MAX 10        /* S3's limit per object */
#define S3_REPLY_MAX (1 << 20) /* bytes of XML we accept in one reply */
#define S3_MAX_PARTS 10000
#define S3_MIN_PART (5u << 20) /* every part but the last */

/* Credentials, from a file readable only by its owner (s3_creds_load). */
struct s3_creds {
	char access_key[129];
	char secret_key[129];
	char session_token[4097]; /* "" = none (long-term keys) */
};

/* Shared bandwidth cap (token bucket over all transfers that use it). */
struct s3_rate;

struct s3_conf {
	char endpoint[257]; /* "https://host[:port]" (no path), or http://127.0.0.1:port */
	char region[64];    /* e.g. "us-gov-west-1"; RGW accepts any, "us-east-1" by default */
	char bucket[64];
	bool path_style;    /* https://host/bucket/key; false: https://bucket.host/key */
	char ca_file[512];  /* "" = the system's CA store */
	struct s3_creds creds;
	unsigned connect_timeout_s; /* default 10 */
	unsigned low_speed_bps;     /* abort a transfer slower than this ... (default 1024) */
	unsigned low_speed_time_s;  /* ... for this long (default 30) */
	unsigned max_attempts;      /* per request, >= 1 (default 8) */
	unsigned backoff_base_ms;   /* default 200 */
	unsigned backoff_max_ms;    /* default 20000 */
	struct s3_rate *rate;       /* NULL = no cap */
	const atomic_bool *cancel;  /* NULL = never; checked during transfers and backoff */
	int clock_skew_s;           /* FOR TESTS ONLY: seconds added to the clock when
				     * signing (exercises RequestTimeTooSkewed); 0 */
};

/* What went wrong, for logs, alerts and ledger details. */
struct s3_error {
	long http_status; /* 0: no HTTP response */
	char code[64];    /* S3 <Code>, or a curl error name ("CURLE_..."), or "" */
	char message[256];
	char request_id[128];
	unsigned attempts; /* requests made, retries included */
};

/* A body sent from memory or from a byte range of a file (pread, so the
 * fd's offset is untouched and threads may share the fd).
 *
 * md5/sha256: the body's digests when the caller has them already (it
 * hashed the bytes while reading them, and records them): the client then
 * does not hash the body a second time. They are still sent as Content-MD5
 * and x-amz-content-sha256, so the server checks them against the bytes it
 * receives and refuses the request (-EBADMSG) if they are wrong: a wrong
 * digest can never get an object stored. NULL (both) = the client hashes. */
struct s3_body {
	const uint8_t *buf; /* when not NULL: len bytes from here */
	int fd;             /* otherwise: len bytes at off of fd */
	uint64_t off, len;
	const uint8_t *md5;    /* optional, 16 bytes; only together with sha256 */
	const uint8_t *sha256; /* optional, 32 bytes */
};

struct s3_tag {
	char key[129];
	char value[257];
};

/* Headers of an object write (PutObject, CreateMultipartUpload). */
struct s3_put_opts {
	const struct s3_tag *tags; /* PutObject: x-amz-tagging; multipart: caller tags after complete */
	size_t n_tags;
	const char *lock_mode;     /* NULL, "COMPLIANCE" or "GOVERNANCE" */
	time_t retain_until;       /* with lock_mode: UTC seconds */
	bool legal_hold;           /* x-amz-object-lock-legal-hold: ON */
	const char *content_type;  /* NULL = application/octet-stream */
};

struct s3_obj_info {
	uint64_t size;
	char etag[S3_ETAG_MAX + 1];        /* quotes removed */
	char version_id[S3_VERSION_MAX + 1]; /* "" when unversioned */
	char lock_mode[16];                 /* "" / "COMPLIANCE" / "GOVERNANCE" */
	time_t retain_until;                /* 0 = none */
	bool legal_hold;
};

struct s3_part {
	unsigned number; /* 1..10000 */
	uint64_t size;
	char etag[S3_ETAG_MAX + 1]; /* quotes removed */
};

struct s3_upload {
	char key[S3_KEY_MAX + 1];
	char upload_id[S3_UPLOAD_ID_MAX + 1];
	time_t initiated;
};

struct s3_client;

/* Read "access_key = ...", "secret_key = ...", optional "session_token =
 * ..." lines (# comments) from path. -EPERM if the file is readable or
 * writable by group or others, or not owned by the caller; -EINVAL for a
 * bad or missing line (err names file, line, key). Secrets are wiped from
 * temporary buffers. */
int s3_creds_load(const char *path, struct s3_creds *out, char *err, size_t errlen);
/* OPENSSL_cleanse the whole struct. */
void s3_creds_wipe(struct s3_creds *c);

/* Check conf (endpoint scheme/host rules, bucket name, region) and make a
 * client. conf must outlive the client. -EINVAL with err filled. */
int s3_client_new(const struct s3_conf *conf, struct s3_client **out, char *err, size_t errlen);
void s3_client_free(struct s3_client *c);

/* Bytes of request bodies sent so far by this client (retries included),
 * for progress and "bytes re-sent" figures. */
uint64_t s3_client_sent(const struct s3_client *c);

/* A pool of reusable clients for one conf (see "Connection reuse" above).
 * s3_pool_new checks conf like s3_client_new (same errors) and keeps at
 * most max_idle (1..S3_POOL_MAX_IDLE) idle clients. s3_pool_get hands out
 * an idle client or a new one (conf's errors, -ENOMEM); give it back with
 * s3_pool_put (one thread at a time uses it in between). Beyond max_idle a
 * returned client is closed. s3_pool_stats: requests made (retries
 * included) and new connections opened by the clients handed back so far;
 * s3_pool_tls_stats: of those connections, the TLS handshakes seen (0 over
 * http://) and how many resumed a session from the pool's shared cache.
 * s3_pool_free: every client handed out must be back. Thread-safe. */
#define S3_POOL_MAX_IDLE 128
struct s3_pool;
int s3_pool_new(const struct s3_conf *conf, unsigned max_idle, struct s3_pool **out,
		char *err, size_t errlen);
int s3_pool_get(struct s3_pool *p, struct s3_client **out, char *err, size_t errlen);
void s3_pool_put(struct s3_pool *p, struct s3_client *c);
void s3_pool_stats(struct s3_pool *p, uint64_t *requests, uint64_t *connects);
void s3_pool_tls_stats(struct s3_pool *p, uint64_t *handshakes, uint64_t *resumed);
void s3_pool_free(struct s3_pool *p);

/* Token bucket: at most bytes_per_s on average over all users, bursts up
 * to one second's worth. 0 = unlimited. Change it at any time (SIGHUP). */
int s3_rate_new(uint64_t bytes_per_s, struct s3_rate **out);
void s3_rate_set(struct s3_rate *r, uint64_t bytes_per_s);
void s3_rate_free(struct s3_rate *r);

bool s3_error_permanent(int r);

/* ---- objects ------------------------------------------------------------ */
int s3_put_object(struct s3_client *c, const char *key, const struct s3_body *body,
		  const struct s3_put_opts *o, struct s3_obj_info *out, struct s3_error *err);
/* HEAD: size, ETag, version, lock state. -ENOENT if absent. version_id
 * NULL or "" = the current version. */
int s3_head_object(struct s3_client *c, const char *key, const char *version_id,
		   struct s3_obj_info *out, struct s3_error *err);
/* GET the whole object, streaming: its size and SHA-256 (memory bounded). */
int s3_get_object_sha256(struct s3_client *c, const char *key, const char *version_id,
			 uint64_t *size, uint8_t sha256[32], struct s3_error *err);
/* GET into fd (tests, `custody` fetch). At most max bytes, else -EFBIG.
 * fd must be seekable: the object is written from the fd's current offset
 * with pwrite (a retry rewrites it from there); on success the offset is
 * moved past the object. */
int s3_get_object_fd(struct s3_client *c, const char *key, const char *version_id, int fd,
		     uint64_t max, struct s3_error *err);
/* DELETE (a version when version_id is set). Evidence is never deleted by
 * dockd; this exists for tests (Object Lock refuses it: -EACCES). */
int s3_delete_object(struct s3_client *c, const char *key, const char *version_id,
		     struct s3_error *err);
/* PUT ?tagging= (replaces the object's tag set). */
int s3_put_tagging(struct s3_client *c, const char *key, const char *version_id,
		   const struct s3_tag *tags, size_t n, struct s3_error *err);
int s3_get_tagging(struct s3_client *c, const char *key, const char *version_id,
		   struct s3_tag *tags, size_t cap, size_t *n, struct s3_error *err);
/* PUT ?legal-hold= ON/OFF. */
int s3_put_legal_hold(struct s3_client *c, const char *key, const char *version_id, bool on,
		      struct s3_error *err);
/* PUT ?retention=: Object Lock mode ("COMPLIANCE" or "GOVERNANCE") and
 * retain-until (UTC seconds) of an object version (NULL or "" = current).
 * -ENOTSUP when the bucket has no Object Lock; -EACCES when the server
 * refuses (e.g. shortening COMPLIANCE retention); -EINVAL for another mode. */
int s3_put_retention(struct s3_client *c, const char *key, const char *version_id,
		     const char *mode, time_t retain_until, struct s3_error *err);

/* ---- buckets ------------------------------------------------------------ */
/* GET ?object-lock=: *enabled true when the bucket has Object Lock. A bucket
 * without it is *enabled = false, return 0 (not an error). */
int s3_bucket_lock_enabled(struct s3_client *c, bool *enabled, struct s3_error *err);
/* PUT bucket (tests and `make demo`); lock: with Object Lock enabled.
 * An existing bucket we own is 0. */
int s3_create_bucket(struct s3_client *c, bool lock, struct s3_error *err);

/* ---- multipart ------------------------------------------------------------ */
int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *o,
		  char upload_id[S3_UPLOAD_ID_MAX + 1], struct s3_error *err);
/* etag_out: the part's ETag (quotes removed). */
int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id,
		       unsigned part_no, const struct s3_body *body,
		       char etag_out[S3_ETAG_MAX + 1], struct s3_error *err);
/* One page of ListParts, parts after *marker (0 = from the start). On
 * return *marker is the next marker and *truncated tells whether more
 * pages follow. At most cap parts (cap <= 1000). */
int s3_mpu_list_parts(struct s3_client *c, const char *key, const char *upload_id,
		      unsigned *marker, struct s3_part *parts, size_t cap, size_t *n,
		      bool *truncated, struct s3_error *err);
/* parts in ascending number order. out: size unknown (0) in the reply;
 * callers HEAD afterwards (RGW 16 answers an empty ETag here). A 200 reply
 * carrying an <Error> body is a failure, as S3 documents. */
int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t n, struct s3_obj_info *out,
		    struct s3_error *err);
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
		 struct s3_error *err);
/* One page of ListMultipartUploads under prefix. key_marker/id_marker:
 * "" to start; updated for the next page. */
int s3_mpu_list(struct s3_client *c, const char *prefix, char key_marker[S3_KEY_MAX + 1],
		char id_marker[S3_UPLOAD_ID_MAX + 1], struct s3_upload *ups, size_t cap,
		size_t *n, bool *truncated, struct s3_error *err);

#endif
