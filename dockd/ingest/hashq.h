/* hashq.h - SHA-256 of a stream on a second thread, one buffer at a time.
 *
 * The ingest's pull thread has to hash every plaintext byte and encrypt it
 * too; both read the same frame buffer. With a hashq the hash of a buffer
 * runs on another core while the caller encrypts the same (read-only)
 * bytes, and the caller waits for the hash before the buffer is reused:
 *
 *	struct hashq *q;
 *	hashq_start(md, &q);          // md: an initialised digest context
 *	hashq_put(q, buf, len);       // starts hashing buf (read-only!)
 *	... encrypt buf ...
 *	hashq_wait(q);                // buf may be reused after this
 *	hashq_free(q);                // md stays the caller's
 *
 * No memory beyond the thread: nothing is copied, so the caller must not
 * change or free buf before hashq_wait(). Without a thread (pthread_create
 * failed) hashq_put() hashes in place. Functions return 0 or -errno.
 */
#ifndef DOCKD_HASHQ_H
#define DOCKD_HASHQ_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

struct hashq;

/* The copy ring: a hashq started while at most HASHQ_RING_USERS hashqs of
 * the process are live (a lone camera) keeps this many buffers of this
 * size, so its caller can go on before the hash of a copied buffer is done.
 * Only while no more are live: once another hashq starts, hashq_copies()
 * says false and the next hashq_put() frees the ring. Sixteen cameras at
 * once then all borrow alike - the first one docked keeping its ring made
 * it twice as fast as the other fifteen (its caller never waited for the
 * hash) - and stay within the memory cap. */
#define HASHQ_RING_USERS 1
#define HASHQ_RING_SLOTS 4
#define HASHQ_RING_SLOT (1024u << 10)

/* Hash into md (borrowed until hashq_free) on a new thread. */
int hashq_start(EVP_MD_CTX *md, struct hashq **out);

/* Start hashing len bytes at buf after everything put before. At most one
 * buffer is outstanding: waits for the previous one first. */
int hashq_put(struct hashq *q, const void *buf, size_t len);

/* True when hashq_put_copy() should take len bytes: this hashq has a ring
 * and no other hashq is live now. When false, use hashq_put() (which gives
 * a ring no longer allowed back). */
bool hashq_copies(const struct hashq *q, size_t len);

/* Copy len bytes (<= HASHQ_RING_SLOT) into the ring and hash them after
 * everything put before; buf may be reused at once. Waits only while every
 * slot is queued. -EINVAL without a ring or for len > HASHQ_RING_SLOT
 * (not when hashq_copies() just turned false: the ring stays until the
 * next hashq_put()). */
int hashq_put_copy(struct hashq *q, const void *buf, size_t len);

/* The copy ring's next slot, to fill in place instead of hashq_put_copy()
 * copying into it (a source that must copy its bytes anyway copies them
 * here: one copy fewer). Waits while every slot is queued. NULL (*cap
 * untouched) when hashq_copies(q, 1) is false or the hash failed. The
 * slot is the caller's until hashq_put_slot(); asking again before that
 * returns the same slot. */
void *hashq_slot(struct hashq *q, size_t *cap);

/* Hash len bytes (<= HASHQ_RING_SLOT) at buf, which must be the slot
 * hashq_slot() returned, after everything put before; the caller may
 * read buf (never write it) until its next hashq_slot() or hashq_put*()
 * call. -EINVAL for any other buf or without a ring. */
int hashq_put_slot(struct hashq *q, const void *buf, size_t len);

/* True when buf is a slot of q's copy ring (what hashq_slot() gives). */
bool hashq_is_slot(const struct hashq *q, const void *buf);

/* Wait until every buffer put is hashed; the first hashing error. */
int hashq_wait(struct hashq *q);

/* Wait, stop the thread, free. NULL ok. */
void hashq_free(struct hashq *q);

#endif
