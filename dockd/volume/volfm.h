/* volfm.h - dockd's own `fusermount`, for exFAT read by a reader that is
 * not root (docs/architecture.md, "The volume reader worker"; docs/
 * threat-model.md).
 *
 * Why: exfat-fuse 1.3.0 always asks libfuse 2.9.9 for a `fuseblk` mount
 * (options blkdev, blksize=N). The kernel lets a user namespace mount
 * plain `fuse` but not `fuseblk` (no FS_USERNS_MOUNT): mount(2) fails with
 * EPERM even with CAP_SYS_ADMIN over the namespace. libfuse then runs
 * FUSERMOUNT_DIR/fusermount (Debian: /bin/fusermount, else `fusermount`
 * on PATH) as
 *	fusermount -o OPTS -- MOUNTPOINT
 * with _FUSE_COMMFD=N in its environment (N: one end of a socketpair),
 * and takes the /dev/fuse descriptor the helper sends back (SCM_RIGHTS,
 * one byte of data). The setuid fusermount cannot help: a user namespace
 * ignores its setuid bit, and it refuses blkdev to a user anyway.
 *
 * So the volume supervisor (volmount.c), in its private mount namespace
 * only, puts this program where libfuse looks: bind-mounted over
 * /bin/fusermount when that exists, and first on the driver's PATH. It
 * runs with exactly the driver's rights (same uid, CAP_SYS_ADMIN over the
 * supervisor's user namespace only; it is not setuid and has no file
 * capabilities): it adds no privilege, it narrows what the driver asks.
 *
 * What it does: opens /dev/fuse, mounts type `fuse` (never fuseblk),
 * source "dockd-vol", flags always ro,nosuid,nodev,noexec, data
 * "fd=N,rootmode=40000,user_id=U,group_id=G" plus only default_permissions
 * and max_read=DIGITS from OPTS, on MOUNTPOINT only if it equals
 * $VOLFM_MNT_ENV (the directory the supervisor made) and is a directory
 * owned by the caller; then sends the descriptor and exits 0.
 * Dropped from OPTS: ro, rw and the other mount flags (the flags above
 * are forced), blkdev, blksize=, fsname=, subtype=, user=, allow_other,
 * allow_root, nonempty, large_read. Any other option, any other argv
 * (`-u`: unmounting is the supervisor's job), OPTS over VOLFM_OPTS_MAX, a
 * bad _FUSE_COMMFD: refused with a message, exit 1, nothing mounted.
 * It reads nothing but its argv and environment (libfuse's request), so
 * no byte of the volume reaches it.
 */
#ifndef DOCKD_VOLFM_H
#define DOCKD_VOLFM_H

/* Installed as PREFIX/libexec/dockd/fuse/fusermount: named as libfuse
 * execs it, in a folder holding nothing else (the driver's PATH). dockd
 * finds it from the folder above its own bin/ or sbin/, by absolute path. */
#define VOLFM_EXE_REL "libexec/dockd/fuse/fusermount"
#define VOLFM_MNT_ENV "DOCKD_FUSE_MNT"
#define VOLFM_OPTS_MAX 4096
/* Where Debian's libfuse2 looks first (FUSERMOUNT_DIR "/" FUSERMOUNT_PROG) */
#define VOLFM_LIBFUSE_PATH "/bin/fusermount"

#endif
