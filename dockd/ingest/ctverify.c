/* ctverify.c - read a partial evidence file back while it is written (see
 * ctverify.h). */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctverify.h"
#include "evfile.h"

#define CTV_ALIGN 4096u /* O_DIRECT: offsets, lengths and the buffer */

static atomic_uint readers; /* verifiers that read back, started and not freed */

struct ctverify {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool threaded, joined;
	bool reread;      /* false: background syncs only */
	uint64_t durable; /* under mu */
	bool final;       /* under mu */
	bool sync_req;    /* under mu: a background sync is asked for */
	uint64_t sync_n, sync_mark, synced_mark; /* under mu */
	int sync_err;     /* under mu */
	void (*on_synced)(void *ctx, uint64_t mark); /* set before any sync */
	void *on_synced_ctx;
	atomic_bool stop;
	/* The reader's own state: the thread's while it runs, then finish's. */
	int fd;
	bool direct;
	uint8_t *buf;
	size_t bsize;
	struct evfile_check *chk; /* authenticates what is read */
	uint64_t pos; /* bytes checked so far (CTV_ALIGN-aligned until the end) */
	int err;
};

/* One block at pos; 0 at end of file. Falls back to buffered reads (after
 * dropping the clean pages) when the filesystem refuses O_DIRECT. */
static ssize_t read_block(struct ctverify *v, size_t want)
{
	for (;;) {
		ssize_t n;

		if (!v->direct)
			(void)posix_fadvise(v->fd, (off_t)v->pos, (off_t)want, POSIX_FADV_DONTNEED);
		n = pread(v->fd, v->buf, want, (off_t)v->pos);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && v->direct &&
		    fcntl(v->fd, F_SETFL, fcntl(v->fd, F_GETFL) & ~O_DIRECT) == 0) {
			v->direct = false;
			continue;
		}
		return -errno;
	}
}

size_t ctverify_buf_for(unsigned n)
{
	unsigned m = 1;
	size_t b;

	while (m < n && m < (1u << 16))
		m <<= 1;
	b = CTV_BUDGET / m;
	return b > CTV_BUF_MAX ? CTV_BUF_MAX : b < CTV_BUF_MIN ? CTV_BUF_MIN : b;
}

/* The verifiers reading back changed this one's share (ctverify.h): change
 * the buffer to it between two reads. The old one held plaintext (decrypted
 * in place): wiped before it is freed. Without memory, keep the old one. */
static void resize(struct ctverify *v)
{
	size_t want = ctverify_buf_for(atomic_load(&readers));
	uint8_t *nb;

	if (want == v->bsize || posix_memalign((void **)&nb, CTV_ALIGN, want) != 0)
		return;
	OPENSSL_cleanse(v->buf, v->bsize);
	free(v->buf);
	v->buf = nb;
	v->bsize = want;
}

/* Check [pos, limit) - limit rounded down to CTV_ALIGN - or, with to_eof,
 * everything from pos to the end of the file. The first failure stops the
 * reading (it is the verdict). */
static void read_range(struct ctverify *v, uint64_t limit, bool to_eof)
{
	if (!to_eof)
		limit &= ~(uint64_t)(CTV_ALIGN - 1);
	while (!v->err && (to_eof || v->pos < limit) && !atomic_load(&v->stop)) {
		size_t want;
		ssize_t n;
		int r;

		resize(v);
		want = v->bsize;
		if (!to_eof && limit - v->pos < want)
			want = (size_t)(limit - v->pos);
		n = read_block(v, want);
		if (n < 0) {
			v->err = (int)n;
			return;
		}
		if (n == 0 && !to_eof) {
			v->err = -EIO; /* shorter than what was reported durable */
			return;
		}
		if (n > 0 && (r = evfile_check_feed(v->chk, v->buf, (size_t)n)) < 0) {
			v->err = r;
			return;
		}
		v->pos += (uint64_t)n;
		if (to_eof && (size_t)n < want)
			return; /* end of file (O_DIRECT reads whole blocks till then) */
	}
}

/* Called and returning with mu held; fdatasync runs without it. */
static void do_sync(struct ctverify *v)
{
	uint64_t n = v->sync_n, mark = v->sync_mark;
	int r;

	v->sync_req = false;
	if (v->sync_err)
		return;
	pthread_mutex_unlock(&v->mu);
	r = fdatasync(v->fd) < 0 ? -errno : 0;
	pthread_mutex_lock(&v->mu);
	if (r < 0) {
		v->sync_err = r;
		return;
	}
	v->synced_mark = mark;
	if (v->reread && n > v->durable)
		v->durable = n;
	if (v->on_synced) {
		pthread_mutex_unlock(&v->mu);
		v->on_synced(v->on_synced_ctx, mark);
		pthread_mutex_lock(&v->mu);
	}
}

static void *run(void *arg)
{
	struct ctverify *v = arg;

	pthread_mutex_lock(&v->mu);
	for (;;) {
		uint64_t limit;
		bool fin;

		while (!atomic_load(&v->stop) && !v->final && !v->sync_req &&
		       (v->durable & ~(uint64_t)(CTV_ALIGN - 1)) <= v->pos)
			pthread_cond_wait(&v->cv, &v->mu);
		if (atomic_load(&v->stop))
			break;
		if (v->sync_req) {
			do_sync(v);
			continue;
		}
		limit = v->durable;
		fin = v->final;
		pthread_mutex_unlock(&v->mu);
		read_range(v, limit, fin);
		pthread_mutex_lock(&v->mu);
		if (fin || v->err)
			break;
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

int ctverify_start(const char *path, const uint8_t *data_key, uint64_t pt_len,
		   struct ctverify **out)
{
	struct ctverify *v = calloc(1, sizeof(*v));
	bool reread = data_key != NULL;
	int r = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->fd = -1;
	atomic_init(&v->stop, false);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	v->reread = reread;
	if (reread) {
		v->bsize = ctverify_buf_for(atomic_fetch_add(&readers, 1) + 1);
		if (posix_memalign((void **)&v->buf, CTV_ALIGN, v->bsize) != 0) {
			v->buf = NULL;
			goto fail;
		}
	}
	if (reread && (r = evfile_check_new(&v->chk, data_key, pt_len)) < 0)
		goto fail;
	v->direct = true;
	v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
	if (v->fd < 0 && errno == EINVAL) { /* e.g. tmpfs */
		v->direct = false;
		v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (v->fd < 0) {
		r = -errno;
		goto fail;
	}
	/* Without a thread, ctverify_finish() reads everything itself. */
	v->threaded = pthread_create(&v->th, NULL, run, v) == 0;
	if (v->threaded) /* named for top -H and perf (best effort) */
		(void)pthread_setname_np(v->th, "dk-sync");
	*out = v;
	return 0;
fail:
	ctverify_free(v);
	return r;
}

void ctverify_durable(struct ctverify *v, uint64_t n)
{
	pthread_mutex_lock(&v->mu);
	if (v->reread && n > v->durable) {
		v->durable = n;
		pthread_cond_signal(&v->cv);
	}
	pthread_mutex_unlock(&v->mu);
}

void ctverify_on_synced(struct ctverify *v, void (*fn)(void *ctx, uint64_t mark), void *ctx)
{
	pthread_mutex_lock(&v->mu);
	v->on_synced = fn;
	v->on_synced_ctx = ctx;
	pthread_mutex_unlock(&v->mu);
}

void ctverify_sync_async(struct ctverify *v, uint64_t n, uint64_t mark)
{
	pthread_mutex_lock(&v->mu);
	v->sync_req = true;
	v->sync_n = n;
	v->sync_mark = mark;
	if (v->threaded && !v->joined)
		pthread_cond_signal(&v->cv);
	else
		do_sync(v);
	pthread_mutex_unlock(&v->mu);
}

size_t ctverify_buf_size(const struct ctverify *v)
{
	return v ? v->bsize : 0;
}

int ctverify_synced(struct ctverify *v, uint64_t *mark)
{
	int r;

	pthread_mutex_lock(&v->mu);
	r = v->sync_err;
	if (r == 0)
		*mark = v->synced_mark;
	pthread_mutex_unlock(&v->mu);
	return r;
}

int ctverify_finish(struct ctverify *v, uint64_t *len)
{
	int r;

	if (!v->reread)
		return -EINVAL;
	pthread_mutex_lock(&v->mu);
	v->final = true;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
	if (v->threaded && !v->joined) {
		pthread_join(v->th, NULL);
		v->joined = true;
	} else if (!v->threaded) {
		read_range(v, 0, true);
	}
	if (v->err)
		return v->err;
	if ((r = evfile_check_end(v->chk, NULL)) < 0)
		return r;
	*len = v->pos;
	return 0;
}

void ctverify_free(struct ctverify *v)
{
	if (!v)
		return;
	if (v->threaded && !v->joined) {
		pthread_mutex_lock(&v->mu);
		atomic_store(&v->stop, true);
		pthread_cond_signal(&v->cv);
		pthread_mutex_unlock(&v->mu);
		pthread_join(v->th, NULL);
	}
	if (v->fd >= 0)
		close(v->fd);
	evfile_check_free(v->chk); /* wipes the keys */
	if (v->buf) /* it held plaintext (decrypted in place) */
		OPENSSL_cleanse(v->buf, v->bsize);
	free(v->buf);
	if (v->reread)
		atomic_fetch_sub(&readers, 1);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mu);
	free(v);
}
