/* s3_pool.c - reused S3 clients: one curl share handle (DNS cache, TLS
 * sessions) per pool and a stack of idle clients, each keeping its own
 * kept-alive connection (see s3.h, "Connection reuse").
 *
 * Why not one shared connection cache (CURL_LOCK_DATA_CONNECT)? libcurl's
 * documentation says sharing connections between concurrent threads is not
 * supported. A connection lives in one easy handle instead, and an easy
 * handle in one client used by one thread at a time; what a pool shares
 * across threads is what libcurl supports sharing with locks. */
#define _GNU_SOURCE
#include "s3_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct s3_pool {
	const struct s3_conf *conf;
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST]; /* one per kind of shared data */
	pthread_mutex_t mu;                          /* idle, n_idle, totals */
	struct s3_client *idle[S3_POOL_MAX_IDLE];
	unsigned n_idle, max_idle;
	uint64_t requests, connects; /* of clients already handed back */
	uint64_t tls_new, tls_resumed;
};

/* libcurl asks for a lock per kind of data; each gets its own mutex, as
 * CURLSHOPT_LOCKFUNC requires (shared access is taken as exclusive). */
static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ud)
{
	struct s3_pool *p = ud;
	(void)h; (void)acc;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&p->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct s3_pool *p = ud;
	(void)h;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&p->locks[data]);
}

int s3_pool_new(const struct s3_conf *conf, unsigned max_idle, struct s3_pool **out,
		char *err, size_t errlen)
{
	struct s3_client *probe = NULL;
	struct s3_pool *p;
	int r;

	/* Check conf and initialise libcurl before curl_share_init(). */
	r = s3_client_new(conf, &probe, err, errlen);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p) {
		s3_client_free(probe);
		return -ENOMEM;
	}
	p->conf = conf;
	p->max_idle = max_idle < 1 ? 1 : max_idle > S3_POOL_MAX_IDLE ? S3_POOL_MAX_IDLE : max_idle;
	for (unsigned i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->locks[i], NULL);
	pthread_mutex_init(&p->mu, NULL);
	p->share = curl_share_init();
	if (!p->share ||
	    curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_USERDATA, p) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
		    CURLSHE_OK) {
		snprintf(err, errlen, "libcurl share handle: out of memory");
		s3_client_free(probe);
		s3_pool_free(p);
		return -ENOMEM;
	}
	/* The client made to check conf is the first idle one. */
	curl_easy_setopt(probe->curl, CURLOPT_SHARE, p->share);
	p->idle[p->n_idle++] = probe;
	*out = p;
	return 0;
}

int s3_pool_get(struct s3_pool *p, struct s3_client **out, char *err, size_t errlen)
{
	struct s3_client *c = NULL;
	int r;

	pthread_mutex_lock(&p->mu);
	if (p->n_idle)
		c = p->idle[--p->n_idle];
	pthread_mutex_unlock(&p->mu);
	if (!c) {
		r = s3_client_new(p->conf, &c, err, errlen);
		if (r < 0)
			return r;
		/* curl_easy_reset() (before every request) keeps the share. */
		curl_easy_setopt(c->curl, CURLOPT_SHARE, p->share);
	}
	*out = c;
	return 0;
}

void s3_pool_put(struct s3_pool *p, struct s3_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&p->mu);
	p->requests += c->requests;
	p->connects += c->connects;
	p->tls_new += c->tls_new;
	p->tls_resumed += c->tls_resumed;
	c->requests = c->connects = c->tls_new = c->tls_resumed = 0;
	if (p->n_idle < p->max_idle) {
		p->idle[p->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	s3_client_free(c); /* beyond max_idle: closed */
}

void s3_pool_stats(struct s3_pool *p, uint64_t *requests, uint64_t *connects)
{
	pthread_mutex_lock(&p->mu);
	*requests = p->requests;
	*connects = p->connects;
	pthread_mutex_unlock(&p->mu);
}

void s3_pool_tls_stats(struct s3_pool *p, uint64_t *handshakes, uint64_t *resumed)
{
	pthread_mutex_lock(&p->mu);
	*handshakes = p->tls_new;
	*resumed = p->tls_resumed;
	pthread_mutex_unlock(&p->mu);
}

void s3_pool_free(struct s3_pool *p)
{
	if (!p)
		return;
	/* Clients first: an easy handle must leave the share before it goes. */
	for (unsigned i = 0; i < p->n_idle; i++)
		s3_client_free(p->idle[i]);
	if (p->share)
		curl_share_cleanup(p->share);
	pthread_mutex_destroy(&p->mu);
	for (unsigned i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->locks[i]);
	free(p);
}
