/* hashq.c - SHA-256 of a stream on a second thread (see hashq.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hashq.h"

struct hashq {
	EVP_MD_CTX *md;
	pthread_t th;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	const void *buf; /* NULL: nothing outstanding */
	size_t len;
	bool stop;
	int err;
};

static void *run(void *arg)
{
	struct hashq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		const void *b;
		size_t n;
		int r;

		while (!q->buf && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->buf)
			break;
		b = q->buf;
		n = q->len;
		pthread_mutex_unlock(&q->mu);
		r = EVP_DigestUpdate(q->md, b, n) == 1 ? 0 : -EIO;
		pthread_mutex_lock(&q->mu);
		if (r < 0 && !q->err)
			q->err = r;
		q->buf = NULL;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int hashq_start(EVP_MD_CTX *md, struct hashq **out)
{
	struct hashq *q;

	if (!md || !out)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->md = md;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->threaded = pthread_create(&q->th, NULL, run, q) == 0;
	*out = q;
	return 0;
}

int hashq_wait(struct hashq *q)
{
	int r;

	pthread_mutex_lock(&q->mu);
	while (q->buf)
		pthread_cond_wait(&q->cv, &q->mu);
	r = q->err;
	pthread_mutex_unlock(&q->mu);
	return r;
}

int hashq_put(struct hashq *q, const void *buf, size_t len)
{
	int r;

	if (!len)
		return 0;
	if (!q->threaded) {
		if (q->err == 0 && EVP_DigestUpdate(q->md, buf, len) != 1)
			q->err = -EIO;
		return q->err;
	}
	if ((r = hashq_wait(q)) < 0)
		return r;
	pthread_mutex_lock(&q->mu);
	q->buf = buf;
	q->len = len;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void hashq_free(struct hashq *q)
{
	if (!q)
		return;
	if (q->threaded) {
		(void)hashq_wait(q);
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->th, NULL);
	}
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
