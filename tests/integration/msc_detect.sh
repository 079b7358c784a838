#!/bin/sh
# Detection of USB mass-storage body cameras (issue 14, "Detection"): the
# unmodified dockd runs under umockdev (usb_harness msc, tests/usb/mscplug.c)
# with [dock] usb_storage = true; the harness plugs emulated devices (USB
# device + class-08 interface + SCSI + block nodes) whose block node is a
# real read-only loop device over a FAT32 image built here. Shows:
#   1. `dockd enroll --storage VID:PID:SERIAL --profile P` records a
#      device_enrolled {kind storage} event; an unknown profile is refused;
#      `dockd cameras` lists the camera with kind storage;
#   2. an enrolled camera plugged in is detected and docked (volsess.h): its
#      volume listed (volume_listed: the profile's files, the volume id),
#      each file ingested as an unsigned source; the volume is read-only
#      (a locked card), so release by deletion fails safe and is alerted;
#      its unplug is logged; docked again read-write (part 5) the stored
#      files are deleted from the card, nothing outside the profile;
#   3. an unenrolled device is refused: docked + device_rejected (denied),
#      an alert, a log line, and its volume is never listed (no docking of
#      it in the log or the ledger);
#      a row written into the table around the ledger is refused too;
#   4. the enrolled camera, revoked, is refused the same way when plugged in
#      again;
#   5. a camera already plugged in when dockd starts is found by the
#      start-up listing (enrolled again with --replace);
#   6. `custody verify` replays the storage enrolments: it shows the forged
#      row (and nothing else: unsigned sources of an enrolled storage camera
#      are fine), and passes once the row is gone.
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
H="$TBIN/usb_harness"
for c in umockdev-wrapper mkfs.vfat mcopy mmd fusefat losetup; do
	command -v $c >/dev/null 2>&1 || { skip "mass-storage detection" "no $c"; done_testing; }
done
[ -x "$H" ] || { skip "mass-storage detection" "usb_harness not built"; done_testing; }
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] ||
	{ skip "mass-storage detection" "needs root (loop device) and /dev/fuse"; done_testing; }
mktmp
LOOP=
cleanup() { [ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null; }
trap 'cleanup; kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM # the loop device goes with the test even when it is killed

# ---- the camera's volume: FAT32 with recordings, a sidecar, a decoy ---------
IMG=$T/cam.img
mkfs.vfat -C -F 32 -i 1234ABCD "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA
head -c 300000 /dev/urandom >"$T/v1"
head -c 70000 /dev/urandom >"$T/v2"
printf '$GPRMC,1\n' >"$T/g1"
mcopy -i "$IMG" "$T/v1" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$T/v2" ::DCIM/100MEDIA/VID0002.MP4
mcopy -i "$IMG" "$T/g1" ::DCIM/100MEDIA/VID0001.GPS
mcopy -i "$IMG" "$T/g1" ::DCIM/100MEDIA/NOTES.TXT
LOOP=$(losetup -r -f --show "$IMG") || { skip "mass-storage detection" "no loop device"; done_testing; }

DK_EXTRA_DOCK="usb_storage = true"
check "setup" dk_init "$T/d" storage || done_testing
D="$DOCKD --config $DK_CONF"
VID=1209 PID=0002 SER=BC200-0042

. "$TOP/tests/msc_lib.sh" # desc(), the harness helpers
desc "$T/cam.desc" 3 "$SER" sdb
desc "$T/stranger.desc" 4 STRANGER-7 sdc
# umockdev cannot add a block device name twice in one testbed (its
# /sys/block link stays): the camera plugged in again is sdd on port 5.
desc "$T/again.desc" 5 "$SER" sdd
desc "$T/forged.desc" 6 FORGED-1 sde

# ---- 1. enrolment ------------------------------------------------------------
$D enroll --storage "$VID:$PID:$SER" --officer ofc-9 --profile no-such-profile \
	>"$T/out" 2>"$T/err"
check "enroll --storage with an unknown profile: exit 2, says so" \
	sh -c "[ $? -eq 2 ] && grep -q \"no camera profile 'no-such-profile'\" '$T/err'"
check "enroll --storage VID:PID:SERIAL --officer --profile generic-dcim" \
	$D enroll --storage "$VID:$PID:$SER" --officer ofc-9 --profile generic-dcim \
	--reason "issued to ofc-9"
check "enroll --storage with a malformed id: exit 2" sh -c \
	"$D enroll --storage 1209:2:X --officer o --profile generic-dcim 2>/dev/null; [ \$? -eq 2 ]"
check "the enrolment is a device_enrolled event of kind storage with vid, pid, profile" dk_py '
e = [d for _, a, _, d in events() if a == "device_enrolled"]
sys.exit(0 if e and e[-1] == {"kind": "storage", "vid": "1209", "pid": "0002",
    "serial": "BC200-0042", "officer": "ofc-9", "profile": "generic-dcim", "model": "",
    "agency": "pd-test"} else 1)'
$D cameras >"$T/out" 2>&1
check "cameras lists it with kind storage" grep -q "^1209:0002:BC200-0042 .*enrolled .*ofc-9 .*generic-dcim .*storage$" "$T/out"
$D cameras --json >"$T/out" 2>&1
check "cameras --json: kind, vid, pid, profile" python3 -c "
import json
a = json.load(open('$T/out'))
assert any(x['kind'] == 'storage' and x['vid'] == '1209' and x['pid'] == '0002' and
           x['serial'] == 'BC200-0042' and x['profile'] == 'generic-dcim' and
           x['status'] == 'enrolled' for x in a), a"

# ---- the daemon under the harness ----------------------------------------------
CTL=$T/ctl ST=$T/status
mkfifo "$CTL"
docked_files() { # SERIAL: number of dockings that listed the volume (volume_listed, ok)
	dk_py 'print(sum(1 for _, a, _, d in events() if a == "volume_listed" and
	    d.get("serial") == args[0] and "recordings" in d))' "$1"
}
has_docked() { [ "$(docked_files "$1")" = "$2" ]; }
rejected() { # SERIAL REASON-WORD
	dk_py 'sys.exit(0 if any(a == "device_rejected" and d.get("kind") == "storage" and
	    d.get("serial") == args[0] and args[1] in d.get("reason", "")
	    for _, a, _, d in events()) else 1)' "$1" "$2"
}

check "dockd under umockdev is ready (READY=1 after its block monitor is live)" harness_start ||
	{ tail -20 "$DK_LOG" | sed 's/^/#   /'; done_testing; }

# ---- 2. the enrolled camera ----------------------------------------------------
check "plug the enrolled camera" plug "$T/cam.desc"
check "its volume is docked and listed (volume_listed)" \
	wait_for 30 has_docked "$SER" 1 || tail -30 "$DK_LOG" | sed 's/^/#   /'
check "the listing counts the profile's recordings and sidecar, with the volume id" dk_py '
d = [d for _, a, _, d in events() if a == "volume_listed" and "recordings" in d]
assert len(d) == 1, d
d = d[0]
assert d["recordings"] == 2 and d["sidecars"] == 1, d
assert d["volume_id"] == "1234-ABCD" and d["serial"] == "BC200-0042", d
assert d["profile"] == "generic-dcim", d'
check "the docked event says transport usb-msc, unsigned source" dk_py '
d = [d for _, a, _, d in events() if a == "docked" and d.get("transport") == "usb-msc"]
assert len(d) == 1 and d[0]["serial"] == "BC200-0042" and d[0]["source"] == "unsigned", d'
check "each matching file is ingested as an unsigned source, nothing else" wait_for 30 dk_py '
f = {d["volume"]["path"]: (d["volume"]["kind"], d["size"]) for _, a, _, d in events()
     if a == "ingested" and d.get("source") == "unsigned"}
assert f == {"DCIM/100MEDIA/VID0001.MP4": ("recording", 300000),
             "DCIM/100MEDIA/VID0002.MP4": ("recording", 70000),
             "DCIM/100MEDIA/VID0001.GPS": ("sidecar", 9)}, f
o = [d for _, a, _, d in events() if a == "ingested" and d.get("source") == "unsigned"]
assert all(d["officer"] == "ofc-9" for d in o), o'
check "the volume is read-only (a locked card): release by deletion fails safe, alerted, the files stay" \
	wait_for 30 grep -q "could not be deleted from camera BC200-0042.*it stays on the camera" "$DK/alerts.log"
check "no camera_released with deleted for it" dk_py '
assert not [d for _, a, _, d in events() if a == "camera_released" and d.get("deleted")]'
check "unplug the camera" unplug "$T/cam.desc"
check "the unplug is logged" wait_for 10 grep -q "mass-storage device 1209:0002:BC200-0042 at $LOOP removed" "$DK_LOG"

# ---- 3. an unenrolled device -----------------------------------------------------
a0=$(dk_alerts)
check "plug an unenrolled mass-storage device" plug "$T/stranger.desc"
check "refused: device_rejected (kind storage) saying it is not enrolled" \
	wait_for 20 rejected STRANGER-7 "not enrolled"
check "the refusal is outcome denied, after a docked event naming the device" dk_py '
ev = [(a, d) for _, a, _, d in events() if d.get("serial") == "STRANGER-7"]
assert [a for a, _ in ev] == ["docked", "device_rejected"], ev
o = con.execute("SELECT outcome FROM events WHERE action = 3 ORDER BY seq DESC LIMIT 1").fetchone()[0]
assert o == 3, o'
check "an alert device-rejected was raised" \
	wait_for 10 sh -c "[ \$(wc -l <'$DK/alerts.log') -gt $a0 ] && grep -q 'device-rejected.*STRANGER-7' '$DK/alerts.log'"
check "log: refused, never mounted or read" grep -q "mass-storage device 1209:0002:STRANGER-7 at .* refused (never mounted or read)" "$DK_LOG"
check "its volume was never listed (no docking, no reader run for it)" \
	sh -c "! grep -q 'STRANGER-7.*docking' '$DK_LOG' && [ $(docked_files "$SER") -eq 1 ]"
check "no docked event with a file list for it" test "$(docked_files STRANGER-7)" = 0
check "unplug it" unplug "$T/stranger.desc"

# a row written around the ledger (SQL, pointing at the real enrolment's
# event) grants nothing: deny by default
seq=$(dk_sql "SELECT changed_seq FROM dock_storage_cameras WHERE serial = '$SER'")
check "setup: a forged dock_storage_cameras row for FORGED-1" sqlite3 -cmd '.timeout 5000' "$DK_DB" \
	"INSERT INTO dock_storage_cameras VALUES('1209', '0002', 'FORGED-1', 'ofc-9', 'generic-dcim', 'pd-test', 'enrolled', $seq)"
check "plug the device the forged row names" plug "$T/forged.desc"
check "refused: its row has no device_enrolled event" \
	wait_for 20 rejected FORGED-1 "no device_enrolled event"
check "not docked" test "$(docked_files FORGED-1)" = 0
check "unplug it" unplug "$T/forged.desc"

# ---- 4. the camera, revoked ---------------------------------------------------------
check "revoke --storage" $D revoke --storage "$VID:$PID:$SER" --reason "reported lost"
check "plug the revoked camera" plug "$T/again.desc"
check "refused: device_rejected saying revoked" wait_for 20 rejected "$SER" revoked
check "an alert names it" wait_for 10 grep -q "device-rejected.*$SER" "$DK/alerts.log"
check "still exactly one docking with a file list (the revoked one was not read)" \
	test "$(docked_files "$SER")" = 1
check "unplug it" unplug "$T/again.desc"
harness_stop
check "dockd exits 0 on SIGTERM" test "$HRC" = 0

# ---- 5. present at start ------------------------------------------------------------
check "enroll again with --replace" $D enroll --storage "$VID:$PID:$SER" --officer ofc-9 \
	--profile generic-dcim --replace --reason found
# the card unlocked this time: the same image attached read-write
losetup -d "$LOOP"
LOOP=$(losetup -f --show "$IMG") || LOOP=
check "the image attached read-write" test -n "$LOOP" || done_testing
desc "$T/cam.desc" 3 "$SER" sdb
deleted() { dk_py 'print(sum(1 for _, a, _, d in events() if a == "camera_released" and d.get("deleted")))'; }
all_deleted() { [ "$(deleted)" = 3 ]; }
check "dockd starts with the camera already plugged in" harness_start --plug-first "$T/cam.desc"
check "found by the start-up listing and docked (a second listing)" \
	wait_for 30 has_docked "$SER" 2
check "the re-docked camera ingests nothing twice" wait_for 30 dk_py '
n = [d for _, a, _, d in events() if a == "ingested" and d.get("source") == "unsigned"]
assert len(n) == 3, len(n)'
check "released by deletion: a camera_released {deleted} for each stored file" \
	wait_for 60 all_deleted || tail -20 "$DK_LOG" | sed 's/^/#   /'
harness_stop
mdir -b -i "$IMG" ::DCIM/100MEDIA >"$T/left" 2>&1
check "deleted from the card: the recordings and the sidecar are gone" \
	sh -c "! grep -Eq 'VID0001.MP4|VID0002.MP4|VID0001.GPS' '$T/left'"
check "the file outside the profile stays" grep -q NOTES.TXT "$T/left"
check "the card's FAT is clean after the release (fsck.vfat -n)" fsck.vfat -n "$IMG"
check "dockd exits 0" test "$HRC" = 0
check "no crash or sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error:|killed by signal' '$DK_LOG'"

# ---- 6. the ledger ----------------------------------------------------------------------
"$CUSTODY" --config "$DK_CONF" verify >"$DK/verify.out" 2>&1
check "custody verify finds the forged dock_storage_cameras row, and only that" sh -c "
	grep -q 'FINDING table-cameras.*dock_storage_cameras has a row for 1209:0002:FORGED-1' '$DK/verify.out' &&
	[ \$(grep -c FINDING '$DK/verify.out') -eq 1 ]" || sed 's/^/#   /' "$DK/verify.out"
sqlite3 -cmd '.timeout 5000' "$DK_DB" "DELETE FROM dock_storage_cameras WHERE serial = 'FORGED-1'"
check "with the forged row gone, custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
done_testing
