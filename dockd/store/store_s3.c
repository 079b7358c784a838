/* store_s3.c - the s3:// storage target (store.h; docs/storage-s3.md):
 * open, the probe of the server, verify, remove, legal holds, close. The
 * put is in store_s3_put.c, the multipart upload in store_s3_mpu.c, the
 * fixity reads in store_s3_fix.c.
 *
 * open: parse s3://BUCKET[/PREFIX], load the credentials, build the client
 * configuration, open <state_dir>/uploads.db. No network here: dockd opens
 * its target before its camera socket, and a server that accepts TCP but
 * never answers held start-up (and every docking) for minutes (issue 11,
 * defect 9). The server is probed (bucket, Object Lock, orphaned uploads) by
 * store_prepare() from the storage worker's thread, else by the first
 * put/verify, again by each until it succeeds, and its error
 * (-EACCES credentials, -ENXIO no bucket, -ETIME clock skew, -ENOTSUP Object
 * Lock required but missing: all permanent) is what put/verify return.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_s3_int.h"

#define UPLOAD_PAGE 100
#define ROWS_MAX 4096 /* uploads.db rows looked at by the orphan sweep */

/* ---- object keys ---------------------------------------------------------- */

int s3t_object_key(const struct s3_target *st, const char *key, char *out, size_t cap)
{
	int n;

	if (!store_key_valid(key))
		return -EINVAL;
	n = st->prefix[0] ? snprintf(out, cap, "%s/%s", st->prefix, key)
			  : snprintf(out, cap, "%s", key);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int s3t_client(struct s3_target *st, const char *key, char okey[S3_KEY_MAX + 1],
		      struct s3_client **c)
{
	char err[256];
	int r = s3t_object_key(st, key, okey, S3_KEY_MAX + 1);

	if (r < 0)
		return r;
	r = s3_client_new(&st->conf, c, err, sizeof(err));
	if (r < 0)
		log_error("s3: %s", err);
	return r;
}

int s3t_pooled(struct s3_target *st, struct s3_client **c)
{
	char err[256];
	int r = s3_pool_get(st->pool, c, err, sizeof(err));

	if (r < 0)
		log_error("s3: %s", err);
	return r;
}

/* ---- probe: bucket, Object Lock, orphans ------------------------------------ */

static const char *probe_hint(int r)
{
	switch (r) {
	case -EACCES: return "access denied: check the credentials file and the bucket policy";
	case -ENXIO: return "the bucket does not exist";
	case -ETIME: return "the server says this dock's clock is wrong (RequestTimeTooSkewed)";
	default: return strerror(-r);
	}
}

/* Abort uploads under our prefix that uploads.db does not know (we crashed
 * between CreateMultipartUpload and recording it, or the database was
 * lost), and forget rows whose upload the server no longer has. Failures
 * are logged, not fatal: the next open sweeps again. */
static void sweep(struct s3_target *st, struct s3_client *c)
{
	char km[S3_KEY_MAX + 1] = "", im[S3_UPLOAD_ID_MAX + 1] = "", pfx[DOCK_CONFIG_PATH_MAX + 1];
	struct s3_upload *ups = calloc(UPLOAD_PAGE, sizeof(*ups));
	struct upstate_upload *rows = calloc(ROWS_MAX, sizeof(*rows));
	bool *seen = calloc(ROWS_MAX, sizeof(bool)), trunc = true, known;
	size_t n, nrows = 0, aborted = 0;
	struct s3_error e;
	int r = -ENOMEM;

	snprintf(pfx, sizeof(pfx), "%s%s", st->prefix, st->prefix[0] ? "/" : "");
	if (ups && rows && seen)
		r = upstate_list(st->up, rows, ROWS_MAX, &nrows);
	while (r == 0 && trunc) {
		r = s3_mpu_list(c, pfx, km, im, ups, UPLOAD_PAGE, &n, &trunc, &e);
		if (r < 0) {
			s3t_log_err("list multipart uploads under", pfx[0] ? pfx : "/", r, &e);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < nrows; j++)
				if (!strcmp(rows[j].key, ups[i].key) &&
				    !strcmp(rows[j].upload_id, ups[i].upload_id))
					seen[j] = true;
			if (upstate_known(st->up, ups[i].key, ups[i].upload_id, &known) < 0 || known)
				continue;
			log_warning("s3: aborting orphaned multipart upload %s of %s", ups[i].upload_id,
				    ups[i].key);
			int a = s3_mpu_abort(c, ups[i].key, ups[i].upload_id, &e);
			if (a < 0 && a != -ESRCH && a != -ENOENT)
				s3t_log_err("abort orphaned upload of", ups[i].key, a, &e);
			else
				aborted++;
		}
		if (n == 0)
			break;
	}
	for (size_t j = 0; r == 0 && nrows < ROWS_MAX && j < nrows; j++)
		if (!seen[j] && !strncmp(rows[j].key, pfx, strlen(pfx))) {
			log_info("s3: upload %s of %s is no longer on the server; forgetting it",
				 rows[j].upload_id, rows[j].key);
			(void)upstate_forget(st->up, rows[j].key);
		}
	if (aborted)
		log_info("s3: aborted %zu orphaned multipart upload(s)", aborted);
	free(ups);
	free(rows);
	free(seen);
}

/* Once per process (until it succeeds): reach the bucket, learn whether it
 * has Object Lock, sweep orphans. Serialised, and done before any upload
 * starts, so the sweep never races one of our own new uploads. */
int s3t_probe(struct s3_target *st, struct s3_client *c, bool *lock_enabled)
{
	struct s3_error e;
	bool en = false;
	int r = 0;

	pthread_mutex_lock(&st->mu);
	if (st->probed)
		goto out;
	r = s3_bucket_lock_enabled(c, &en, &e);
	if (r < 0) {
		log_error("s3: bucket %s at %s: %s (HTTP %ld %s: %s; %u attempts)", st->conf.bucket,
			  st->conf.endpoint, probe_hint(r), e.http_status, e.code[0] ? e.code : "-",
			  e.message[0] ? e.message : "-", e.attempts);
		goto out;
	}
	if (st->lock_required && !en) {
		log_error("s3: bucket %s has no Object Lock, and [s3] object_lock_required is set:"
			  " refusing to upload (create the bucket with Object Lock enabled)",
			  st->conf.bucket);
		r = -ENOTSUP;
		goto out;
	}
	st->lock_enabled = en;
	sweep(st, c);
	st->probed = true;
out:
	*lock_enabled = st->lock_enabled;
	pthread_mutex_unlock(&st->mu);
	return r;
}

/* ---- verify, close, open -------------------------------------------------- */

static int s3t_verify(struct store_target *t, const char *key, uint64_t size,
		      const uint8_t sha256[32])
{
	struct s3_target *st = t->impl;
	char okey[S3_KEY_MAX + 1];
	struct s3_client *c = NULL;
	struct s3_obj_info h;
	struct s3_error e;
	uint8_t got[32];
	uint64_t n = 0;
	bool lock;
	int r = s3t_object_key(st, key, okey, sizeof(okey));

	if (r == 0)
		r = s3t_pooled(st, &c);
	if (r < 0)
		return r;
	r = s3t_probe(st, c, &lock);
	if (r == 0)
		r = s3_head_object(c, okey, NULL, &h, &e);
	if (r == 0 && h.size != size) {
		log_error("s3: verify %s: size %" PRIu64 ", expected %" PRIu64, okey, h.size, size);
		r = -EBADMSG;
	} else if (r < 0 && r != -ENOENT && r != -ENOTSUP && !s3_error_permanent(r)) {
		s3t_log_err("verify (HEAD)", okey, r, &e);
	}
	if (r == 0 && st->read_back) {
		r = s3_get_object_sha256(c, okey, h.version_id, &n, got, &e);
		if (r < 0)
			s3t_log_err("verify (GET)", okey, r, &e);
		else if (n != size || memcmp(got, sha256, 32) != 0) {
			log_error("s3: verify %s: read-back content differs (%" PRIu64 " bytes)", okey,
				  n);
			r = -EBADMSG;
		}
	}
	s3_pool_put(st->pool, c);
	return r;
}

/* DELETE ?versionId=: a versioned bucket keeps every version until each
 * is deleted by id, so destruction names the version the dock uploaded;
 * Object Lock refuses (403 AccessDenied -> -EACCES) while the version's
 * retention or legal hold lasts. A HEAD of that version first tells an
 * absent object (-ENOENT) from a deletion. */
static int s3t_remove(struct store_target *t, const char *key, const char *version_id)
{
	struct s3_target *st = t->impl;
	char okey[S3_KEY_MAX + 1];
	struct s3_client *c = NULL;
	struct s3_obj_info h;
	struct s3_error e;
	int r = s3t_client(st, key, okey, &c);

	if (r < 0)
		return r;
	r = s3_head_object(c, okey, version_id, &h, &e);
	if (r == 0)
		r = s3_delete_object(c, okey, version_id && version_id[0] ? version_id : NULL, &e);
	if (r < 0 && r != -ENOENT)
		s3t_log_err("delete", okey, r, &e);
	s3_client_free(c);
	return r;
}

static int s3t_set_hold(struct store_target *t, const char *key, const char *version_id, bool on)
{
	struct s3_target *st = t->impl;
	char okey[S3_KEY_MAX + 1];
	struct s3_client *c = NULL;
	struct s3_error e;
	bool lock = false;
	int r = s3t_client(st, key, okey, &c);

	if (r < 0)
		return r;
	r = s3t_probe(st, c, &lock);
	if (r == 0 && !lock)
		r = -ENOTSUP;		/* no Object Lock on the bucket: no legal holds */
	if (r == 0)
		r = s3_put_legal_hold(c, okey, version_id && version_id[0] ? version_id : NULL,
				      on, &e);
	if (r < 0 && r != -ENOTSUP)
		s3t_log_err(on ? "legal hold on" : "legal hold off", okey, r, &e);
	s3_client_free(c);
	return r;
}

/* Free st and all it holds (any part may be missing), credentials wiped. */
static void target_free(struct s3_target *st)
{
	upstate_close(st->up);
	s3_pool_free(st->pool);
	s3_rate_free(st->rate);
	pthread_mutex_destroy(&st->mu);
	OPENSSL_cleanse(&st->conf, sizeof(st->conf));
	free(st);
}

static void s3t_close(struct store_target *t)
{
	target_free(t->impl);
}

static int s3t_prepare(struct store_target *t)
{
	struct s3_target *st = t->impl;
	struct s3_client *c = NULL;
	char err[256];
	bool lock;
	int r = s3_client_new(&st->conf, &c, err, sizeof(err));

	if (r < 0) {
		log_error("s3: %s", err);
		return r;
	}
	r = s3t_probe(st, c, &lock);
	s3_client_free(c);
	return r;
}

static const struct store_ops s3_ops = {
	.scheme = "s3",
	.put = s3t_put,
	.verify = s3t_verify,
	.remove = s3t_remove,
	.set_hold = s3t_set_hold,
	.close = s3t_close,
	.prepare = s3t_prepare,
	.hash = s3t_hash,
	.replace = s3t_replace,
	.fetch = s3t_fetch,
};

/* s3://BUCKET[/PREFIX]: the prefix may hold spaces and UTF-8, not control
 * characters; leading/trailing '/' are dropped. */
static int parse_url(const char *url, struct s3_target *st)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b), plen;
	const char *p = slash ? slash : "";

	if (strncmp(url, "s3://", 5) || blen < 3 || blen > 63)
		return -EINVAL;
	memcpy(st->conf.bucket, b, blen);
	st->conf.bucket[blen] = '\0';
	while (*p == '/')
		p++;
	plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	if (plen >= sizeof(st->prefix) || plen > S3_KEY_MAX - STORE_KEY_MAX - 1)
		return -EINVAL;
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return -EINVAL;
	memcpy(st->prefix, p, plen);
	st->prefix[plen] = '\0';
	return 0;
}

static int make_conf(const struct dock_config *c, const atomic_bool *cancel,
		     struct s3_target *st, char *err, size_t errlen)
{
	struct s3_conf *k = &st->conf;
	int r;

	if (c->s3_endpoint[0])
		snprintf(k->endpoint, sizeof(k->endpoint), "%s", c->s3_endpoint);
	else
		snprintf(k->endpoint, sizeof(k->endpoint), "https://s3.%s.amazonaws.com",
			 c->s3_region[0] ? c->s3_region : "us-east-1");
	snprintf(k->region, sizeof(k->region), "%s", c->s3_region[0] ? c->s3_region : "us-east-1");
	k->path_style = c->s3_path_style;
	snprintf(k->ca_file, sizeof(k->ca_file), "%s", c->s3_ca_file);
	k->connect_timeout_s = 10;
	k->low_speed_bps = 1024;
	k->low_speed_time_s = c->s3_low_speed_time_s ? c->s3_low_speed_time_s : 30;
	k->max_attempts = c->s3_max_attempts ? c->s3_max_attempts : 8;
	k->backoff_base_ms = 200;
	k->backoff_max_ms = 20000;
	k->cancel = cancel;
	if (!c->s3_credentials_file[0]) {
		snprintf(err, errlen, "[s3] credentials_file is required for %s", c->storage_target);
		return -EINVAL;
	}
	r = s3_creds_load(c->s3_credentials_file, &k->creds, err, errlen);
	if (r < 0)
		return r;
	r = s3_rate_new((uint64_t)c->bandwidth_mbit * 125000, &st->rate);
	if (r < 0) {
		snprintf(err, errlen, "s3: %s", strerror(-r));
		return r;
	}
	k->rate = st->rate;
	st->part_max = s3t_part_max(c);
	st->parallel = c->s3_parallel_parts ? c->s3_parallel_parts : 4;
	if (st->parallel > 64)
		st->parallel = 64;
	st->read_back = c->s3_read_back;
	st->lock_required = c->s3_lock_required;
	snprintf(st->lock_mode, sizeof(st->lock_mode), "%s", c->s3_lock_mode);
	if (st->lock_mode[0] && strcmp(st->lock_mode, "COMPLIANCE") &&
	    strcmp(st->lock_mode, "GOVERNANCE")) {
		snprintf(err, errlen, "[s3] lock_mode %s: use COMPLIANCE or GOVERNANCE", st->lock_mode);
		return -EINVAL;
	}
	return 0;
}

static unsigned pool_size(const struct dock_config *c, const struct s3_target *st)
{
	unsigned uploads = c->parallel_uploads ? c->parallel_uploads : 1;
	return uploads * (st->parallel + 1);
}

int store_s3_open(const struct dock_config *c, const atomic_bool *cancel,
		  struct store_target **out, char *err, size_t errlen)
{
	struct s3_target *st = calloc(1, sizeof(*st));
	struct s3_client *cl = NULL;
	char db[DOCK_CONFIG_PATH_MAX + 16];
	int r;

	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	r = parse_url(c->storage_target, st);
	if (r < 0) {
		snprintf(err, errlen, "[storage] target %s: use s3://BUCKET[/PREFIX]",
			 c->storage_target);
		goto fail;
	}
	r = make_conf(c, cancel, st, err, errlen);
	/* Enough idle clients for every thread that may hold one at once:
	 * each upload worker, plus its parts in flight. */
	if (r == 0)
		r = s3_pool_new(&st->conf, pool_size(c, st), &st->pool, err, errlen);
	if (r == 0)
		r = s3_pool_get(st->pool, &cl, err, errlen);
	if (r < 0)
		goto fail;
	snprintf(db, sizeof(db), "%s/uploads.db", c->state_dir);
	r = upstate_open(db, &st->up);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", db, strerror(-r));
		goto fail;
	}
	st->t.ops = &s3_ops;
	st->t.impl = st;
	/* Built once to check the configuration, then kept for the first
	 * request: no network here (issue 11, defect 9). */
	s3_pool_put(st->pool, cl);
	*out = &st->t;
	return 0;
fail:
	if (cl)
		s3_pool_put(st->pool, cl);
	target_free(st);
	return r;
}
