/* sigv4.h - AWS Signature Version 4 (header signing), pure functions.
 *
 * We sign ourselves rather than with CURLOPT_AWS_SIGV4 because libcurl 7.88
 * (Debian 12) does not sort query parameters, mangles value-less
 * sub-resources and some object keys (docs: notes/s3-test-server.md).
 * HMAC-SHA256 and SHA-256 come from OpenSSL 3 EVP (EVP_MAC, EVP_Digest);
 * derived keys are wiped with OPENSSL_cleanse. No I/O, no curl, no
 * allocation that outlives a call.
 *
 * Two path rules exist (AWS documents both):
 *   SIGV4_S3       the canonical URI is the wire path exactly as sent; the
 *                  caller builds it with sigv4_uri_encode(.., keep_slash).
 *                  No normalisation: S3 keys may contain "//" and "..".
 *   SIGV4_GENERIC  every other AWS service: remove "." / ".." segments,
 *                  merge repeated '/', then URI-encode the wire path once
 *                  more ("double encoding"). Only used to check the signer
 *                  against AWS's published aws-sig-v4-test-suite.
 *
 * Query parameters are given decoded; the canonical query (also what the
 * caller should send on the wire) encodes every name and value, sorts by
 * encoded name then value, and writes a value-less parameter as "name=".
 *
 * All functions return 0, -EINVAL (bad argument: a NULL, a non-hex hash, a
 * wire path with bytes outside the encoded alphabet in S3 mode, too many
 * headers/params), -E2BIG (output would not fit in the caller's buffer) or
 * -ENOMEM. Outputs are NUL-terminated; on failure their content is
 * unspecified but terminated when cap > 0.
 */
#ifndef DOCKD_SIGV4_H
#define DOCKD_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define SIGV4_MAX_HEADERS 32
#define SIGV4_MAX_PARAMS 16
#define SIGV4_CREQ_MAX 24576 /* canonical request, bytes */
#define SIGV4_AUTH_MAX 1024  /* Authorization header value, bytes */

enum sigv4_mode { SIGV4_S3 = 0, SIGV4_GENERIC = 1 };

struct sigv4_header {
	const char *name;  /* any case; the canonical form is lowercased */
	const char *value; /* trimmed, inner runs of spaces collapsed to one */
};

struct sigv4_param {
	const char *name;  /* decoded */
	const char *value; /* decoded; NULL or "" = value-less ("name=") */
};

struct sigv4_req {
	const char *method;    /* "GET", "PUT", ... */
	const char *path;      /* the wire path, starting with '/' (see above) */
	const struct sigv4_param *params;
	size_t n_params;
	/* Every header here is signed; include host and x-amz-date. Duplicate
	 * names are joined with ',' in the order given. */
	const struct sigv4_header *headers;
	size_t n_headers;
	const char *payload_hash; /* 64 hex digits, or "UNSIGNED-PAYLOAD" */
};

struct sigv4_scope {
	const char *access_key;
	const char *secret_key;
	const char *region;  /* "us-east-1" */
	const char *service; /* "s3" */
	const char *amz_date; /* "YYYYMMDDTHHMMSSZ" (the x-amz-date header) */
};

/* S3-style URI encoding of n bytes of in: every byte except A-Z a-z 0-9
 * '-' '.' '_' '~' becomes %XX (upper-case hex); '/' is kept when keep_slash
 * (object key in a path), encoded otherwise (query names/values). */
int sigv4_uri_encode(const char *in, size_t n, int keep_slash, char *out, size_t cap);

/* Canonical query string of params (may be n = 0: ""). */
int sigv4_canonical_query(const struct sigv4_param *p, size_t n, char *out, size_t cap);

/* "name:value\n" lines, sorted by lowercased name, and the ';'-joined
 * signed-headers list. Either output may be NULL. */
int sigv4_canonical_headers(const struct sigv4_header *h, size_t n, char *out, size_t cap,
			    char *signed_out, size_t signed_cap);

/* METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n HASH */
int sigv4_canonical_request(const struct sigv4_req *r, enum sigv4_mode mode, char *out,
			    size_t cap);

/* AWS4-HMAC-SHA256 \n date \n scope \n hex(sha256(creq)). */
int sigv4_string_to_sign(const struct sigv4_scope *s, const char *creq, char *out,
			 size_t cap);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 * "aws4_request"). Wipe key when done (OPENSSL_cleanse). */
int sigv4_signing_key(const struct sigv4_scope *s, uint8_t key[32]);

/* hex(HMAC(key, sts)) into hex[65]. */
int sigv4_signature(const uint8_t key[32], const char *sts, char hex[65]);

/* The whole thing: the Authorization header value
 * "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 *  SignedHeaders=a;b, Signature=hex". */
int sigv4_authorization(const struct sigv4_req *r, enum sigv4_mode mode,
			const struct sigv4_scope *s, char *out, size_t cap);

/* Helpers: lower-case hex SHA-256 of n bytes (hex[65]). */
int sigv4_sha256_hex(const void *data, size_t n, char hex[65]);
void sigv4_hex(const uint8_t *in, size_t n, char *out /* 2n+1 */);

#endif
