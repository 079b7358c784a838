/* ingest_int.h - the ingest's files (dockd/ingest_files.c) and data keys
 * (dockd/ingest_keys.c), shared by ingest.c: a recording's paths, the
 * in-memory data keys, directories; and one pull's state, shared by
 * ingest.c (the pull) and ingest_open.c (opening it: fresh or resumed).
 * Functions return 0 or -errno. */
#ifndef DOCKD_INGEST_INT_H
#define DOCKD_INGEST_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config.h"
#include "daemon.h"
#include "dockdb.h"
#include "evfile.h"

struct paths {
	char pdir[PATH_MAX], part[PATH_MAX];
	char vdir[PATH_MAX], vault[PATH_MAX], qdir[PATH_MAX], quar[PATH_MAX];
};

struct hashq;
struct partsum;
struct dwrite;
struct ctverify;
struct ingest_src;

/* One recording's pull (ingest_one_src). */
struct pull {
	struct dockd *d;
	const struct dock_snap *snap;
	struct dock_rec *rec;
	struct paths *p;
	int slot;
	int fd;
	EVP_MD_CTX *md;
	struct hashq *hq;    /* hashes the plaintext into md on another core */
	struct partsum *ps;  /* s3:// target: per-part digests of the ciphertext */
	struct evfile_writer *w;
	struct dwrite *dw;   /* writes and hashes the ciphertext on its own thread */
	struct ctverify *cv; /* background syncs (local policy: device re-read) */
	uint64_t ct_off;     /* ciphertext bytes appended */
	uint64_t got;        /* plaintext bytes consumed */
	uint64_t next_sync;  /* plaintext offset of the next sync point */
	const struct ingest_src *src; /* where the bytes come from */
	int local_err;       /* a write/sync on our side failed */
	bool draining;       /* after local_err: the rest of the READ is dropped */
};


/* snprintf into a PATH_MAX buffer; -ENAMETOOLONG when cut short. */
int ingest_pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Every path of recording r under c's vault (docs/dockd.md). */
int ingest_make_paths(const struct dock_config *c, const struct dock_rec *r, struct paths *p);

/* mkdir -p, mode 0700 for what it creates. */
int ingest_mkdirs(const char *path);

int ingest_fsync_dir(const char *dir);

/* The partial recording's data key, kept IN MEMORY ONLY for the life of
 * the process (ingest_keys.c; never written to a file): save (-ENOMEM),
 * load (-ENOKEY when this dockd never had it: it restarted, or the key
 * was dropped past the cap), wipe forgets it (OPENSSL_cleanse). */
int ingest_key_save(const struct paths *p, const uint8_t key[EVFILE_KEY_LEN]);
int ingest_key_load(const struct paths *p, uint8_t key[EVFILE_KEY_LEN]);
void ingest_key_wipe(const struct paths *p);

/* Whether the partial file at `part` still holds what a recorded durable
 * progress of `chunks` promised: its evfile header and `chunks` whole
 * chunks (docs/evidence-format.md), i.e. at least
 * evfile_chunk_offset(header_len, chunk_log2, chunks) bytes. Needs no data
 * key (the header is read, not decrypted). 0 when it does; -ENODATA when
 * the file is missing, its header unreadable or the file shorter, with
 * *have (its size, 0 if missing) and *need (0 if the header is unreadable)
 * set; another -errno when it cannot be looked at. */
int ingest_part_holds(const char *part, uint64_t chunks, uint64_t *have, uint64_t *need);

/* Move whatever is at the vault name aside (write-once names), into the
 * quarantine directory, which is fsynced; the caller fsyncs the vault
 * directory after linking the new file. */
int ingest_vault_clear(const struct paths *p);

/* ingest_open.c: the evfile header at the start of the .part file: *hdr
 * (malloc'd, the caller frees it), *hlen and the parsed *info; all
 * untouched on failure. */
int ingest_read_header(struct pull *pl, uint8_t **hdr, uint32_t *hlen,
		       struct evfile_info *info);

/* ingest_open.c: open pl's partial file, resumed at rec->durable_chunks
 * when this process still can, else started afresh (ingest_restarted
 * recorded when durable progress is given up), with ingest_started
 * (dockdb_begin_pull). A local storage error is also left in pl->local_err. */
int ingest_open_pull(struct pull *pl);

#endif
