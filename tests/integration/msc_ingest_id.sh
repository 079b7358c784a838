#!/bin/sh
# `dockd volume-ingest --camera VID:PID:SERIAL` docks a camera enrolled
# with `enroll --storage` (the table udev detection uses), with the profile
# it was enrolled with unless --profile says otherwise (docs/dockd.md,
# "Mass-storage cameras"): an unenrolled id is refused (device_rejected,
# alert) and nothing is read; the enrolled camera is ingested with its own
# profile (here release = keep: the card is not written, which the
# built-in generic-dcim would have done); after `revoke --storage` it is
# refused again.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
for c in mkfs.vfat mcopy mmd fusefat unshare blkid; do
	command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP no $c (packaging/install-deps.sh)"; exit 0; }
done
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "1..0 # SKIP needs root and /dev/fuse"; exit 0; }
dk_require
mktmp
dk_init "$T/dk" storage || { not_ok "dk_init"; done_testing; }
ID=1209:0002:STO-0001
cat >>"$DK_CONF" <<EOC

[profile keepme]
recordings = DCIM/*/*.MP4
release = keep
EOC
sha() { sha256sum "$1" | cut -d' ' -f1; }
ingest() { timeout 120 "$DOCKD" --config "$DK_CONF" volume-ingest --camera "$ID" --fs vfat "$1" >>"$DK_LOG" 2>&1; }
n_ingested() { dk_py 'print(sum(1 for _, a, _, _ in events() if a == "ingested"))'; }
rejected_says() { dk_py '
r = [d for _, a, _, d in events() if a == "device_rejected" and d.get("serial") == args[0]]
assert r and args[1] in r[-1].get("reason", ""), r' "$ID" "$1"; }

IMG=$T/card.img
mkfs.vfat -C -F 32 "$IMG" 40960 >/dev/null
mmd -i "$IMG" ::DCIM ::DCIM/100MEDIA
dk_randfile "$T/v1" 300000 i1
mcopy -i "$IMG" "$T/v1" ::DCIM/100MEDIA/VID0001.MP4
before=$(sha "$IMG")

ingest "$IMG"
check "unenrolled VID:PID:SERIAL: refused (device_rejected, unknown device)" rejected_says "unknown device"
check "unenrolled: nothing ingested" test "$(n_ingested)" = 0
check "unenrolled: alerted" grep -q "refused" "$DK/alerts.log"

check "enroll --storage with profile keepme" quiet "$DOCKD" --config "$DK_CONF" enroll --storage "$ID" \
	--officer OFF-4 --profile keepme --reason "test enrolment"
check "enrolled: the docking runs" ingest "$IMG" || tail -20 "$DK_LOG" | sed 's/^/#   /'
check "enrolled: the recording is ingested" test "$(n_ingested)" = 1
E=$(dk_sql "SELECT evidence_id FROM dock_recordings WHERE sha256='$(sha "$T/v1")'")
check "enrolled: stored and verified" test -n "$E" -a "$(dk_state "$E")" = storage_verified
check "the enrolled profile was used (release = keep: the card is unchanged)" \
	test "$(sha "$IMG")" = "$before"

check "revoke --storage" quiet "$DOCKD" --config "$DK_CONF" revoke --storage "$ID" --reason "test"
ingest "$IMG"
check "revoked: refused" rejected_says "revoked"
check "revoked: nothing more ingested" test "$(n_ingested)" = 1
check "custody verify passes" dk_verify || sed 's/^/#   /' "$DK/verify.out"
done_testing
