/* volc.h - the daemon's side of the volume reader (docs/architecture.md,
 * "The volume reader worker"): a USB mass-storage camera's volume is read
 * by a sandboxed worker behind a userspace filesystem driver; this side
 * trusts nothing it is sent.
 *
 *	struct volc *v;
 *	volc_open("auto", "/dev/sdb1", 30000, &v);   // supervisor + driver + worker
 *	volc_list(v, profile, on_file, on_skip, ctx); // files the profile matches
 *	volc_read(v, index, off, len, uncached, sink, ctx);
 *	volc_close(v);                                // BYE, reap
 *
 * Every message is length- and type-checked (volmsg.h) and must fit the
 * exchange in progress: files are numbered 0, 1, 2 ... in order, each
 * path must match the profile again here with the kind the worker gave,
 * at most max_files of them; DATA must arrive at the next offset and stop
 * exactly at the end. A worker that breaks this, dies, or is silent for
 * timeout_ms is stopped (the channel shut, SIGTERM to the supervisor,
 * which kills the worker and still unmounts and cleans up; volc_close
 * kills the whole process group if it has not exited within 10 s) and the
 * volume fails with -ECONNABORTED; volc_why() says what happened.
 * Functions return 0 or -errno.
 */
#ifndef DOCKD_VOLC_H
#define DOCKD_VOLC_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct volc;

struct volc_file {
	uint32_t index;
	enum profile_kind kind;
	uint64_t size;
	int64_t mtime_s;           /* as the volume says: local time of file_tz */
	const char *path;
};

typedef int (*volc_file_fn)(void *ctx, const struct volc_file *f);
typedef void (*volc_skip_fn)(void *ctx, const char *why, const char *path);
/* Bytes of the file in order; a non-zero return stops the read (the rest
 * is drained so the channel stays in step) and is volc_read's result. */
typedef int (*volc_sink_fn)(void *ctx, const uint8_t *p, size_t n);

/* fs: "auto", "vfat", "exfat" (source a block device or image file) or
 * "dir" (source a directory: for testing a profile against a copy).
 * Prefixed "rw:" (release by deletion, volsess.h): the driver mounts the
 * volume read-write (still in the private namespace, nosuid, nodev,
 * noexec) and the worker may remove files (volc_delete); nothing else. */
int volc_open(const char *fs, const char *source, int timeout_ms, struct volc **out);

/* The worker's listing under p. -E2BIG: more than max_files entries in the
 * directories the profile enters (nothing listed counts then). */
int volc_list(struct volc *v, const struct msc_profile *p, volc_file_fn on_file,
	      volc_skip_fn on_skip, void *ctx);

/* Read [off, off + len) of listed file index; uncached: past the page
 * cache. -ESTALE: the file changed since it was listed; -ENODATA: shorter. */
int volc_read(struct volc *v, uint32_t index, uint64_t off, uint64_t len, int uncached,
	      volc_sink_fn sink, void *ctx);

/* Remove listed file index (a volume opened "rw:"): the worker checks it
 * is still the file listed (inode, size, time) first. -ESTALE: it is not;
 * -EPROTO-like stop (-ECONNABORTED) from a read-only worker, which exits
 * on VM_DELETE. */
int volc_delete(struct volc *v, uint32_t index);

/* What stopped the worker ("" while it runs well). */
const char *volc_why(const struct volc *v);

/* BYE, then the supervisor's exit status (0 good, 3 the driver refused
 * the volume, 128 + n killed by signal n, -1 it had to be killed). */
int volc_close(struct volc *v);

/* `dockd --volume-mount FS SOURCE` (volmount.c). */
int volm_main(int argc, char **argv);

#endif
