/* ingest_int.h - the ingest's files (dockd/ingest_files.c), shared by
 * ingest.c: a recording's paths, the data key file, directories.
 * Functions return 0 or -errno. */
#ifndef DOCKD_INGEST_INT_H
#define DOCKD_INGEST_INT_H

#include <limits.h>
#include <stdint.h>

#include "config.h"
#include "dockdb.h"
#include "evfile.h"

struct paths {
	char pdir[PATH_MAX], part[PATH_MAX], key[PATH_MAX];
	char vdir[PATH_MAX], vault[PATH_MAX], qdir[PATH_MAX], quar[PATH_MAX];
};


/* snprintf into a PATH_MAX buffer; -ENAMETOOLONG when cut short. */
int ingest_pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Every path of recording r under c's vault (docs/dockd.md). */
int ingest_make_paths(const struct dock_config *c, const struct dock_rec *r, struct paths *p);

/* mkdir -p, mode 0700 for what it creates. */
int ingest_mkdirs(const char *path);

int ingest_fsync_dir(const char *dir);

/* The partial recording's data key file (0600, fsync'd with its
 * directory); load checks its size; wipe overwrites it with zeros, syncs
 * and unlinks it. */
int ingest_key_save(const struct paths *p, const uint8_t key[EVFILE_KEY_LEN]);
int ingest_key_load(const struct paths *p, uint8_t key[EVFILE_KEY_LEN]);
void ingest_key_wipe(const struct paths *p);

/* Move whatever is at the vault name aside (write-once names). */
int ingest_vault_clear(const struct paths *p);

#endif
