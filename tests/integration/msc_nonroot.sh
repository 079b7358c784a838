#!/bin/sh
# USB mass-storage cameras read by an unprivileged dock (issue 14): the
# packaged service runs as a plain user with no capabilities, so the volume
# supervisor (`dockd --volume-mount`) cannot unshare(CLONE_NEWNS) as it does
# for root; it makes its private mount namespace inside a user namespace
# mapping only its own uid/gid, and the FUSE driver mounts there with
# mount(2) (docs/architecture.md, "The volume reader worker"). A FAT32
# image on a loop device given to an unprivileged user (nobody) is read
# with `dockd volume-scan --verify` run as that user: the recordings are
# listed and read twice with the source's SHA-256, nothing stays mounted,
# the image is unchanged. exFAT the same way: exfat-fuse asks for fuseblk,
# which the kernel refuses in a user namespace (EPERM), so libfuse runs
# fusermount, and in the reader's namespace that is dockd's own
# (dockd/volume/volfm.h), which mounts plain fuse ro,nosuid,nodev,noexec:
# its allow-list and refusals are checked directly, then an exFAT
# volume-scan --verify as nobody (also with no /bin/fusermount at all:
# Debian's fuse3 instead of fuse), and an exFAT camera docked as nobody.
# Before volfm an exFAT volume was refused ("exFAT needs the dock to run
# the reader as root").
# Then a whole docking as nobody (`dockd volume-ingest`, the dock's state
# owned by nobody): both recordings ingested as unsigned sources, stored,
# released by deleting them from the card through fusefat's read-write
# mode, the file outside the profile kept, the FAT clean, custody verify
# passes. Before the user namespace the scan failed: "private mount
# namespace: Operation not permitted".
. "$(dirname "$0")/../lib.sh"
for c in mkfs.vfat mcopy mmd fusefat mkfs.exfat mount.exfat-fuse losetup setpriv unshare python3; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
id nobody >/dev/null 2>&1 || { echo "1..0 # SKIP no user nobody"; exit 0; }
AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
$AS unshare -U -m true 2>/dev/null || { echo "1..0 # SKIP unprivileged user namespaces are disabled"; exit 0; }
mktmp
FUSEMODE=$(stat -c %a /dev/fuse)
cleanup() {
	chmod "$FUSEMODE" /dev/fuse
	for f in "$T/fat.img" "$T/ex.img" "$T/fat2.img"; do
		for l in $(losetup -j "$f" -O NAME -n 2>/dev/null); do losetup -d "$l"; done
	done
	kill $(jobs -p) 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT
attach() {
	l=$(losetup -f --show "$1" 2>/dev/null) || return 1 # detached by cleanup
	chown nobody:nogroup "$l" && chmod 0600 "$l" && echo "$l"
}
# Debian's /dev/fuse is 0666 (the unit's DeviceAllow= narrows it for the
# daemon); some containers make it 0600: open it up for this test only.
chmod 0666 /dev/fuse
# nobody must be able to run the binaries: copies in a traversable prefix,
# dockd's fusermount where dockd looks for it (../libexec/dockd/fuse/)
chmod 0711 "$T"
P=$T/pfx ND=$T/pfx/bin/dockd FM=$T/pfx/libexec/dockd/fuse/fusermount
mkdir -p "$P/bin" "$P/libexec/dockd/fuse" && chmod -R 0755 "$P"
cp "$BIN/dockd" "$ND" && cp "$BIN/../libexec/dockd/fuse/fusermount" "$FM" && chmod 0755 "$ND" "$FM"
OUT=$T/out ERR=$T/err
scan() { $AS "$ND" "$@" >"$OUT" 2>"$ERR"; }
has() { grep -q -- "$1" "$OUT"; }
show() { echo "# stdout:"; sed 's/^/#   /' "$OUT"; echo "# stderr:"; sed 's/^/#   /' "$ERR"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# mount points this test's reader (nobody) left: other tests on the machine
# run theirs as root at the same time
vol_left() { find /tmp -maxdepth 1 -name 'dockd-vol.*' -user nobody | wc -l; }
VOL0=$(vol_left)

head -c 2097152 /dev/urandom >"$T/v1.mp4"
head -c 50000 /dev/urandom >"$T/v2.mov"
IMG=$T/fat.img
mkfs.vfat -C -F 32 "$IMG" 65536 >/dev/null
chmod 0600 "$IMG" # nobody reads it only through the loop device
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA
mcopy -i "$IMG" "$T/v1.mp4" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$T/v2.mov" ::DCIM/100MEDIA/VID0002.MOV
before=$(sha "$IMG")
DEV=$(attach "$IMG") || { echo "1..0 # SKIP no loop device"; exit 0; }

check "as nobody: volume-scan --verify of a FAT32 block device succeeds" scan volume-scan --verify "$DEV" || show
check "as nobody: VID0001.MP4 listed with its size" has "file recording DCIM/100MEDIA/VID0001.MP4 size=2097152 "
check "as nobody: VID0001.MP4 read twice, SHA-256 of the source" \
	has "verify DCIM/100MEDIA/VID0001.MP4 sha256=$(sha "$T/v1.mp4") .*re-read-equal"
check "as nobody: VID0002.MOV read twice, SHA-256 of the source" \
	has "verify DCIM/100MEDIA/VID0002.MOV sha256=$(sha "$T/v2.mov") .*re-read-equal"
check "as nobody: totals" has "^files 2 recordings 2 sidecars 0 skipped 0$"
check "the image is unchanged (read-only all the way)" test "$(sha "$IMG")" = "$before"
check "nothing left mounted or in /tmp" test "$(vol_left)" -eq "$VOL0"
check "no FUSE mount left in the root namespace" sh -c "! grep -q dockd-vol /proc/mounts"

# the device is the only way in: without read access, a clear refusal
chmod 0000 "$DEV"
check_fails "as nobody: an unreadable block device is refused" scan volume-scan "$DEV"
check "  with a clear error, not a crash" grep -q "could not read\|Permission denied" "$ERR" || show
chmod 0600 "$DEV"

# ---- exFAT as nobody: dockd's fusermount (dockd/volume/volfm.h) ------------
# fm OPTS [WANT]: dockd's fusermount run as libfuse runs it (_FUSE_COMMFD,
# its mount point in DOCKD_FUSE_MNT), as nobody in a user namespace with
# CAP_SYS_ADMIN over it (as the FUSE driver has it): its exit status, the
# descriptors it sent back, and the mount it made as /proc/self/mountinfo
# shows it, all inside that namespace.
mkdir "$T/fmd" && chown nobody:nogroup "$T/fmd"
fm() {
	$AS unshare -U -m --map-current-user --keep-caps python3 -c '
import os, socket, subprocess, sys
fm, opts, mnt, want = sys.argv[1:5]
a, b = socket.socketpair()
env = {"_FUSE_COMMFD": str(a.fileno()), "DOCKD_FUSE_MNT": want, "ASAN_OPTIONS": "exitcode=99"}
rc = subprocess.run(["fusermount", "-o", opts, "--", mnt], executable=fm, env=env,
                    pass_fds=[a.fileno()]).returncode
a.close()
b.settimeout(5)
try:
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
except OSError:
    fds = []
print("rc", rc, "fds", len(fds))
for l in open("/proc/self/mountinfo"):
    if l.split()[4] == mnt:
        print("mount", l.strip())
' "$FM" "$1" "$T/fmd" "${2:-$T/fmd}" >"$OUT" 2>"$ERR"
}
# what exfat-fuse 1.3.0 makes libfuse 2.9.9 ask for (seen with strace)
ASK="ro,nosuid,nodev,allow_other,default_permissions,blksize=4096,user=nobody,blkdev,fsname=/dev/loop9"
fm "$ASK"
check "dockd's fusermount mounts libfuse's request and sends the /dev/fuse descriptor back" has "^rc 0 fds 1$" || show
check "  as type fuse (never fuseblk), read-only, nosuid, nodev, noexec" \
	has "^mount .* $T/fmd ro,nosuid,nodev,noexec[, ].* - fuse dockd-vol ro,"
check "  dropping allow_other, blkdev and blksize; keeping default_permissions" \
	sh -c "grep -q 'default_permissions' '$OUT' && ! grep -Eq 'allow_other|blksize|fuseblk' '$OUT'"
fm "rw,suid,dev,exec,max_read=131072"
check "  asked rw,suid,dev,exec it still mounts ro,nosuid,nodev,noexec (max_read kept)" \
	has "^mount .* $T/fmd ro,nosuid,nodev,noexec[, ].* - fuse dockd-vol .*max_read=131072" || show
fm "ro,context=system_u:object_r:tmp_t:s0"
check "  an option off the allow-list is refused, nothing mounted" \
	sh -c "grep -q '^rc 1 fds 0$' '$OUT' && ! grep -q '^mount' '$OUT' && grep -q refused '$ERR'" || show
fm "ro,$(head -c 5000 /dev/zero | tr '\0' a)"
check "  over-long options are refused, nothing mounted" \
	sh -c "grep -q '^rc 1 fds 0$' '$OUT' && ! grep -q '^mount' '$OUT'" || show
fm "ro" "/tmp"
check "  a mount point other than the supervisor's is refused" \
	sh -c "grep -q '^rc 1 fds 0$' '$OUT' && ! grep -q '^mount' '$OUT'" || show
# hostile option strings (a driver a volume took over chooses them): each is
# served or refused (exit 0 or 1), never a crash or a sanitizer report (99)
fm_hostile() {
	for o in 'ro,\' ',,,,ro,,' "$(printf 'default_permissions,%.0s' 1 2 3 4 5 6 7 8)" \
		'fsname=a\,b\,c,ro' "$(printf 'ro,\001\177\377')" 'max_read=1234567890' \
		'max_read=' 'max_read=12a' "$(head -c 4096 /dev/zero | tr '\0' ,)"; do
		fm "$o"
		grep -Eq '^rc (0 fds 1|1 fds 0)$' "$OUT" || { echo "# options '$o':"; show; return 1; }
	done
}
check "  hostile option strings: served or refused, never a crash" fm_hostile
fmrun() { env DOCKD_FUSE_MNT="$T/fmd" $AS "$FM" "$@" >"$OUT" 2>"$ERR"; }
check_fails "  fusermount -u (unmounting) is not served" fmrun -u -q -z -- "$T/fmd"
check_fails "  without _FUSE_COMMFD it refuses" fmrun -o ro -- "$T/fmd"
check "  saying it runs for libfuse only" grep -q "_FUSE_COMMFD does not name a socket" "$ERR" || show

EX=$T/ex.img
truncate -s 32M "$EX" && mkfs.exfat "$EX" >/dev/null 2>&1
head -c 1500000 /dev/urandom >"$T/x1.mp4"
head -c 70000 /dev/urandom >"$T/x2.mov"
mkdir "$T/exmnt"
unshare -m --propagation private sh -c "
	L=\$(losetup -f --show '$EX') || exit 1
	mount.exfat-fuse \$L '$T/exmnt' >/dev/null 2>&1 || { losetup -d \$L; exit 1; }
	mkdir -p '$T/exmnt/DCIM/100MEDIA'
	cp '$T/x1.mp4' '$T/exmnt/DCIM/100MEDIA/VID0001.MP4'
	cp '$T/x2.mov' '$T/exmnt/DCIM/100MEDIA/VID0002.MOV'
	umount '$T/exmnt'; losetup -d \$L" || not_ok "exFAT image could not be filled"
chmod 0600 "$EX"
exbefore=$(sha "$EX")
exscan_ok() {
	has "verify DCIM/100MEDIA/VID0001.MP4 sha256=$(sha "$T/x1.mp4") .*re-read-equal" &&
		has "verify DCIM/100MEDIA/VID0002.MOV sha256=$(sha "$T/x2.mov") .*re-read-equal" &&
		has "^files 2 recordings 2 sidecars 0 skipped 0$"
}
if EXDEV=$(attach "$EX"); then
	check "as nobody: volume-scan --verify of an exFAT block device succeeds" \
		scan volume-scan --verify "$EXDEV" || show
	check "as nobody: both exFAT recordings listed and read twice, SHA-256 of the source" exscan_ok
	check "the exFAT image is unchanged (read-only all the way)" test "$(sha "$EX")" = "$exbefore"
	check "nothing left mounted or in /tmp" test "$(vol_left)" -eq "$VOL0"
	# Debian's fuse3 instead of fuse: no /bin/fusermount, libfuse searches
	# PATH, where the driver finds only dockd's (an overlay whiting it out)
	mkdir "$T/ovu" "$T/ovw" && mknod "$T/ovu/fusermount" c 0 0
	no_fusermount_scan() {
		unshare -m --propagation private sh -c "
			mount -t overlay overlay -o lowerdir=/usr/bin,upperdir='$T/ovu',workdir='$T/ovw' /usr/bin || exit 99
			[ ! -e /bin/fusermount ] || exit 98
			exec $AS '$ND' volume-scan --verify '$EXDEV'" >"$OUT" 2>"$ERR"
	}
	no_fusermount_scan; rc=$?
	if [ $rc -eq 99 ]; then
		skip "exFAT with no /bin/fusermount" "no overlayfs here"
	else
		check "as nobody, no /bin/fusermount: exFAT read through dockd's fusermount on PATH" \
			sh -c "[ $rc = 0 ]" || show
		check "  both recordings verified" exscan_ok
	fi
else
	skip "exFAT as nobody" "no second loop device"
fi

# ---- a whole docking as nobody: ingest, store, release by deletion ------------
# The dock's state (ledger, keys, vault, file:// target) belongs to nobody,
# as it belongs to the service user on a packaged dock; the camera's block
# device is nobody's, read-write (the udev rule's group evidence-dock 0660).
. "$TOP/tests/dockd_lib.sh"
dk_require
DK_RELEASE_WAIT=30
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
cat >>"$DK_CONF" <<EOC

[profile nr]
recordings = DCIM/*/*.MP4, DCIM/*/*.MOV
release = delete
EOC
"$DOCKD" --config "$DK_CONF" enroll --serial NR-1 --pubkey "$(openssl rand -hex 32)" \
	--officer OFF-9 --model MSC --reason "test enrolment" >/dev/null || not_ok "enroll"
"$DOCKD" --config "$DK_CONF" enroll --serial NR-2 --pubkey "$(openssl rand -hex 32)" \
	--officer OFF-9 --model MSC --reason "test enrolment" >/dev/null || not_ok "enroll NR-2"
chown -R nobody:nogroup "$T/dk"
IMG2=$T/fat2.img
mkfs.vfat -C -F 32 "$IMG2" 65536 >/dev/null
chmod 0600 "$IMG2"
mmd -i "$IMG2" ::DCIM ::DCIM/100MEDIA
mcopy -i "$IMG2" "$T/v1.mp4" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG2" "$T/v2.mov" ::DCIM/100MEDIA/VID0002.MOV
mcopy -i "$IMG2" "$T/v2.mov" ::DCIM/100MEDIA/NOTES.TXT
if DEV2=$(attach "$IMG2"); then
	dock_as_nobody() {
		$AS timeout 120 "$ND" --config "$DK_CONF" volume-ingest --camera NR-1 \
			--profile nr --fs vfat "$DEV2" >>"$DK_LOG" 2>&1
	}
	check "as nobody: dockd volume-ingest docks the camera (block device, read-write)" \
		dock_as_nobody || tail -20 "$DK_LOG" | sed 's/^/#   /'
	check "both recordings ingested as unsigned sources" dk_py '
n = [d for _, a, _, d in events() if a == "ingested" and d.get("source") == "unsigned"]
assert sorted(d["volume"]["path"] for d in n) == ["DCIM/100MEDIA/VID0001.MP4", "DCIM/100MEDIA/VID0002.MOV"], n'
	check "both released by deletion (camera_released with deleted)" dk_py '
n = [d for _, a, _, d in events() if a == "camera_released" and d.get("deleted")]
assert len(n) == 2, n' || grep -i "release\|delet\|warn\|error" "$DK_LOG" | tail -15 | sed 's/^/#   /'
	mdir -b -i "$IMG2" ::DCIM/100MEDIA >"$T/left" 2>&1
	check "deleted from the card; the file outside the profile stays" \
		sh -c "! grep -Eq 'VID0001.MP4|VID0002.MOV' '$T/left' && grep -q NOTES.TXT '$T/left'"
	check "the card's FAT is clean (fsck.vfat -n)" fsck.vfat -n "$IMG2"
	check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
	check "nothing left mounted" sh -c "! grep -q dockd-vol /proc/mounts"
else
	skip "docking as nobody" "no loop device"
fi

# ---- an exFAT camera docked as nobody ------------------------------------------
# Read-only: the recordings are ingested and stored; release by deletion
# (this profile asks for it) is refused by the supervisor, whose exFAT
# mount is read-only, so the card is left exactly as it was.
same_store() { # ORIG EVID
	dk_decrypt_file "$DK_STORE/$DK_AGENCY/$2.bcde" "$T/dec" && cmp -s "$T/dec" "$1"; }
if [ -n "$EXDEV" ]; then
	exdock_as_nobody() {
		$AS timeout 120 "$ND" --config "$DK_CONF" volume-ingest --camera NR-2 \
			--profile nr --fs exfat "$EXDEV" >>"$DK_LOG" 2>&1
	}
	check "as nobody: dockd volume-ingest docks an exFAT camera" \
		exdock_as_nobody || tail -20 "$DK_LOG" | sed 's/^/#   /'
	for f in x1.mp4 x2.mov; do
		ev=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE sha256='$(sha "$T/$f")'")
		check "exFAT: $f ingested as an unsigned source, verified in storage" \
			test -n "$ev" -a "$(dk_state "$ev")" = storage_verified &&
			check "  its ingested event: source unsigned, the file's volume path" dk_py '
n = [d for _, a, _, d in events(args[0]) if a == "ingested"]
assert len(n) == 1 and n[0].get("source") == "unsigned", n
assert n[0]["volume"]["path"].startswith("DCIM/100MEDIA/VID000"), n' "$ev"
		check "exFAT: $f storage copy decrypts to the file's bytes" same_store "$T/$f" "$ev"
	done
	check "exFAT: deletion refused with a clear error (the reader's exFAT is read-only)" \
		grep -q "deleting from an exFAT volume needs the dock to run the reader as root" "$DK_LOG"
	check "exFAT: the card is unchanged" test "$(sha "$EX")" = "$exbefore"
	check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
	check "nothing left mounted" sh -c "! grep -q dockd-vol /proc/mounts"
fi
done_testing
