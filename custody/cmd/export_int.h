/*
 * export_int.h - state of one `custody export` run, shared by export.c
 * (preparing, recording, the command) and export_tar.c (writing the tar
 * through libarchive). Internal to the custody command.
 */
#ifndef CUSTODY_CMD_EXPORT_INT_H
#define CUSTODY_CMD_EXPORT_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <archive.h>

#include "cmd.h"
#include "event.h"
#include "exprec.h"

#define EXP_MAX_ITEMS 64
#define EXP_BLOCK (1024 * 1024)	/* read and archive block */
#define EXP_TEXT_MAX (4 * 1024 * 1024)	/* history.json / .txt of one item */
#define EXP_LIST_MAX (1024 * 1024)	/* manifest text */

struct exp_item {
	const char *id;
	char agency[CUST_AGENCY_MAX + 1];
	char dir[2 * CUST_EVIDENCE_MAX + 16];	/* "data/items/<serial>/<rec>" */
	char path[1024];			/* the stored file */
	char sha[65];			/* the stored file's SHA-256 and size: */
	uint64_t size;
	int from_ledger;		/* the ledger's ct_sha256/ct_size, else hashed */
	char *hjson, *htxt;			/* history, malloc'd */
	size_t hjson_len, htxt_len;
	char proofs[PATH_MAX + 32];		/* temp dir of tlog-proof files */
	size_t n_proofs;
};

struct exp {
	struct cmd_ctx *ctx;
	const char *out, *reason, *kase, *vault;
	char bag[256], partial[PATH_MAX], tmp[PATH_MAX];
	struct exp_item it[EXP_MAX_ITEMS];
	size_t n;
	struct archive *a;
	char *manifest, *tagmanifest;
	size_t man_len, tag_len;
	uint64_t oxum_bytes, oxum_files;
	time_t now;
	int fd;				/* the .partial file */
	uint64_t written, flushed;	/* bytes written, writeback started */
	int zip;			/* --out FILE.zip: zip, else POSIX tar */
	struct exprec_opts rec;		/* where it is recorded (exprec.h) */
};

/* b[0..n) as lowercase hex into out (2n + 1 bytes). */
void exp_hex(const unsigned char *b, size_t n, char *out);
/* Append "<sha>  <name>\n" to a manifest buffer (at most EXP_LIST_MAX). */
int exp_list_add(char **buf, size_t *len, const char *sha, const char *name);
/* The whole package into fd: bagit.txt, each item (its evidence file
 * streamed and hashed: -ESTALE if it is not e->it[].sha),
 * keys, bag-info.txt, VERIFY.md, the manifests; fsync. 0 or -errno
 * (-EIO: libarchive, message printed). */
int exp_write_package(struct exp *e, int fd);

#endif /* CUSTODY_CMD_EXPORT_INT_H */
