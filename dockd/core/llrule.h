/* llrule.h - one landlock path rule, as dockd's helper processes (the
 * custodian, the storage uploader, the witness client) build their
 * rulesets at lock-down.
 *
 *	r = llrule_allow(ruleset_fd, "/usr", LL_READ | LANDLOCK_ACCESS_FS_EXECUTE);
 *
 * A path that does not exist (or cannot be reached: ENOTDIR, EACCES) is
 * skipped, 0: what is not there needs no right. For a path that is not a
 * directory only the rights that apply to a file are kept (landlock
 * refuses directory rights on a file with EINVAL); the caller passes
 * only rights its ruleset handles (e.g. TRUNCATE only with ABI >= 3).
 * Results: 0 or -errno.
 */
#ifndef DOCKD_LLRULE_H
#define DOCKD_LLRULE_H

#include <linux/landlock.h>
#include <stdint.h>

/* Read a directory tree: its files and its listings. */
#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

int llrule_allow(int ruleset, const char *path, uint64_t access);

/* The file-system rights a ruleset handles on a kernel of landlock ABI
 * abi (>= 1): every right that ABI knows, so that what no rule grants is
 * denied (ABI 1: EXECUTE .. MAKE_SYM; 2: REFER; 3: TRUNCATE). */
uint64_t llrule_fs_handled(long abi);

#endif
