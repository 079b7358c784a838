#!/bin/sh
# Camera-link defects 1-5 of issue 11, each found by a hostile camera
# (camsim --hostile MODE, --lie-hash, --corrupt-at), against the real dockd:
#  1. a length mismatch ends the session: the recordings after it are not
#     touched (no false integrity failures), they stay on the camera, and the
#     end is recorded (session_aborted);
#  2. a stored recording re-listed with another signed hash is neither
#     released nor confirmed "absent at next docking";
#  3. clock_ns = INT64_MIN: no overflow (the ASan/UBSan build aborted), the
#     absurd clock is recorded with the right sign, not trusted;
#  4. recording ids "." and ".." are refused, recorded and stay on the camera;
#  5. a hash-mismatch quarantine copy keeps every byte received.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
SIZE=20000 # small: no sync point (sync_interval_mb = 1) before the end
DK_RELEASE_WAIT=5

alive() { dk_alive; }
count() { dk_count_action "$1" "$2"; }
state_is() { [ "$(dk_state "$1")" = "$2" ]; }
# camsim's list has the id in column 1 ("." must not be a regex)
cam_has() {
	"$CAMSIM" list --dir "$DK/cams/$1" | awk -v id="$2" '$1 == id { f = 1 } END { exit !f }'
}
kept_as() { state_is "$1/$2" "$3" && cam_has "$1" "$2"; } # SERIAL REC STATE
stored_ok() { dk_wait_stored "$1" 60 && dk_same "${1%%/*}" "${1#*/}"; }
# Python over the session events (no evidence id) of serial args[0].
sess() { dk_s_py=$1; shift; dk_py "
ev = [(a, d) for _, a, e, d in events() if not e and d.get('serial') == args[0]]
$dk_s_py" "$@"; }
alerted() { [ -f "$DK/alerts.log" ] && grep -q -- "$1" "$DK/alerts.log"; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
traces() { # ID: "rows/item events" of camera D4's recording ID
	echo "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE serial='D4' AND recording_id='$1'")/$(
		dk_sql "SELECT count(*) FROM events WHERE evidence_id='D4/$1'")"
}

check "setup" dk_init "$T/d" storage
check "dockd starts" dk_start

# ---- 1. one length mismatch: the others are not touched ----------------------
dk_camera L1 3 "$SIZE"
dk_dock L1 --hostile short:REC-1
check "1: the short recording is quarantined once" \
	test "$(count L1/REC-1 integrity_failed)/$(count L1/REC-1 quarantined)" = 1/1
check "1: its integrity_failed records what arrived (size and SHA-256 of the real bytes)" \
	dk_py 'd = [d for _, a, _, d in events("L1/REC-1") if a == "integrity_failed"][0]
sys.exit(0 if d["got_size"] == int(args[0]) and d["got_sha256"] == args[1] and
	d["expected_size"] == int(args[0]) + 4096 else 1)' \
	"$(stat -c %s "$DK/orig/L1/REC-1.bin")" "$(sha_of "$DK/orig/L1/REC-1.bin")"
for r in REC-2 REC-3; do
	check "1: $r not touched: no event at all" test -z "$(dk_events "L1/$r")"
	check "1: $r still listed, kept on the camera" kept_as L1 "$r" listed
	check "1: no alert names $r" sh -c "! grep -q 'L1/$r' '$DK/alerts.log'"
done
check "1: the session end is recorded: session_aborted {why: protocol, error}" \
	sess 'sys.exit(0 if any(a == "session_aborted" and d.get("why") == "protocol"
	and "signed manifest" in d.get("error", "") for a, d in ev) else 1)' L1
check "1: the length-mismatch quarantine copy keeps the ciphertext of every byte received" \
	test "$(stat -c %s "$DK_VAULT/.quarantine/L1/REC-1.1" 2>/dev/null || echo 0)" -gt \
	"$(stat -c %s "$DK/orig/L1/REC-1.bin")"
dk_dock L1
check "1: next (honest) docking stores REC-2 byte-identical" stored_ok L1/REC-2
check "1: next (honest) docking stores REC-3 byte-identical" stored_ok L1/REC-3
check "1: dockd alive" alive

# ---- 2. a stored recording re-listed with another hash -----------------------
dk_camera R2 1 "$SIZE"
dk_dock R2 --hostile refuse-release
dk_wait_stored R2/REC-1 60
check "2: storage_verified, not released: the camera refused the receipt and kept it" \
	kept_as R2 REC-1 storage_verified
a0=$(dk_alerts)
dk_dock R2 --lie-hash
check "2: the changed entry is an integrity_failed (manifest) and an alert" \
	dk_py 'sys.exit(0 if any(a == "integrity_failed" and d.get("stage") == "manifest"
	for _, a, _, d in events("R2/REC-1")) else 1)'
check "2: an alert" test "$(dk_alerts)" -gt "$a0"
check "2: no camera_released (the camera still lists it)" \
	test "$(count R2/REC-1 camera_released)" = 0
check "2: still storage_verified, still on the camera" kept_as R2 REC-1 storage_verified
dk_dock R2
check "2: an honest docking then releases it with a receipt" \
	dk_py 'r = [d for _, a, _, d in events("R2/REC-1") if a == "camera_released"]
sys.exit(0 if len(r) == 1 and "receipt" in r[0] else 1)'

# ---- 3. clock_ns = INT64_MIN ------------------------------------------------
dk_camera C3 1 "$SIZE"
a0=$(dk_alerts)
dk_dock C3 --hostile clock-min
check "3: dockd alive (no overflow abort)" alive
check "3: device_authenticated records the absurd clock, offset of the right sign" \
	sess 'sys.exit(0 if any(a == "device_authenticated" and
	d.get("clock_offset_ns") == -2**63 and d.get("camera_clock_ns") == -2**63 and
	d.get("clock_absurd") is True for a, d in ev) else 1)' C3
check "3: a clock alert" sh -c "[ $(dk_alerts) -gt $a0 ] && grep -q 'clock absurd' '$DK/alerts.log'"
check "3: the recording is still taken byte-identical" stored_ok C3/REC-1

# ---- 4. recording ids "." and ".." -------------------------------------------
dk_camera D4 1 "$SIZE"
for id in . ..; do
	head -c 5000 /dev/urandom >"$T/dot.bin"
	"$CAMSIM" add --dir "$DK/cams/D4" --id "$id" --file "$T/dot.bin" --category patrol \
		>/dev/null || echo "# camsim add --id $id failed"
done
dk_dock D4
for id in . ..; do
	check "4: '$id' has no row and no item event" test "$(traces "$id")" = 0/0
	check "4: '$id' refused: integrity_failed {stage manifest, recording_id} without evidence id" \
		sess 'sys.exit(0 if any(a == "integrity_failed" and d.get("stage") == "manifest" and
		d.get("recording_id") == args[1] for a, d in ev) else 1)' D4 "$id"
	check "4: '$id' stays on the camera" cam_has D4 "$id"
done
check "4: an alert names the refused id" alerted "recording id '..' refused"
check "4: the honest recording is stored" stored_ok D4/REC-1
dk_dock D4 # its receipt; "." and ".." must not get one
check "4: after the next docking '.' is still on the camera" cam_has D4 .
check "4: after the next docking '..' is still on the camera" cam_has D4 ..

# ---- 5. hash mismatch: the quarantine copy keeps every byte ------------------
dk_camera Q5 1 "$SIZE"
dk_dock Q5 --corrupt-at 1000
check "5: quarantined" test "$(count Q5/REC-1 quarantined)" = 1
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[1000] ^= 0x5a
open(sys.argv[2], "wb").write(b)' "$DK/orig/Q5/REC-1.bin" "$T/q5.expect"
check "5: the quarantine copy decrypts to exactly the bytes the camera sent" \
	sh -c "rm -f '$T/q5.dec'; '$CUSTODY' decrypt --no-ledger --key '$DK/keys/agency-enc.key' \
		--file '$DK_VAULT/.quarantine/Q5/REC-1.1' --out '$T/q5.dec' >/dev/null 2>&1 &&
		cmp -s '$T/q5.dec' '$T/q5.expect'"
check "5: its integrity_failed names the SHA-256 of those bytes" \
	dk_py 'd = [d for _, a, _, d in events("Q5/REC-1") if a == "integrity_failed"][0]
sys.exit(0 if d["got_sha256"] == args[0] else 1)' "$(sha_of "$T/q5.expect")"

# ---- the whole ledger ----------------------------------------------------------
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
check "dockd never crashed and stops with 0" dk_stop
check "no sanitizer report in dockd's log" \
	sh -c "! grep -Eq 'AddressSanitizer|runtime error:' '$DK_LOG'"
done_testing
