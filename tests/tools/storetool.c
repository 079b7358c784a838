/* storetool - drive a storage target (dockd/store/store.h) outside dockd, for
 * tests and benches.
 *
 *   storetool --config dockd.conf [-v] [--uploader DOCKD] [--timed] put KEY FILE
 *             [--category C] [--case N] [--retention R] [--retain-until UNIX_S]
 *             [--legal-hold] [--sha256 HEX]
 *   storetool --config dockd.conf [-v] [--uploader DOCKD] [--timed] verify KEY FILE
 *             [--sha256 HEX]
 *   storetool --config dockd.conf [-v] orphans
 *   storetool --config dockd.conf seal IN OUT     (encrypt IN as dockd does)
 *   storetool --config dockd.conf head KEY        (s3:// only)
 *   storetool --config dockd.conf get KEY OUT     (s3:// only)
 *
 * put/verify take FILE's size and SHA-256 as the expected ones; with
 * `--sha256 HEX` (what dockd has from its ledger) FILE is not hashed first.
 * `--uploader DOCKD` (an s3:// target, DOCKD the absolute path of dockd)
 * runs the put or verify as dockd does: in the storage uploader process
 * (`DOCKD --store-worker`, store_open_uploader() in store.h), FILE and its
 * part digests handed over as descriptors; without it the S3 client runs
 * in this process (store_open()). `--timed` first prepares the target (the
 * probe dockd's storage worker makes once when it starts: bucket, Object
 * Lock, orphaned uploads) and then prints "ms N", the milliseconds of the
 * put or verify call alone (benches: what one recording costs a running
 * dock, without this process's start).
 * `seal` encrypts the plaintext IN to the evidence file OUT for the
 * configured [encryption] recipients and chunk size (streaming writer,
 * fsync at the end) and prints "sha256 HEX" of OUT, computed while
 * writing, as dockd's ingest does (benches: plaintext -> vault -> S3). `orphans`
 * opens and prepares the target (which aborts orphaned multipart uploads) and prints the
 * uploads still open under the prefix, one "KEY<TAB>UPLOAD_ID" line each,
 * then "uploads N". `head` prints size, etag, version, lock mode,
 * retain_until, legal_hold and tags as "name value" lines.
 * Failures print "storetool: WHAT: MESSAGE (-ERRNO)" and exit 1; usage 2.
 * SIGTERM/SIGINT cancel a running put (it returns -ECANCELED, resumable).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agencykey.h"
#include "config.h"
#include "dwrite.h"
#include "evfile.h"
#include "log.h"
#include "partsum.h"
#include "s3.h"
#include "store.h"
#include "store_s3_int.h"

static atomic_bool cancel_flag;
static const char *uploader; /* --uploader DOCKD */
static bool timed;           /* --timed */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&cancel_flag, true);
}

static int usage(void)
{
	fprintf(stderr, "usage: storetool --config FILE [-v] [--uploader DOCKD] [--timed] put KEY"
			" FILE [--category C] [--case N] [--retention R] [--retain-until T]"
			" [--legal-hold] [--sha256 HEX]\n"
			"       storetool --config FILE [-v] [--uploader DOCKD] [--timed] verify KEY"
			" FILE [--sha256 HEX]\n"
			"       storetool --config FILE [-v] orphans | head KEY | get KEY OUT |"
			" seal IN OUT\n");
	return 2;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "storetool: %s: %s (%d)\n", what, strerror(-r), r);
	return 1;
}

static int file_sha256(int fd, uint64_t *size, uint8_t md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static uint8_t buf[1 << 20];
	uint64_t n = 0;
	ssize_t k;
	int r = -EIO;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((k = pread(fd, buf, sizeof(buf), (off_t)n)) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)k) != 1)
			goto out;
		n += (uint64_t)k;
	}
	if (k < 0 || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	*size = n;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

static int given_sha256(int fd, const char *hex, uint64_t *size, uint8_t md[32])
{
	struct stat st;

	if (strlen(hex) != 64 || fstat(fd, &st) != 0)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		md[i] = (uint8_t)v;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* evfile output: to the writer thread (dockd/ingest/dwrite.h), as dockd's ingest
 * writes it: the ciphertext SHA-256 (and with an s3:// target each part's
 * digests) are taken there while this thread encrypts. */
struct seal_out {
	struct dwrite *dw;
	struct partsum *ps; /* s3:// target: part digests, as dockd's ingest takes them */
};

static int seal_write(void *arg, const void *buf, size_t len)
{
	struct seal_out *o = arg;

	return dwrite_append(o->dw, buf, len);
}

static void seal_tap(void *ctx, const uint8_t *buf, size_t len)
{
	(void)partsum_feed(ctx, buf, len);
}

/* With an s3:// target: the part digests dockd's ingest would take
 * (dockd/ingest/ingest_open.c parts_start). */
static int seal_parts(const struct dock_config *c, struct evfile_writer *w, unsigned log2,
		      uint64_t size, struct seal_out *o)
{
	struct partsum_plan plan;
	size_t hlen = 0;
	int r;

	if (!evfile_writer_header(w, &hlen) || s3t_evfile_plan(c, hlen, log2, size, &plan) < 0)
		return 0;
	if ((r = partsum_new(&plan, &o->ps)) < 0)
		return r;
	return dwrite_set_tap(o->dw, seal_tap, o->ps);
}

static int cmd_seal(const struct dock_config *c, const char *in, const char *out)
{
	static uint8_t buf[1 << 20];
	struct evfile_meta meta = { .recording_id = "SEAL" };
	struct evfile_writer *w = NULL;
	EVP_PKEY *keys[DOCK_CONFIG_MAX_RECIPIENTS] = { 0 };
	struct seal_out o = { 0 };
	struct stat st;
	uint8_t md[32];
	uint64_t ctlen = 0;
	char hex[65];
	int ifd = open(in, O_RDONLY | O_CLOEXEC), fd, r = 0;
	ssize_t n;

	for (unsigned l = 12; l <= 24; l++)
		if ((1u << l) == c->chunk_size)
			meta.chunk_log2 = l;
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ifd < 0 || fd < 0 || fstat(ifd, &st) != 0)
		r = -errno;
	if (!r)
		r = dwrite_open(fd, 0, true, &o.dw);
	for (size_t i = 0; !r && i < c->n_recipients; i++)
		r = agencykey_load_public(c->recipients[i], &keys[i]);
	if (!r)
		r = evfile_writer_open(&w, keys, c->n_recipients, &meta, seal_write, &o);
	if (!r)
		r = evfile_writer_set_size(w, (uint64_t)st.st_size);
	if (!r)
		r = seal_parts(c, w, meta.chunk_log2 ? meta.chunk_log2 : EVFILE_CHUNK_LOG2_DEFAULT,
			       (uint64_t)st.st_size, &o);
	while (!r && (n = read(ifd, buf, sizeof(buf))) != 0)
		r = n < 0 ? -errno : evfile_writer_write(w, buf, (size_t)n);
	if (!r)
		r = evfile_writer_finish(w, NULL, NULL);
	if (!r)
		r = dwrite_flush(o.dw);
	if (!r && fsync(fd) != 0)
		r = -errno;
	if (!r)
		r = dwrite_sha256(o.dw, &ctlen, md);
	if (!r && o.ps) {
		char path[PATH_MAX];

		r = partsum_path(out, path, sizeof(path));
		if (!r)
			r = partsum_save(o.ps, path, md);
	}
	dwrite_free(o.dw);
	partsum_free(o.ps);
	evfile_writer_free(w);
	for (size_t i = 0; i < c->n_recipients; i++)
		EVP_PKEY_free(keys[i]);
	if (ifd >= 0)
		close(ifd);
	if (fd >= 0)
		close(fd);
	if (r)
		return fail("seal", r);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	printf("sha256 %s\n", hex);
	return 0;
}

/* A client on the configuration's [s3] settings, for `orphans` and `head`. */
static int s3_direct(const struct dock_config *c, struct s3_conf *k, struct s3_client **cl,
		     char *prefix, size_t cap)
{
	const char *b = c->storage_target + 5, *slash;
	char err[256];
	int r;

	if (strncmp(c->storage_target, "s3://", 5))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	slash = strchr(b, '/');
	snprintf(k->bucket, sizeof(k->bucket), "%.*s", slash ? (int)(slash - b) : (int)strlen(b), b);
	snprintf(prefix, cap, "%s", slash ? slash + 1 : "");
	while (prefix[0] && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	size_t pl = strlen(prefix);
	if (pl && pl + 1 < cap) {
		prefix[pl] = '/';
		prefix[pl + 1] = '\0';
	}
	snprintf(k->endpoint, sizeof(k->endpoint), "%s", c->s3_endpoint);
	snprintf(k->region, sizeof(k->region), "%s", c->s3_region[0] ? c->s3_region : "us-east-1");
	k->path_style = c->s3_path_style;
	snprintf(k->ca_file, sizeof(k->ca_file), "%s", c->s3_ca_file);
	k->max_attempts = 3;
	k->low_speed_bps = 1024;
	k->low_speed_time_s = 30;
	k->connect_timeout_s = 10;
	k->backoff_base_ms = 100;
	k->backoff_max_ms = 2000;
	r = s3_creds_load(c->s3_credentials_file, &k->creds, err, sizeof(err));
	if (r == 0)
		r = s3_client_new(k, cl, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "storetool: %s\n", err);
	return r;
}

static int cmd_orphans(const struct dock_config *c)
{
	char km[S3_KEY_MAX + 1] = "", im[S3_UPLOAD_ID_MAX + 1] = "", prefix[DOCK_CONFIG_PATH_MAX];
	static struct s3_upload ups[100];
	struct s3_client *cl = NULL;
	struct s3_conf k;
	struct s3_error e;
	bool trunc = true;
	size_t n, total = 0;
	int r = s3_direct(c, &k, &cl, prefix, sizeof(prefix));

	while (r == 0 && trunc) {
		r = s3_mpu_list(cl, prefix, km, im, ups, 100, &n, &trunc, &e);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("%s\t%s\n", ups[i].key, ups[i].upload_id);
		total += n;
		if (n == 0)
			break;
	}
	s3_client_free(cl);
	s3_creds_wipe(&k.creds);
	if (r < 0)
		return fail("list uploads", r);
	printf("uploads %zu\n", total);
	return 0;
}

static int cmd_head(const struct dock_config *c, const char *key)
{
	char prefix[DOCK_CONFIG_PATH_MAX], okey[S3_KEY_MAX + 1];
	struct s3_client *cl = NULL;
	struct s3_obj_info h;
	struct s3_tag tags[S3_TAGS_MAX];
	struct s3_conf k;
	struct s3_error e;
	size_t nt = 0;
	int r = s3_direct(c, &k, &cl, prefix, sizeof(prefix));

	snprintf(okey, sizeof(okey), "%s%s", prefix, key);
	if (r == 0)
		r = s3_head_object(cl, okey, NULL, &h, &e);
	if (r == 0)
		r = s3_get_tagging(cl, okey, h.version_id, tags, S3_TAGS_MAX, &nt, &e);
	s3_client_free(cl);
	s3_creds_wipe(&k.creds);
	if (r < 0)
		return fail("head", r);
	printf("size %llu\netag %s\nversion %s\nlock_mode %s\nretain_until %lld\nlegal_hold %d\n",
	       (unsigned long long)h.size, h.etag, h.version_id[0] ? h.version_id : "-",
	       h.lock_mode[0] ? h.lock_mode : "-", (long long)h.retain_until, h.legal_hold);
	for (size_t i = 0; i < nt; i++)
		printf("tag %s=%s\n", tags[i].key, tags[i].value);
	return 0;
}

static int cmd_get(const struct dock_config *c, const char *key, const char *path)
{
	char prefix[DOCK_CONFIG_PATH_MAX], okey[S3_KEY_MAX + 1];
	struct s3_client *cl = NULL;
	struct s3_conf k;
	struct s3_error e;
	int fd, r = s3_direct(c, &k, &cl, prefix, sizeof(prefix));

	snprintf(okey, sizeof(okey), "%s%s", prefix, key);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = s3_get_object_fd(cl, okey, NULL, fd, UINT64_MAX, &e);
	if (fd >= 0)
		close(fd);
	s3_client_free(cl);
	s3_creds_wipe(&k.creds);
	return r < 0 ? fail("get", r) : 0;
}

static int cmd_put_verify(const struct dock_config *c, int put, int argc, char **argv)
{
	struct store_put_opts o = { 0 };
	struct store_target *t = NULL;
	struct store_info info;
	_Atomic uint64_t progress = 0;
	struct timespec t0, t1;
	uint8_t sha[32];
	uint64_t size = 0;
	char err[512], sums[PATH_MAX];
	int fd, r;

	const char *sha_hex = NULL;

	if (argc < 2)
		return usage();
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--legal-hold"))
			o.legal_hold = true;
		else if (i + 1 >= argc)
			return usage();
		else if (!strcmp(argv[i], "--sha256"))
			sha_hex = argv[++i];
		else if (!strcmp(argv[i], "--category"))
			o.category = argv[++i];
		else if (!strcmp(argv[i], "--case"))
			o.case_no = argv[++i];
		else if (!strcmp(argv[i], "--retention"))
			o.retention_class = argv[++i];
		else if (!strcmp(argv[i], "--retain-until"))
			o.retain_until = (time_t)strtoll(argv[++i], NULL, 10);
		else
			return usage();
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(argv[1], -errno);
	r = sha_hex ? given_sha256(fd, sha_hex, &size, sha) : file_sha256(fd, &size, sha);
	if (r < 0) {
		close(fd);
		return fail(argv[1], r);
	}
	o.sha256 = sha;
	o.progress = &progress;
	if (partsum_path(argv[1], sums, sizeof(sums)) == 0 &&
	    access(sums, F_OK) == 0)
		o.part_sums = sums; /* left by `seal`, as dockd's ingest leaves one */
	if (uploader)
		r = store_open_uploader(uploader, c, &cancel_flag, NULL, NULL, &t, err, sizeof(err));
	else
		r = store_open(c, &cancel_flag, &t, err, sizeof(err));
	if (r < 0) {
		close(fd);
		fprintf(stderr, "storetool: %s\n", err);
		return fail("open", r);
	}
	if (timed && (r = store_prepare(t)) < 0) {
		store_close(t);
		close(fd);
		return fail("prepare", r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (put) {
		memset(&info, 0, sizeof(info));
		r = store_put(t, argv[0], fd, size, &o, &info);
		if (r == 0)
			printf("location %s\nversion %s\netag %s\nprogress %llu\n", info.location,
			       info.version_id[0] ? info.version_id : "-", info.etag,
			       (unsigned long long)atomic_load(&progress));
	} else {
		r = store_verify(t, argv[0], size, sha);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r == 0 && timed)
		printf("ms %lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
					 (t1.tv_nsec - t0.tv_nsec) / 1000000);
	store_close(t);
	close(fd);
	return r < 0 ? fail(put ? "put" : "verify", r) : 0;
}

int main(int argc, char **argv)
{
	struct dock_config c;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int i = 1, r;

	if (argc < 4 || strcmp(argv[1], "--config"))
		return usage();
	r = dock_config_load(argv[2], &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "storetool: %s\n", err);
		return 1;
	}
	log_set_level(c.log_level);
	i = 3;
	if (!strcmp(argv[i], "-v")) {
		log_set_level(DOCK_LOG_DEBUG);
		i++;
	}
	if (i + 1 < argc && !strcmp(argv[i], "--uploader")) {
		uploader = argv[i + 1];
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "--timed")) {
		timed = true;
		i++;
	}
	if (i >= argc)
		return usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!strcmp(argv[i], "put"))
		r = cmd_put_verify(&c, 1, argc - i - 1, argv + i + 1);
	else if (!strcmp(argv[i], "verify"))
		r = cmd_put_verify(&c, 0, argc - i - 1, argv + i + 1);
	else if (!strcmp(argv[i], "orphans")) {
		struct store_target *t = NULL;
		r = store_open(&c, NULL, &t, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "storetool: %s\n", err);
			return fail("open", r);
		}
		(void)store_prepare(t); /* the sweep; opening makes no request */
		store_close(t);
		r = cmd_orphans(&c);
	} else if (!strcmp(argv[i], "seal") && i + 2 < argc)
		r = cmd_seal(&c, argv[i + 1], argv[i + 2]);
	else if (!strcmp(argv[i], "get") && i + 2 < argc)
		r = cmd_get(&c, argv[i + 1], argv[i + 2]);
	else if (!strcmp(argv[i], "head") && i + 1 < argc)
		r = cmd_head(&c, argv[i + 1]);
	else
		r = usage();
	dock_config_free(&c);
	return r;
}
