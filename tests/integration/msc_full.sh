#!/bin/sh
# USB mass-storage cameras: a full card (issue 14, "a full card"; docs/
# dockd.md "Mass-storage cameras", "Edge cases"). A FAT32 card with no
# free cluster (a big file outside the profile fills it): its recording is
# ingested read-only, then released by deletion (a deletion frees space,
# it needs none); the file outside the profile is untouched and the FAT
# is consistent afterwards.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
for c in mkfs.vfat fsck.vfat mcopy mmd mdir fusefat unshare blkid; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
dk_require
mktmp
DK_RELEASE_WAIT=30
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
SER=BC300-0008
cat >>"$DK_CONF" <<EOC

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
ingest() { # IMAGE PROFILE: one docking, dockd until idle
	timeout 120 "$DOCKD" --config "$DK_CONF" volume-ingest --camera "$SER" \
		--profile "$2" --fs vfat "$1" >>"$DK_LOG" 2>&1
}
showlog() { echo "# dockd log:"; tail -25 "$DK_LOG" | sed 's/^/#   /'; }

# --- a full card --------------------------------------------------------------
IMG3=$T/full.img
mkfs.vfat -C -F 32 -i 55667788 "$IMG3" 40960 >/dev/null
mmd -i "$IMG3" ::DCIM ::DCIM/101MEDIA
dk_randfile "$O/v6" 500000 e6
mcopy -i "$IMG3" "$O/v6" ::DCIM/101MEDIA/VID0006.MP4
free=$(mdir -i "$IMG3" :: 2>/dev/null | sed -n 's/^ *\([0-9 ]*\) bytes free.*/\1/p' | tr -d ' ')
head -c "${free:-0}" /dev/urandom >"$O/filler"
mcopy -i "$IMG3" "$O/filler" ::FILLER.BIN 2>/dev/null
check "setup: the card is full (0 bytes free)" sh -c "mdir -i '$IMG3' :: | grep -q ' 0 bytes free'"
fsha=$(sha "$O/filler")
check "full card: the docking runs (profile release = delete)" ingest "$IMG3" del || showlog
E6=$(evid_of "$O/v6")
check "full card: the recording is ingested and released by deletion" dk_py '
d = [d for _, a, e, d in events(args[0]) if a == "camera_released"]
assert d and d[-1].get("deleted") is True, d' "$E6"
mdir -i "$IMG3" -b -/ :: >"$T/all" 2>&1
check "full card: the recording is gone from the card" sh -c "! grep -q VID0006 '$T/all'"
mcopy -i "$IMG3" ::FILLER.BIN "$T/filler.back"
check "full card: the file outside the profile is untouched" test "$(sha "$T/filler.back")" = "$fsha"
check "full card: the FAT is consistent (fsck.vfat -n)" fsck.vfat -n "$IMG3"

check "ledger rules: each item ingested and stored once" dk_ledger_rules storage
check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
check "no crash or sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error:|killed by signal' '$DK_LOG'"
done_testing
