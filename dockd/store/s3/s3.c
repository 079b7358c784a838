/* s3.c - S3 client core: credentials, bandwidth cap, client setup and the
 * request engine (sign, send, classify, retry). Operations: s3_ops.c. */
#define _GNU_SOURCE
#include "s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "s3xml.h"

/* ---- credentials ---------------------------------------------------------- */

void s3_creds_wipe(struct s3_creds *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int creds_line(char *line, struct s3_creds *c, char *seen)
{
	char *eq = strchr(line, '='), *k, *v, *dst;
	size_t cap;
	int bit;
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	k = trim(line);
	v = trim(eq + 1);
	if (strcmp(k, "access_key") == 0) {
		dst = c->access_key; cap = sizeof(c->access_key); bit = 1;
	} else if (strcmp(k, "secret_key") == 0) {
		dst = c->secret_key; cap = sizeof(c->secret_key); bit = 2;
	} else if (strcmp(k, "session_token") == 0) {
		dst = c->session_token; cap = sizeof(c->session_token); bit = 4;
	} else {
		return -EINVAL;
	}
	if (!*v || strlen(v) >= cap || (*seen & bit))
		return -EINVAL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
			return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	*seen |= (char)bit;
	return 0;
}

int s3_creds_load(const char *path, struct s3_creds *out, char *err, size_t errlen)
{
	struct s3_creds tmp;
	struct stat st;
	char line[4608];
	char seen = 0;
	unsigned ln = 0;
	FILE *f = NULL;
	int fd, r = 0;

	memset(&tmp, 0, sizeof(tmp));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: must be owned by uid %u and not accessible to group "
			 "or others (mode %03o, owner %u)", path, (unsigned)geteuid(),
			 (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the secret to wipe */
	while (fgets(line, sizeof(line), f)) {
		char *s;
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, ln);
			r = -EINVAL;
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		char key[32] = "";
		sscanf(s, "%31[a-z_]", key);
		if (creds_line(s, &tmp, &seen) != 0) {
			snprintf(err, errlen, "%s:%u: bad or repeated line for '%s'", path, ln, key);
			r = -EINVAL;
			break;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (r == 0 && (seen & 3) != 3) {
		snprintf(err, errlen, "%s: %s missing", path,
			 (seen & 1) ? "secret_key" : "access_key");
		r = -EINVAL;
	}
	if (r == 0)
		memcpy(out, &tmp, sizeof(tmp));
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return r;
}

/* ---- bandwidth cap -------------------------------------------------------- */

struct s3_rate {
	pthread_mutex_t mu;
	uint64_t bps;
	double tokens;
	struct timespec last;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int s3_rate_new(uint64_t bytes_per_s, struct s3_rate **out)
{
	struct s3_rate *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	r->bps = bytes_per_s;
	r->tokens = (double)bytes_per_s;
	clock_gettime(CLOCK_MONOTONIC, &r->last);
	*out = r;
	return 0;
}

void s3_rate_set(struct s3_rate *r, uint64_t bytes_per_s)
{
	pthread_mutex_lock(&r->mu);
	r->bps = bytes_per_s;
	if (r->tokens > (double)bytes_per_s)
		r->tokens = (double)bytes_per_s;
	pthread_mutex_unlock(&r->mu);
}

void s3_rate_free(struct s3_rate *r)
{
	if (r) {
		pthread_mutex_destroy(&r->mu);
		free(r);
	}
}

/* Grant up to want bytes now; 0 means "wait" and *wait_s says how long. */
static size_t rate_try(struct s3_rate *r, size_t want, double *wait_s)
{
	size_t got = want;
	pthread_mutex_lock(&r->mu);
	if (r->bps) {
		double t = now_s();
		double last = (double)r->last.tv_sec + (double)r->last.tv_nsec / 1e9;
		double need = (double)want;
		r->tokens += (t - last) * (double)r->bps;
		if (r->tokens > (double)r->bps)
			r->tokens = (double)r->bps; /* burst: one second's worth */
		clock_gettime(CLOCK_MONOTONIC, &r->last);
		/* Ask for a slice, not 1 byte at a time. */
		if (need > (double)r->bps / 20 + 1)
			need = (double)r->bps / 20 + 1;
		if (r->tokens >= need) {
			got = r->tokens < (double)want ? (size_t)r->tokens : want;
			r->tokens -= (double)got;
		} else {
			got = 0;
			*wait_s = (need - r->tokens) / (double)r->bps;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return got;
}

/* Block (in steps of at most 50 ms, honouring cancel) until some of want
 * may be sent; returns the grant, 0 on cancel. */
size_t s3_rate_take(const struct s3_client *c, size_t want)
{
	for (;;) {
		double w = 0;
		size_t got = rate_try(c->conf->rate, want, &w);
		if (got)
			return got;
		if (s3_cancelled(c))
			return 0;
		if (w > 0.05)
			w = 0.05;
		struct timespec ts = { 0, (long)(w * 1e9) + 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- client ---------------------------------------------------------------- */

bool s3_cancelled(const struct s3_client *c)
{
	return c->conf->cancel && atomic_load(c->conf->cancel);
}

uint64_t s3_client_sent(const struct s3_client *c)
{
	return atomic_load(&c->sent);
}

bool s3_error_permanent(int r)
{
	return !(r == -EAGAIN || r == -ECANCELED || r == -ENOMEM || r == -EIO);
}

static int is_loopback(const char *h)
{
	if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
		return 1;
	unsigned a, b, cc, d;
	char extra;
	return sscanf(h, "%u.%u.%u.%u%c", &a, &b, &cc, &d, &extra) == 4 && a == 127 && b < 256 &&
	       cc < 256 && d < 256;
}

static int bucket_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' ||
		      b[i] == '.'))
			return 0;
	return 1;
}

static int region_ok(const char *r)
{
	if (!r[0] || strlen(r) > 40)
		return 0;
	for (; *r; r++)
		if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-'))
			return 0;
	return 1;
}

/* Split "scheme://authority" and check it; fills c->base/host. */
static int parse_endpoint(struct s3_client *c, const char *ep, char *err, size_t errlen)
{
	const char *auth, *p;
	char host[260] = "";
	int https;
	unsigned long port = 0;

	if (strncmp(ep, "https://", 8) == 0) {
		https = 1; auth = ep + 8;
	} else if (strncmp(ep, "http://", 7) == 0) {
		https = 0; auth = ep + 7;
	} else {
		snprintf(err, errlen, "endpoint %s: must start with https:// (or http:// for a "
			 "loopback address)", ep);
		return -EINVAL;
	}
	size_t alen = strlen(auth);
	if (alen && auth[alen - 1] == '/')
		alen--; /* "https://host/" is the same endpoint */
	if (alen == 0 || alen >= sizeof(host)) {
		snprintf(err, errlen, "endpoint %s: no host", ep);
		return -EINVAL;
	}
	for (size_t i = 0; i < alen; i++)
		if (!(isalnum((unsigned char)auth[i]) || strchr(".-:[]", auth[i]))) {
			snprintf(err, errlen, "endpoint %s: only scheme://host[:port] is allowed "
				 "(no path, user or query)", ep);
			return -EINVAL;
		}
	if (auth[0] == '[') {
		p = memchr(auth, ']', alen);
		if (!p || p == auth + 1) {
			snprintf(err, errlen, "endpoint %s: bad IPv6 literal", ep);
			return -EINVAL;
		}
		memcpy(host, auth + 1, (size_t)(p - auth - 1));
		p++;
	} else {
		p = memchr(auth, ':', alen);
		if (!p)
			p = auth + alen;
		memcpy(host, auth, (size_t)(p - auth));
	}
	if (p < auth + alen) {
		char *end;
		if (*p != ':' || p + 1 == auth + alen)
			goto badport;
		port = strtoul(p + 1, &end, 10);
		if (end != auth + alen || port == 0 || port > 65535)
			goto badport;
	}
	if (!host[0] || (auth[0] != '[' && strchr(host, ']'))) {
		snprintf(err, errlen, "endpoint %s: bad host", ep);
		return -EINVAL;
	}
	for (char *h = host; *h; h++)
		*h = (char)tolower((unsigned char)*h);
	if (!https && !is_loopback(host)) {
		snprintf(err, errlen, "endpoint %s: plain http:// is only allowed to a loopback "
			 "address; use https://", ep);
		return -EINVAL;
	}
	const char *sch = https ? "https://" : "http://";
	const char *pre = c->conf->path_style ? "" : c->conf->bucket;
	const char *dot = c->conf->path_style ? "" : ".";
	int v6 = auth[0] == '[';
	if (!c->conf->path_style && (v6 || strspn(host, "0123456789.") == strlen(host))) {
		snprintf(err, errlen, "endpoint %s: virtual-hosted addressing needs a DNS name",
			 ep);
		return -EINVAL;
	}
	char portstr[8] = "";
	if (port)
		snprintf(portstr, sizeof(portstr), ":%lu", port);
	snprintf(c->host, sizeof(c->host), "%s%s%s%s%s%s", pre, dot, v6 ? "[" : "", host,
		 v6 ? "]" : "", portstr);
	snprintf(c->base, sizeof(c->base), "%s%s", sch, c->host);
	return 0;
badport:
	snprintf(err, errlen, "endpoint %s: bad port", ep);
	return -EINVAL;
}

#define DEF(v, d) ((v) ? (v) : (d))

/* curl_global_init is not thread-safe everywhere: do it once. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int s3_client_new(const struct s3_conf *conf, struct s3_client **out, char *err, size_t errlen)
{
	struct s3_client *c;
	int r;

	if (!conf || !out)
		return -EINVAL;
	if (!bucket_ok(conf->bucket)) {
		snprintf(err, errlen, "bucket '%s': 3-63 characters of a-z 0-9 . -", conf->bucket);
		return -EINVAL;
	}
	if (conf->region[0] && !region_ok(conf->region)) {
		snprintf(err, errlen, "region '%s': use letters, digits and '-'", conf->region);
		return -EINVAL;
	}
	if (!conf->creds.access_key[0] || !conf->creds.secret_key[0]) {
		snprintf(err, errlen, "no S3 credentials");
		return -EINVAL;
	}
	if (conf->ca_file[0] && access(conf->ca_file, R_OK) != 0) {
		snprintf(err, errlen, "ca_file %s: %s", conf->ca_file, strerror(errno));
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != 0) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return -ENOMEM;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->conf = conf;
	r = parse_endpoint(c, conf->endpoint, err, errlen);
	if (r)
		goto fail;
	if (conf->path_style)
		snprintf(c->bucket_path, sizeof(c->bucket_path), "/%s", conf->bucket);
	c->connect_timeout_s = DEF(conf->connect_timeout_s, 10);
	c->low_speed_bps = DEF(conf->low_speed_bps, 1024);
	c->low_speed_time_s = DEF(conf->low_speed_time_s, 30);
	c->max_attempts = DEF(conf->max_attempts, 8);
	c->backoff_base_ms = DEF(conf->backoff_base_ms, 200);
	c->backoff_max_ms = DEF(conf->backoff_max_ms, 20000);
	c->curl = curl_easy_init();
	if (!c->curl) {
		r = -ENOMEM;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c);
	return r;
}

void s3_client_free(struct s3_client *c)
{
	if (c) {
		curl_easy_cleanup(c->curl);
		free(c);
	}
}
