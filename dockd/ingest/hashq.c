/* hashq.c - SHA-256 of a stream on a second thread (see hashq.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hashq.h"

static atomic_uint ring_users; /* hashqs holding a copy ring */
static atomic_uint live;       /* hashqs started and not freed */

struct hashq {
	EVP_MD_CTX *md;
	pthread_t th;
	bool threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* the thread waits here for work */
	pthread_cond_t done; /* callers wait here for finished work */
	/* The copy ring (HASHQ_RING_SLOTS buffers of HASHQ_RING_SLOT bytes),
	 * or none: then one borrowed buffer at a time. */
	uint8_t *ring[HASHQ_RING_SLOTS];
	bool has_ring;
	/* under mu: queued buffers in order, slots head..head+n-1 */
	const void *buf[HASHQ_RING_SLOTS];
	size_t len[HASHQ_RING_SLOTS];
	unsigned head, n;
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

		while (!q->n && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->n)
			break;
		b = q->buf[q->head];
		n = q->len[q->head];
		pthread_mutex_unlock(&q->mu);
		r = EVP_DigestUpdate(q->md, b, n) == 1 ? 0 : -EIO;
		pthread_mutex_lock(&q->mu);
		if (r < 0 && !q->err)
			q->err = r;
		q->head = (q->head + 1) % HASHQ_RING_SLOTS;
		q->n--;
		pthread_cond_broadcast(&q->done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The ring is for a lone hashq: with others live, every one borrows. */
static bool ring_allowed(void)
{
	return atomic_load(&live) <= HASHQ_RING_USERS;
}

static void ring_alloc(struct hashq *q)
{
	if (!ring_allowed())
		return;
	if (atomic_fetch_add(&ring_users, 1) >= HASHQ_RING_USERS) {
		atomic_fetch_sub(&ring_users, 1);
		return;
	}
	for (unsigned i = 0; i < HASHQ_RING_SLOTS; i++) {
		if (!(q->ring[i] = malloc(HASHQ_RING_SLOT))) {
			while (i--) {
				free(q->ring[i]);
				q->ring[i] = NULL;
			}
			atomic_fetch_sub(&ring_users, 1);
			return;
		}
	}
	q->has_ring = true;
}

/* Give the ring back (nothing queued: every slot is idle), wiped: the
 * slots held camera plaintext. */
static void ring_free(struct hashq *q)
{
	for (unsigned i = 0; i < HASHQ_RING_SLOTS; i++) {
		OPENSSL_cleanse(q->ring[i], HASHQ_RING_SLOT);
		free(q->ring[i]);
		q->ring[i] = NULL;
	}
	q->has_ring = false;
	atomic_fetch_sub(&ring_users, 1);
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
	atomic_fetch_add(&live, 1);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->done, NULL);
	q->threaded = pthread_create(&q->th, NULL, run, q) == 0;
	if (q->threaded) /* named for top -H and perf (best effort) */
		(void)pthread_setname_np(q->th, "dk-hash");
	if (q->threaded)
		ring_alloc(q);
	*out = q;
	return 0;
}

/* Wait until at most `most` buffers are queued; the first error. */
static int wait_queued(struct hashq *q, unsigned most)
{
	int r;

	pthread_mutex_lock(&q->mu);
	while (q->n > most)
		pthread_cond_wait(&q->done, &q->mu);
	r = q->err;
	pthread_mutex_unlock(&q->mu);
	return r;
}

int hashq_wait(struct hashq *q)
{
	return wait_queued(q, 0);
}

static void enqueue(struct hashq *q, const void *buf, size_t len)
{
	unsigned slot = (q->head + q->n) % HASHQ_RING_SLOTS;

	q->buf[slot] = buf;
	q->len[slot] = len;
	q->n++;
	pthread_cond_signal(&q->cv);
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
	if (q->has_ring && !ring_allowed())
		ring_free(q); /* others started: share alike (hashq.h) */
	pthread_mutex_lock(&q->mu);
	enqueue(q, buf, len);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

bool hashq_copies(const struct hashq *q, size_t len)
{
	return q && q->has_ring && len <= HASHQ_RING_SLOT && ring_allowed();
}

int hashq_put_copy(struct hashq *q, const void *buf, size_t len)
{
	unsigned slot;
	int r;

	/* not hashq_copies(): another hashq starting between the caller's
	 * check and this call must not fail it; the ring is still here */
	if (!q || !q->has_ring || len > HASHQ_RING_SLOT)
		return -EINVAL;
	if (!len)
		return 0;
	/* A free slot: fewer than all queued (slots are used in ring order). */
	if ((r = wait_queued(q, HASHQ_RING_SLOTS - 1)) < 0)
		return r;
	pthread_mutex_lock(&q->mu);
	slot = (q->head + q->n) % HASHQ_RING_SLOTS;
	pthread_mutex_unlock(&q->mu);
	/* Only this caller fills slots and the thread never reads a slot
	 * before it is queued: copy without the lock. */
	memcpy(q->ring[slot], buf, len);
	pthread_mutex_lock(&q->mu);
	enqueue(q, q->ring[slot], len);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

/* The slot after the queued ones, once it is free; NULL on a hash error. */
static uint8_t *free_slot(struct hashq *q)
{
	unsigned slot;

	if (wait_queued(q, HASHQ_RING_SLOTS - 1) < 0)
		return NULL;
	pthread_mutex_lock(&q->mu);
	slot = (q->head + q->n) % HASHQ_RING_SLOTS;
	pthread_mutex_unlock(&q->mu);
	return q->ring[slot];
}

void *hashq_slot(struct hashq *q, size_t *cap)
{
	uint8_t *p;

	if (!cap || !hashq_copies(q, 1) || !(p = free_slot(q)))
		return NULL;
	*cap = HASHQ_RING_SLOT;
	return p;
}

int hashq_put_slot(struct hashq *q, const void *buf, size_t len)
{
	uint8_t *slot;

	/* as hashq_put_copy: the ring may be no longer allowed, it is here */
	if (!q || !q->has_ring || !buf || len > HASHQ_RING_SLOT)
		return -EINVAL;
	/* free already (hashq_slot waited): only this caller queues */
	if (!(slot = free_slot(q)))
		return q->err ? q->err : -EIO;
	if (buf != slot)
		return -EINVAL;
	if (!len)
		return 0;
	pthread_mutex_lock(&q->mu);
	enqueue(q, slot, len);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

bool hashq_is_slot(const struct hashq *q, const void *buf)
{
	for (unsigned i = 0; q && q->has_ring && buf && i < HASHQ_RING_SLOTS; i++)
		if (buf == q->ring[i])
			return true;
	return false;
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
	if (q->has_ring)
		ring_free(q);
	atomic_fetch_sub(&live, 1);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->done);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
