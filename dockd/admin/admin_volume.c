/* admin_volume.c - `dockd volume-scan`: read a USB mass-storage camera's
 * volume (a block device, an image file, or a directory copy) through the
 * same sandboxed reader the dock uses (volc.h) and print what a camera
 * profile makes of it; --verify reads each file twice (the second time
 * past the page cache) and compares. docs/dockd.md, "volume-scan". Reads
 * only: it writes nothing to the volume, the vault or the ledger. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "admin.h"
#include "config.h"
#include "volc.h"
#include "volkern.h"
#include "volsess.h"
#include "wire.h"

#define MIB (1024u * 1024u)
#define SCAN_TIMEOUT_MS 30000

struct scan {
	struct volc *v;
	const struct msc_profile *p;
	int verify;
	unsigned n_rec, n_side, n_skip, bad;
	int err;
};

struct hashes {
	EVP_MD_CTX *all, *head, *tail;
	uint64_t pos, size;
};

static int sink(void *ctx, const uint8_t *b, size_t n)
{
	struct hashes *h = ctx;
	uint64_t tail_from = h->size > MIB ? h->size - MIB : 0;

	if (EVP_DigestUpdate(h->all, b, n) != 1)
		return -EIO;
	if (h->head && h->pos < MIB) {
		size_t k = MIB - h->pos < n ? (size_t)(MIB - h->pos) : n;
		if (EVP_DigestUpdate(h->head, b, k) != 1)
			return -EIO;
	}
	if (h->tail && h->pos + n > tail_from) {
		size_t skip = h->pos < tail_from ? (size_t)(tail_from - h->pos) : 0;
		if (EVP_DigestUpdate(h->tail, b + skip, n - skip) != 1)
			return -EIO;
	}
	h->pos += n;
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void le(uint8_t *o, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (8 * i));
}

/* Read the file twice; its SHA-256, its identity (docs/dockd.md), and
 * whether the uncached second read gave the same bytes. */
static int verify_file(struct scan *s, const struct volc_file *f, uint8_t sha[32],
		       uint8_t id[32], int *same)
{
	struct hashes h = { EVP_MD_CTX_new(), EVP_MD_CTX_new(), EVP_MD_CTX_new(), 0, f->size };
	uint8_t head[32], tail[32], again[32], num[16];
	unsigned int l;
	int r = -ENOMEM;

	if (!h.all || !h.head || !h.tail || !EVP_DigestInit_ex(h.all, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(h.head, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(h.tail, EVP_sha256(), NULL))
		goto fail;
	if ((r = volc_read(s->v, f->index, 0, f->size, 0, sink, &h)) < 0)
		goto fail;
	r = -EIO;
	if (!EVP_DigestFinal_ex(h.all, sha, &l) || !EVP_DigestFinal_ex(h.head, head, &l) ||
	    !EVP_DigestFinal_ex(h.tail, tail, &l))
		goto fail;
	/* identity: stable across dockings, computed without the whole file */
	le(num, f->size);
	le(num + 8, (uint64_t)f->mtime_s);
	if (!EVP_DigestInit_ex(h.all, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(h.all, "dockd-msc-identity/v1", 22) ||
	    !EVP_DigestUpdate(h.all, f->path, strlen(f->path) + 1) ||
	    !EVP_DigestUpdate(h.all, num, sizeof(num)) || !EVP_DigestUpdate(h.all, head, 32) ||
	    !EVP_DigestUpdate(h.all, tail, 32) || !EVP_DigestFinal_ex(h.all, id, &l))
		goto fail;
	EVP_MD_CTX_free(h.head);
	EVP_MD_CTX_free(h.tail);
	h.head = h.tail = NULL;
	h.pos = 0;
	if (!EVP_DigestInit_ex(h.all, EVP_sha256(), NULL))
		goto fail;
	if ((r = volc_read(s->v, f->index, 0, f->size, 1, sink, &h)) < 0)
		goto fail;
	r = EVP_DigestFinal_ex(h.all, again, &l) ? 0 : -EIO;
	if (r == 0)
		*same = !memcmp(sha, again, 32);
fail:
	EVP_MD_CTX_free(h.all);
	EVP_MD_CTX_free(h.head);
	EVP_MD_CTX_free(h.tail);
	return r;
}

static int on_file(void *ctx, const struct volc_file *f)
{
	struct scan *s = ctx;
	time_t t = (time_t)(f->mtime_s - s->p->tz_offset_s); /* file times are local */
	struct tm tm;
	char when[32] = "?";

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (f->kind == PROFILE_RECORDING)
		s->n_rec++;
	else if (f->kind == PROFILE_SIDECAR)
		s->n_side++;
	printf("file %s %s size=%llu mtime=%s\n", f->kind == PROFILE_RECORDING ? "recording" :
	       f->kind == PROFILE_SIDECAR ? "sidecar" : "camera-id", f->path,
	       (unsigned long long)f->size, when);
	return 0;
}


/* Listing done: --verify reads each file (the listing callback cannot:
 * the channel is busy with the listing). */
struct idx {
	struct volc_file *f;
	char (*path)[PROFILE_PATH_MAX + 1];
	size_t n, cap;
};

static int collect(void *ctx, const struct volc_file *f)
{
	struct idx *x = ctx;

	if (x->n == x->cap) {
		size_t nc = x->cap ? 2 * x->cap : 64;
		struct volc_file *nf = realloc(x->f, nc * sizeof(*nf));
		char (*np)[PROFILE_PATH_MAX + 1];

		if (!nf)
			return -ENOMEM;
		x->f = nf;
		np = realloc(x->path, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		x->path = np;
		x->cap = nc;
	}
	x->f[x->n] = *f;
	snprintf(x->path[x->n], sizeof(x->path[0]), "%s", f->path);
	x->f[x->n].path = NULL;
	x->n++;
	return 0;
}

struct both {
	struct scan *s;
	struct idx *x;
};

static void on_skip(void *ctx, const char *why, const char *path)
{
	struct both *b = ctx;

	b->s->n_skip++;
	printf("skip %s: %s\n", path, why);
}

static int on_file_both(void *ctx, const struct volc_file *f)
{
	struct both *b = ctx;
	int r = on_file(b->s, f);

	return r ? r : collect(b->x, f);
}

/* The camera's id from the profile's id_file: at most ID_FILE_CAP bytes,
 * trailing blanks and line ends dropped, and then a valid protocol id
 * (docs/protocol.md) or it is refused. Prints "camera-id ..."; 0 or the
 * read's error. */
static int read_id(struct volc *v, const struct volc_file *f)
{
	char id[VOLSESS_ID_FILE_CAP + 1];
	int r = volsess_read_id(v, f, id, sizeof(id));

	if (r == -EFBIG)
		printf("camera-id refused: %s is over %u bytes\n", f->path, VOLSESS_ID_FILE_CAP);
	else if (r == -EINVAL)
		printf("camera-id refused: %s does not hold a valid id\n", f->path);
	else if (r < 0)
		return r;
	else
		printf("camera-id %s\n", id);
	return 0;
}

static int usage(void)
{
	fputs("usage: dockd [--config FILE] volume-scan [--profile NAME] [--fs auto|vfat|exfat|dir]"
	      " [--verify] SOURCE\n", stderr);
	return 2;
}

int admin_volume_scan(const char *config, int argc, char **argv)
{
	struct dock_config *c = calloc(1, sizeof(*c));
	struct msc_profile gen;
	const char *pname = "generic-dcim", *fs = "auto", *src = NULL;
	struct scan s = { 0 };
	struct idx x = { 0 };
	struct both b = { &s, &x };
	char err[640];
	int r, rc = 1, st;

	if (!c)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0); /* a line per file as it is read */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			pname = argv[++i];
		else if (!strcmp(argv[i], "--fs") && i + 1 < argc)
			fs = argv[++i];
		else if (!strcmp(argv[i], "--verify"))
			s.verify = 1;
		else if (argv[i][0] != '-' && !src)
			src = argv[i];
		else {
			free(c);
			return usage();
		}
	}
	if (!src) {
		free(c);
		return usage();
	}
	profile_generic(&gen);
	s.p = &gen;
	if (config) {
		if (dock_config_load(config, c, err, sizeof(err)) < 0) {
			fprintf(stderr, "dockd volume-scan: %s\n", err);
			goto out;
		}
		s.p = dock_config_profile(c, pname);
		/* the reader the dock would use ([dock] volume_driver) */
		if (volk_configure(c->volume_kernel, err, sizeof(err)) < 0) {
			fprintf(stderr, "dockd volume-scan: %s: %s\n", config, err);
			goto out;
		}
	} else if (strcmp(pname, gen.name)) {
		s.p = NULL;
	}
	if (!s.p) {
		fprintf(stderr, "dockd volume-scan: no profile '%s' (give --config)\n", pname);
		goto out;
	}
	if ((r = volc_open(fs, src, SCAN_TIMEOUT_MS, &s.v)) < 0) {
		fprintf(stderr, "dockd volume-scan: %s: %s\n", src, strerror(-r));
		goto out;
	}
	r = volc_list(s.v, s.p, on_file_both, on_skip, &b);
	if (r == -E2BIG)
		fprintf(stderr, "dockd volume-scan: refused: more than max_files=%u entries in "
			"the directories profile '%s' enters\n", s.p->max_files, s.p->name);
	for (size_t i = 0; r == 0 && i < x.n; i++)
		if (x.f[i].kind == PROFILE_ID) {
			x.f[i].path = x.path[i];
			r = read_id(s.v, &x.f[i]);
			if (r == -ESTALE || r == -ENODATA) {
				printf("camera-id refused: %s changed while it was read\n", x.path[i]);
				r = 0;
			}
		}
	for (size_t i = 0; r == 0 && s.verify && i < x.n; i++) {
		uint8_t sha[32], id[32];
		char hs[65], hi[65];
		int same = 0;

		x.f[i].path = x.path[i];
		r = verify_file(&s, &x.f[i], sha, id, &same);
		if (r == -ESTALE || r == -ENODATA) {
			printf("changed %s: the file changed while it was read\n", x.path[i]);
			s.bad++;
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		hex(sha, 32, hs);
		hex(id, 32, hi);
		printf("verify %s sha256=%s identity=%s %s\n", x.path[i], hs, hi,
		       same ? "re-read-equal" : "RE-READ-DIFFERS");
		s.bad += !same;
	}
	if (r < 0 && r != -E2BIG)
		fprintf(stderr, "dockd volume-scan: %s%s%s\n", strerror(-r),
			*volc_why(s.v) ? ": " : "", volc_why(s.v));
	st = volc_close(s.v);
	if (r == 0 && st != 0) {
		fprintf(stderr, "dockd volume-scan: the volume could not be read (reader status "
			"%d)\n", st);
		r = -EIO;
	}
	if (r == 0) {
		printf("files %u recordings %u sidecars %u skipped %u\n", s.n_rec + s.n_side,
		       s.n_rec, s.n_side, s.n_skip);
		rc = s.bad ? 1 : 0;
	}
out:
	free(x.f);
	free(x.path);
	free(c);
	return rc;
}
