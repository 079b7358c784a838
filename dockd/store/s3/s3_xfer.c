/* s3_xfer.c - libcurl's callbacks for one S3 request (s3_int.h): feed the
 * request body (rate-capped, rewindable), deliver the reply body to its
 * sink (memory, SHA-256 or a file, capped), read the reply headers we use,
 * and note TLS resumption and cancellation while the transfer runs. The
 * request itself (signing, attempts, retries) is s3_http.c. */
#define _GNU_SOURCE
#include "s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "s3xml.h"

size_t s3_read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct s3_xfer *x = ud;
	const struct s3_body *b = x->q->body;
	uint64_t left = b->len - x->pos;
	size_t n = size * nmemb;

	if (left < n)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (x->c->conf->rate) {
		n = s3_rate_take(x->c, n);
		if (n == 0) {
			x->cb_err = -ECANCELED;
			return CURL_READFUNC_ABORT;
		}
	}
	if (b->buf) {
		memcpy(ptr, b->buf + x->pos, n);
	} else {
		ssize_t got;
		do
			got = pread(b->fd, ptr, n, (off_t)(b->off + x->pos));
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			x->cb_err = -EIO;
			return CURL_READFUNC_ABORT;
		}
		n = (size_t)got;
	}
	x->pos += n;
	atomic_fetch_add(&x->c->sent, n);
	return n;
}

/* libcurl rewinds the body when it sends a request again by itself (a
 * reused connection found closed as the request went out). */
int s3_seek_cb(void *ud, curl_off_t off, int origin)
{
	struct s3_xfer *x = ud;
	uint64_t len = x->q->body ? x->q->body->len : 0;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int reply_add(struct s3_xfer *x, const char *p, size_t n)
{
	struct s3_req *q = x->q;
	if (n > S3_REPLY_MAX - q->reply_len)
		return -EPROTO;
	if (q->reply_len + n + 1 > x->reply_cap) {
		size_t cap = x->reply_cap ? x->reply_cap : 4096;
		while (cap < q->reply_len + n + 1)
			cap *= 2;
		char *nb = realloc(q->reply, cap);
		if (!nb)
			return -ENOMEM;
		q->reply = nb;
		x->reply_cap = cap;
	}
	memcpy(q->reply + q->reply_len, p, n);
	q->reply_len += n;
	q->reply[q->reply_len] = '\0';
	return 0;
}

static int sink_fd(struct s3_xfer *x, const char *p, size_t n)
{
	struct s3_req *q = x->q;
	if (n > q->max - q->got)
		return -EFBIG;
	for (size_t done = 0; done < n;) {
		ssize_t w = pwrite(q->fd, p + done, n - done, x->fd_start + (off_t)(q->got + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (size_t)w;
	}
	return 0;
}

size_t s3_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_xfer *x = ud;
	struct s3_req *q = x->q;
	size_t n = size * nmemb;
	long status = 0;
	int r = 0;

	curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300 || q->sink == S3_SINK_MEM)
		r = reply_add(x, p, n);
	else if (q->sink == S3_SINK_SHA256)
		r = EVP_DigestUpdate(x->sha, p, n) ? 0 : -ENOMEM;
	else
		r = sink_fd(x, p, n);
	if (r) {
		x->cb_err = r;
		return 0;
	}
	if (status < 300)
		q->got += n;
	return n;
}

static void hcopy(char *dst, size_t cap, const char *v, size_t n, int *bad)
{
	if (n >= cap) {
		*bad = 1;
		return;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

size_t s3_header_cb(char *p, size_t size, size_t nitems, void *ud)
{
	struct s3_resp *h = &((struct s3_xfer *)ud)->q->resp;
	size_t n = size * nitems, nl;
	const char *colon = memchr(p, ':', n), *v;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		memset(h, 0, sizeof(*h)); /* a new response (after 100 Continue) */
		return n;
	}
	if (!colon)
		return n;
	nl = (size_t)(colon - p);
	v = colon + 1;
	size_t vl = n - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	if (IS("ETag")) {
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
			v++, vl -= 2;
		hcopy(h->etag, sizeof(h->etag), v, vl, &h->bad);
	} else if (IS("x-amz-version-id")) {
		hcopy(h->version_id, sizeof(h->version_id), v, vl, &h->bad);
	} else if (IS("x-amz-request-id")) {
		hcopy(h->request_id, sizeof(h->request_id), v, vl, &h->bad);
	} else if (IS("Content-Length")) {
		char tmp[24], *end;
		hcopy(tmp, sizeof(tmp), v, vl, &h->bad);
		if (!h->bad) {
			errno = 0;
			h->content_length = strtoull(tmp, &end, 10);
			h->has_length = !errno && *end == '\0' && tmp[0] >= '0' && tmp[0] <= '9';
		}
	} else if (IS("x-amz-object-lock-mode")) {
		hcopy(h->lock_mode, sizeof(h->lock_mode), v, vl, &h->bad);
	} else if (IS("x-amz-object-lock-retain-until-date")) {
		char tmp[64];
		hcopy(tmp, sizeof(tmp), v, vl, &h->bad);
		if (!h->bad && s3xml_parse_time(tmp, &h->retain_until) != 0)
			h->bad = 1;
	} else if (IS("x-amz-object-lock-legal-hold")) {
		h->legal_hold = vl == 2 && strncasecmp(v, "ON", 2) == 0;
	}
#undef IS
	return n;
}

int s3_xferinfo_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct s3_xfer *x = ud;
	(void)dt; (void)dn; (void)ut; (void)un;
	/* libcurl gives the connection's SSL only during the transfer: note
	 * once, after the handshake, whether it resumed a cached session
	 * (counted by attempt() when the connection is new) */
	if (!x->tls) {
		const struct curl_tlssessioninfo *ti = NULL;

		if (curl_easy_getinfo(x->c->curl, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
		    ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals &&
		    SSL_is_init_finished(ti->internals))
			x->tls = SSL_session_reused(ti->internals) ? 2 : 1;
	}
	if (s3_cancelled(x->c)) {
		x->cb_err = -ECANCELED;
		return 1;
	}
	return 0;
}
