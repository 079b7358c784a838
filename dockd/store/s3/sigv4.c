/* sigv4.c - AWS SigV4 canonicalisation and signing (see sigv4.h). */
#include "sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A bounded output buffer: every append checks the cap. */
struct obuf {
	char *p;
	size_t cap, len;
	int err;
};

static void ob_init(struct obuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->err = cap ? 0 : -E2BIG;
	if (cap)
		p[0] = '\0';
}

static void ob_add(struct obuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (n >= b->cap - b->len) {
		b->err = -E2BIG;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static void ob_enc(struct obuf *b, const char *in, size_t n, int keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n && !b->err; i++) {
		unsigned char c = (unsigned char)in[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			ob_add(b, (const char *)&in[i], 1);
		} else {
			char e[3] = { '%', hx[c >> 4], hx[c & 15] };
			ob_add(b, e, 3);
		}
	}
}

int sigv4_uri_encode(const char *in, size_t n, int keep_slash, char *out, size_t cap)
{
	struct obuf b;
	if (!in || !out)
		return -EINVAL;
	ob_init(&b, out, cap);
	ob_enc(&b, in, n, keep_slash);
	return b.err;
}

void sigv4_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t n, char hex[65])
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -ENOMEM;
	sigv4_hex(md, 32, hex);
	return 0;
}

/* ---- query ---------------------------------------------------------------- */

struct encparam {
	char *name, *value;
};

static int cmp_param(const void *a, const void *b)
{
	const struct encparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *enc_dup(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1);
	if (o && sigv4_uri_encode(s, n, 0, o, 3 * n + 1) != 0) {
		free(o);
		o = NULL;
	}
	return o;
}

int sigv4_canonical_query(const struct sigv4_param *p, size_t n, char *out, size_t cap)
{
	struct encparam e[SIGV4_MAX_PARAMS];
	struct obuf b;
	size_t i, got = 0;
	int r = -ENOMEM;

	if (!out || (n && !p) || n > SIGV4_MAX_PARAMS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!p[i].name)
			return -EINVAL;
	for (got = 0; got < n; got++) {
		e[got].name = enc_dup(p[got].name);
		e[got].value = enc_dup(p[got].value ? p[got].value : "");
		if (!e[got].name || !e[got].value) {
			got++;
			goto out;
		}
	}
	qsort(e, n, sizeof(e[0]), cmp_param);
	ob_init(&b, out, cap);
	for (i = 0; i < n; i++) {
		if (i)
			ob_add(&b, "&", 1);
		ob_str(&b, e[i].name);
		ob_add(&b, "=", 1);
		ob_str(&b, e[i].value);
	}
	r = b.err;
out:
	for (i = 0; i < got; i++) {
		free(e[i].name);
		free(e[i].value);
	}
	return r;
}

/* ---- headers -------------------------------------------------------------- */

struct hidx {
	const struct sigv4_header *h;
	size_t i;
};

static int cmp_hdr(const void *a, const void *b)
{
	const struct hidx *x = a, *y = b;
	int c = strcasecmp(x->h->name, y->h->name);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void ob_lower(struct obuf *b, const char *s)
{
	for (; *s && !b->err; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		ob_add(b, &c, 1);
	}
}

/* Trim, and collapse runs of whitespace to one space (the suite's rule). */
static void ob_trimmed(struct obuf *b, const char *v)
{
	int pend = 0;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && !b->err; v++) {
		if (*v == ' ' || *v == '\t') {
			pend = 1;
			continue;
		}
		if (pend)
			ob_add(b, " ", 1);
		pend = 0;
		ob_add(b, v, 1);
	}
}

static int hdr_ok(const struct sigv4_header *h)
{
	if (!h->name || !h->value || !h->name[0])
		return 0;
	for (const char *s = h->name; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s >= 127)
			return 0;
	for (const char *s = h->value; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

int sigv4_canonical_headers(const struct sigv4_header *h, size_t n, char *out, size_t cap,
			    char *signed_out, size_t signed_cap)
{
	struct hidx ix[SIGV4_MAX_HEADERS];
	struct obuf b, s;
	char dummy[1];

	if ((n && !h) || n > SIGV4_MAX_HEADERS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!hdr_ok(&h[i]))
			return -EINVAL;
		ix[i].h = &h[i];
		ix[i].i = i;
	}
	qsort(ix, n, sizeof(ix[0]), cmp_hdr);
	ob_init(&b, out ? out : dummy, out ? cap : sizeof(dummy));
	ob_init(&s, signed_out ? signed_out : dummy, signed_out ? signed_cap : sizeof(dummy));
	for (size_t i = 0; i < n; i++) {
		int same = i && strcasecmp(ix[i].h->name, ix[i - 1].h->name) == 0;
		if (same) {
			ob_add(&b, ",", 1);
		} else {
			if (i) {
				ob_add(&b, "\n", 1);
				ob_add(&s, ";", 1);
			}
			ob_lower(&b, ix[i].h->name);
			ob_add(&b, ":", 1);
			ob_lower(&s, ix[i].h->name);
		}
		ob_trimmed(&b, ix[i].h->value);
	}
	if (n)
		ob_add(&b, "\n", 1);
	if (out && b.err)
		return b.err;
	if (signed_out && s.err)
		return s.err;
	return 0;
}

/* ---- canonical request ---------------------------------------------------- */

/* Generic-service path: drop "." and empty segments, ".." pops one. */
static int normalise_path(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), o = 0, i = 0;
	size_t starts[512];
	size_t depth = 0;

	if (cap < 2)
		return -E2BIG;
	out[o++] = '/';
	while (i < n) {
		size_t j = i;
		while (j < n && in[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 0 || (len == 1 && in[i] == '.')) {
			/* skip */
		} else if (len == 2 && in[i] == '.' && in[i + 1] == '.') {
			if (depth)
				o = starts[--depth];
		} else {
			if (depth == sizeof(starts) / sizeof(starts[0]))
				return -EINVAL;
			starts[depth++] = o;
			if (o + len + 2 > cap)
				return -E2BIG;
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, in + i, len);
			o += len;
		}
		i = j + 1;
	}
	if (n > 1 && in[n - 1] == '/' && o > 1)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static int s3_path_ok(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (; *p; p++)
		if (!unreserved((unsigned char)*p) && *p != '/' && *p != '%')
			return 0;
	return 1;
}

static int hash_ok(const char *h)
{
	if (!h)
		return 0;
	if (strcmp(h, "UNSIGNED-PAYLOAD") == 0)
		return 1;
	if (strlen(h) != 64)
		return 0;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return 0;
	return 1;
}

static int add_uri(struct obuf *b, const char *path, enum sigv4_mode mode)
{
	if (mode == SIGV4_S3) {
		if (!s3_path_ok(path))
			return -EINVAL;
		ob_str(b, path);
		return 0;
	}
	size_t n = strlen(path) + 2;
	char *norm = malloc(n);
	if (!norm)
		return -ENOMEM;
	int r = normalise_path(path, norm, n);
	if (r == 0)
		ob_enc(b, norm, strlen(norm), 1);
	free(norm);
	return r;
}

int sigv4_canonical_request(const struct sigv4_req *r, enum sigv4_mode mode, char *out,
			    size_t cap)
{
	struct obuf b;
	char *tmp;
	int e;

	if (!r || !out || !r->method || !r->path || r->path[0] != '/' ||
	    !hash_ok(r->payload_hash) || (mode != SIGV4_S3 && mode != SIGV4_GENERIC))
		return -EINVAL;
	tmp = malloc(SIGV4_CREQ_MAX);
	if (!tmp)
		return -ENOMEM;
	ob_init(&b, out, cap);
	ob_str(&b, r->method);
	ob_add(&b, "\n", 1);
	e = add_uri(&b, r->path, mode);
	if (e)
		goto out;
	ob_add(&b, "\n", 1);
	e = sigv4_canonical_query(r->params, r->n_params, tmp, SIGV4_CREQ_MAX);
	if (e)
		goto out;
	ob_str(&b, tmp);
	ob_add(&b, "\n", 1);
	e = sigv4_canonical_headers(r->headers, r->n_headers, tmp, SIGV4_CREQ_MAX, NULL, 0);
	if (e)
		goto out;
	ob_str(&b, tmp);
	ob_add(&b, "\n", 1);
	e = sigv4_canonical_headers(r->headers, r->n_headers, NULL, 0, tmp, SIGV4_CREQ_MAX);
	if (e)
		goto out;
	ob_str(&b, tmp);
	ob_add(&b, "\n", 1);
	ob_str(&b, r->payload_hash);
	e = b.err;
out:
	free(tmp);
	return e;
}

/* ---- signing ---------------------------------------------------------------- */

static int scope_ok(const struct sigv4_scope *s)
{
	if (!s || !s->access_key || !s->secret_key || !s->region || !s->service ||
	    !s->amz_date || strlen(s->amz_date) != 16 || s->amz_date[8] != 'T' ||
	    s->amz_date[15] != 'Z' || !s->region[0] || !s->service[0] || !s->access_key[0])
		return 0;
	for (const char *p = s->region; *p; p++)
		if (*p == '/' || (unsigned char)*p <= ' ')
			return 0;
	return 1;
}

int sigv4_string_to_sign(const struct sigv4_scope *s, const char *creq, char *out, size_t cap)
{
	struct obuf b;
	char hex[65];
	int r;

	if (!scope_ok(s) || !creq || !out)
		return -EINVAL;
	r = sigv4_sha256_hex(creq, strlen(creq), hex);
	if (r)
		return r;
	ob_init(&b, out, cap);
	ob_str(&b, "AWS4-HMAC-SHA256\n");
	ob_str(&b, s->amz_date);
	ob_add(&b, "\n", 1);
	ob_add(&b, s->amz_date, 8);
	ob_add(&b, "/", 1);
	ob_str(&b, s->region);
	ob_add(&b, "/", 1);
	ob_str(&b, s->service);
	ob_str(&b, "/aws4_request\n");
	ob_str(&b, hex);
	return b.err;
}

static int hmac(const uint8_t *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t olen = 0;
	int r = -ENOMEM;
	char digest[] = "SHA256";

	if (!mac)
		return -ENOMEM;
	ctx = EVP_MAC_CTX_new(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, klen, params) && EVP_MAC_update(ctx, msg, mlen) &&
	    EVP_MAC_final(ctx, out, &olen, 32) && olen == 32)
		r = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return r;
}

int sigv4_signing_key(const struct sigv4_scope *s, uint8_t key[32])
{
	uint8_t k1[32], k2[32];
	uint8_t seed[4 + 256];
	size_t sl;
	int r;

	if (!scope_ok(s) || !key)
		return -EINVAL;
	sl = strlen(s->secret_key);
	if (sl > sizeof(seed) - 4)
		return -EINVAL;
	memcpy(seed, "AWS4", 4);
	memcpy(seed + 4, s->secret_key, sl);
	r = hmac(seed, 4 + sl, s->amz_date, 8, k1);
	if (!r)
		r = hmac(k1, 32, s->region, strlen(s->region), k2);
	if (!r)
		r = hmac(k2, 32, s->service, strlen(s->service), k1);
	if (!r)
		r = hmac(k1, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return r;
}

int sigv4_signature(const uint8_t key[32], const char *sts, char hex[65])
{
	uint8_t sig[32];
	int r;
	if (!key || !sts || !hex)
		return -EINVAL;
	r = hmac(key, 32, sts, strlen(sts), sig);
	if (!r)
		sigv4_hex(sig, 32, hex);
	return r;
}

int sigv4_authorization(const struct sigv4_req *r, enum sigv4_mode mode,
			const struct sigv4_scope *s, char *out, size_t cap)
{
	char *creq = NULL, sts[256], sig[65], signed_h[SIGV4_AUTH_MAX];
	uint8_t key[32];
	struct obuf b;
	int e;

	if (!r || !out || !scope_ok(s))
		return -EINVAL;
	creq = malloc(SIGV4_CREQ_MAX);
	if (!creq)
		return -ENOMEM;
	e = sigv4_canonical_request(r, mode, creq, SIGV4_CREQ_MAX);
	if (!e)
		e = sigv4_canonical_headers(r->headers, r->n_headers, NULL, 0, signed_h,
					    sizeof(signed_h));
	if (!e)
		e = sigv4_string_to_sign(s, creq, sts, sizeof(sts));
	if (!e)
		e = sigv4_signing_key(s, key);
	if (!e) {
		e = sigv4_signature(key, sts, sig);
		OPENSSL_cleanse(key, sizeof(key));
	}
	free(creq);
	if (e)
		return e;
	ob_init(&b, out, cap);
	ob_str(&b, "AWS4-HMAC-SHA256 Credential=");
	ob_str(&b, s->access_key);
	ob_add(&b, "/", 1);
	ob_add(&b, s->amz_date, 8);
	ob_add(&b, "/", 1);
	ob_str(&b, s->region);
	ob_add(&b, "/", 1);
	ob_str(&b, s->service);
	ob_str(&b, "/aws4_request, SignedHeaders=");
	ob_str(&b, signed_h);
	ob_str(&b, ", Signature=");
	ob_str(&b, sig);
	return b.err;
}
