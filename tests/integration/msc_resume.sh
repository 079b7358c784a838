#!/bin/sh
# USB mass-storage cameras: unplug mid-file, then plugged in again, within
# one dockd (issue 14 "unplug mid-file resumes"; docs/dockd.md "Mass-
# storage cameras", point 5). dockd runs under umockdev (usb_harness msc,
# as in msc_detect.sh) with [dock] usb_storage = true; the camera's block
# node is a read-only loop device over a FAT32 card served by
# tests/tools/faultdisk.py, which fails every read of the recording past
# a point with EIO: to the dock's reader that is the card pulled out
# mid-file. Shows: the docking ends that pull with ingest_interrupted, the
# row stays pulling with durable chunks, nothing is ingested or released;
# the camera unplugged and plugged in again (the card whole) is docked by
# the same dockd, which resumes at the last durable chunk (ingest_started
# resume_chunk > 0, no ingest_restarted) instead of byte 0; the stored
# copy decrypts to the original bytes and is verified.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
H="$TBIN/usb_harness"
for c in umockdev-wrapper mkfs.vfat mcopy mmd fusefat losetup python3; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c"; exit 0; }
done
[ -x "$H" ] || { echo "1..0 # SKIP usb_harness not built"; exit 0; }
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root (loop device) and /dev/fuse"; exit 0; }
mktmp
FD=$T/fd FDPID= LOOP= HPID=
cleanup() {
	[ -z "$HPID" ] || kill "$HPID" 2>/dev/null
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null
	grep -q " $FD " /proc/mounts 2>/dev/null && umount "$FD" 2>/dev/null
	[ -z "$FDPID" ] || kill "$FDPID" 2>/dev/null
}
trap 'cleanup; kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

MIB=1048576
IMG=$T/cam.img
mkfs.vfat -C -F 32 -i 1234ABCD "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA
dk_randfile "$T/v1" $((12 * MIB + 777)) r1
mcopy -i "$IMG" "$T/v1" ::DCIM/100MEDIA/VID0001.MP4
off=$(python3 -c "import sys; print(open(sys.argv[1], 'rb').read().find(open(sys.argv[2], 'rb').read(4096)))" "$IMG" "$T/v1")
check "setup: the recording sits in the image" test "$off" -gt 0 || done_testing
# the card gone 6 MiB into the recording: every read of the recording
# from there fails (its last MiB reads: the dock took the file's identity
# before the pull, when the card was still there)
echo "$((off + 6 * MIB)) $((off + 11 * MIB - 8192))" >"$T/bad" # pages: the image is 4 KiB-read
mkdir -p "$FD"
python3 "$TOP/tests/tools/faultdisk.py" "$FD" "$IMG" "$T/bad" &
FDPID=$!
i=0
while ! [ -f "$FD/disk.img" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
LOOP=$(losetup -r -f --show "$FD/disk.img") || { skip "unplug mid-file" "no loop device"; done_testing; }

DK_EXTRA_DOCK="usb_storage = true"
DK_RELEASE_WAIT=30
check "setup" dk_init "$T/d" storage || done_testing
D="$DOCKD --config $DK_CONF"
VID=1209 PID=0002 SER=BC200-0077
check "setup: enroll the storage camera" quiet $D enroll --storage "$VID:$PID:$SER" \
	--officer ofc-9 --profile generic-dcim --reason "issued to ofc-9"

. "$TOP/tests/msc_lib.sh" # desc(), the harness helpers
desc "$T/cam.desc" 3 "$SER" sdb
# umockdev cannot add a block device name twice in one testbed: plugged in
# again, the camera is sdd on port 5
desc "$T/again.desc" 5 "$SER" sdd

CTL=$T/ctl ST=$T/status
mkfifo "$CTL"
row() { dk_sql "SELECT evidence_id FROM dock_recordings WHERE serial='$SER' AND size=$((12 * MIB + 777))"; }
interrupted() { [ -n "$(row)" ] && [ "$(dk_count_action "$(row)" ingest_interrupted)" = 1 ]; }

check "dockd under umockdev is ready" harness_start ||
	{ tail -20 "$DK_LOG" | sed 's/^/#   /'; done_testing; }
check "plug the camera (its card fails past 6 MiB of the recording)" plug "$T/cam.desc"
check "the pull stops mid-file: ingest_interrupted" wait_for 40 interrupted ||
	tail -20 "$DK_LOG" | sed 's/^/#   /'
E=$(row)
pulling_partial() {
	[ "$(dk_state "$E")" = pulling ] &&
		[ "$(dk_sql "SELECT durable_chunks FROM dock_recordings WHERE evidence_id='$E'")" -gt 0 ]
}
check "the row stays pulling, with durable chunks" pulling_partial
check "nothing ingested or released" dk_py '
assert not [a for _, a, e, d in events(args[0]) if a in ("ingested", "camera_released")]' "$E"
check "unplug the camera" unplug "$T/cam.desc"
check "the unplug is logged" wait_for 10 grep -q "mass-storage device $VID:$PID:$SER at $LOOP removed" "$DK_LOG"
: >"$T/bad" # the card whole again
check "plug it in again (the same dockd)" plug "$T/again.desc"
verified() { [ "$(dk_state "$E")" = storage_verified ]; }
check "the recording is stored and verified" wait_for 40 verified || tail -20 "$DK_LOG" | sed 's/^/#   /'
check "the second pull resumed at the last durable chunk (resume_chunk > 0), never restarted" dk_py '
s = [d for _, a, e, d in events(args[0]) if a == "ingest_started"]
print("# ingest_started:", [(d.get("attempt"), d.get("resume_chunk")) for d in s])
assert len(s) == 2 and s[0]["resume_chunk"] == 0 and s[1]["resume_chunk"] > 0, s
assert not [a for _, a, e, d in events(args[0]) if a == "ingest_restarted"]' "$E"
same() { dk_decrypt_file "$(dk_vault_file "$SER" "${E#*/}")" "$T/dec" && cmp -s "$T/dec" "$T/v1"; }
check "the vault copy decrypts to the original bytes" same
harness_stop
check "dockd exits 0" test "$HRC" = 0
check "no crash or sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error:|killed by signal' '$DK_LOG'"
check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
done_testing
