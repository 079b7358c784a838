/*
 * pkgread.c - hostile-input reader of court packages (pkgread.h).
 * Nothing here trusts an entry: names, types, sizes and contents are all
 * checked before use, and no file is ever created.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "pkgread.h"

#define BLOCK (64 * 1024)

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Printable copy of a hostile name for messages. */
static void shown(const char *s, char *out, size_t cap)
{
	size_t i = 0;

	for (; *s && i + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			i += (size_t)snprintf(out + i, cap - i, "\\x%02x", c);
		else
			out[i++] = (char)c;
	}
	out[i] = 0;
}

/* A relative path of non-empty components other than "." and "..", no
 * control characters or backslashes. dir: a trailing '/' is allowed. */
static const char *path_problem(const char *s, int dir)
{
	const char *c = s;
	size_t len = strlen(s);

	if (!len)
		return "an empty name";
	if (len > PKG_MAX_NAME)
		return "a name longer than 1024 bytes";
	if (s[0] == '/')
		return "an absolute path";
	if (dir && len > 1 && s[len - 1] == '/')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			return "a control character or backslash in the name";
	}
	for (;;) {
		const char *e = memchr(c, '/', len - (size_t)(c - s));
		size_t n = e ? (size_t)(e - c) : len - (size_t)(c - s);

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return "path traversal (a '..' component)";
		if (n == 0)
			return "an empty path component ('//')";
		if (n == 1 && c[0] == '.')
			return "a '.' path component";
		if (!e)
			return NULL;
		c = e + 1;
	}
}

static const char *type_name(struct archive_entry *en)
{
	switch (archive_entry_filetype(en)) {
	case AE_IFLNK: return "a symbolic link";
	case AE_IFCHR: return "a character device";
	case AE_IFBLK: return "a block device";
	case AE_IFIFO: return "a FIFO";
	case AE_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

/* Names under data/ and tag files kept as text when small. */
static int keep_text(const char *rel)
{
	size_t l = strlen(rel);

	if (strncmp(rel, "data/", 5))
		return 1;
	return (l > 11 && !strcmp(rel + l - 11, ".tlog-proof")) ||
	       !strncmp(rel, "data/keys/", 10);
}

static int add_entry(struct pkg *p, struct archive *a, struct archive_entry *en,
		     unsigned char *buf, char *why, size_t whylen)
{
	const char *name = archive_entry_pathname(en), *prob, *slash;
	unsigned char md[32];
	char nm[200];
	struct pkg_file *f;
	EVP_MD_CTX *c = NULL;
	uint64_t size, got = 0;
	int ftype = (int)archive_entry_filetype(en), r = -ENOMEM;
	size_t i;

	if (!name)
		return refuse(why, whylen, "an entry without a readable name");
	shown(name, nm, sizeof(nm));
	if ((prob = path_problem(name, ftype == AE_IFDIR)))
		return refuse(why, whylen, "entry '%s': %s: refused", nm, prob);
	if (archive_entry_hardlink(en))
		return refuse(why, whylen, "entry '%s': a hard link: refused", nm);
	if (archive_entry_symlink(en) || ftype == AE_IFLNK)
		return refuse(why, whylen, "entry '%s': a symbolic link: refused", nm);
	slash = strchr(name, '/');
	if (!slash || (size_t)(slash - name) > PKG_MAX_NAME)
		return refuse(why, whylen, "entry '%s': not inside the bag's top directory", nm);
	if (!p->bag[0] && ftype != AE_IFDIR)
		memcpy(p->bag, name, (size_t)(slash - name));
	if (p->bag[0] && (strlen(p->bag) != (size_t)(slash - name) ||
			  strncmp(p->bag, name, (size_t)(slash - name))))
		return refuse(why, whylen, "entry '%s': outside the bag's top directory '%s' "
			      "(a package holds one bag)", nm, p->bag);
	if (ftype == AE_IFDIR)
		return 0;
	if (ftype != AE_IFREG)
		return refuse(why, whylen, "entry '%s': %s: refused", nm, type_name(en));
	if (archive_entry_sparse_count(en) > 0)
		return refuse(why, whylen, "entry '%s': a sparse file: refused", nm);
	if (!archive_entry_size_is_set(en) || archive_entry_size(en) < 0)
		return refuse(why, whylen, "entry '%s': no size", nm);
	size = (uint64_t)archive_entry_size(en);
	if (size > PKG_MAX_ENTRY)
		return refuse(why, whylen, "entry '%s': %llu bytes, over the %llu-byte cap",
			      nm, (unsigned long long)size, (unsigned long long)PKG_MAX_ENTRY);
	if (p->n == PKG_MAX_ENTRIES)
		return refuse(why, whylen, "more than %d files: refused", PKG_MAX_ENTRIES);
	for (i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].name, slash + 1))
			return refuse(why, whylen, "entry '%s': a duplicate name: refused", nm);
	if (p->n == p->cap) {
		size_t nc = p->cap ? 2 * p->cap : 64;
		struct pkg_file *nf = realloc(p->f, nc * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		p->f = nf;
		p->cap = nc;
	}
	f = &p->f[p->n];
	memset(f, 0, sizeof(*f));
	if (!(f->name = strdup(slash + 1)))
		return -ENOMEM;
	p->n++;
	f->size = size;
	if (keep_text(f->name) && size <= PKG_MAX_TEXT && p->kept + size <= PKG_MAX_KEPT) {
		if (!(f->text = malloc((size_t)size + 1)))
			return -ENOMEM;
		p->kept += size;
	}
	if (!(c = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto fail;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BLOCK);
		if (n == 0)
			break;
		if (n < 0) {
			r = refuse(why, whylen, "entry '%s': %s", nm,
				   archive_error_string(a) ?: "unreadable");
			goto fail;
		}
		if ((uint64_t)n > size - got) {
			r = refuse(why, whylen, "entry '%s': more data than its size", nm);
			goto fail;
		}
		if (f->text)
			memcpy(f->text + got, buf, (size_t)n);
		got += (uint64_t)n;
		if (!EVP_DigestUpdate(c, buf, (size_t)n))
			goto fail;
	}
	if (got != size) {
		r = refuse(why, whylen, "entry '%s': truncated (%llu of %llu bytes)", nm,
			   (unsigned long long)got, (unsigned long long)size);
		goto fail;
	}
	if (f->text)
		f->text[size] = 0;
	if (!EVP_DigestFinal_ex(c, md, NULL))
		goto fail;
	for (i = 0; i < 32; i++)
		snprintf(f->sha + 2 * i, 3, "%02x", md[i]);
	r = 0;
fail:
	EVP_MD_CTX_free(c);
	return r;
}

static int read_all(struct archive *a, struct pkg **out, char *why, size_t whylen)
{
	struct pkg *p = calloc(1, sizeof(*p));
	unsigned char *buf = malloc(BLOCK);
	struct archive_entry *en;
	int r = -ENOMEM, ar;

	if (!p || !buf)
		goto fail;
	while ((ar = archive_read_next_header(a, &en)) == ARCHIVE_OK)
		if ((r = add_entry(p, a, en, buf, why, whylen)))
			goto fail;
	if (ar != ARCHIVE_EOF) {
		r = refuse(why, whylen, "not a readable tar or zip archive: %s",
			   archive_error_string(a) ?: "error");
		goto fail;
	}
	if (!p->n) {
		r = refuse(why, whylen, "an empty archive");
		goto fail;
	}
	free(buf);
	*out = p;
	return 0;
fail:
	if (r == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	free(buf);
	pkg_free(p);
	return r;
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();

	/* tar and zip, no decompression filters: a compressed tar is refused;
	 * a deflated zip entry can expand, but never beyond its declared size
	 * (checked while reading, capped at PKG_MAX_ENTRY) and nothing is kept
	 * but small text files */
	if (a && (archive_read_support_format_tar(a) != ARCHIVE_OK ||
		  archive_read_support_format_zip(a) != ARCHIVE_OK)) {
		archive_read_free(a);
		a = NULL;
	}
	return a;
}

int pkg_read(int fd, struct pkg **out, char *why, size_t whylen)
{
	struct archive *a = reader();
	int r;

	if (!a)
		return -ENOMEM;
	if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK)
		r = refuse(why, whylen, "not a tar or zip archive: %s",
			   archive_error_string(a) ?: "error");
	else
		r = read_all(a, out, why, whylen);
	archive_read_free(a);
	return r;
}

int pkg_read_mem(const void *buf, size_t len, struct pkg **out, char *why, size_t whylen)
{
	struct archive *a = reader();
	int r;

	if (!a)
		return -ENOMEM;
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		r = refuse(why, whylen, "not a tar or zip archive: %s",
			   archive_error_string(a) ?: "error");
	else
		r = read_all(a, out, why, whylen);
	archive_read_free(a);
	return r;
}

const struct pkg_file *pkg_find(const struct pkg *p, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!strcmp(p->f[i].name, name))
			return &p->f[i];
	return NULL;
}

int pkg_is_proof(const char *name)
{
	const char *t = strstr(name, "/tlog-proof/");
	size_t l = strlen(name);

	return !strncmp(name, "data/items/", 11) && t && l > 11 &&
	       !strcmp(name + l - 11, ".tlog-proof");
}

size_t pkg_count_items(const struct pkg *p)
{
	size_t n = 0, l;

	for (size_t i = 0; i < p->n; i++) {
		l = strlen(p->f[i].name);
		n += !strncmp(p->f[i].name, "data/items/", 11) && l > 14 &&
		     !strcmp(p->f[i].name + l - 14, "/evidence.bcde");
	}
	return n;
}

void pkg_free(struct pkg *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].name);
		free(p->f[i].text);
	}
	free(p->f);
	free(p);
}

/* ---- the BagIt structure (RFC 8493 sections 2.1, 2.2, 3) ---- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode %0A %0D %25 (RFC 8493 2.1.3) of s[0..n) into out. */
static int decode_path(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			if (v == 0x0a || v == 0x0d || v == 0x25) {
				ch = (char)v;
				i += 2;
			}
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = ch;
	}
	out[o] = 0;
	return 0;
}

/* One manifest: every line's file present with that SHA-256; then
 * every file of its kind listed. payload: manifest-sha256.txt over
 * data/; else tagmanifest-sha256.txt over the tag files. */
static int check_manifest(struct pkg *p, const char *mname, int payload, size_t *lines,
			  char *why, size_t whylen)
{
	const struct pkg_file *m = pkg_find(p, mname);
	char path[PKG_MAX_NAME + 1], nm[200];
	unsigned char *listed;
	const char *s, *nl, *prob;
	size_t i, k;
	int r = -EBADMSG;

	if (!m)
		return refuse(why, whylen, "%s is missing", mname);
	if (!m->text || strlen(m->text) != m->size)
		return refuse(why, whylen, "%s: too large or not text", mname);
	if (!(listed = calloc(p->n ? p->n : 1, 1)))
		return -ENOMEM;
	for (s = m->text, k = 1; *s; s = nl + 1, k++) {
		const char *q = s, *end;
		struct pkg_file *f = NULL;

		nl = strchr(s, '\n');
		if (!nl)
			nl = s + strlen(s) - 1;	/* last line without LF */
		end = nl[0] == '\n' ? nl : nl + 1;
		if (end > s && end[-1] == '\r')
			end--;
		for (i = 0; i < 64 && q < end && hexval(*q) >= 0; i++, q++)
			;
		if (i != 64 || q == end || (*q != ' ' && *q != '\t')) {
			refuse(why, whylen, "%s line %zu: not '<SHA-256 hex> <path>'", mname, k);
			goto out;
		}
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (decode_path(q, (size_t)(end - q), path, sizeof(path))) {
			refuse(why, whylen, "%s line %zu: path too long", mname, k);
			goto out;
		}
		shown(path, nm, sizeof(nm));
		if ((prob = path_problem(path, 0))) {
			refuse(why, whylen, "%s line %zu: '%s': %s", mname, k, nm, prob);
			goto out;
		}
		if (payload != !strncmp(path, "data/", 5) ||
		    (!payload && !strncmp(path, "tagmanifest-", 12))) {
			refuse(why, whylen, "%s line %zu: '%s' does not belong in this manifest",
			       mname, k, nm);
			goto out;
		}
		for (i = 0; i < p->n; i++)
			if (!strcmp(p->f[i].name, path))
				f = &p->f[i];
		if (!f) {
			refuse(why, whylen, "'%s' is listed in %s but missing from the package",
			       nm, mname);
			goto out;
		}
		if (listed[f - p->f]++) {
			refuse(why, whylen, "%s lists '%s' twice", mname, nm);
			goto out;
		}
		for (i = 0; i < 64; i++)
			if (hexval(s[i]) != hexval(f->sha[i]))
				break;
		if (i != 64) {
			refuse(why, whylen, "'%s': SHA-256 mismatch (%s says %.64s, the file "
			       "hashes to %s)", nm, mname, s, f->sha);
			goto out;
		}
		(*lines)++;
	}
	for (i = 0; i < p->n; i++) {
		const char *n = p->f[i].name;
		int mine = payload ? !strncmp(n, "data/", 5) :
			   strncmp(n, "data/", 5) && strncmp(n, "tagmanifest-", 12);
		if (mine && !listed[i]) {
			shown(n, nm, sizeof(nm));
			refuse(why, whylen, "%s file '%s' is not listed in %s", payload ?
			       "payload" : "tag", nm, mname);
			goto out;
		}
	}
	r = 0;
out:
	free(listed);
	return r;
}

int pkg_check_bag(struct pkg *p, char *why, size_t whylen)
{
	const struct pkg_file *f = pkg_find(p, "bagit.txt");
	unsigned long long ob = 0, on = 0, bytes = 0, files = 0;
	const char *ox;
	int r;

	if (!f || !f->text)
		return refuse(why, whylen, "bagit.txt is missing: not a bag");
	if (strcmp(f->text, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n") &&
	    strcmp(f->text, "BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n"))
		return refuse(why, whylen, "bagit.txt: not 'BagIt-Version: 1.0' with "
			      "'Tag-File-Character-Encoding: UTF-8'");
	if (pkg_find(p, "fetch.txt"))
		return refuse(why, whylen, "fetch.txt: a package must hold all its files");
	p->n_manifest = p->n_tag = 0;
	if ((r = check_manifest(p, "manifest-sha256.txt", 1, &p->n_manifest, why, whylen)) ||
	    (r = check_manifest(p, "tagmanifest-sha256.txt", 0, &p->n_tag, why, whylen)))
		return r;
	f = pkg_find(p, "bag-info.txt");
	if (f && f->text && (ox = strstr(f->text, "Payload-Oxum:")) &&
	    (ox == f->text || ox[-1] == '\n')) {
		for (size_t i = 0; i < p->n; i++)
			if (!strncmp(p->f[i].name, "data/", 5)) {
				bytes += p->f[i].size;
				files++;
			}
		if (sscanf(ox, "Payload-Oxum: %llu.%llu", &ob, &on) != 2 || ob != bytes ||
		    on != files)
			return refuse(why, whylen, "bag-info.txt: Payload-Oxum %llu.%llu but the "
				      "payload is %llu.%llu", ob, on, bytes, files);
	}
	return 0;
}
