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
# the image is unchanged; an exFAT volume (exfat-fuse needs fuseblk, which
# a user namespace cannot mount) is refused with a clear error.
# Then a whole docking as nobody (`dockd volume-ingest`, the dock's state
# owned by nobody): both recordings ingested as unsigned sources, stored,
# released by deleting them from the card through fusefat's read-write
# mode, the file outside the profile kept, the FAT clean, custody verify
# passes. Before the user namespace the scan failed: "private mount
# namespace: Operation not permitted".
. "$(dirname "$0")/../lib.sh"
for c in mkfs.vfat mcopy mmd fusefat mkfs.exfat losetup setpriv unshare; do
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
# nobody must be able to run the binary: a copy in a traversable directory
chmod 0711 "$T"
cp "$BIN/dockd" "$T/dockd" && chmod 0755 "$T/dockd"
OUT=$T/out ERR=$T/err
scan() { $AS "$T/dockd" "$@" >"$OUT" 2>"$ERR"; }
has() { grep -q -- "$1" "$OUT"; }
show() { echo "# stdout:"; sed 's/^/#   /' "$OUT"; echo "# stderr:"; sed 's/^/#   /' "$ERR"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
VOL0=$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)

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
check "nothing left mounted or in /tmp" test "$(ls -d /tmp/dockd-vol.* 2>/dev/null | wc -l)" -eq "$VOL0"
check "no FUSE mount left in the root namespace" sh -c "! grep -q dockd-vol /proc/mounts"

# the device is the only way in: without read access, a clear refusal
chmod 0000 "$DEV"
check_fails "as nobody: an unreadable block device is refused" scan volume-scan "$DEV"
check "  with a clear error, not a crash" grep -q "could not read\|Permission denied" "$ERR" || show
chmod 0600 "$DEV"

EX=$T/ex.img
truncate -s 32M "$EX" && mkfs.exfat "$EX" >/dev/null 2>&1
if EXDEV=$(attach "$EX"); then
	check_fails "as nobody: an exFAT volume is refused" scan volume-scan "$EXDEV"
	check "  saying exFAT needs the reader to run as root" grep -q "exFAT needs the dock to run the reader as root" "$ERR" || show
else
	skip "exFAT refusal" "no second loop device"
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
		$AS timeout 120 "$T/dockd" --config "$DK_CONF" volume-ingest --camera NR-1 \
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
done_testing
