/* ingest_open.c - opening a recording's pull (see ingest.h, step 1): a
 * fresh partial file and its evfile writer, or the resume of one at its
 * durable progress, with ingest_restarted when that cannot be done; the
 * writer's output into dwrite, preallocation and the S3 part digests.
 * The pull itself (sink, syncs, checks, quarantine, the vault link) is
 * ingest.c's; struct pull is in ingest_int.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dwrite.h"
#include "evfile.h"
#include "partsum.h"
#include "store_s3_int.h"
#include "ingest.h"
#include "ingest_int.h"
#include "log.h"

static int out_write(void *arg, const void *buf, size_t len)
{
	struct pull *pl = arg;
	int r = dwrite_append(pl->dw, buf, len);

	if (r < 0) {
		if (!pl->local_err)
			pl->local_err = r;
		return r;
	}
	pl->ct_off += len;
	return 0;
}

/* Reserve the whole ciphertext's blocks past the end of the file (best
 * effort: the size stays, a filesystem without it or short of space just
 * allocates as the bytes come): the writes then skip delayed allocation,
 * measured 0.1-0.15 s CPU per GiB less, and the file is one extent. */
static void prealloc(struct pull *pl, size_t hdr_len, unsigned log2, uint64_t from)
{
	uint64_t ct = 0;

	if (evfile_ciphertext_size((uint32_t)hdr_len, log2, pl->rec->size, &ct) == 0 && ct > from)
		(void)fallocate(pl->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(ct - from));
}

static void parts_tap(void *ctx, const uint8_t *buf, size_t len)
{
	(void)partsum_feed(ctx, buf, len); /* an error stays in ps: no file */
}

/* With an s3:// target, take each future part's MD5 and SHA-256 as the
 * ciphertext is written (dockd/partsum.h), for the layout the upload will
 * compute from the same figures. Best effort: without them the upload
 * hashes the vault file itself. */
static void parts_start(struct pull *pl, uint64_t hlen, unsigned log2)
{
	struct partsum_plan plan;

	if (s3t_evfile_plan(&pl->snap->cfg, hlen, log2, pl->rec->size, &plan) < 0 ||
	    partsum_new(&plan, &pl->ps) < 0)
		return;
	if (dwrite_set_tap(pl->dw, parts_tap, pl->ps) < 0) {
		partsum_free(pl->ps);
		pl->ps = NULL;
	}
}

static int start_fresh(struct pull *pl)
{
	struct evfile_meta meta = { .recording_id = pl->rec->recording_id,
				    .camera_serial = pl->rec->serial,
				    .chunk_log2 = pl->snap->chunk_log2 };
	uint8_t key[EVFILE_KEY_LEN];
	uint64_t chunks;
	size_t hlen = 0;
	int r;

	(void)unlink(pl->p->part);
	pl->fd = open(pl->p->part, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (pl->fd < 0)
		return pl->local_err = -errno;
	/* the file's name must be durable before any durable progress is
	 * recorded for its bytes: a power cut must not leave durable_chunks
	 * pointing at a file the directory no longer names */
	r = ingest_fsync_dir(pl->p->pdir);
	if (r < 0)
		return pl->local_err = r;
	pl->ct_off = 0;
	r = dwrite_open(pl->fd, 0, true, &pl->dw);
	if (r < 0)
		return pl->local_err = r;
	r = evfile_writer_open(&pl->w, pl->snap->recipients, pl->snap->n_recipients, &meta,
			       out_write, pl);
	if (r == 0) /* the signed size: encrypt as the bytes arrive, no chunk copy */
		r = evfile_writer_set_size(pl->w, pl->rec->size);
	if (r < 0)
		return pl->local_err ? pl->local_err : r;
	if (evfile_writer_header(pl->w, &hlen)) {
		unsigned log2 = pl->snap->chunk_log2 ? pl->snap->chunk_log2
						     : EVFILE_CHUNK_LOG2_DEFAULT;

		prealloc(pl, hlen, log2, 0);
		parts_start(pl, hlen, log2);
	}
	r = evfile_writer_checkpoint(pl->w, key, &chunks);
	if (r == 0)
		r = ingest_key_save(pl->p, key);
	evfile_key_wipe(key);
	if (r < 0)
		return pl->local_err = r;
	pl->got = 0;
	return 0;
}

/* Continue the partial file at rec->durable_chunks (> 0). Any problem:
 * the caller starts afresh (the camera still has every byte). */
/* The evfile header at the start of the .part file: *hdr (malloc'd, the
 * caller frees it), *hlen and the parsed *info; all untouched on failure. */
int ingest_read_header(struct pull *pl, uint8_t **hdr, uint32_t *hlen,
		       struct evfile_info *info)
{
	uint8_t pre[EVFILE_PREFIX_LEN], *h = NULL;
	struct evfile_info in;
	uint32_t n = 0;
	int r;

	r = evfile_fd_pread(&pl->fd, 0, pre, sizeof(pre));
	if (r == 0)
		r = evfile_header_peek(pre, sizeof(pre), &n);
	if (r == 0 && !(h = malloc(n)))
		r = -ENOMEM;
	if (r == 0)
		r = evfile_fd_pread(&pl->fd, 0, h, n);
	if (r == 0)
		r = evfile_header_parse(h, n, &in);
	if (r < 0) {
		free(h);
		return r;
	}
	*hdr = h;
	*hlen = n;
	*info = in;
	return 0;
}

static int resume(struct pull *pl)
{
	uint8_t key[EVFILE_KEY_LEN], *hdr = NULL;
	struct evfile_info info;
	uint64_t k = pl->rec->durable_chunks, off;
	uint32_t hlen = 0;
	int r;

	pl->fd = open(pl->p->part, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (pl->fd < 0)
		return -errno;
	r = ingest_key_load(pl->p, key);
	if (r == 0)
		r = ingest_read_header(pl, &hdr, &hlen, &info);
	if (r == 0 && (k << info.chunk_log2) >= pl->rec->size)
		r = -ERANGE; /* the final chunk is never "durable" mid-pull */
	off = r == 0 ? evfile_chunk_offset(hlen, info.chunk_log2, k) : 0;
	if (r == 0 && ftruncate(pl->fd, (off_t)off) < 0)
		r = -errno;
	if (r == 0)
		r = evfile_rehash_prefix(hdr, hlen, key, k, evfile_fd_pread, &pl->fd, pl->md);
	if (r == 0)
		r = dwrite_open(pl->fd, off, true, &pl->dw);
	if (r == 0)
		r = evfile_writer_resume(&pl->w, hdr, hlen, key, k, out_write, pl);
	if (r == 0)
		r = evfile_writer_set_size(pl->w, pl->rec->size);
	if (r == 0) {
		prealloc(pl, hlen, info.chunk_log2, off);
		parts_start(pl, hlen, info.chunk_log2);
	}
	evfile_key_wipe(key);
	free(hdr);
	if (r == 0) {
		pl->got = k << info.chunk_log2;
		pl->ct_off = off;
	}
	return r;
}

/* An interrupted pull that had durable chunks starts again from byte 0:
 * say so, and why, before its ingest_started (resume_chunk 0). The usual
 * why: dockd restarted, and data keys are never kept on disk (ingest_keys.c). */
static int record_restart(struct pull *pl, int why, bool missing)
{
	struct cust_event ev;
	char reason[160];
	int r = ledgerw_event(pl->d->w, &ev, CUST_A_INGEST_RESTARTED, pl->rec->evidence_id,
			      CUST_OUTCOME_OK);

	if (missing)
		snprintf(reason, sizeof(reason), "the partial file does not hold the %llu durable "
			 "chunks recorded for it: the disk lost synced data",
			 (unsigned long long)pl->rec->durable_chunks);
	else if (why == -ENOKEY)
		snprintf(reason, sizeof(reason), "the data key of the partial file is not in "
			 "memory (dockd restarted): data keys are never kept on disk");
	else
		snprintf(reason, sizeof(reason), "the partial file cannot be resumed: %s",
			 strerror(why < 0 && why > -4096 ? -why : EIO));
	if (r == 0)
		r = cust_event_set_text(ev.reason, sizeof(ev.reason), reason);
	if (r == 0) {
		json_t *d = json_pack("{s:I,s:i,s:s}", "from_chunk",
				      (json_int_t)pl->rec->durable_chunks, "attempt",
				      (int)pl->rec->attempts + 1, "why",
				      missing ? "durable-progress-missing" :
				      why == -ENOKEY ? "no-key" : "resume-failed");

		r = d ? cust_event_set_details(&ev, d) : -ENOMEM;
		json_decref(d);
	}
	if (r == 0)
		r = ledgerw_append(pl->d->w, &ev);
	return r;
}

/* Before a resume (after a restart it always fails: no data key), the
 * recorded durable progress must be on the disk, key or not: if not, a
 * sync before dockdb_set_durable() did not reach the device (a missing
 * fdatasync, a disk that lies), and the syncs that a release relies on
 * are suspect too. Checked by size (no key needed); the power-cut suite
 * looks for this. True when it is missing (logged as an error). */
static bool part_lost(struct pull *pl)
{
	uint64_t have = 0, need = 0;
	int r = ingest_part_holds(pl->p->part, pl->rec->durable_chunks, &have, &need);

	if (r != -ENODATA)
		return false;
	if (need)
		log_error("%s: recorded durable progress missing: %llu chunk(s) need %llu bytes, "
			  "the partial file holds %llu", pl->rec->evidence_id,
			  (unsigned long long)pl->rec->durable_chunks, (unsigned long long)need,
			  (unsigned long long)have);
	else
		log_error("%s: recorded durable progress missing: %llu chunk(s), the partial file "
			  "is missing or has no readable header (%llu bytes)", pl->rec->evidence_id,
			  (unsigned long long)pl->rec->durable_chunks, (unsigned long long)have);
	return true;
}

int ingest_open_pull(struct pull *pl)
{
	bool fresh = pl->rec->state != DREC_PULLING || pl->rec->durable_chunks == 0;
	int r;

	if ((r = ingest_mkdirs(pl->p->pdir)) < 0)
		return pl->local_err = r;
	if (!fresh) {
		bool missing = part_lost(pl); /* before resume() truncates it */

		r = missing ? -ENODATA : resume(pl);
		if (r < 0) {
			int rr = record_restart(pl, r, missing);

			if (rr < 0)
				return rr;
			log_warning("%s: cannot resume at chunk %llu (%s): pulling from 0",
				    pl->rec->evidence_id, (unsigned long long)pl->rec->durable_chunks,
				    r == -ENOKEY ? "no data key in memory: dockd restarted" :
				    strerror(r < 0 && r > -4096 ? -r : EIO));
			evfile_writer_free(pl->w);
			pl->w = NULL;
			dwrite_free(pl->dw);
			pl->dw = NULL;
			partsum_free(pl->ps);
			pl->ps = NULL;
			if (pl->fd >= 0)
				close(pl->fd);
			pl->fd = -1;
			EVP_DigestInit_ex(pl->md, EVP_sha256(), NULL);
			fresh = true;
		}
	}
	r = dockdb_begin_pull(pl->d->w, pl->rec, fresh);
	if (r < 0)
		return r;
	if (ingest_make_paths(&pl->snap->cfg, pl->rec, pl->p) < 0) /* attempt number changed */
		return -ENAMETOOLONG;
	return fresh ? start_fresh(pl) : 0;
}
