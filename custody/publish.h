/*
 * publish.h - signing the ledger's Merkle root into checkpoints and
 * publishing them: one row in the ledger's checkpoints table and one
 * write-once file `checkpoint.<size>` in the external directory
 * (temp file + fsync + link + fsync dir; an existing file is never
 * replaced). The key name in signatures is the checkpoint origin.
 *
 * When: dockd calls cust_checkpoint_write() after each batch that closes
 * a docking session, and cust_checkpoint_due() tells whether the
 * configured interval has passed since the newest checkpoint (and events
 * were added since) - see docs/custody-ledger.md.
 *
 * Errors: 0 or negative errno; a one-line reason goes to err.
 */
#ifndef CUSTODY_PUBLISH_H
#define CUSTODY_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "edkey.h"
#include "ledger.h"

#define CUST_MAX_VKEYS 16

struct cust_signer {
	struct edkey *key;				/* private */
	char origin[CKPT_MAX_ORIGIN + 1];		/* also the key name */
	char ext_dir[CUST_CONFIG_PATH_MAX];		/* "" = none */
};

/* Load checkpoint_key, checkpoint_origin, external_checkpoint_dir. */
int cust_signer_load(const struct cust_config *cfg, struct cust_signer *s,
		     char *err, size_t errlen);
void cust_signer_free(struct cust_signer *s);

/* Sign the current tree (no-op for an empty ledger, -ENODATA), store and
 * publish it. If a checkpoint of this size exists already, only makes sure
 * the external copy exists. *size (may be NULL) = the tree size signed. */
int cust_checkpoint_write(struct cust_ledger *l, const struct cust_signer *s,
			  uint64_t *size, char *err, size_t errlen);
/* Store a checkpoint signed elsewhere (dockd's custodian process) as
 * cust_checkpoint_write() stores its own: the checkpoints row (a row of
 * that size with the same note: nothing to do; another note: -EEXIST),
 * then, with ext_dir, publish it (and any older one left unpublished).
 * The caller has checked the note's signature and size. */
int cust_checkpoint_store(struct cust_ledger *l, uint64_t size, const char *note,
			  const char *ext_dir, char *err, size_t errlen);
/* *due = 1 when the ledger grew since the newest checkpoint and that one
 * is older than interval_s seconds (or there is none). */
int cust_checkpoint_due(struct cust_ledger *l, uint32_t interval_s, int *due);

/* Write note as dir/checkpoint.<size>, write-once: -EEXIST if a file of
 * that name exists with different content (same content: 0). */
int cust_ext_write(const char *dir, uint64_t size, const char *note,
		   size_t len);

/* Trusted verifier keys: one vkey per line in path ('#' comments and
 * blank lines allowed), at most CUST_MAX_VKEYS. */
int cust_vkeys_load(const char *path, struct ckpt_vkey *keys, size_t *n,
		    char *err, size_t errlen);

#endif /* CUSTODY_PUBLISH_H */
