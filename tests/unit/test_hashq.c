/* Tests for the ingest's plaintext hash thread (dockd/ingest/hashq.c): borrowed
 * buffers and the copy ring give the SHA-256 of the stream in order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hashq.h"

#define LEN ((size_t)(HASHQ_RING_SLOTS * 3 + 1) * HASHQ_RING_SLOT + 4321)

static uint8_t *pattern(void)
{
	uint8_t *d = malloc(LEN);

	assert_non_null(d);
	for (size_t i = 0; i < LEN; i++)
		d[i] = (uint8_t)(i * 2246822519u >> 11);
	return d;
}

static void final_equals(EVP_MD_CTX *md, const uint8_t *data, size_t len)
{
	uint8_t got[32], want[32];
	unsigned int n = 0;

	assert_int_equal(EVP_DigestFinal_ex(md, got, &n), 1);
	SHA256(data, len, want);
	assert_memory_equal(got, want, 32);
}

/* The copy ring: the caller scribbles over its one buffer right after each
 * put, the way the session reuses its receive buffer; the hash must be of
 * the bytes as they were put, in order, with the ring full many times. */
static void test_copy_ring(void **state)
{
	uint8_t *data = pattern(), *buf = malloc(HASHQ_RING_SLOT);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct hashq *q = NULL;
	size_t step = 1;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	assert_true(hashq_copies(q, HASHQ_RING_SLOT));
	assert_false(hashq_copies(q, HASHQ_RING_SLOT + 1));
	for (size_t off = 0; off < LEN;) {
		size_t k = LEN - off < step ? LEN - off : step;

		memcpy(buf, data + off, k);
		assert_int_equal(hashq_put_copy(q, buf, k), 0);
		memset(buf, 0xee, k); /* reused at once */
		off += k;
		step = step * 3 % HASHQ_RING_SLOT + 1;
		if (off % 7 == 0)
			assert_int_equal(hashq_wait(q), 0);
	}
	assert_int_equal(hashq_wait(q), 0);
	final_equals(md, data, LEN);
	hashq_free(q);
	/* the ring is free again for the next hashq */
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	assert_true(hashq_copies(q, 1));
	hashq_free(q);
	EVP_MD_CTX_free(md);
	free(buf);
	free(data);
}

/* HASHQ_RING_USERS is 1 and the ring is for a lone hashq: a second one
 * borrows, and the first stops copying as soon as the second starts (the
 * first camera docked must not run at twice the others' rate), giving its
 * ring back at its next borrowed put; copies it queued before still go
 * into its hash, in order. */
static void test_ring_shared_alike(void **state)
{
	uint8_t *data = pattern();
	EVP_MD_CTX *md = EVP_MD_CTX_new(), *md2 = EVP_MD_CTX_new();
	struct hashq *q = NULL, *q2 = NULL;
	size_t half = LEN / 2;

	(void)state;
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestInit_ex(md2, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	assert_true(hashq_copies(q, 1));
	for (size_t off = 0; off < half; off += HASHQ_RING_SLOT) {
		size_t k = half - off < HASHQ_RING_SLOT ? half - off : HASHQ_RING_SLOT;

		assert_int_equal(hashq_put_copy(q, data + off, k), 0);
	}
	assert_int_equal(hashq_start(md2, &q2), 0);
	assert_false(hashq_copies(q2, 1));
	assert_int_equal(hashq_put_copy(q2, data, 1), -EINVAL);
	assert_false(hashq_copies(q, 1)); /* no longer alone */
	assert_int_equal(hashq_put(q, data + half, LEN - half), 0);
	assert_int_equal(hashq_put_copy(q, data, 1), -EINVAL); /* ring given back */
	assert_int_equal(hashq_put(q2, data, LEN), 0);
	assert_int_equal(hashq_wait(q), 0);
	assert_int_equal(hashq_wait(q2), 0);
	final_equals(md, data, LEN);
	final_equals(md2, data, LEN);
	hashq_free(q);
	assert_false(hashq_copies(q2, 1)); /* alone again, but started without */
	hashq_free(q2);
	EVP_MD_CTX_free(md);
	EVP_MD_CTX_free(md2);
	free(data);
}

/* Borrowed and copied buffers mixed: still one stream, in order. */
static void test_mixed(void **state)
{
	uint8_t *data = pattern();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct hashq *q = NULL;
	size_t off = 0;
	int i = 0;

	(void)state;
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	assert_int_equal(hashq_put(q, data, 0), 0);
	assert_int_equal(hashq_put_copy(q, data, 0), 0);
	while (off < LEN) {
		size_t k = LEN - off < 100000 ? LEN - off : 100000;

		if (i++ % 3 == 0) {
			assert_int_equal(hashq_put(q, data + off, k), 0);
			assert_int_equal(hashq_wait(q), 0); /* borrowed: wait before reuse */
		} else {
			assert_int_equal(hashq_put_copy(q, data + off, k), 0);
		}
		off += k;
	}
	assert_int_equal(hashq_wait(q), 0);
	final_equals(md, data, LEN);
	hashq_free(q);
	EVP_MD_CTX_free(md);
	free(data);
}

/* Filled in place (hashq_slot, the link copying out of its ring): the
 * slots come round in order, a slot is never handed out again while its
 * bytes are queued, asking twice gives the same one, only that one is
 * taken, and mixed with copies the hash is the stream's, in order. */
static void test_slots(void **state)
{
	uint8_t *data = pattern(), *prev[HASHQ_RING_SLOTS] = { NULL };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct hashq *q = NULL;
	size_t off = 0, step = 1;
	unsigned i = 0;

	(void)state;
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	while (off < LEN) {
		size_t cap = 0, k;
		uint8_t *p = hashq_slot(q, &cap);

		assert_non_null(p);
		assert_int_equal(cap, HASHQ_RING_SLOT);
		assert_ptr_equal(hashq_slot(q, &cap), p); /* not taken yet */
		assert_true(hashq_is_slot(q, p));
		/* each slot differs from the RING_SLOTS - 1 before it */
		for (unsigned j = 1; j < HASHQ_RING_SLOTS; j++)
			assert_true(p != prev[(i + HASHQ_RING_SLOTS - j) % HASHQ_RING_SLOTS]);
		prev[i % HASHQ_RING_SLOTS] = p;
		k = LEN - off < step ? LEN - off : step;
		if (i % 5 == 4) { /* a copy in between */
			assert_int_equal(hashq_put_copy(q, data + off, k), 0);
		} else {
			memcpy(p, data + off, k);
			assert_int_equal(hashq_put_slot(q, p + 1, k), -EINVAL);
			assert_int_equal(hashq_put_slot(q, p, k), 0);
		}
		off += k;
		i++;
		step = step * 7 % HASHQ_RING_SLOT + 1;
	}
	assert_false(hashq_is_slot(q, data));
	assert_int_equal(hashq_wait(q), 0);
	final_equals(md, data, LEN);
	hashq_free(q);
	EVP_MD_CTX_free(md);
	free(data);
}

/* With another hashq live there are no slots to fill in place. */
static void test_slots_alone_only(void **state)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new(), *md2 = EVP_MD_CTX_new();
	struct hashq *q = NULL, *q2 = NULL;
	size_t cap = 7;
	uint8_t *p;

	(void)state;
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestInit_ex(md2, EVP_sha256(), NULL), 1);
	assert_int_equal(hashq_start(md, &q), 0);
	p = hashq_slot(q, &cap);
	assert_non_null(p);
	assert_int_equal(hashq_start(md2, &q2), 0);
	assert_null(hashq_slot(q2, &cap));
	cap = 7;
	assert_null(hashq_slot(q, &cap));
	assert_int_equal(cap, 7);
	/* a slot handed out before still goes in (the ring is still here) */
	memcpy(p, "abc", 3);
	assert_int_equal(hashq_put_slot(q, p, 3), 0);
	assert_int_equal(hashq_wait(q), 0);
	final_equals(md, (const uint8_t *)"abc", 3);
	hashq_free(q2);
	hashq_free(q);
	EVP_MD_CTX_free(md);
	EVP_MD_CTX_free(md2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_ring),
		cmocka_unit_test(test_ring_shared_alike),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_slots_alone_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
