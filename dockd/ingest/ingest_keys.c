/* ingest_keys.c - the data keys of partial recordings, in memory only
 * (see ingest_int.h and docs/dockd.md "Keys").
 *
 * A pull needs its data key again only to resume after an interruption.
 * Written to a file, the key would outlive the pull in backups, snapshots,
 * filesystem journals and SSD blocks (an overwrite erases none of them),
 * and anyone copying the vault's .partial folder could decrypt the
 * recording with no trace. So keys live here, in one page-aligned block
 * that is locked in RAM (never swapped) and left out of core dumps where
 * the kernel allows it, for the life of the dockd process: a camera that
 * re-docks resumes; after a dockd restart the pull starts again from byte
 * 0 (ingest_restarted, ingest_open.c). Every key is wiped (OPENSSL_cleanse)
 * when its pull ends, when its slot is reused and at exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ingest.h"
#include "ingest_int.h"
#include "log.h"

/* Partial recordings whose key is kept at once: every docked camera's
 * current one plus interrupted ones of cameras that left. Past the cap the
 * least recently used key is dropped (that pull restarts from byte 0). */
#define KEYS_MAX 256

struct keyslot {
	char *part;	/* the partial file's path names the recording */
	uint64_t used;	/* LRU stamp; 0 = free */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct keyslot slots[KEYS_MAX];
static uint8_t (*keys)[EVFILE_KEY_LEN];	/* KEYS_MAX keys, page-aligned */
static size_t keys_len;
static uint64_t clock_;

/* Lock held. */
static int keys_init(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = NULL;

	if (keys)
		return 0;
	if (pg <= 0)
		pg = 4096;
	keys_len = ((sizeof(*keys) * KEYS_MAX + (size_t)pg - 1) / (size_t)pg) * (size_t)pg;
	if (posix_memalign(&p, (size_t)pg, keys_len) != 0)
		return -ENOMEM;
	memset(p, 0, keys_len);
	/* best effort: RLIMIT_MEMLOCK may refuse; the keys still never
	 * touch a file of ours */
	if (mlock(p, keys_len) < 0)
		log_warning("data keys: mlock: %s (they may be swapped out)", strerror(errno));
	(void)madvise(p, keys_len, MADV_DONTDUMP);
	keys = p;
	return 0;
}

static int find(const char *part)
{
	for (int i = 0; i < KEYS_MAX; i++)
		if (slots[i].used && !strcmp(slots[i].part, part))
			return i;
	return -1;
}

static void drop(int i)
{
	OPENSSL_cleanse(keys[i], EVFILE_KEY_LEN);
	free(slots[i].part);
	slots[i].part = NULL;
	slots[i].used = 0;
}

int ingest_key_save(const struct paths *p, const uint8_t key[EVFILE_KEY_LEN])
{
	int i, r, lru = 0;
	char *name;

	pthread_mutex_lock(&mu);
	if ((r = keys_init()) < 0)
		goto out;
	i = find(p->part);
	if (i < 0) {
		for (i = 0; i < KEYS_MAX && slots[i].used; i++)
			if (slots[i].used < slots[lru].used)
				lru = i;
		if (i == KEYS_MAX) {
			log_warning("%s: more than %d partial recordings: forgetting the key "
				    "of %s (it will be pulled again from byte 0)", p->part,
				    KEYS_MAX, slots[lru].part);
			drop(lru);
			i = lru;
		}
		if (!(name = strdup(p->part))) {
			r = -ENOMEM;
			goto out;
		}
		slots[i].part = name;
	}
	memcpy(keys[i], key, EVFILE_KEY_LEN);
	slots[i].used = ++clock_;
out:
	pthread_mutex_unlock(&mu);
	return r;
}

int ingest_key_load(const struct paths *p, uint8_t key[EVFILE_KEY_LEN])
{
	int i, r = -ENOKEY;

	pthread_mutex_lock(&mu);
	if (keys && (i = find(p->part)) >= 0) {
		memcpy(key, keys[i], EVFILE_KEY_LEN);
		slots[i].used = ++clock_;
		r = 0;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

void ingest_key_wipe(const struct paths *p)
{
	int i;

	pthread_mutex_lock(&mu);
	if (keys && (i = find(p->part)) >= 0)
		drop(i);
	pthread_mutex_unlock(&mu);
}

void ingest_keys_clear(void)
{
	pthread_mutex_lock(&mu);
	if (keys) {
		for (int i = 0; i < KEYS_MAX; i++)
			if (slots[i].used)
				drop(i);
		OPENSSL_cleanse(keys, keys_len);
		(void)munlock(keys, keys_len);
		free(keys);
		keys = NULL;
	}
	pthread_mutex_unlock(&mu);
}
