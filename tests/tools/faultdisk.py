#!/usr/bin/env python3
"""faultdisk.py - a card with read errors, for tests (issue 14).

    faultdisk.py MOUNTPOINT IMAGE CTL

Serves one read-only file MOUNTPOINT/disk.img holding IMAGE's bytes over
FUSE, spoken directly on /dev/fuse (no libfuse, no Python FUSE module:
the machine has neither). A read that touches a byte range listed in the
file CTL fails with EIO, like a card's bad sectors: one "START END" pair
of byte offsets a line (END exclusive), re-read at every request, so a
test makes a region unreadable or the whole card gone ("0 -1": a card
unplugged) while the reader keeps its mount. A loop device over disk.img
is then a block device with bad sectors (device-mapper is not on every
kernel). Runs in the foreground until unmounted (fusermount -u / umount)
or killed; needs root (mount(2)). The kernel caches what was read well
(a bad range is never cached: its reads keep failing until CTL clears
it); direct_io would make fusefat's FAT walks crawl.
"""
import errno
import os
import struct
import sys
import ctypes

IN_HDR = struct.Struct("<IIQQIIII")   # len opcode unique nodeid uid gid pid pad
OUT_HDR = struct.Struct("<IiQ")       # len error unique
LOOKUP, FORGET, GETATTR, OPEN, READ, STATFS, RELEASE, FLUSH = 1, 2, 3, 14, 15, 17, 18, 25
INIT, OPENDIR, READDIR, RELEASEDIR, DESTROY, BATCH_FORGET = 26, 27, 28, 29, 38, 42
NAME = b"disk.img"


def attr(ino, size, mode):
    # ino size blocks atime mtime ctime atimensec mtimensec ctimensec mode
    # nlink uid gid rdev blksize flags
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, (size + 511) // 512, 0, 0, 0,
                       0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def bad_ranges(ctl):
    out = []
    try:
        with open(ctl) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    out.append((int(p[0]), int(p[1])))
    except OSError:
        pass
    return out


def main():
    mnt, image, ctl = sys.argv[1:4]
    size = os.path.getsize(image)
    img = os.open(image, os.O_RDONLY)
    fd = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    opts = ("fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd).encode()
    if libc.mount(b"faultdisk", mnt.encode(), b"fuse", ctypes.c_ulong(6), opts) != 0:
        # MS_NOSUID | MS_NODEV
        sys.exit("faultdisk: mount: %s" % os.strerror(ctypes.get_errno()))
    root_attr = attr(1, 0, 0o40555)
    file_attr = attr(2, size, 0o100444)

    def reply(unique, err=0, body=b""):
        try:
            os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(body), -err, unique) + body)
        except OSError:
            pass  # the request was interrupted

    while True:
        try:
            req = os.read(fd, 1 << 20 | 4096)
        except OSError as e:
            if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                continue
            return 0  # ENODEV: unmounted
        _, op, unique, node = IN_HDR.unpack_from(req)[:4]
        arg = req[IN_HDR.size:]
        if op == INIT:
            major, minor = struct.unpack_from("<II", arg)
            reply(unique, 0, struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), 0, 0, 16, 12,
                                         1 << 20, 1, 256, 0, 0, *([0] * 7)))
        elif op == LOOKUP:
            if node == 1 and arg.rstrip(b"\0") == NAME:
                reply(unique, 0, struct.pack("<QQQQII", 2, 0, 0, 0, 0, 0) + file_attr)
            else:
                reply(unique, errno.ENOENT)
        elif op == GETATTR:
            reply(unique, 0, struct.pack("<QII", 0, 0, 0) + (root_attr if node == 1 else file_attr))
        elif op in (OPEN, OPENDIR):
            reply(unique, 0, struct.pack("<QII", 0, 0, 0))
        elif op == READ:
            _, off, n = struct.unpack_from("<QQI", arg)
            end = min(off + n, size)
            if any(s < end and (e < 0 or off < e) for s, e in bad_ranges(ctl)):
                reply(unique, errno.EIO)
            else:
                reply(unique, 0, os.pread(img, max(0, end - off), off))
        elif op == READDIR:
            reply(unique, 0, b"")  # nothing to list: the file is looked up by name
        elif op in (RELEASE, RELEASEDIR, FLUSH):
            reply(unique)
        elif op == STATFS:
            reply(unique, 0, struct.pack("<QQQQQIIII6I", 0, 0, 0, 0, 0, 4096, 255, 4096, 0,
                                         *([0] * 6)))
        elif op in (FORGET, BATCH_FORGET):
            pass  # no reply
        elif op == DESTROY:
            reply(unique)
            return 0
        else:
            reply(unique, errno.ENOSYS)


if __name__ == "__main__":
    sys.exit(main())
