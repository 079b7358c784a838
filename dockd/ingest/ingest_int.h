/* ingest_int.h - the ingest's files (dockd/ingest_files.c) and data keys
 * (dockd/ingest_keys.c), shared by ingest.c: a recording's paths, the
 * in-memory data keys, directories.
 * Functions return 0 or -errno. */
#ifndef DOCKD_INGEST_INT_H
#define DOCKD_INGEST_INT_H

#include <limits.h>
#include <stdint.h>

#include "config.h"
#include "dockdb.h"
#include "evfile.h"

struct paths {
	char pdir[PATH_MAX], part[PATH_MAX];
	char vdir[PATH_MAX], vault[PATH_MAX], qdir[PATH_MAX], quar[PATH_MAX];
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

#endif
