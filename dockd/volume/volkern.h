/* volkern.h - the administrator's choice of the kernel's own vfat/exfat
 * driver for mass-storage cameras ([dock] volume_driver = kernel;
 * docs/dockd-config.md, docs/threat-model.md "Camera").
 *
 * The default reader parses a camera's volume in userspace (FUSE,
 * volmount.c). With volume_driver = kernel the volume supervisor
 * (`dockd --volume-mount`) instead mounts it with the kernel's driver:
 * read-only (read-write only for the short release-by-deletion step),
 * always nosuid, nodev, noexec, noatime, nosymfollow, in a mount
 * namespace of its own (nobody else on the dock sees the mount, it is
 * never in the host's mount table), on a read-only loop device when the
 * source is an image file; the worker reads it exactly as it reads a FUSE
 * mount (volw.h); the mount ends with the supervisor (umount, directory
 * removed). A kernel mount needs CAP_SYS_ADMIN in the initial user
 * namespace: a dockd without it refuses to start (volk_configure), never
 * falling back to the userspace driver silently.
 *
 * The choice travels from the daemon to the supervisor in the
 * supervisor's environment (volc_open adds volk_env()).
 */
#ifndef DOCKD_VOLKERN_H
#define DOCKD_VOLKERN_H

#include <stddef.h>

/* At start-up (dockd_run, volume-scan): kernel = [dock] volume_driver is
 * "kernel". 0, or -EPERM with err saying why and what to do when this
 * process lacks CAP_SYS_ADMIN in the initial user namespace. Later
 * volc_open calls use the choice. */
int volk_configure(int kernel, char *err, size_t errlen);

/* The supervisor environment entry for the choice, or NULL (fuse). */
const char *volk_env(void);

/* In the supervisor: did the daemon ask for the kernel driver? */
int volk_requested(void);

/* The supervisor's kernel path (volm_main hands over once fs is "vfat" or
 * "exfat"; rw: release by deletion). Its exit status, as volm_main's:
 * the worker's, 3 the driver refused the volume, 64-71 a setup failure. */
int volk_main(const char *fs, const char *src, int rw);

/* volmount.c's own steps, shared with volk_main: a loop device over a
 * regular file (read-only unless rw; auto-clearing, its fd stays open
 * until exit), and the worker run on rootfd (its exit status). */
int volm_loop_attach(const char *src, char *dev, size_t cap, int rw);
int volm_run_worker(int rootfd);

#endif
