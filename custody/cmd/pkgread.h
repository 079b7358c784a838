/*
 * pkgread.h - the court package reader of `custody verify-package`
 * (verifypkg.c; docs/court-package.md): reads a tar or zip as hostile
 * input, never writes a file, and checks the BagIt structure.
 *
 * Errors: 0 or negative errno with a one-line reason in why:
 *   -EBADMSG a refused package (the reason says which entry and why);
 *   -ENOMEM; -EIO the file cannot be read.
 */
#ifndef CUSTODY_CMD_PKGREAD_H
#define CUSTODY_CMD_PKGREAD_H

#include <stddef.h>
#include <stdint.h>

#define PKG_MAX_ENTRIES 10000
#define PKG_MAX_ENTRY   (64ULL << 30)	/* any one file, bytes */
#define PKG_MAX_NAME    1024
#define PKG_MAX_TEXT    (4 * 1024 * 1024)	/* a kept text file */
#define PKG_MAX_KEPT    (64 * 1024 * 1024)	/* all kept text files */

struct pkg_file {
	char *name;		/* relative to the bag's top directory */
	uint64_t size;
	char sha[65];		/* lowercase hex */
	char *text;		/* NUL-terminated content of a kept file, else NULL */
};

struct pkg {
	char bag[PKG_MAX_NAME + 1];	/* the top directory */
	struct pkg_file *f;
	size_t n, cap, kept;
	size_t n_manifest, n_tag;	/* lines checked by pkg_check_bag */
};

/* Read the whole archive from fd into a new *out (entries hashed, small
 * text files kept). */
int pkg_read(int fd, struct pkg **out, char *why, size_t whylen);
/* Read from memory (the fuzz target). */
int pkg_read_mem(const void *buf, size_t len, struct pkg **out, char *why, size_t whylen);
/* bagit.txt, manifest-sha256.txt, tagmanifest-sha256.txt, Payload-Oxum,
 * every payload file listed, every listed file present, every hash. */
int pkg_check_bag(struct pkg *p, char *why, size_t whylen);
const struct pkg_file *pkg_find(const struct pkg *p, const char *name);
/* 1 if name is a tlog-proof file of an item (data/items/S/R/tlog-proof/X.tlog-proof) */
int pkg_is_proof(const char *name);
/* Items: data/items/S/R/evidence.bcde files. */
size_t pkg_count_items(const struct pkg *p);
void pkg_free(struct pkg *p);

#endif /* CUSTODY_CMD_PKGREAD_H */
