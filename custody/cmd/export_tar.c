/*
 * export_tar.c - the tar writer of `custody export` (export_int.h): the
 * bag's files in order, each hashed as it is written, then the manifests
 * (docs/court-package.md "Package layout").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "agencynote.h"
#include "export.h"
#include "export_int.h"
#include "tlogproof.h"

void exp_hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* Append "<sha>  <name>\n" to a manifest buffer (capped). */
int exp_list_add(char **buf, size_t *len, const char *sha, const char *name)
{
	size_t need = 64 + 2 + strlen(name) + 1;
	char *p;

	if (*len + need + 1 > EXP_LIST_MAX)
		return -E2BIG;
	if (!(p = realloc(*buf, *len + need + 1)))
		return -ENOMEM;
	*buf = p;
	snprintf(p + *len, need + 1, "%s  %s\n", sha, name);
	*len += need;
	return 0;
}

static int arc_err(struct exp *e, const char *what)
{
	cmd_err("writing %s: %s: %s", e->partial, what, archive_error_string(e->a) ?: "error");
	return -EIO;
}

static int entry_begin(struct exp *e, const char *name, uint64_t size)
{
	struct archive_entry *en = archive_entry_new();
	char full[1200];
	int r;

	if (!en)
		return -ENOMEM;
	snprintf(full, sizeof(full), "%s/%s", e->bag, name);
	archive_entry_set_pathname(en, full);
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, 0644);
	archive_entry_set_size(en, (la_int64_t)size);
	archive_entry_set_mtime(en, e->now, 0);
	r = archive_write_header(e->a, en);
	archive_entry_free(en);
	return r == ARCHIVE_OK ? 0 : arc_err(e, name);
}

/* A whole small file; listed in the manifest (data/...) or tagmanifest. */
static int add_mem(struct exp *e, const char *name, const void *p, size_t len)
{
	unsigned char md[32];
	char sha[65];
	int r;

	if ((r = entry_begin(e, name, len)))
		return r;
	if (len && archive_write_data(e->a, p, len) != (la_ssize_t)len)
		return arc_err(e, name);
	if (!EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL))
		return -EIO;
	exp_hex(md, 32, sha);
	if (!strncmp(name, "data/", 5)) {
		e->oxum_bytes += len;
		e->oxum_files++;
		return exp_list_add(&e->manifest, &e->man_len, sha, name);
	}
	if (!strcmp(name, "tagmanifest-sha256.txt"))
		return 0;
	return exp_list_add(&e->tagmanifest, &e->tag_len, sha, name);
}

/* The evidence file, streamed, hashed on the way and compared with the
 * expected SHA-256 (the ledger's ct_sha256, or the first pass's). */
static int add_evidence(struct exp *e, struct exp_item *it)
{
	unsigned char *b = NULL, md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char name[2 * CUST_EVIDENCE_MAX + 64], sha[65];
	uint64_t n = 0;
	ssize_t got;
	int fd, r = -EIO;

	snprintf(name, sizeof(name), "%s/evidence.bcde", it->dir);
	fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || !c || !(b = malloc(EXP_BLOCK)) ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	/* one sequential pass: read-ahead as large as the kernel allows */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((r = entry_begin(e, name, it->size)))
		goto fail;
	while (n < it->size && (got = read(fd, b, EXP_BLOCK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto fail;
		}
		if ((uint64_t)got > it->size - n)
			break;	/* grew: caught by the hash below */
		if (!EVP_DigestUpdate(c, b, (size_t)got) ||
		    archive_write_data(e->a, b, (size_t)got) != got) {
			r = arc_err(e, name);
			goto fail;
		}
		n += (uint64_t)got;
	}
	if (!EVP_DigestFinal_ex(c, md, NULL))
		goto fail;
	exp_hex(md, 32, sha);
	if (n != it->size || strcmp(sha, it->sha)) {
		if (it->from_ledger)
			cmd_err("%s: the stored file %s (SHA-256 %s) is not the file the "
				"ledger recorded at ingest (ct_sha256 %s): damaged or "
				"replaced; no package (dockd fixity / repair)", it->id,
				it->path, n == it->size ? sha : "of another size", it->sha);
		else
			cmd_err("%s: the stored file changed while it was exported", it->path);
		r = -ESTALE;
		goto fail;
	}
	e->oxum_bytes += n;
	e->oxum_files++;
	r = exp_list_add(&e->manifest, &e->man_len, sha, name);
fail:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(c);
	free(b);
	return r;
}

static int add_file(struct exp *e, const char *name, const char *path)
{
	char *buf = malloc(TLP_MAX_FILE + 1);
	size_t len;
	int r;

	if (!buf)
		return -ENOMEM;
	if ((r = agn_read_file(path, buf, TLP_MAX_FILE + 1, &len)))
		cmd_err("%s: %s", path, strerror(-r));
	else
		r = add_mem(e, name, buf, len);
	free(buf);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_item(struct exp *e, struct exp_item *it)
{
	char name[1200], path[PATH_MAX + 600], *names[TLP_MAX_WITNESSES * 64];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int r;

	if ((r = add_evidence(e, it)))
		return r;
	snprintf(name, sizeof(name), "%s/history.json", it->dir);
	if ((r = add_mem(e, name, it->hjson, it->hjson_len)))
		return r;
	snprintf(name, sizeof(name), "%s/history.txt", it->dir);
	if ((r = add_mem(e, name, it->htxt, it->htxt_len)))
		return r;
	if (!(d = opendir(it->proofs)))
		return -errno;
	while ((de = readdir(d)) && r == 0) {
		if (de->d_name[0] == '.')
			continue;
		if (n == sizeof(names) / sizeof(names[0]) || !(names[n] = strdup(de->d_name)))
			r = -E2BIG;
		else
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/tlog-proof/%s", it->dir, names[i]);
		snprintf(path, sizeof(path), "%s/%s", it->proofs, names[i]);
		if (!r)
			r = add_file(e, name, path);
		unlink(path);
		free(names[i]);
	}
	return r;
}

/* The package's writes, with the disk kept busy as they go: every
 * EXP_FLUSH bytes, writeback of that window starts (sync_file_range
 * WRITE), and the window before it is waited for and dropped from the
 * page cache. The final fsync then has little left to do, dirty pages
 * stay bounded whatever the package's size, and hashing overlaps the
 * disk's work instead of preceding it. */
#define EXP_FLUSH (8 * 1024 * 1024)
static la_ssize_t out_write(struct archive *a, void *cd, const void *buf, size_t len)
{
	struct exp *e = cd;
	const char *p = buf;
	size_t left = len;
	ssize_t w;

	while (left) {
		w = write(e->fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	e->written += len;
	while (e->written - e->flushed >= EXP_FLUSH) {
		off_t at = (off_t)e->flushed;

		(void)sync_file_range(e->fd, at, EXP_FLUSH, SYNC_FILE_RANGE_WRITE);
		if (at >= EXP_FLUSH) {
			(void)sync_file_range(e->fd, at - EXP_FLUSH, EXP_FLUSH,
					      SYNC_FILE_RANGE_WAIT_BEFORE |
					      SYNC_FILE_RANGE_WRITE |
					      SYNC_FILE_RANGE_WAIT_AFTER);
			(void)posix_fadvise(e->fd, at - EXP_FLUSH, EXP_FLUSH,
					    POSIX_FADV_DONTNEED);
		}
		e->flushed += EXP_FLUSH;
	}
	return (la_ssize_t)len;
}

/* Write the whole package to e->partial. */
int exp_write_package(struct exp *e, int fd)
{
	const struct cust_config *cfg = &e->ctx->cfg;
	char info[4096], date[16];
	struct tm tm;
	size_t i;
	int r;

	e->fd = fd;
	/* Writes of EXP_BLOCK bytes (1 MiB, not tar's traditional 10 KiB:
	 * a hundredth of the system calls, the pace of `tar` itself); the
	 * last block is not padded beyond the format's own end marker. */
	if (!(e->a = archive_write_new()) ||
	    (e->zip ? archive_write_set_format_zip(e->a) != ARCHIVE_OK ||
	     /* stored: every entry's bytes are its size (no bomb to defuse) */
	     archive_write_zip_set_compression_store(e->a) != ARCHIVE_OK :
	     archive_write_set_format_pax_restricted(e->a) != ARCHIVE_OK) ||
	    archive_write_set_bytes_per_block(e->a, EXP_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(e->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(e->a, e, NULL, out_write, NULL, NULL) != ARCHIVE_OK)
		return arc_err(e, "open");
	if ((r = add_mem(e, "bagit.txt", EXP_BAGIT_TXT, strlen(EXP_BAGIT_TXT))))
		return r;
	for (i = 0; i < e->n; i++)
		if ((r = add_item(e, &e->it[i])))
			return r;
	if (cfg->agency_vkey[0] && (r = add_file(e, "data/keys/agency.vkey", cfg->agency_vkey)))
		return r;
	if (cfg->witness_policy[0] &&
	    (r = add_file(e, "data/keys/witnesses.note", cfg->witness_policy)))
		return r;
	if (cfg->custody_cert[0] && (r = add_file(e, "data/keys/custody.cert", cfg->custody_cert)))
		return r;
	gmtime_r(&e->now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(info, sizeof(info),
		 "Source-Organization: %s\nBagging-Date: %s\nPayload-Oxum: %llu.%llu\n"
		 "External-Description: Court package of %zu evidence item(s) from an "
		 "evidence dock ledger; see VERIFY.md\nExport-Reason: %s\n%s%s%s",
		 cmd_agency(e->ctx) ?: e->it[0].agency, date,
		 (unsigned long long)e->oxum_bytes, (unsigned long long)e->oxum_files,
		 e->n, e->reason, e->kase ? "Case-Number: " : "", e->kase ?: "",
		 e->kase ? "\n" : "");
	if ((r = add_mem(e, "bag-info.txt", info, strlen(info))) ||
	    (r = add_mem(e, "VERIFY.md", EXP_VERIFY_MD, strlen(EXP_VERIFY_MD))) ||
	    (r = add_mem(e, "manifest-sha256.txt", e->manifest, e->man_len)) ||
	    (r = add_mem(e, "tagmanifest-sha256.txt", e->tagmanifest, e->tag_len)))
		return r;
	if (archive_write_close(e->a) != ARCHIVE_OK)
		return arc_err(e, "close");
	if (fsync(fd))
		return -errno;
	return 0;
}
