/* store_s3_mpu.c - the resumable multipart upload of the s3:// target
 * (docs/storage-s3.md, "Resume"; the layout is store_s3_layout.c's).
 *
 * A part's digests (MD5 for Content-MD5 and the ETag check, SHA-256 for
 * x-amz-content-sha256 and our record) are the ingest's (partsum.h): the
 * client is handed them (the server checks them) and reads the part from
 * the vault file as it sends. Without them (a file the ingest did not
 * digest) the part is read into a part-size buffer, hashed in the same
 * pass, and sent from that buffer. Up to
 * st->parallel parts are in flight, one thread and one s3_client each (from
 * the target's pool: successive uploads reuse their connections), so
 * memory is bounded by part size x parallel parts (none with the digests). A part counts as done
 * only once upstate has committed it (after the server's 200 + ETag).
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "evfile.h"
#include "log.h"
#include "partsum.h"
#include "store_s3_int.h"

#define LIST_PAGE 1000 /* ListParts' maximum page */

/* ---- resume ---------------------------------------------------------------- */

struct mpu {
	struct s3_target *st;
	const char *okey;
	int fd;
	struct upstate_upload rec;
	struct s3_layout l;           /* the recorded layout */
	struct upstate_part *parts;   /* [nparts], by number - 1 */
	bool *have;                   /* [nparts]: recorded and (if resumed) on the server */
	_Atomic uint64_t *progress;
	const struct partsum_sums *sums; /* ingest-time part digests, or NULL */
	/* workers */
	unsigned *todo;
	size_t ntodo;
	atomic_size_t next;
	atomic_int err;
};

static void abort_and_forget(struct mpu *m, struct s3_client *c)
{
	struct s3_error e;
	int r = s3_mpu_abort(c, m->okey, m->rec.upload_id, &e);

	if (r < 0 && r != -ESRCH && r != -ENOENT)
		s3t_log_err("abort upload of", m->okey, r, &e);
	(void)upstate_forget(m->st->up, m->okey);
}

static int mismatch(struct mpu *m, struct s3_client *c, unsigned n, const char *why)
{
	log_error("s3: upload %s of %s: part %u %s: the server's upload does not match our record;"
		  " aborting it (it restarts from the vault copy at the next attempt)",
		  m->rec.upload_id, m->okey, n, why);
	abort_and_forget(m, c);
	return -EBADMSG;
}

/* A part the server holds but we never recorded (we died between its 200
 * and our commit): keep it only if its ETag is the MD5 of our own bytes. */
static int adopt(struct mpu *m, struct s3_client *c, const struct s3_part *sp)
{
	struct upstate_part p = { .number = sp->number };
	uint64_t off;
	char hex[33];
	int r;

	s3t_part_range(&m->l, sp->number, &off, &p.size);
	if (sp->size != p.size)
		return mismatch(m, c, sp->number, "has an unexpected size and was never recorded");
	r = s3t_read_digest(m->fd, off, NULL, p.size, p.md5, p.sha256);
	if (r < 0)
		return r;
	s3t_hex(p.md5, 16, hex);
	if (strcasecmp(hex, sp->etag) != 0)
		return mismatch(m, c, sp->number, "holds other bytes and was never recorded");
	snprintf(p.etag, sizeof(p.etag), "%s", sp->etag);
	r = upstate_part_done(m->st->up, m->rec.upload_id, &p);
	if (r < 0)
		return r;
	log_info("s3: upload of %s: part %u was stored before an interruption; kept", m->okey,
		 sp->number);
	m->parts[sp->number - 1] = p;
	return 1;
}

/* Compare the server's parts (ListParts, paged) with our records. 0: have[]
 * says which parts are complete; -ESRCH: the upload is gone; -EBADMSG: a
 * mismatch (upload aborted and forgotten). */
static int resume_check(struct mpu *m, struct s3_client *c)
{
	struct s3_part *page = calloc(LIST_PAGE, sizeof(*page));
	struct upstate_part *recs = calloc(S3_MAX_PARTS, sizeof(*recs));
	bool *listed = calloc(m->l.nparts, sizeof(bool)), trunc = true;
	unsigned marker = 0;
	struct s3_error e;
	size_t n = 0, k = 0;
	int r = -ENOMEM;

	if (!page || !recs || !listed)
		goto out;
	r = upstate_parts(m->st->up, m->rec.upload_id, recs, S3_MAX_PARTS, &n);
	for (size_t i = 0; r == 0 && i < n; i++) { /* our records, checked against the layout */
		uint64_t off, len;

		if (recs[i].number > m->l.nparts)
			break;
		s3t_part_range(&m->l, recs[i].number, &off, &len);
		if (recs[i].size != len)
			break;
		m->parts[recs[i].number - 1] = recs[i];
		m->have[recs[i].number - 1] = true;
		k++;
	}
	if (r == 0 && k != n)
		r = -E2BIG;
	if (r == -E2BIG) { /* more records than parts, or a wrong size */
		r = mismatch(m, c, 0, "records disagree with the upload's layout");
		goto out;
	}
	if (r < 0)
		goto out;
	while (r == 0 && trunc) {
		r = s3_mpu_list_parts(c, m->okey, m->rec.upload_id, &marker, page, LIST_PAGE, &n,
				      &trunc, &e);
		if (r == -ENOENT) /* RGW 16 answers NoSuchKey for an aborted upload */
			r = -ESRCH;
		if (r < 0) {
			if (r != -ESRCH)
				s3t_log_err("list parts of", m->okey, r, &e);
			goto out;
		}
		for (size_t i = 0; i < n && r == 0; i++) {
			const struct s3_part *sp = &page[i];
			const struct upstate_part *rp;

			if (sp->number < 1 || sp->number > m->l.nparts || listed[sp->number - 1]) {
				r = mismatch(m, c, sp->number, "is outside the upload's layout");
				break;
			}
			listed[sp->number - 1] = true;
			rp = &m->parts[sp->number - 1];
			if (!m->have[sp->number - 1]) {
				r = adopt(m, c, sp);
				if (r == 1) {
					m->have[sp->number - 1] = true;
					r = 0;
				}
			} else if (sp->size != rp->size || strcasecmp(sp->etag, rp->etag) != 0) {
				r = mismatch(m, c, sp->number, "differs in size or ETag");
			}
		}
		if (n == 0)
			break;
	}
	for (unsigned i = 0; r == 0 && i < m->l.nparts; i++)
		if (m->have[i] && !listed[i]) {
			log_warning("s3: upload of %s: part %u recorded but not on the server;"
				    " sending it again", m->okey, i + 1);
			m->have[i] = false;
		}
out:
	free(page);
	free(recs);
	free(listed);
	return r;
}

/* ---- part workers ------------------------------------------------------------ */

static int send_part(struct mpu *m, struct s3_client *c, uint8_t *buf, unsigned n)
{
	struct upstate_part p = { .number = n };
	struct s3_body body = { .buf = buf, .fd = -1, .md5 = p.md5, .sha256 = p.sha256 };
	struct s3_error e;
	uint64_t off;
	char hex[33];
	int r;

	s3t_part_range(&m->l, n, &off, &p.size);
	if (m->sums) {
		/* Taken at ingest: the server checks the bytes against them, so
		 * the client reads the part straight from the vault file into
		 * its send buffer (pread; again on a retry): no part buffer, no
		 * extra copy. A file changed since is refused (-EBADMSG). */
		memcpy(p.md5, m->sums->md5[n - 1], 16);
		memcpy(p.sha256, m->sums->sha256[n - 1], 32);
		body.buf = NULL;
		body.fd = m->fd;
		body.off = off;
		r = 0;
	} else {
		r = s3t_read_digest(m->fd, off, buf, p.size, p.md5, p.sha256);
	}
	if (r < 0)
		return r;
	body.len = p.size;
	log_debug("s3: upload of %s: part %u/%u: sending %" PRIu64 " bytes", m->okey, n,
		  m->l.nparts, p.size);
	atomic_fetch_add(&m->st->part_bytes, p.size);
	r = s3_mpu_upload_part(c, m->okey, m->rec.upload_id, n, &body, p.etag, &e);
	if (r < 0) {
		if (r != -ECANCELED)
			s3t_log_err("upload part of", m->okey, r, &e);
		return r;
	}
	s3t_hex(p.md5, 16, hex);
	if (strcasecmp(hex, p.etag) != 0) {
		log_error("s3: upload of %s: part %u: server ETag %s is not the MD5 %s of the bytes"
			  " sent", m->okey, n, p.etag, hex);
		return -EBADMSG;
	}
	r = upstate_part_done(m->st->up, m->rec.upload_id, &p);
	if (r < 0)
		return r;
	m->parts[n - 1] = p;
	m->have[n - 1] = true;
	if (m->progress)
		atomic_fetch_add(m->progress, p.size);
	log_debug("s3: upload of %s: part %u/%u stored", m->okey, n, m->l.nparts);
	return 0;
}

static void *worker(void *arg)
{
	struct mpu *m = arg;
	struct s3_client *c = NULL;
	uint64_t off, cap, sent0;
	uint8_t *buf;
	char err[256];
	int r;

	s3t_part_range(&m->l, 1, &off, &cap);
	buf = m->sums ? NULL : malloc(cap); /* with the ingest's digests: sent from the file */
	r = buf || m->sums ? s3_pool_get(m->st->pool, &c, err, sizeof(err)) : -ENOMEM;
	if (r < 0 && r != -ENOMEM)
		log_error("s3: upload of %s: %s", m->okey, err);
	sent0 = c ? s3_client_sent(c) : 0;
	while (r == 0 && atomic_load(&m->err) == 0) {
		size_t i = atomic_fetch_add(&m->next, 1);

		if (i >= m->ntodo)
			break;
		if (m->st->conf.cancel && atomic_load(m->st->conf.cancel))
			r = -ECANCELED;
		else
			r = send_part(m, c, buf, m->todo[i]);
	}
	if (r < 0) {
		int zero = 0;
		atomic_compare_exchange_strong(&m->err, &zero, r);
	}
	if (c)
		atomic_fetch_add(&m->st->wire_bytes, s3_client_sent(c) - sent0);
	if (c)
		s3_pool_put(m->st->pool, c);
	free(buf);
	return NULL;
}

static int send_missing(struct mpu *m)
{
	pthread_t th[64];
	size_t nth = 0;

	free(m->todo); /* a second round (after the digests were refused) */
	m->ntodo = 0;
	atomic_store(&m->next, 0);
	atomic_store(&m->err, 0);
	m->todo = calloc(m->l.nparts, sizeof(unsigned));
	if (!m->todo)
		return -ENOMEM;
	for (unsigned i = 0; i < m->l.nparts; i++)
		if (!m->have[i])
			m->todo[m->ntodo++] = i + 1;
	if (m->ntodo < m->l.nparts)
		log_info("s3: resuming upload of %s: %u of %u parts already stored, sending %zu",
			 m->okey, m->l.nparts - (unsigned)m->ntodo, m->l.nparts, m->ntodo);
	while (nth < m->st->parallel && nth < m->ntodo && nth < 64) {
		if (pthread_create(&th[nth], NULL, worker, m) != 0)
			break;
		nth++;
	}
	if (nth == 0 && m->ntodo > 0)
		return -EAGAIN;
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&m->err);
}

/* ---- complete ---------------------------------------------------------------- */

static int complete(struct mpu *m, struct s3_client *c, struct s3_obj_info *head)
{
	struct s3_part *sp = calloc(m->l.nparts, sizeof(*sp));
	uint8_t *md5s = calloc(m->l.nparts, 16);
	char want[S3_ETAG_MAX + 1];
	struct s3_obj_info done;
	struct s3_error e;
	int r = -ENOMEM;

	if (!sp || !md5s)
		goto out;
	for (unsigned i = 0; i < m->l.nparts; i++) {
		sp[i].number = i + 1;
		sp[i].size = m->parts[i].size;
		snprintf(sp[i].etag, sizeof(sp[i].etag), "%s", m->parts[i].etag);
		memcpy(md5s + (size_t)i * 16, m->parts[i].md5, 16);
	}
	r = s3t_multipart_etag(md5s, m->l.nparts, want);
	if (r < 0)
		goto out;
	r = s3_mpu_complete(c, m->okey, m->rec.upload_id, sp, m->l.nparts, &done, &e);
	if (r == -EBADMSG) {
		s3t_log_err("complete upload of", m->okey, r, &e);
		r = mismatch(m, c, 0, "list was refused at completion");
		goto out;
	}
	if (r < 0 && r != -ESRCH && r != -ENOENT) {
		s3t_log_err("complete upload of", m->okey, r, &e);
		goto out;
	}
	/* -ESRCH: a retried Complete whose first attempt succeeded; HEAD tells */
	r = s3_head_object(c, m->okey, NULL, head, &e);
	if (r == -ENOENT) {
		log_error("s3: upload %s of %s vanished before completion; starting afresh",
			  m->rec.upload_id, m->okey);
		(void)upstate_forget(m->st->up, m->okey);
		r = -EAGAIN;
		goto out;
	}
	if (r < 0) {
		s3t_log_err("HEAD after completing", m->okey, r, &e);
		goto out;
	}
	(void)upstate_forget(m->st->up, m->okey);
	if (head->size != m->l.size || strcasecmp(head->etag, want) != 0) {
		log_error("s3: %s after completion: size %" PRIu64 " ETag %s, expected %" PRIu64
			  " ETag %s", m->okey, head->size, head->etag, m->l.size, want);
		r = -EBADMSG;
	}
out:
	free(sp);
	free(md5s);
	return r;
}

/* Find or start the upload: 0 with m->rec/l/have set. */
static int start(struct mpu *m, struct s3_client *c, const struct s3_layout *l,
		 const struct store_put_opts *o, const struct s3_put_opts *po)
{
	struct s3_error e;
	int r = upstate_get(m->st->up, m->okey, &m->rec);

	if (r == 0) {
		m->l = (struct s3_layout){ .size = m->rec.size, .part_size = m->rec.part_size,
					   .head_len = m->rec.head_len };
		if (m->rec.size != l->size || memcmp(m->rec.ct_sha256, o->sha256, 32) != 0 ||
		    s3t_layout_count(&m->l) < 0 || m->l.nparts < 2) {
			log_warning("s3: recorded upload %s of %s is for other content; aborting it",
				    m->rec.upload_id, m->okey);
			abort_and_forget(m, c);
			r = -ENOENT;
		} else {
			r = resume_check(m, c);
			if (r == -ESRCH) {
				log_info("s3: upload %s of %s is gone from the server; starting afresh",
					 m->rec.upload_id, m->okey);
				(void)upstate_forget(m->st->up, m->okey);
				memset(m->have, 0, S3_MAX_PARTS * sizeof(bool));
				r = -ENOENT;
			}
		}
	}
	if (r != -ENOENT)
		return r;
	m->l = *l;
	memset(&m->rec, 0, sizeof(m->rec));
	snprintf(m->rec.key, sizeof(m->rec.key), "%s", m->okey);
	r = s3_mpu_create(c, m->okey, po, m->rec.upload_id, &e);
	if (r < 0) {
		s3t_log_err("create multipart upload of", m->okey, r, &e);
		return r;
	}
	m->rec.size = l->size;
	memcpy(m->rec.ct_sha256, o->sha256, 32);
	m->rec.part_size = l->part_size;
	m->rec.head_len = l->head_len;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->rec.created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	/* durable BEFORE the first part: an id we created is never unknown */
	r = upstate_begin(m->st->up, &m->rec);
	if (r < 0) {
		log_error("s3: %s: cannot record the upload: %s", m->okey, strerror(-r));
		(void)s3_mpu_abort(c, m->okey, m->rec.upload_id, &e);
		if (r == -EEXIST) /* a concurrent put of the same key: not "other content" */
			r = -EBUSY;
	}
	return r;
}

/* Send the parts hashing each one, while the whole file is checked against
 * the ledger's SHA-256 (store_s3_src.c). */
static int send_checked(struct mpu *m, struct s3_client *c, const struct store_put_opts *o)
{
	struct s3_srccheck *sc = NULL;
	int r = s3t_srccheck_start(m->fd, m->l.size, &sc);

	if (r == 0)
		r = send_missing(m);
	if (sc) {
		int rs = s3t_srccheck_end(sc, m->okey, o->sha256);

		if (rs == -EUCLEAN) { /* parts of a damaged file: never complete */
			abort_and_forget(m, c);
			r = rs;
		} else if (r == 0) {
			r = rs;
		}
	}
	return r;
}

/* Send the parts with the digests taken at ingest (dockd/partsum.h): no
 * hashing here, and the server checks every byte against them, which also
 * checks the vault copy. -ENOENT: none usable, or the server refused a part
 * against them (a changed vault byte or a bad digest file): the caller
 * goes on with send_checked(), which tells the two apart. */
static int send_with_sums(struct mpu *m, const struct store_put_opts *o)
{
	struct partsum_plan plan = { .size = m->l.size, .head_len = m->l.head_len,
				     .part_size = m->l.part_size, .nparts = m->l.nparts };
	struct partsum_sums *sums = NULL;
	int r;

	if (o->part_sums_fd > 0)
		r = partsum_load_fd(o->part_sums_fd, &plan, o->sha256, &sums);
	else
		r = o->part_sums ? partsum_load(o->part_sums, &plan, o->sha256, &sums) : -ENOENT;
	if (r < 0)
		return -ENOENT;
	log_info("s3: upload of %s: sending with the part digests taken at ingest", m->okey);
	m->sums = sums;
	r = send_missing(m);
	m->sums = NULL;
	free(sums);
	if (r == -EBADMSG) {
		log_warning("s3: upload of %s: a part does not match the digests taken at ingest;"
			    " checking the vault file", m->okey);
		r = -ENOENT;
	}
	return r;
}

int s3t_multipart(struct s3_target *st, struct s3_client *c, const char *okey, int fd,
		  const struct s3_layout *l, const struct store_put_opts *o,
		  const struct s3_put_opts *po, struct s3_obj_info *head)
{
	struct mpu *m = calloc(1, sizeof(*m));
	unsigned cap = S3_MAX_PARTS; /* a recorded layout may differ from l */
	int r = -ENOMEM;

	if (!m)
		return -ENOMEM;
	m->st = st;
	m->okey = okey;
	m->fd = fd;
	m->progress = o->progress;
	m->parts = calloc(cap, sizeof(*m->parts));
	m->have = calloc(cap, sizeof(bool));
	if (!m->parts || !m->have)
		goto out;
	r = start(m, c, l, o, po);
	if (r == 0 && m->progress)
		for (unsigned i = 0; i < m->l.nparts; i++)
			if (m->have[i])
				atomic_fetch_add(m->progress, m->parts[i].size);
	if (r == 0)
		r = send_with_sums(m, o);
	if (r == -ENOENT)
		r = send_checked(m, c, o);
	if (r == 0)
		r = complete(m, c, head);
out:
	free(m->todo);
	free(m->parts);
	free(m->have);
	free(m);
	return r;
}
