/* mscwatch.h - detection of USB mass-storage body cameras (issue 14).
 *
 * With [dock] usb_storage = true the daemon runs one watcher thread with
 * its own libudev monitor on subsystem "block". mscwatch_start() enables
 * the monitor FIRST and then lists the block devices already present (a
 * camera plugged in between is not missed; a duplicate "add" is ignored),
 * so by the time it returns, and dockd says READY=1, every later plug is
 * seen.
 *
 * A block device (disk or partition) is looked at when its USB parent
 * interface has class 0x08 (mass storage); anything else (internal disks,
 * loop devices, ...) is not. Its USB device gives vid, pid and the serial
 * string, which are looked up in the storage enrolment list (enrol_msc.h)
 * under the ledger lock. The volume is a partition, or a whole disk on
 * which udev's blkid found a filesystem (ID_FS_TYPE) and no partition
 * table (ID_PART_TABLE_TYPE): a "superfloppy" card. These properties of
 * the device itself decide, not a look for partitions at the disk's "add"
 * (the kernel announces the disk first: that races).
 *   - enrolled: each volume is docked in a thread of its own (voldock.h; the
 *     status view shows it as transport "usb-storage"); at most
 *     max_cameras sessions of any kind at once, a device over the limit is
 *     refused with reason "busy" and recorded;
 *   - unknown, revoked, another agency's, or a row no event backs: the
 *     device is never opened, mounted or read. Recorded once per docking
 *     of the USB device (whatever number of partitions it shows): docked +
 *     device_rejected {kind "storage", vid, pid, serial, devnode, reason}
 *     (outcome denied) in one transaction, an alert "device-rejected" and
 *     a log line "mass-storage device ... refused".
 * A "remove" of a known block device is logged; a session in progress
 * sees its reader fail and records that. Lost uevents (ENOBUFS): the
 * devices are listed again.
 *
 * Identity is by vid:pid:serial, never by bus or address. USB ids and
 * serials can be copied by any device: docs/threat-model.md.
 */
#ifndef DOCKD_MSCWATCH_H
#define DOCKD_MSCWATCH_H

struct dockd;
struct mscwatch;

/* Monitor live and present devices queued, then the thread runs. 0 or
 * -errno (the daemon then runs without mass-storage detection, and says
 * so). */
int mscwatch_start(struct dockd *d, struct mscwatch **out);

/* Stop the thread (no new sessions start; running ones finish on their
 * own and are counted in dockd.busy). NULL is fine. */
void mscwatch_stop(struct mscwatch *w);

#endif
