/* store.c - camsim's state directory (layout in camsim.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "camsim.h"
#include "edsig.h"

#define META_MAX 2048
#define IO_BUF (1024 * 1024)

int store_path(const struct cam_store *st, const char *name, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", st->dir, name);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* dir/rec/ID.ext */
static int rec_path(const struct cam_store *st, const char *id, const char *ext, char *buf,
		    size_t cap)
{
	int n = snprintf(buf, cap, "%s/rec/%s.%s", st->dir, id, ext);

	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static int fsync_dir_of(const char *path)
{
	char tmp[CAMSIM_PATH_MAX];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s", path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int store_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[CAMSIM_PATH_MAX];
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_dir_of(path);
}

/* Read a small text file (at most cap-1 bytes) NUL-terminated. */
static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -EIO;
	if ((size_t)n >= cap)
		return -EFBIG;
	buf[n] = '\0';
	return 0;
}

/* Value of "key value" line in text, copied into val (cap). */
static int get_kv(const char *text, const char *key, char *val, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *nl;
		size_t vl;

		if (strncmp(p, key, kl) != 0 || p[kl] != ' ')
			continue;
		nl = strchr(p, '\n');
		vl = nl ? (size_t)(nl - p - kl - 1) : strlen(p + kl + 1);
		if (vl >= cap)
			return -EFBIG;
		memcpy(val, p + kl + 1, vl);
		val[vl] = '\0';
		return 0;
	}
	return -ENOENT;
}

static int get_i64(const char *text, const char *key, int64_t *out)
{
	char v[32], *end;
	long long x;

	if (get_kv(text, key, v, sizeof(v)) < 0)
		return -EBADMSG;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -EBADMSG;
	*out = x;
	return 0;
}

int store_init(const char *dir, const char *serial, const char *model, const char *officer,
	       const char *agency_pub_path)
{
	struct cam_store st;
	struct edsig_key *dev = NULL, *agency = NULL;
	char path[CAMSIM_PATH_MAX], text[1024];
	int r, n;

	memset(&st, 0, sizeof(st));
	if (snprintf(st.dir, sizeof(st.dir), "%s", dir) >= (int)sizeof(st.dir))
		return -ENAMETOOLONG;
	if (!proto_id_valid(serial) || !proto_id_valid(officer) || !model || !*model ||
	    strlen(model) > PROTO_TEXT_MAX)
		return -EINVAL;
	r = edsig_load_public(agency_pub_path, &agency);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	if ((r = store_path(&st, "rec", path, sizeof(path))) < 0 ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST) ||
	    (r = store_path(&st, "receipts", path, sizeof(path))) < 0 ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST)) {
		r = r < 0 ? r : -errno;
		goto out;
	}
	if ((r = edsig_generate(&dev)) < 0 ||
	    (r = store_path(&st, "device.key", path, sizeof(path))) < 0 ||
	    (r = edsig_save_private(dev, path)) < 0 ||
	    (r = store_path(&st, "device.pub", path, sizeof(path))) < 0 ||
	    (r = edsig_save_public(dev, path)) < 0 ||
	    (r = store_path(&st, "agency.pub", path, sizeof(path))) < 0 ||
	    (r = edsig_save_public(agency, path)) < 0)
		goto out;
	n = snprintf(text, sizeof(text), "serial %s\nmodel %s\nfirmware camsim-1.0\nofficer %s\n",
		     serial, model, officer);
	if ((r = store_path(&st, "config", path, sizeof(path))) < 0 ||
	    (r = store_write_file(path, text, (size_t)n, 0600)) < 0)
		goto out;
	r = store_save_state(&st);
out:
	edsig_key_free(dev);
	edsig_key_free(agency);
	return r;
}

int store_save_state(const struct cam_store *st)
{
	char path[CAMSIM_PATH_MAX], text[128];
	int n = snprintf(text, sizeof(text), "clock_offset_ns %" PRId64 "\nreceipts %" PRIu64 "\n",
			 st->clock_offset_ns, st->receipts);
	int r = store_path(st, "state", path, sizeof(path));

	return r < 0 ? r : store_write_file(path, text, (size_t)n, 0600);
}

static int parse_meta(const char *text, struct cam_rec *m)
{
	char v[2 * PROTO_SHA256_LEN + 2];
	int64_t size = -1, lat = 0, lon = 0;

	if (get_i64(text, "size", &size) < 0 || size < 0 ||
	    get_kv(text, "sha256", v, sizeof(v)) < 0 ||
	    edsig_unhex(v, m->sha256, PROTO_SHA256_LEN) < 0 ||
	    get_i64(text, "start", &m->start_utc) < 0 || get_i64(text, "end", &m->end_utc) < 0 ||
	    get_kv(text, "category", m->category, sizeof(m->category)) < 0)
		return -EBADMSG;
	m->size = (uint64_t)size;
	m->has_gps = get_i64(text, "lat_e7", &lat) == 0 && get_i64(text, "lon_e7", &lon) == 0;
	m->lat_e7 = (int32_t)lat;
	m->lon_e7 = (int32_t)lon;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const struct cam_rec *)a)->id, ((const struct cam_rec *)b)->id);
}

static int load_one(struct cam_store *st, const char *name)
{
	char path[CAMSIM_PATH_MAX], text[META_MAX];
	struct cam_rec *m;
	size_t nl = strlen(name);

	if (nl < 6 || strcmp(name + nl - 5, ".meta") != 0 || nl - 5 > PROTO_ID_MAX)
		return 0;
	if (st->n >= CAMSIM_MAX_RECS)
		return -EFBIG;
	m = &st->recs[st->n];
	memset(m, 0, sizeof(*m));
	memcpy(m->id, name, nl - 5);
	if (!proto_id_valid(m->id))
		return 0;
	if (snprintf(path, sizeof(path), "%s/rec/%s", st->dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (read_small(path, text, sizeof(text)) < 0 || parse_meta(text, m) < 0) {
		fprintf(stderr, "camsim: ignoring unreadable %s\n", path);
		return 0;
	}
	st->n++;
	return 0;
}

static int load_recs(struct cam_store *st)
{
	char path[CAMSIM_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	st->recs = calloc(CAMSIM_MAX_RECS, sizeof(*st->recs));
	if (!st->recs)
		return -ENOMEM;
	if ((r = store_path(st, "rec", path, sizeof(path))) < 0)
		return r;
	d = opendir(path);
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d)) != NULL)
		r = load_one(st, de->d_name);
	closedir(d);
	qsort(st->recs, st->n, sizeof(*st->recs), cmp_rec);
	return r;
}

int store_open(const char *dir, struct cam_store *st)
{
	char path[CAMSIM_PATH_MAX], text[META_MAX];
	int64_t rc = 0;
	int r;

	memset(st, 0, sizeof(*st));
	if (snprintf(st->dir, sizeof(st->dir), "%s", dir) >= (int)sizeof(st->dir))
		return -ENAMETOOLONG;
	if ((r = store_path(st, "config", path, sizeof(path))) < 0 ||
	    (r = read_small(path, text, sizeof(text))) < 0)
		return r;
	if (get_kv(text, "serial", st->serial, sizeof(st->serial)) < 0 ||
	    get_kv(text, "model", st->model, sizeof(st->model)) < 0 ||
	    get_kv(text, "firmware", st->firmware, sizeof(st->firmware)) < 0 ||
	    get_kv(text, "officer", st->officer, sizeof(st->officer)) < 0)
		return -EBADMSG;
	if ((r = store_path(st, "state", path, sizeof(path))) < 0 ||
	    (r = read_small(path, text, sizeof(text))) < 0)
		return r;
	if (get_i64(text, "clock_offset_ns", &st->clock_offset_ns) < 0 ||
	    get_i64(text, "receipts", &rc) < 0)
		return -EBADMSG;
	st->receipts = (uint64_t)rc;
	r = load_recs(st);
	if (r < 0)
		store_free(st);
	return r;
}

void store_free(struct cam_store *st)
{
	free(st->recs);
	st->recs = NULL;
	st->n = 0;
}

const struct cam_rec *store_find(const struct cam_store *st, const char *id)
{
	struct cam_rec key;

	if (!proto_id_valid(id))
		return NULL;
	memset(&key, 0, sizeof(key));
	memcpy(key.id, id, strlen(id) + 1);
	return bsearch(&key, st->recs, st->n, sizeof(*st->recs), cmp_rec);
}

/* Copy src into dst (a new file) while hashing; *size gets the length. */
static int copy_hash(const char *src, const char *dst, uint8_t sha[PROTO_SHA256_LEN],
		     uint64_t *size)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, r = -EIO;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(IO_BUF);
	unsigned int ml = 0;
	uint64_t total = 0;
	ssize_t n;

	if (in < 0) {
		r = -errno;
		goto out;
	}
	if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	/* A hard link is enough for big bench files; fall back to a copy. */
	if (link(src, dst) < 0)
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	while ((n = read(in, buf, IO_BUF)) > 0) {
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto out;
		if (out >= 0 && write(out, buf, (size_t)n) != n)
			goto out;
		total += (uint64_t)n;
	}
	if (n < 0 || (out >= 0 && fsync(out) < 0) || access(dst, F_OK) < 0)
		goto out;
	if (EVP_DigestFinal_ex(md, sha, &ml) != 1 || ml != PROTO_SHA256_LEN)
		goto out;
	*size = total;
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	EVP_MD_CTX_free(md);
	free(buf);
	return r;
}

static int write_meta(const struct cam_store *st, const struct cam_rec *m)
{
	char path[CAMSIM_PATH_MAX], hex[2 * PROTO_SHA256_LEN + 1], text[META_MAX];
	int n;

	edsig_hex(m->sha256, PROTO_SHA256_LEN, hex, sizeof(hex));
	n = snprintf(text, sizeof(text),
		     "size %" PRIu64 "\nsha256 %s\nstart %" PRId64 "\nend %" PRId64 "\ncategory %s\n",
		     m->size, hex, m->start_utc, m->end_utc, m->category);
	if (m->has_gps && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "lat_e7 %d\nlon_e7 %d\n",
			      (int)m->lat_e7, (int)m->lon_e7);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EFBIG;
	if (rec_path(st, m->id, "meta", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return store_write_file(path, text, (size_t)n, 0600);
}

int store_add(struct cam_store *st, const struct cam_rec *meta, const char *src_path)
{
	char dst[CAMSIM_PATH_MAX];
	struct cam_rec m = *meta;
	int r;

	if (!proto_id_valid(m.id) || store_find(st, m.id))
		return -EEXIST;
	if (rec_path(st, m.id, "bin", dst, sizeof(dst)) < 0)
		return -ENAMETOOLONG;
	unlink(dst); /* leftover of an interrupted add: its .meta never existed */
	r = copy_hash(src_path, dst, m.sha256, &m.size);
	if (r == 0)
		r = write_meta(st, &m); /* the .meta appears last: it commits the add */
	if (r < 0)
		unlink(dst);
	return r;
}

static int save_receipt(const struct cam_store *st, const struct proto_receipt *r)
{
	char path[CAMSIM_PATH_MAX], sha[2 * PROTO_SHA256_LEN + 1], sig[2 * PROTO_SIG_LEN + 1];
	char text[1024];
	int n;

	edsig_hex(r->sha256, PROTO_SHA256_LEN, sha, sizeof(sha));
	edsig_hex(r->sig, PROTO_SIG_LEN, sig, sizeof(sig));
	n = snprintf(text, sizeof(text),
		     "recording_id %s\nsha256 %s\nlocation %s\ndock_id %s\nissued_utc %" PRId64
		     "\nsig %s\n", r->recording_id, sha, r->location, r->dock_id, r->issued_utc, sig);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EFBIG;
	if (snprintf(path, sizeof(path), "%s/receipts/%s", st->dir, r->recording_id) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return store_write_file(path, text, (size_t)n, 0600);
}

int store_release(struct cam_store *st, const char *id, const struct proto_receipt *rc)
{
	char path[CAMSIM_PATH_MAX];
	struct cam_rec *m = (struct cam_rec *)store_find(st, id);
	int r;

	if (!m)
		return -ENOENT;
	/* Receipt first, then the .meta (un-lists), then the bytes. */
	r = save_receipt(st, rc);
	if (r < 0)
		return r;
	if ((r = rec_path(st, id, "meta", path, sizeof(path))) < 0)
		return r;
	if (unlink(path) < 0)
		return -errno;
	if (rec_path(st, id, "bin", path, sizeof(path)) == 0)
		unlink(path);
	fsync_dir_of(path);
	memmove(m, m + 1, (size_t)(st->recs + st->n - (m + 1)) * sizeof(*m));
	st->n--;
	st->receipts++;
	return store_save_state(st);
}
