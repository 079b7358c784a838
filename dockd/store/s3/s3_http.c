/* s3_http.c - one S3 request: digests, SigV4, libcurl transfer, error
 * classification and retries with full-jitter backoff (see s3.h); the
 * transfer's curl callbacks are s3_xfer.c. */
#define _GNU_SOURCE
#include "s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "s3xml.h"

#define TRANSIENT S3_TRANSIENT
#define HASH_CHUNK (1u << 20)
#define UPLOAD_BUF (1L << 20) /* curl 7.88 allows up to 2 MiB */

void s3_iso8601(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void s3_req_param(struct s3_req *q, const char *name, const char *value)
{
	if (q->n_params < S3_REQ_PARAMS)
		q->params[q->n_params++] = (struct sigv4_param){ name, value };
}

void s3_req_header(struct s3_req *q, const char *name, const char *value)
{
	if (q->n_hdr < S3_REQ_HEADERS)
		q->hdr[q->n_hdr++] = (struct sigv4_header){ name, value };
}

void s3_req_done(struct s3_req *q)
{
	free(q->reply);
	q->reply = NULL;
	q->reply_len = 0;
}

/* ---- body digests ---------------------------------------------------------- */

static int body_digests(const struct s3_body *b, char sha_hex[65], uint8_t md5[16])
{
	EVP_MD *md5md = EVP_MD_fetch(NULL, "MD5", "-fips"); /* a checksum, not security */
	EVP_MD_CTX *s = EVP_MD_CTX_new(), *m = EVP_MD_CTX_new();
	uint8_t sha[32], *buf = NULL;
	int r = -ENOMEM;

	if (b && b->md5 && b->sha256) { /* hashed by the caller; the server checks both */
		memcpy(md5, b->md5, 16);
		sigv4_hex(b->sha256, 32, sha_hex);
		r = 0;
		goto out;
	}
	if (!md5md || !s || !m || !EVP_DigestInit_ex(s, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(m, md5md, NULL))
		goto out;
	if (b && b->buf) {
		if (!EVP_DigestUpdate(s, b->buf, b->len) || !EVP_DigestUpdate(m, b->buf, b->len))
			goto out;
	} else if (b && b->len) {
		buf = malloc(HASH_CHUNK);
		if (!buf)
			goto out;
		for (uint64_t done = 0; done < b->len;) {
			size_t want = b->len - done < HASH_CHUNK ? (size_t)(b->len - done) : HASH_CHUNK;
			ssize_t n = pread(b->fd, buf, want, (off_t)(b->off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = -EIO;
				goto out;
			}
			if (!EVP_DigestUpdate(s, buf, (size_t)n) || !EVP_DigestUpdate(m, buf, (size_t)n))
				goto out;
			done += (uint64_t)n;
		}
	}
	if (EVP_DigestFinal_ex(s, sha, NULL) && EVP_DigestFinal_ex(m, md5, NULL)) {
		sigv4_hex(sha, 32, sha_hex);
		r = 0;
	}
out:
	free(buf);
	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(m);
	EVP_MD_free(md5md);
	return r;
}

/* ---- error classification ------------------------------------------------- */

static int classify_http(const struct s3_req *q, const struct s3_error *e)
{
	return s3_classify(e->code, e->http_status, q->lock_requested);
}

static const char *curl_name(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST: return "CURLE_COULDNT_RESOLVE_HOST";
	case CURLE_COULDNT_CONNECT: return "CURLE_COULDNT_CONNECT";
	case CURLE_OPERATION_TIMEDOUT: return "CURLE_OPERATION_TIMEDOUT";
	case CURLE_SEND_ERROR: return "CURLE_SEND_ERROR";
	case CURLE_RECV_ERROR: return "CURLE_RECV_ERROR";
	case CURLE_GOT_NOTHING: return "CURLE_GOT_NOTHING";
	case CURLE_PARTIAL_FILE: return "CURLE_PARTIAL_FILE";
	case CURLE_SSL_CONNECT_ERROR: return "CURLE_SSL_CONNECT_ERROR";
	case CURLE_PEER_FAILED_VERIFICATION: return "CURLE_PEER_FAILED_VERIFICATION";
	case CURLE_SSL_CACERT_BADFILE: return "CURLE_SSL_CACERT_BADFILE";
	case CURLE_ABORTED_BY_CALLBACK: return "CURLE_ABORTED_BY_CALLBACK";
	case CURLE_READ_ERROR: return "CURLE_READ_ERROR";
	case CURLE_WRITE_ERROR: return "CURLE_WRITE_ERROR";
	default: return NULL;
	}
}

static int classify_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return -EKEYREJECTED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return TRANSIENT; /* resets, refusals, timeouts, stalls, TLS handshake cut */
	}
}

/* Fill e from the finished attempt; returns 0, TRANSIENT or -errno. */
static int classify(struct s3_xfer *x, CURLcode cc, struct s3_error *e)
{
	struct s3_req *q = x->q;
	struct s3xml_error xe;

	e->http_status = q->resp.status;
	snprintf(e->request_id, sizeof(e->request_id), "%s", q->resp.request_id);
	if (x->cb_err) {
		snprintf(e->code, sizeof(e->code), "%s", x->cb_err == -ECANCELED ? "Cancelled" :
			 x->cb_err == -EPROTO ? "ReplyTooLarge" : x->cb_err == -EFBIG ?
			 "ObjectTooLarge" : x->cb_err == -EIO ? "BodyReadError" : "LocalError");
		snprintf(e->message, sizeof(e->message), "%s", strerror(-x->cb_err));
		return x->cb_err;
	}
	if (cc != CURLE_OK) {
		const char *nm = curl_name(cc);
		if (nm)
			snprintf(e->code, sizeof(e->code), "%s", nm);
		else
			snprintf(e->code, sizeof(e->code), "CURLE_%d", (int)cc);
		snprintf(e->message, sizeof(e->message), "%s",
			 x->c->errbuf[0] ? x->c->errbuf : curl_easy_strerror(cc));
		return classify_curl(cc);
	}
	if (q->resp.status >= 200 && q->resp.status < 300)
		return 0;
	e->code[0] = '\0';
	snprintf(e->message, sizeof(e->message), "HTTP %ld", q->resp.status);
	if (q->reply_len && s3xml_error(q->reply, q->reply_len, &xe) == 0) {
		snprintf(e->code, sizeof(e->code), "%s", xe.code);
		if (xe.message[0])
			snprintf(e->message, sizeof(e->message), "%s", xe.message);
		if (xe.request_id[0])
			snprintf(e->request_id, sizeof(e->request_id), "%s", xe.request_id);
	}
	if (q->resp.status >= 300 && q->resp.status < 400 && !e->code[0])
		snprintf(e->code, sizeof(e->code), "Redirect");
	return classify_http(q, e);
}

/* ---- one attempt ------------------------------------------------------------ */

struct signed_hdrs {
	struct sigv4_header h[S3_REQ_HEADERS + 6];
	size_t n;
	char date[20], md5_b64[32];
};

static int build_path(struct s3_client *c, const struct s3_req *q, char *out, size_t cap)
{
	size_t bl = strlen(c->bucket_path);
	if (bl + 2 > cap)
		return -E2BIG;
	memcpy(out, c->bucket_path, bl);
	out[bl] = '\0';
	if (!q->key)
		return bl ? 0 : (out[0] = '/', out[1] = '\0', 0);
	out[bl] = '/';
	return sigv4_uri_encode(q->key, strlen(q->key), 1, out + bl + 1, cap - bl - 1);
}

static int sign(struct s3_client *c, const struct s3_req *q, const char *path,
		const char *sha_hex, struct signed_hdrs *sh, char *auth, size_t authcap)
{
	const struct s3_conf *k = c->conf;
	time_t now = time(NULL) + k->clock_skew_s;
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(sh->date, sizeof(sh->date), "%Y%m%dT%H%M%SZ", &tm);
	sh->n = 0;
	sh->h[sh->n++] = (struct sigv4_header){ "host", c->host };
	sh->h[sh->n++] = (struct sigv4_header){ "x-amz-date", sh->date };
	sh->h[sh->n++] = (struct sigv4_header){ "x-amz-content-sha256", sha_hex };
	if (q->body) {
		EVP_EncodeBlock((unsigned char *)sh->md5_b64, q->body_md5, 16);
		sh->h[sh->n++] = (struct sigv4_header){ "content-md5", sh->md5_b64 };
	}
	if (k->creds.session_token[0])
		sh->h[sh->n++] = (struct sigv4_header){ "x-amz-security-token",
							k->creds.session_token };
	for (size_t i = 0; i < q->n_hdr; i++)
		sh->h[sh->n++] = q->hdr[i];
	struct sigv4_req r = { q->method, path, q->params, q->n_params, sh->h, sh->n, sha_hex };
	struct sigv4_scope s = { k->creds.access_key, k->creds.secret_key,
				 k->region[0] ? k->region : "us-east-1", "s3", sh->date };
	return sigv4_authorization(&r, SIGV4_S3, &s, auth, authcap);
}

static struct curl_slist *hdr_list(const struct signed_hdrs *sh, const char *auth, int *bad)
{
	struct curl_slist *l = NULL, *t;
	char line[4200];
	/* Drop curl's defaults that we neither need nor sign. */
	const char *fixed[] = { "Accept:", "Content-Type:" };
	for (size_t i = 0; i < 2; i++) {
		if (!(t = curl_slist_append(l, fixed[i])))
			goto fail;
		l = t;
	}
	for (size_t i = 0; i <= sh->n; i++) {
		if (i < sh->n)
			snprintf(line, sizeof(line), "%s: %s", sh->h[i].name, sh->h[i].value);
		else
			snprintf(line, sizeof(line), "Authorization: %s", auth);
		if (!(t = curl_slist_append(l, line)))
			goto fail;
		l = t;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return l;
fail:
	OPENSSL_cleanse(line, sizeof(line));
	curl_slist_free_all(l);
	*bad = 1;
	return NULL;
}

static void set_opts(struct s3_client *c, struct s3_xfer *x, const char *url, bool fresh)
{
	CURL *h = c->curl;
	struct s3_req *q = x->q;
	unsigned low = c->low_speed_bps;

	/* With a bandwidth cap the limiter itself slows us: only a true stall
	 * (nothing at all for low_speed_time_s) should abort then. */
	if (c->conf->rate)
		low = 1;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->conf->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->conf->ca_file);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)low);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->low_speed_time_s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, s3_xferinfo_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "evidence-dock");
	if (fresh) /* the reused connection just failed: not another one */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0) {
		/* UPLOAD + a known size: Content-Length, never chunked (RGW: 411). */
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, s3_seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(q->body ? q->body->len : 0));
		/* Bigger reads from s3_read_cb: fewer callbacks and send() calls per
		 * part (the default is 64 KiB). */
		if (q->body && q->body->len > UPLOAD_BUF)
			curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUF);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/* Reset per-attempt outputs so a retry starts clean. */
static int attempt_reset(struct s3_xfer *x)
{
	struct s3_req *q = x->q;
	q->reply_len = 0;
	if (q->reply)
		q->reply[0] = '\0';
	q->got = 0;
	memset(&q->resp, 0, sizeof(q->resp));
	x->pos = 0;
	x->cb_err = 0;
	x->tls = 0;
	x->c->errbuf[0] = '\0';
	if (q->sink == S3_SINK_SHA256 && !EVP_DigestInit_ex(x->sha, EVP_sha256(), NULL))
		return -ENOMEM;
	return 0;
}

/* A transport failure (no HTTP reply) on a connection kept from an earlier
 * request: the server may have closed it as this request went out. */
static bool stale_conn(CURLcode cc, long connects, const struct s3_xfer *x)
{
	if (connects != 0 || x->cb_err || x->q->resp.status != 0)
		return false;
	return cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING;
}

/* One request. fresh: on a new connection. *stale: it failed on a reused
 * connection (stale_conn). */
static int attempt(struct s3_client *c, struct s3_xfer *x, const char *url, const char *path,
		   const char *sha_hex, bool fresh, bool *stale, struct s3_error *e)
{
	long connects = 0;
	struct signed_hdrs sh;
	char auth[SIGV4_AUTH_MAX];
	struct curl_slist *l;
	int bad = 0, r;
	CURLcode cc;

	r = attempt_reset(x);
	if (!r)
		r = sign(c, x->q, path, sha_hex, &sh, auth, sizeof(auth));
	if (r) {
		snprintf(e->code, sizeof(e->code), "LocalError");
		snprintf(e->message, sizeof(e->message), "cannot sign request: %s", strerror(-r));
		return r == -ENOMEM ? r : -EINVAL;
	}
	l = hdr_list(&sh, auth, &bad);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (bad)
		return -ENOMEM;
	set_opts(c, x, url, fresh);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, l);
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x->q->resp.status);
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects);
	c->requests++;
	c->connects += connects > 0 ? (uint64_t)connects : 0;
	if (connects > 0 && x->tls) {
		c->tls_new++;
		c->tls_resumed += x->tls == 2;
	}
	*stale = stale_conn(cc, connects, x);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(l);
	r = classify(x, cc, e);
	if (r == 0 && x->q->resp.bad) {
		snprintf(e->code, sizeof(e->code), "BadReplyHeader");
		snprintf(e->message, sizeof(e->message), "a reply header did not parse");
		r = -EPROTO;
	}
	return r;
}

/* Full jitter: sleep rand in [0, min(max, base * 2^n)] ms, 20 ms steps. */
static int backoff(struct s3_client *c, unsigned n)
{
	uint64_t cap = c->backoff_base_ms;
	uint32_t rnd = 0;
	for (unsigned i = 0; i < n && cap < c->backoff_max_ms; i++)
		cap *= 2;
	if (cap > c->backoff_max_ms)
		cap = c->backoff_max_ms;
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint32_t)time(NULL);
	uint64_t ms = cap ? rnd % (cap + 1) : 0;
	while (ms) {
		if (s3_cancelled(c))
			return -ECANCELED;
		uint64_t step = ms < 20 ? ms : 20;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return s3_cancelled(c) ? -ECANCELED : 0;
}

static int prepare(struct s3_client *c, struct s3_req *q, struct s3_xfer *x, char *path,
		   size_t pcap, char **url, char sha_hex[65])
{
	char query[4096];
	int r;

	if (q->key && (!q->key[0] || strlen(q->key) > S3_KEY_MAX))
		return -EINVAL;
	if (q->n_params >= S3_REQ_PARAMS || q->n_hdr >= S3_REQ_HEADERS)
		return -EINVAL; /* a full table may have dropped an entry */
	r = build_path(c, q, path, pcap);
	if (!r)
		r = sigv4_canonical_query(q->params, q->n_params, query, sizeof(query));
	if (r)
		return r == -E2BIG ? -EINVAL : r;
	size_t ul = strlen(c->base) + strlen(path) + strlen(query) + 2;
	if (!(*url = malloc(ul)))
		return -ENOMEM;
	snprintf(*url, ul, "%s%s%s%s", c->base, path, query[0] ? "?" : "", query);
	r = body_digests(q->body, sha_hex, q->body_md5);
	if (r)
		return r;
	if (q->sink == S3_SINK_SHA256 && !(x->sha = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (q->sink == S3_SINK_FD) {
		struct stat st;
		x->fd_start = lseek(q->fd, 0, SEEK_CUR);
		if (x->fd_start < 0 || fstat(q->fd, &st) != 0)
			return -EINVAL;
	}
	return 0;
}

static void finish_sink(struct s3_xfer *x)
{
	struct s3_req *q = x->q;
	struct stat st;
	if (q->sink == S3_SINK_SHA256)
		EVP_DigestFinal_ex(x->sha, q->sha256, NULL);
	if (q->sink == S3_SINK_FD) {
		off_t end = x->fd_start + (off_t)q->got;
		/* A failed longer attempt cannot have left bytes past the end:
		 * every attempt carries the same object, but be exact anyway. */
		if (fstat(q->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > end)
			(void)!ftruncate(q->fd, end);
		lseek(q->fd, end, SEEK_SET);
	}
}

int s3_do(struct s3_client *c, struct s3_req *q, struct s3_error *e)
{
	struct s3_xfer x = { .c = c, .q = q };
	char path[3 * S3_KEY_MAX + 128], sha_hex[65], *url = NULL;
	bool stale = false, fresh = false, fresh_used = false;
	int r;

	memset(e, 0, sizeof(*e));
	r = prepare(c, q, &x, path, sizeof(path), &url, sha_hex);
	if (r) {
		snprintf(e->code, sizeof(e->code), "LocalError");
		snprintf(e->message, sizeof(e->message), "%s",
			 r == -EIO ? "cannot read the body" : "bad request arguments");
		goto out;
	}
	for (unsigned n = 0, tries = 0;; n++) {
		if (s3_cancelled(c)) {
			r = -ECANCELED;
			snprintf(e->code, sizeof(e->code), "Cancelled");
			break;
		}
		e->attempts = ++tries;
		r = attempt(c, &x, url, path, sha_hex, fresh, &stale, e);
		if (r != TRANSIENT && r != S3_THROTTLE)
			break;
		/* A kept-alive connection failed with no reply: most likely the
		 * server closed it while idle, as this request went out. Send
		 * again at once on a new connection, once per request, outside
		 * the max_attempts budget (s3.h, "A stale connection"). */
		fresh = r == TRANSIENT && stale && !fresh_used;
		if (fresh) {
			fresh_used = true;
			n--; /* unsigned: wraps, and the loop's n++ restores it */
			continue;
		}
		if (n + 1 >= c->max_attempts) {
			r = -EAGAIN;
			break;
		}
		/* Throttled: the server asked us to slow down: wait as if two
		 * more tries had failed (a longer jitter window). */
		if (backoff(c, r == S3_THROTTLE ? n + 2 : n) != 0) {
			/* Stopping while waiting to retry is a cancellation, not
			 * the last attempt's error: say so (callers and logs
			 * tell "will be taken up again" from "gave up"). */
			r = -ECANCELED;
			snprintf(e->code, sizeof(e->code), "Cancelled");
			snprintf(e->message, sizeof(e->message), "stopping while waiting to retry");
			break;
		}
	}
	if (r == 0)
		finish_sink(&x);
out:
	EVP_MD_CTX_free(x.sha);
	free(url);
	return r;
}
