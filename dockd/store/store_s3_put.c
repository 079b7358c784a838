/* store_s3_put.c - the s3:// target's put and replace (store.h).
 *
 * put: write-once. HEAD first: an object already there with the same size
 * and the ETag our bytes give (or, failing that, a read-back SHA-256 equal
 * to ours) is success; anything else is -EEXIST. Small objects go in one
 * PUT; larger ones through the resumable multipart upload
 * (store_s3_mpu.c). Either way a HEAD must then show our size and ETag.
 * Then tags, the legal hold and the Object Lock retention are set and
 * checked (finish()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "store_s3_int.h"

/* S3 tag values allow letters, digits, spaces and + - = . _ : / @. */
static void tag(struct s3_tag *t, const char *k, const char *v)
{
	size_t i;

	snprintf(t->key, sizeof(t->key), "%s", k);
	for (i = 0; v[i] && i < sizeof(t->value) - 1; i++) {
		unsigned char ch = (unsigned char)v[i];
		t->value[i] = (ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			       (ch >= '0' && ch <= '9') || strchr(" +-=._:/@", ch))
				      ? (char)ch
				      : '_';
	}
	t->value[i] = '\0';
}

static size_t make_tags(const struct store_put_opts *o, struct s3_tag tags[3])
{
	size_t n = 0;

	if (o->category && o->category[0])
		tag(&tags[n++], "category", o->category);
	if (o->case_no && o->case_no[0])
		tag(&tags[n++], "case", o->case_no);
	if (o->retention_class && o->retention_class[0])
		tag(&tags[n++], "retention", o->retention_class);
	return n;
}

/* ---- put ---------------------------------------------------------------- */

/* The object exists: ours (same size and bytes) or -EEXIST. */
static int existing(struct s3_target *st, struct s3_client *c, const char *okey, int fd,
		    const struct s3_layout *l, const struct s3_obj_info *h, const uint8_t sha[32])
{
	char etag[S3_ETAG_MAX + 1];
	uint8_t got[32];
	uint64_t size = 0;
	struct s3_error e;
	int r;

	if (h->size != l->size) {
		log_error("s3: %s exists with %" PRIu64 " bytes, not our %" PRIu64 ": not overwritten",
			  okey, h->size, l->size);
		return -EEXIST;
	}
	r = s3t_local_etag(fd, l, etag);
	if (r < 0)
		return r;
	if (!strcasecmp(etag, h->etag))
		return 0;
	/* Another part size, or a server whose ETags are not MD5s: read it back. */
	r = s3_get_object_sha256(c, okey, h->version_id, &size, got, &e);
	if (r < 0) {
		s3t_log_err("read back existing", okey, r, &e);
		return r;
	}
	if (size == l->size && !memcmp(got, sha, 32))
		return 0;
	log_error("s3: %s exists with other content: not overwritten", okey);
	return -EEXIST;
}

static int single_put(struct s3_target *st, struct s3_client *c, const char *okey, int fd,
		      const struct s3_layout *l, const struct s3_put_opts *po,
		      struct s3_obj_info *head)
{
	struct s3_body body = { .fd = -1, .len = l->size };
	uint8_t *buf = malloc(l->size ? l->size : 1), md5[16] = { 0 }, sha[32];
	char want[33];
	struct s3_obj_info info;
	struct s3_error e;
	int r = buf ? s3t_read_digest(fd, 0, buf, l->size, md5, sha) : -ENOMEM;

	body.buf = buf;
	body.md5 = md5;
	body.sha256 = sha;
	if (r == 0) {
		uint64_t before = s3_client_sent(c);
		atomic_fetch_add(&st->part_bytes, l->size);
		r = s3_put_object(c, okey, &body, po, &info, &e);
		atomic_fetch_add(&st->wire_bytes, s3_client_sent(c) - before);
		if (r < 0)
			s3t_log_err("PUT", okey, r, &e);
	}
	free(buf);
	if (r == 0) {
		r = s3_head_object(c, okey, NULL, head, &e);
		if (r < 0)
			s3t_log_err("HEAD after PUT of", okey, r, &e);
	}
	s3t_hex(md5, 16, want);
	if (r == 0 && (head->size != l->size || strcasecmp(head->etag, want) != 0)) {
		log_error("s3: %s after PUT: size %" PRIu64 " ETag %s, expected %" PRIu64 " ETag %s",
			  okey, head->size, head->etag, l->size, want);
		r = -EBADMSG;
	}
	return r;
}

/* After the bytes are in place (or found there): tags (RGW 16 drops them on
 * CreateMultipartUpload), legal hold, and the Object Lock state check. */
static int finish(struct s3_client *c, const char *okey, const struct store_put_opts *o,
		  const struct s3_put_opts *po, bool lock, const struct s3_obj_info *h)
{
	struct s3_tag tags[3];
	size_t n = make_tags(o, tags);
	struct s3_error e;
	int r = 0;

	if (n)
		r = s3_put_tagging(c, okey, h->version_id, tags, n, &e);
	if (r < 0) {
		s3t_log_err("tag", okey, r, &e);
		return r;
	}
	if (lock && o->legal_hold && !h->legal_hold) {
		r = s3_put_legal_hold(c, okey, h->version_id, true, &e);
		if (r < 0) {
			s3t_log_err("legal hold on", okey, r, &e);
			return r;
		}
	}
	if (po->lock_mode && h->retain_until < po->retain_until) {
		/* RGW 16 drops the lock headers on CreateMultipartUpload */
		struct s3_obj_info h2;
		r = s3_put_retention(c, okey, h->version_id, po->lock_mode, po->retain_until, &e);
		if (r == 0)
			r = s3_head_object(c, okey, h->version_id, &h2, &e);
		if (r < 0) {
			s3t_log_err("set retention on", okey, r, &e);
			return r;
		}
		if (h2.retain_until < po->retain_until || strcmp(h2.lock_mode, po->lock_mode)) {
			log_error("s3: %s: the server kept %s retain-until %lld, we asked for %s"
				  " until %lld", okey, h2.lock_mode, (long long)h2.retain_until,
				  po->lock_mode, (long long)po->retain_until);
			return -EPROTO;
		}
	}
	return 0;
}

/* S3 refuses a retain-until in the past (400 InvalidArgument), and a
 * recording whose retention lapsed before it was uploaded would then never
 * be stored. Never lock for less than asked: a lapsed (or nearly lapsed)
 * date becomes one day from now, so the upload goes through and the object
 * is still protected while it is verified and released. */
#define LOCK_MIN_S 86400

static time_t lock_until(const char *okey, time_t asked)
{
	time_t floor = time(NULL) + LOCK_MIN_S;

	if (asked >= floor)
		return asked;
	log_warning("s3: %s: retention ends %lld, before now + 1 day: locking until %lld instead",
		    okey, (long long)asked, (long long)floor);
	return floor;
}

/* put, or (replace) a repair that uploads over an object that differs. */
static int put_common(struct store_target *t, const char *key, int fd, uint64_t size,
		      const struct store_put_opts *o, struct store_info *out, bool replace)
{
	struct s3_target *st = t->impl;
	char okey[S3_KEY_MAX + 1];
	struct s3_put_opts po = { 0 };
	struct s3_obj_info head;
	struct s3_layout l;
	struct s3_tag tags[3];
	struct s3_client *c = NULL;
	struct s3_error e;
	bool lock = false;
	int r;

	if (!o || !o->sha256 || (r = s3t_object_key(st, key, okey, sizeof(okey))) < 0)
		return -EINVAL;
	r = s3t_pooled(st, &c);
	if (r < 0)
		return r;
	r = s3t_probe(st, c, &lock);
	if (r == 0)
		r = s3t_layout(st, fd, size, &l);
	if (r < 0)
		goto out;
	if (lock && st->lock_mode[0] && o->retain_until > 0) {
		po.lock_mode = st->lock_mode;
		po.retain_until = lock_until(okey, o->retain_until);
	}
	po.legal_hold = lock && o->legal_hold;
	if (!lock && (o->legal_hold || o->retain_until > 0) &&
	    !atomic_exchange(&st->warned_nolock, true))
		log_warning("s3: bucket %s has no Object Lock: retention and legal holds rest on"
			    " the bucket's own policy (logged once)", st->conf.bucket);
	r = s3_head_object(c, okey, NULL, &head, &e);
	bool found = r == 0;
	if (found) {
		r = existing(st, c, okey, fd, &l, &head, o->sha256);
		if (r == -EEXIST && replace) {
			log_warning("s3: %s: repairing: a new version with the verified bytes", okey);
			r = -ENOENT;
		}
	}
	if (r == 0) {
		struct upstate_upload rec;
		if (upstate_get(st->up, okey, &rec) == 0) { /* completed, then we died */
			(void)s3_mpu_abort(c, okey, rec.upload_id, &e);
			(void)upstate_forget(st->up, okey);
		}
		if (o->progress)
			atomic_fetch_add(o->progress, size);
	} else if (r == -ENOENT) {
		if (l.nparts == 1) {
			po.tags = tags;
			po.n_tags = make_tags(o, tags);
			r = s3t_srccheck(fd, size, okey, o->sha256);
			if (r == 0)
				r = single_put(st, c, okey, fd, &l, &po, &head);
			if (r == 0 && o->progress)
				atomic_fetch_add(o->progress, size);
		} else {
			r = s3t_multipart(st, c, okey, fd, &l, o, &po, &head);
		}
	} else if (!found) {
		s3t_log_err("HEAD", okey, r, &e);
	}
	if (r == 0)
		r = finish(c, okey, o, &po, lock, &head);
	if (r == 0) {
		memset(out, 0, sizeof(*out));
		int n = snprintf(out->location, sizeof(out->location), "s3://%s/%s", st->conf.bucket,
				 okey);
		if (n < 0 || (size_t)n >= sizeof(out->location))
			r = -ENAMETOOLONG;
		if (strlen(head.version_id) >= sizeof(out->version_id) ||
		    strlen(head.etag) >= sizeof(out->etag))
			r = -ENAMETOOLONG; /* store.h's fields are smaller than S3 allows */
		else {
			memcpy(out->version_id, head.version_id, strlen(head.version_id) + 1);
			memcpy(out->etag, head.etag, strlen(head.etag) + 1);
		}
		uint64_t nreq, ncon, ntls, nres;
		char tls[96] = "";
		s3_pool_put(st->pool, c); /* this put's requests in the totals */
		c = NULL;
		s3_pool_stats(st->pool, &nreq, &ncon);
		s3_pool_tls_stats(st->pool, &ntls, &nres);
		if (ntls)
			snprintf(tls, sizeof(tls), " (TLS: %" PRIu64 " handshakes, %" PRIu64
				 " resumed a session)", ntls, nres);
		log_info("s3: stored %s (%" PRIu64 " bytes, %u part(s)); part bytes sent so far %" PRIu64
			 ", on the wire %" PRIu64 "; %" PRIu64 " requests over %" PRIu64
			 " new connections so far%s", out->location, size, l.nparts,
			 atomic_load(&st->part_bytes), atomic_load(&st->wire_bytes), nreq, ncon, tls);
	}
out:
	s3_pool_put(st->pool, c);
	return r;
}

int s3t_put(struct store_target *t, const char *key, int fd, uint64_t size,
		   const struct store_put_opts *o, struct store_info *out)
{
	return put_common(t, key, fd, size, o, out, false);
}

int s3t_replace(struct store_target *t, const char *key, int fd, uint64_t size,
		       const struct store_put_opts *o, struct store_info *out)
{
	return put_common(t, key, fd, size, o, out, true);
}
