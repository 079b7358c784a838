/* ingest.c - one recording: pull, SHA-256, encrypt, sync, verify, store
 * (see ingest.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ctverify.h"
#include "dwrite.h"
#include "evfile.h"
#include "hashq.h"
#include "partsum.h"
#include "store_s3_int.h"
#include "ingest.h"
#include "ingest_int.h"
#include "log.h"

struct pull {
	struct dockd *d;
	const struct dock_snap *snap;
	struct dock_rec *rec;
	struct paths *p;
	int slot;
	int fd;
	EVP_MD_CTX *md;
	struct hashq *hq;    /* hashes the plaintext into md on another core */
	struct partsum *ps;  /* s3:// target: per-part digests of the ciphertext */
	struct evfile_writer *w;
	struct dwrite *dw;   /* writes and hashes the ciphertext on its own thread */
	struct ctverify *cv; /* background syncs (local policy: device re-read) */
	uint64_t ct_off;     /* ciphertext bytes appended */
	uint64_t got;        /* plaintext bytes consumed */
	uint64_t next_sync;  /* plaintext offset of the next sync point */
	const struct ingest_src *src; /* where the bytes come from */
	int local_err;       /* a write/sync on our side failed */
	bool draining;       /* after local_err: the rest of the READ is dropped */
};

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

static bool dir_has(const char *dir, uint32_t mb)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) < 0)
		return false;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize >= (uint64_t)mb << 20;
}

/* The state directory holds the ledger: a full one would stop every
 * custody event (SQLite rolls back, nothing is corrupted, but nothing is
 * recorded either), so it is guarded like the vault (issue 11, defect 7). */
const char *ingest_space_short(const struct dock_snap *snap)
{
	if (snap->cfg.min_free_mb == 0)
		return NULL;
	if (!dir_has(snap->cfg.vault_dir, snap->cfg.min_free_mb))
		return snap->cfg.vault_dir;
	if (!dir_has(snap->cfg.state_dir, snap->cfg.min_free_mb))
		return snap->cfg.state_dir;
	return NULL;
}

bool ingest_space_ok(const struct dock_snap *snap)
{
	return ingest_space_short(snap) == NULL;
}

/* The background sync of `chunks` chunks completed (on ctverify's thread):
 * record them as the resume point. Only the session's immutable key fields
 * are read here. The commit used to run on the pull thread at every sync
 * point and, with its fsync queued behind the vault's writes, cost ~0.9 s
 * per GiB of pulling (measured); here it waits for nobody. */
static void durable_synced(void *ctx, uint64_t chunks)
{
	struct pull *pl = ctx;

	(void)dockdb_set_durable(pl->d->w, pl->rec, chunks);
}

/* Make what was written durable and record how many chunks are (progress
 * only: a resume starts there). With wait, fdatasync here. Without, the
 * ctverify thread syncs in the background while the pull goes on and
 * records the figure when the sync is done (durable_synced): never more
 * than is on the disk. */
static int sync_point(struct pull *pl, bool wait)
{
	uint8_t key[EVFILE_KEY_LEN];
	uint64_t chunks = 0;
	int r = evfile_writer_checkpoint(pl->w, key, &chunks);

	evfile_key_wipe(key);
	if (r < 0)
		return r;
	if (pl->dw && (r = dwrite_flush(pl->dw)) < 0)
		return pl->local_err = r;
	if (wait || !pl->cv) {
		if (fdatasync(pl->fd) < 0)
			return pl->local_err = -errno;
		if (pl->cv)
			ctverify_durable(pl->cv, pl->ct_off);
	} else {
		uint64_t done = 0;

		if ((r = ctverify_synced(pl->cv, &done)) < 0)
			return pl->local_err = r;
		ctverify_sync_async(pl->cv, pl->ct_off, chunks);
		chunks = 0; /* recorded by durable_synced() once that sync is done */
	}
	if (chunks > pl->rec->durable_chunks) {
		r = dockdb_set_durable(pl->d->w, pl->rec, chunks);
		if (r == 0)
			pl->rec->durable_chunks = chunks;
	}
	pl->next_sync = pl->got + ((uint64_t)pl->snap->cfg.sync_interval_mb << 20);
	if (r == 0 && !ingest_space_ok(pl->snap)) {
		pl->local_err = -ENOSPC;
		r = -ENOSPC;
	}
	return r;
}

/* A local write/sync error stops storing, not the link: the rest of the
 * current READ is received and dropped, so the session stays in step (the
 * camera can be kept docked while the disk recovers, or told BYE). */
static int sink_fail(struct pull *pl, int r)
{
	if (!pl->local_err)
		return r;
	pl->draining = true;
	return 0;
}

static int sink(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
	struct pull *pl = ctx;
	int r, rh;

	if (pl->draining)
		return 0;
	if (off != pl->got)
		return -PROTO_E_SEQ;
	/* SHA-256 on the hash thread while this one encrypts the same bytes;
	 * the frame buffer is reused only after both are done with it. */
	if (hashq_copies(pl->hq, len)) { /* a copy: no waiting for the hash */
		r = hashq_put_copy(pl->hq, data, len);
		if (r == 0)
			r = evfile_writer_write(pl->w, data, len);
		rh = 0;
	} else {
		r = hashq_put(pl->hq, data, len);
		if (r == 0)
			r = evfile_writer_write(pl->w, data, len);
		rh = hashq_wait(pl->hq);
	}
	if (r == 0 && rh < 0)
		r = -EIO;
	if (r < 0)
		return sink_fail(pl, r);
	pl->got += len;
	status_cam_bytes(pl->d->status, pl->slot, pl->got);
	if (pl->got >= pl->next_sync && (r = sync_point(pl, false)) < 0)
		return sink_fail(pl, r);
	if (atomic_load(&pl->d->stop)) {
		r = sync_point(pl, true);
		return r < 0 ? r : -ECANCELED;
	}
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

/* Next to the vault file: the digests, or no file at all. */
static void parts_save(struct pull *pl, const uint8_t ct_sha[32])
{
	char path[PATH_MAX];
	int r;

	if (partsum_path(pl->p->vault, path, sizeof(path)) < 0)
		return;
	(void)unlink(path); /* a stale one from an earlier attempt */
	if (!pl->ps)
		return;
	r = partsum_save(pl->ps, path, ct_sha);
	if (r < 0)
		log_warning("%s: part digests not kept (%s): the upload will hash the file",
			    pl->rec->evidence_id, strerror(-r));
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
static int read_header(struct pull *pl, uint8_t **hdr, uint32_t *hlen,
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
		r = read_header(pl, &hdr, &hlen, &info);
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

/* The bad copy is kept for investigation (docs/operations.md): every byte
 * received goes to the device before the file is moved (the writer and
 * dwrite still held the bytes after the last sync point). With as many
 * bytes as the signed size (a SHA-256 mismatch) the file is finished: a
 * complete evidence file that decrypts to exactly what the camera sent.
 * Fewer (a length mismatch) cannot be finished (the header holds the
 * signed size): the ciphertext of every byte received is kept, without a
 * final chunk. Best effort: the ledger records the quarantine anyway. */
static void quarantine_keep(struct pull *pl)
{
	int r = 0;

	if (pl->w && pl->got == pl->rec->size)
		r = evfile_writer_finish(pl->w, NULL, NULL);
	if (r == 0 && pl->dw)
		r = dwrite_flush(pl->dw);
	if (r == 0 && pl->fd >= 0 && fsync(pl->fd) < 0)
		r = -errno;
	if (r < 0)
		log_error("%s: the quarantined copy may lack bytes received: %s",
			  pl->rec->evidence_id, strerror(-r));
}

static int quarantine(struct pull *pl, const uint8_t got_sha[32], const char *why)
{
	int r;

	log_warning("%s: %s: quarantined (attempt %u)", pl->rec->evidence_id, why,
		    pl->rec->attempts);
	quarantine_keep(pl);
	if (ingest_mkdirs(pl->p->qdir) < 0 || rename(pl->p->part, pl->p->quar) < 0)
		log_error("%s: cannot move to quarantine: %s", pl->p->part, strerror(errno));
	(void)ingest_fsync_dir(pl->p->qdir);
	ingest_key_wipe(pl->p);
	r = dockdb_quarantine(pl->d->w, pl->rec, pl->got, got_sha, why, pl->p->quar);
	dockd_alert(pl->d, "integrity", pl->rec->evidence_id, "%s (attempt %u): quarantined", why,
		    pl->rec->attempts);
	return r < 0 ? r : -EBADMSG;
}

/* The DATA did not match the signed length: quarantine what arrived, with
 * the SHA-256 of those bytes (all zero if it cannot be had). */
static int quarantine_short(struct pull *pl)
{
	uint8_t sha[32] = { 0 };
	unsigned int n = 0;

	if (hashq_wait(pl->hq) < 0 || EVP_DigestFinal_ex(pl->md, sha, &n) != 1 || n != 32)
		memset(sha, 0, sizeof(sha));
	return quarantine(pl, sha, pl->src->device_key ? "length differs from manifest"
						     : "the file changed while it was read");
}

/* The ciphertext's length and SHA-256 as written (dwrite hashed it on the
 * way to the disk); with release_policy = local the file is also read back
 * from the device and must authenticate, every chunk, under the data key
 * (ctverify.h says what that proves): there stored_local allows a release. */
static int ct_check(struct pull *pl, uint64_t ct, uint8_t ct_sha[32])
{
	uint64_t ct_len = 0, ct_read = 0;
	int r = dwrite_sha256(pl->dw, &ct_len, ct_sha);

	if (r < 0)
		return r;
	if (ct_len != ct) {
		log_error("%s: wrote %llu bytes, expected %llu", pl->p->part,
			  (unsigned long long)ct_len, (unsigned long long)ct);
		return -EIO;
	}
	if (pl->snap->cfg.release_policy != DOCK_RELEASE_LOCAL)
		return 0;
	r = ctverify_finish(pl->cv, &ct_read);
	if (r == -EBADMSG || (r == 0 && ct_read != ct)) {
		log_error("%s: read back from the device (%llu bytes, wrote %llu): %s", pl->p->part,
			  (unsigned long long)pl->ct_off, (unsigned long long)ct,
			  r ? "does not authenticate (AES-GCM) as the file written"
			    : "length differs");
		return -EIO;
	}
	return r;
}

/* The ingested event's origin facts: the device key of this session and
 * the key ids of the recipient stanzas read back from the file's own
 * header (what was really written, also after a resumed pull). */
static int origin(struct pull *pl, struct dockdb_origin *o)
{
	struct evfile_info info;
	uint8_t *hdr = NULL;
	uint32_t hlen;
	int r;

	memset(o, 0, sizeof(*o));
	if (pl->src->device_key)
		memcpy(o->device_key, pl->src->device_key, sizeof(o->device_key));
	else
		o->volume = pl->src->volume;
	r = read_header(pl, &hdr, &hlen, &info);
	free(hdr);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < info.n_stanzas && i < DOCKDB_KEYIDS_MAX; i++)
		memcpy(o->key_ids[o->n_keys++], info.stanzas[i].key_id, 32);
	return 0;
}

static int finish(struct pull *pl)
{
	struct dockdb_origin o;
	uint8_t sha[32], ct_sha[32];
	uint64_t pt = 0, ct = 0;
	unsigned int n = 0;
	int r;

	if (hashq_wait(pl->hq) < 0) /* copies still queued go into the hash */
		return -EIO;
	if (EVP_DigestFinal_ex(pl->md, sha, &n) != 1 || n != 32)
		return -EIO;
	if (pl->got != pl->rec->size ||
	    (pl->src->device_key && memcmp(sha, pl->rec->sha256, 32) != 0))
		return quarantine(pl, sha, pl->got != pl->rec->size ? "size mismatch"
								    : "sha256 mismatch");
	if (!pl->src->device_key) {
		/* unsigned: no signed hash to compare with; the source reads
		 * the file again past the page cache and must agree */
		r = pl->src->confirm(pl->src->ctx, pl->rec, sha);
		if (r == -ESTALE)
			return quarantine(pl, sha, "the file changed between the two reads");
		if (r < 0)
			return r;
		memcpy(pl->rec->sha256, sha, 32);
	}
	r = evfile_writer_finish(pl->w, &pt, &ct);
	if (r < 0)
		return pl->local_err ? pl->local_err : r;
	if ((r = dwrite_flush(pl->dw)) < 0)
		return pl->local_err = r;
	if (fsync(pl->fd) < 0)
		return pl->local_err = -errno;
	if ((r = ct_check(pl, ct, ct_sha)) < 0)
		return pl->local_err = r;
	if ((r = ingest_mkdirs(pl->p->vdir)) < 0 || (r = ingest_vault_clear(pl->p)) < 0)
		return pl->local_err = r;
	if (link(pl->p->part, pl->p->vault) < 0)
		return pl->local_err = -errno;
	parts_save(pl, ct_sha);
	if ((r = ingest_fsync_dir(pl->p->vdir)) < 0)
		return pl->local_err = r;
	r = origin(pl, &o);
	{
		const struct cust_retention *rt = &pl->snap->cfg.retention;
		struct dockdb_retention dr = { .raw = pl->rec->category };
		const struct cust_retention_rule *rule =
			cust_retention_resolve(rt, pl->rec->category, &dr.known);

		dr.category = rule->category;
		dr.days = cust_retention_days(rt, rule, 0, NULL);
		if (r == 0)
			r = dockdb_stored_local(pl->d->w, pl->rec, ct, ct_sha, pl->p->vault, &dr, &o);
		if (r == 0 && !dr.known)
			dockd_alert(pl->d, "unknown-category", pl->rec->evidence_id,
				    "camera category '%.64s' is not in [retention]: kept as '%s' "
				    "(%d days) until a supervisor categorizes it",
				    pl->rec->category, dr.category, (int)dr.days);
	}
	if (r < 0)
		return r;
	(void)unlink(pl->p->part);
	ingest_key_wipe(pl->p);
	log_info("%s: stored locally (%llu bytes, ciphertext %llu)", pl->rec->evidence_id,
		 (unsigned long long)pl->rec->size, (unsigned long long)ct);
	return 0;
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

static int open_pull(struct pull *pl)
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

/* After a local error: record the progress of the last background sync
 * that completed (its bytes are on the device whatever failed after). */
static void keep_synced(struct pull *pl)
{
	uint64_t done = 0;

	if (pl->cv && ctverify_synced(pl->cv, &done) == 0 && done > pl->rec->durable_chunks &&
	    dockdb_set_durable(pl->d->w, pl->rec, done) == 0)
		pl->rec->durable_chunks = done;
}

/* session_read in READ_REQ-sized pieces (as it would send them anyway), so
 * that after a local error only the current piece is drained. */
static int pull_data(struct pull *pl)
{
	uint64_t pos = pl->got, end = pl->rec->size;
	int r = 0;

	while (r == 0 && pos < end && !pl->draining) {
		uint64_t n = end - pos < PROTO_MAX_READ ? end - pos : PROTO_MAX_READ;

		r = pl->src->read(pl->src->ctx, pl->rec, pos, n, sink, pl);
		pos += n;
	}
	return r;
}

/* The background syncs; with release_policy = local also the device
 * read-back, which authenticates the file with its data key (the writer's,
 * fresh or resumed; the copy here is wiped at once, ctverify's after the
 * check). */
static int verify_start(struct pull *pl)
{
	uint8_t key[EVFILE_KEY_LEN];
	uint64_t chunks = 0;
	bool local = pl->snap->cfg.release_policy == DOCK_RELEASE_LOCAL;
	int r = local ? evfile_writer_checkpoint(pl->w, key, &chunks) : 0;

	if (r == 0)
		r = ctverify_start(pl->p->part, local ? key : NULL, pl->rec->size, &pl->cv);
	if (local)
		evfile_key_wipe(key);
	return r;
}

static int link_src_read(void *ctx, const struct dock_rec *rec, uint64_t off, uint64_t len,
			 session_sink_fn fn, void *fctx)
{
	return link_read(ctx, rec->recording_id, off, len, fn, fctx);
}

static int link_src_error(void *ctx)
{
	return link_error(ctx);
}

int ingest_one(struct dockd *d, const struct dock_snap *snap, struct link *s, int slot,
	       struct dock_rec *rec, bool *disk)
{
	struct ingest_src src = { .ctx = s, .read = link_src_read, .error = link_src_error,
				  .device_key = link_identity(s)->pubkey };

	return ingest_one_src(d, snap, &src, slot, rec, disk);
}

int ingest_one_src(struct dockd *d, const struct dock_snap *snap, const struct ingest_src *src,
		   int slot, struct dock_rec *rec, bool *disk)
{
	struct paths p;
	struct pull pl = { .d = d, .snap = snap, .rec = rec, .p = &p, .slot = slot, .fd = -1,
			   .src = src };
	int r;

	*disk = false;
	if (!src->device_key && (!src->confirm || !dockdb_unsigned(rec)))
		return -EINVAL; /* an unsigned source must re-read; a signed row needs a key */
	/* A session out of step (e.g. the previous recording's DATA did not
	 * match its signed length) reads nothing more: this recording is not
	 * touched (no event) and stays on the camera for the next docking. */
	r = src->error ? src->error(src->ctx) : 0;
	if (r < 0)
		return r;
	r = ingest_make_paths(&snap->cfg, rec, &p);
	if (r < 0)
		return r;
	pl.md = EVP_MD_CTX_new();
	if (!pl.md || EVP_DigestInit_ex(pl.md, EVP_sha256(), NULL) != 1 ||
	    hashq_start(pl.md, &pl.hq) < 0) {
		EVP_MD_CTX_free(pl.md);
		return -ENOMEM;
	}
	r = open_pull(&pl);
	if (r == 0 && (r = verify_start(&pl)) < 0)
		pl.local_err = r;
	if (r == 0)
		ctverify_on_synced(pl.cv, durable_synced, &pl);
	if (r == 0) {
		pl.next_sync = pl.got + ((uint64_t)snap->cfg.sync_interval_mb << 20);
		status_cam_recording(d->status, slot, rec->evidence_id, rec->size, pl.got);
		r = pull_data(&pl);
		if (pl.draining)
			r = pl.local_err; /* the link is fine: stopped storing */
		else if (r == -PROTO_E_MISMATCH) /* too few or too many bytes for the signed size */
			r = quarantine_short(&pl);
		else if (r == 0)
			r = finish(&pl);
	}
	if (r < 0 && r != -EBADMSG && rec->state == DREC_PULLING) {
		(void)dockdb_interrupted(d->w, rec, pl.got,
					 pl.local_err ? strerror(-pl.local_err) : proto_strerror(r));
		if (pl.fd >= 0 && !pl.local_err)
			(void)sync_point(&pl, true); /* keep what arrived: resume there */
		else if (pl.local_err)
			keep_synced(&pl);
	}
	if (pl.local_err) {
		*disk = true;
		r = pl.local_err;
	}
	status_cam_recording(d->status, slot, NULL, 0, 0);
	ctverify_free(pl.cv);
	hashq_free(pl.hq);
	evfile_writer_free(pl.w);
	dwrite_free(pl.dw);
	partsum_free(pl.ps);
	EVP_MD_CTX_free(pl.md);
	if (pl.fd >= 0)
		close(pl.fd);
	return r;
}
