/* ingest.c - one recording: pull, SHA-256, encrypt, sync, verify, store
 * (see ingest.h). Opening the pull (fresh or resumed) is ingest_open.c's. */
#define _GNU_SOURCE
#include <errno.h>
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
#include "ingest.h"
#include "ingest_int.h"
#include "log.h"

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
	if (hashq_is_slot(pl->hq, data)) {
		/* the link copied the bytes out of its ring into the hash slot
		 * (pull_slot): hash them there, no copy, no waiting */
		r = hashq_put_slot(pl->hq, data, len);
		if (r == 0)
			r = evfile_writer_write(pl->w, data, len);
		rh = 0;
	} else if (hashq_copies(pl->hq, len)) { /* a copy: no waiting for the hash */
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
	r = ingest_read_header(pl, &hdr, &hlen, &info);
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

/* Where the link copies the camera's bytes out of its worker's ring (the
 * one copy it makes of them, linkc.h): straight into the hash thread's
 * next free slot, which sink() then hashes and encrypts in place. NULL
 * (the link's own buffer, sink() copies or waits) when this hashq has no
 * slots (other cameras docked) or the pull only drains. */
static void *pull_slot(void *ctx, size_t *cap)
{
	struct pull *pl = ctx;

	return pl->draining ? NULL : hashq_slot(pl->hq, cap);
}

static int link_src_read(void *ctx, const struct dock_rec *rec, uint64_t off, uint64_t len,
			 session_sink_fn fn, void *fctx)
{
	/* fn is sink() and fctx its pull (pull_data) */
	return link_read_into(ctx, rec->recording_id, off, len, pull_slot, fn, fctx);
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
	r = ingest_open_pull(&pl);
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
