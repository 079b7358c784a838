/* ckptup.h - custody checkpoints as write-once objects on the storage
 * target: the ledger's external anchor (docs/dockd.md, "Storage").
 *
 * The storage workers (storage.h) put each signed checkpoint note, byte
 * for byte as custody published it (checkpoint.<size>), under the key
 * "checkpoints/<dock id>/<tree size>.txt", verify it by re-reading, and
 * remember the largest tree size done in a small file. When several are
 * waiting (an outage, a restart) only the newest is put (ckptup_newest);
 * they go after the evidence uploads waiting at the same time. put is write-once:
 * an identical object already there is success, a different one -EEXIST.
 *
 * Results: 0 or -errno.
 */
#ifndef DOCKD_CKPTUP_H
#define DOCKD_CKPTUP_H

#include <stddef.h>
#include <stdint.h>

#include "ledgerw.h"
#include "store.h"

/* Put and verify note (len bytes) as the checkpoint of tree_size. */
int ckptup_put(struct store_target *st, const char *dock_id, uint64_t tree_size,
	       const char *note, size_t len);

/* The newest signed checkpoint with a tree size > after (-ENOENT: none):
 * *size, *note (malloc'd, NUL-terminated, the bytes published as
 * checkpoint.<size>; the caller frees it), *len. Only the newest goes up:
 * it commits to every entry the older ones cover (the log is append-only
 * and each checkpoint is consistent with the earlier ones), so a backlog
 * built during an outage costs one upload, not one per docking. */
int ckptup_newest(struct ledgerw *w, uint64_t after, uint64_t *size, char **note, size_t *len);

/* The tree size saved in path; 0 when absent or unreadable (then every
 * checkpoint is put again, which write-once objects accept). */
uint64_t ckptup_load(const char *path);
/* Save size to path (temp file, fsync, rename); failures only logged. */
void ckptup_save(const char *path, uint64_t size);

#endif
