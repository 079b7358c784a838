#!/bin/sh
# USB mass-storage cameras, the edge cases of issue 14 ("Unplug mid-copy,
# a full card, a card with errors, a volume replaced between dockings are
# each handled: nothing lost, a clear event"; docs/dockd.md "Mass-storage
# cameras", "Edge cases"). A card with bad sectors is a FAT32 image served
# through tests/tools/faultdisk.py (a FUSE file whose listed byte ranges
# fail with EIO; device-mapper is not on every kernel). Shows:
#   1. a card with read errors: a recording whose middle cannot be read is
#      ingest_interrupted (the reason) and alerted, stays pulling and on
#      the card; one whose first MiB cannot be read is left out of the
#      listing (volume_listed skipped, "unreadable") and alerted; the
#      other recordings are ingested; the image is not written; a card
#      whose files all fail (it stopped reading) ends the docking after 4
#      in a row, and nothing of it counts as absent;
#   2. a volume replaced between dockings (another volume id, that
#      recording gone): volume_item_absent for the row never stored, with
#      both volume ids, and an alert; the row stays pulling, never
#      released; the new card's recording is ingested; the old card docked
#      again (errors gone) gives the missing recording: nothing lost;
# (A full card: msc_full.sh.)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
for c in mkfs.vfat fsck.vfat mcopy mmd mdir fusefat losetup unshare blkid python3; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
dk_require
mktmp
FD=$T/fd FDPID= LOOP= HPID=
cleanup() {
	[ -z "$HPID" ] || kill "$HPID" 2>/dev/null
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null
	grep -q " $FD " /proc/mounts 2>/dev/null && umount "$FD" 2>/dev/null
	[ -z "$FDPID" ] || kill "$FDPID" 2>/dev/null
}
trap 'cleanup; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
DK_RELEASE_WAIT=30
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
SER=BC300-0007
cat >>"$DK_CONF" <<EOC

[profile keep]
recordings = DCIM/*/*.MP4
release = keep

[profile del]
recordings = DCIM/*/*.MP4
release = delete
EOC
"$DOCKD" --config "$DK_CONF" enroll --serial $SER --pubkey "$(openssl rand -hex 32)" \
	--officer OFF-3 --model MSC --reason "test enrolment" >/dev/null || not_ok "enroll"
O=$T/orig
mkdir -p "$O"
sha() { sha256sum "$1" | cut -d' ' -f1; }
evid_of() { dk_sql "SELECT evidence_id FROM dock_recordings WHERE sha256='$(sha "$1")'"; }
ingest() { # IMAGE [PROFILE]: one docking, dockd until idle
	timeout 120 "$DOCKD" --config "$DK_CONF" volume-ingest --camera "$SER" \
		--profile "${2:-keep}" --fs vfat "$1" >>"$DK_LOG" 2>&1
}
same_vault() { # ORIG EVID
	[ -n "$2" ] && [ "$(dk_state "$2")" = storage_verified ] &&
		dk_decrypt_file "$DK_VAULT/$DK_AGENCY/$2.bcde" "$T/dec" && cmp -s "$T/dec" "$1"; }
showlog() { echo "# dockd log:"; tail -25 "$DK_LOG" | sed 's/^/#   /'; }
offset_of() { # IMAGE FILE: where FILE's first bytes sit in IMAGE (mcopy writes it contiguously)
	python3 -c "import sys; print(open(sys.argv[1], 'rb').read().find(open(sys.argv[2], 'rb').read(4096)))" "$1" "$2"
}
fd_start() { # IMAGE: serve it as $FD/disk.img, bad ranges from $T/bad
	mkdir -p "$FD"
	python3 "$TOP/tests/tools/faultdisk.py" "$FD" "$1" "$T/bad" 2>>"$DK_LOG" &
	FDPID=$!
	i=0
	while ! [ -f "$FD/disk.img" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
	done
}
fd_stop() { umount "$FD" 2>/dev/null; wait "$FDPID" 2>/dev/null; FDPID=; }
MIB=1048576

# --- 1. a card with read errors ------------------------------------------------
dk_randfile "$O/v1" 300000 e1
dk_randfile "$O/v2" $((4 * MIB)) e2
dk_randfile "$O/v3" 70000 e3
dk_randfile "$O/v4" $((3 * MIB)) e4
echo notes >"$O/notes"
IMG=$T/card.img
mkfs.vfat -C -F 32 -i 0A0B0C0D "$IMG" 65536 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA
mcopy -i "$IMG" "$O/v1" ::DCIM/100MEDIA/VID0001.MP4
mcopy -i "$IMG" "$O/v2" ::DCIM/100MEDIA/VID0002.MP4
mcopy -i "$IMG" "$O/v3" ::DCIM/100MEDIA/VID0003.MP4
mcopy -i "$IMG" "$O/v4" ::DCIM/100MEDIA/VID0004.MP4
mcopy -i "$IMG" "$O/notes" ::DCIM/100MEDIA/NOTES.TXT
o2=$(offset_of "$IMG" "$O/v2") o4=$(offset_of "$IMG" "$O/v4")
check "setup: the recordings sit in the image" test "$o2" -gt 0 -a "$o4" -gt 0
# VID0002: bad sectors in the middle (its first and last MiB read fine);
# VID0004: its first MiB unreadable
printf '%s %s\n%s %s\n' $((o2 + 2 * MIB)) $((o2 + 2 * MIB + 4096)) $((o4 + 8192)) $((o4 + 12288)) >"$T/bad"
before=$(sha "$IMG")
check "setup: the faulty card is served (faultdisk.py)" fd_start "$IMG" || done_testing
check "bad sectors read as EIO" sh -c "! dd if='$FD/disk.img' of=/dev/null bs=64k 2>/dev/null"
a0=$(dk_alerts)
check "errors: the docking runs to its end" ingest "$FD/disk.img" || showlog
E1=$(evid_of "$O/v1") E3=$(evid_of "$O/v3")
E2=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE state='pulling'")
check "errors: the readable recordings before and after the bad one are ingested" \
	sh -c "[ -n '$E1' ] && [ -n '$E3' ] && [ '$(dk_state "$E1")' = storage_verified ] &&
		[ '$(dk_state "$E3")' = storage_verified ]" || showlog
check "errors: VID0002 (bad middle) has a row, left pulling" \
	sh -c "[ -n '$E2' ] && [ '$(dk_state "$E2")' = pulling ]"
check "errors: VID0002 ingest_interrupted with the read error as reason, never ingested" dk_py '
ev = [(a, d) for _, a, e, d in events(args[0])]
i = [d for a, d in ev if a == "ingest_interrupted"]
assert i and i[-1]["error"] in ("Input/output error", "Operation not permitted"), ev
assert 0 < i[-1]["offset"] <= 2 * 1048576, i
assert not [a for a, d in ev if a in ("ingested", "camera_released")], ev' "$E2"
# the driver's answer for a bad sector: EIO, or EPERM from fusefat
check "errors: an alert names VID0002 and the read error" \
	grep -Eq "VID0002.MP4.*could not be read \((Input/output error|Operation not permitted)\)" "$DK/alerts.log"
check "errors: VID0004 (unreadable first MiB) left out of the listing, recorded" dk_py '
d = [d for _, a, e, d in events() if a == "volume_listed"][-1]
s = [x for x in d["skipped"] if x["path"] == "DCIM/100MEDIA/VID0004.MP4"]
assert s and s[0]["why"].startswith("unreadable"), d
assert d["recordings"] == 3, d'
check "errors: an alert names VID0004" grep -q "VID0004.MP4.*could not be read" "$DK/alerts.log"
check "errors: the image was not written" test "$(sha "$IMG")" = "$before"
fd_stop

# --- 1b. a card that stopped reading (every file's data unreadable) -------------
IMGS=$T/dead.img
mkfs.vfat -C -F 32 -i 0D0E0A0D "$IMGS" 65536 >/dev/null
mmd -i "$IMGS" ::DCIM ::DCIM/100MEDIA
for n in 1 2 3 4 5; do
	dk_randfile "$O/d$n" 20000 d$n
	mcopy -i "$IMGS" "$O/d$n" ::DCIM/100MEDIA/DED000$n.MP4
done
: >"$T/bad"
for n in 1 2 3 4 5; do # the directories read, no file does
	o=$(offset_of "$IMGS" "$O/d$n")
	echo "$(((o / 4096 + 2) * 4096)) $((o + 20000))" >>"$T/bad" # 4 KiB pages: not the directories
done
check "setup: the dead card is served" fd_start "$IMGS"
n_rows=$(dk_sql "SELECT count(*) FROM dock_recordings")
check "stopped reading: the docking runs" ingest "$FD/disk.img" || showlog
check "stopped reading: 4 files in a row unreadable end the listing, recorded in volume_listed" dk_py '
d = [d for _, a, e, d in events() if a == "volume_listed"][-1]
s = [x["path"] for x in d["skipped"] if x["why"].startswith("unreadable")]
assert d["volume_id"] == "0D0E-0A0D" and d["recordings"] == 0, d
assert s == ["DCIM/100MEDIA/DED000%d.MP4" % n for n in (1, 2, 3, 4)], s'
check "stopped reading: logged, no row, nothing recorded absent" sh -c "
	grep -q 'BC300-0007: 4 files in a row would not read: the volume stopped reading' '$DK_LOG' &&
	[ \$(sqlite3 -readonly '$DK_DB' 'SELECT count(*) FROM dock_recordings') = $n_rows ] &&
	! grep -q evidence-missing '$DK/alerts.log' 2>/dev/null"
fd_stop

# --- 2. the card replaced between dockings ----------------------------------------
dk_randfile "$O/v5" 200000 e5
IMG2=$T/new.img
mkfs.vfat -C -F 32 -i 11223344 "$IMG2" 65536 >/dev/null
mmd -i "$IMG2" ::DCIM ::DCIM/100MEDIA
mcopy -i "$IMG2" "$O/v5" ::DCIM/100MEDIA/VID0001.MP4
n_rel=$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state='released'")
check "replaced: the new card's docking runs" ingest "$IMG2" || showlog
E5=$(evid_of "$O/v5")
check "replaced: the new card's recording is ingested" \
	sh -c "[ -n '$E5' ] && [ '$(dk_state "$E5")' = storage_verified ]"
check "replaced: volume_item_absent for the recording never stored, with both volume ids" dk_py '
d = [d for _, a, e, d in events(args[0]) if a == "volume_item_absent"]
assert len(d) == 1, d
d = d[0]
assert d["volume_id"] == "1122-3344" and d["last_volume_id"] == "0A0B-0C0D", d
assert d["state"] == "pulling" and d["size"] == 4 * 1048576 and d["durable_chunks"] > 0, d' "$E2"
check "replaced: an alert says it is not on this volume and was never stored" \
	grep -q "evidence-missing.*$E2.*never stored and is not among the readable files" "$DK/alerts.log"
check "replaced: the row stays pulling (never released)" test "$(dk_state "$E2")" = pulling
check "replaced: only the stored and verified rows of the old card are released (absent)" \
	test "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state='released'")" = $((n_rel + 2))
check "replaced: the new card docked a second time" ingest "$IMG2" || showlog
n33=$(dk_sql "SELECT count(*) FROM events WHERE action=33 AND evidence_id='$E2'")
nal=$(grep -c "evidence-missing.*$E2" "$DK/alerts.log")
check "replaced: said once per item and volume, not again at the next docking ($n33 events, $nal alerts)" \
	test "$n33:$nal" = 1:1
: >"$T/bad"
check "replaced: the old card docked again, its errors gone" fd_start "$IMG"
check "replaced: the old card's docking runs" ingest "$FD/disk.img" || showlog
check "replaced: VID0002 now stored, the right bytes (nothing lost)" same_vault "$O/v2" "$E2"
fd_stop

check "ledger rules: each item ingested and stored once" dk_ledger_rules storage
check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
check "no crash or sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error:|killed by signal' '$DK_LOG'"
done_testing
