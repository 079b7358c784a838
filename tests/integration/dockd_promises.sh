#!/bin/sh
# Promises of docs/dockd.md and docs/operations.md about dockings, each end
# to end through a real dockd, camsim cameras and the file:// target:
#   1. max_cameras: a docking beyond it is refused (device_rejected with
#      reason busy, nothing pulled), the camera keeps its recording and is
#      served at its next docking
#   2. a revoked camera is refused at docking (device_rejected, alert), nothing
#      is pulled, it keeps its recordings; re-enrolled with --replace it is
#      pulled at its next docking
#   3. "absent at next docking": a releasable recording the camera no longer
#      lists (it deleted it, the dock never recorded the release) is recorded
#      as camera_released {confirmed: "absent at next docking"}
#   4. SIGTERM mid-pull: dockd exits 0, the recording stays on the camera and
#      is not stored; after a restart the next docking ingests it once,
#      verified, byte-identical (however the pull restarts)
#   5. a different object under a checkpoint's key stops checkpoint uploads
#      (alert) until SIGHUP; put right, the next SIGHUP uploads them all
#   6. --exit-when-idle with an item parked after a permanent refusal exits 1
# Runtime ~40 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

DK_RELEASE_WAIT=0 # sessions do not wait for uploads: the next docking releases
DK_IDLE_MS=1500
actions_of() { # ACTION [SERIAL]: events of that action (of SERIAL's items, or any)
	dk_py 'print(sum(1 for _, a, e, _ in events() if a == args[0] and
                (len(args) < 2 or (e or "").startswith(args[1] + "/"))))' "$@"
}
rejected() { # REASON-ERE [SERIAL]: device_rejected events whose details match
	dk_py '
import re
print(sum(1 for _, a, _, d in events() if a == "device_rejected" and
          re.search(args[0], d.get("reason", ""), re.I) and
          (len(args) < 2 or d.get("serial") == args[1])))' "$@"
}
wait_until() { # SECONDS CMD...: poll every 0.1 s
	w=$(( $1 * 10 )); shift
	while ! "$@"; do w=$((w - 1)); [ $w -gt 0 ] || return 1; sleep 0.1; done
}
pulling() { [ "$(dk_state "$1")" = pulling ]; }

check "setup: keys, certificate, config, ledger" dk_init "$T/d" storage
DK_EXTRA_DOCK="max_cameras = 1"
dk_conf_write
check "setup: camera CAM-S (one 2 MB recording)" dk_camera CAM-S 1 2000000
check "setup: camera CAM-B (one recording)" dk_camera CAM-B 1 100000
check "dockd starts with max_cameras = 1" dk_start

# ---- 1. max_cameras ---------------------------------------------------------
dk_dock_bg CAM-S --slow 500000 # ~4 s
slow=$DK_CAM_PID
check "CAM-S is being pulled (slowly)" wait_until 20 pulling CAM-S/REC-1
dk_dock CAM-B
echo "# CAM-B's camsim exited $? while CAM-S was docked"
check "the second camera is refused: device_rejected, reason busy" \
	[ "$(rejected '^busy$')" = 1 ]
check "nothing was pulled from CAM-B" [ "$(actions_of ingest_started CAM-B)" = 0 ]
check "CAM-B still holds its recording" dk_cam_has CAM-B REC-1
wait "$slow"
check "CAM-S's docking ends cleanly" [ $? -eq 0 ]
check "CAM-S/REC-1 stored" dk_wait_stored CAM-S/REC-1 30
check "CAM-B docks once CAM-S is gone" dk_dock CAM-B
check "CAM-B/REC-1 is ingested at that docking" dk_wait_stored CAM-B/REC-1 30
check "no second busy refusal" [ "$(rejected '^busy$')" = 1 ]

# ---- 2. a revoked camera ---------------------------------------------------------
check "setup: camera CAM-R (two recordings)" dk_camera CAM-R 2 50000
rpub=$(cat "$DK/cams/CAM-R/device.pub" 2>/dev/null)
check "dockd revoke CAM-R" quiet "$DOCKD" --config "$DK_CONF" revoke --serial CAM-R \
	--reason "reported stolen"
check "device_revoked in the ledger" [ "$(actions_of device_revoked)" = 1 ]
al0=$(dk_alerts)
dk_dock CAM-R
echo "# revoked CAM-R's camsim exited $?"
check "revoked CAM-R is refused: device_rejected naming the revocation" \
	[ "$(rejected 'revok' CAM-R)" = 1 ]
check "a device-rejected alert names CAM-R (alert_command runs in the background)" \
	wait_until 10 sh -c \
	'tail -n +$(($2 + 1)) "$1" 2>/dev/null | grep -q "^device-rejected .*CAM-R"' - "$DK/alerts.log" "$al0"
check "nothing was pulled from revoked CAM-R" [ "$(actions_of ingest_started CAM-R)" = 0 ]
check "no dock_recordings row for CAM-R" \
	[ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE serial='CAM-R'")" = 0 ]
check "revoked CAM-R still holds both recordings" sh -c \
	'"$1" list --dir "$2" | grep -c "^REC-" | grep -qx 2' - "$CAMSIM" "$DK/cams/CAM-R"
check "re-enrolled with --replace" quiet "$DOCKD" --config "$DK_CONF" enroll --serial CAM-R \
	--pubkey-file "$DK/cams/CAM-R/device.pub" --officer OFF-CAM-R --replace \
	--reason "found again"
check "re-enrolled CAM-R docks" dk_dock CAM-R
check "its recordings are pulled at that docking" dk_wait_stored CAM-R/REC-2 30
check "CAM-R/REC-1 decrypts byte-identical" dk_same CAM-R REC-1
[ -n "$rpub" ] || echo "# (device.pub not found; --pubkey-file read it anyway)"

# ---- 3. released: "absent at next docking" -----------------------------------
# The camera deleted REC-1 but the dock never heard (a crash between the
# camera's delete and camera_released): the camera no longer lists it.
check "CAM-S/REC-1 is storage_verified, not released" \
	[ "$(dk_state CAM-S/REC-1)" = storage_verified ]
rm -f "$DK/cams/CAM-S/rec/REC-1".*
check "CAM-S no longer lists REC-1" sh -c '! "$1" list --dir "$2" | grep -q "^REC-1 "' - \
	"$CAMSIM" "$DK/cams/CAM-S"
check "CAM-S docks again" dk_dock CAM-S
check "CAM-S/REC-1 is released" dk_wait_state CAM-S/REC-1 released 10
check "camera_released records {confirmed: absent at next docking}" dk_py '
d = [d for _, a, _, d in events("CAM-S/REC-1") if a == "camera_released"]
sys.exit(0 if len(d) == 1 and d[0].get("confirmed") == "absent at next docking" else 1)'
check "released only after storage_verified" dk_order CAM-S/REC-1 storage_verified camera_released

# ---- 4. SIGTERM mid-pull, then the next docking --------------------------------
check "setup: camera CAM-T (one 3 MB recording)" dk_camera CAM-T 1 3000000
dk_dock_bg CAM-T --slow 600000
cam=$DK_CAM_PID
check "CAM-T is being pulled" wait_until 20 pulling CAM-T/REC-1
sleep 1.5
check "dockd stops on SIGTERM mid-pull with exit 0" dk_stop
wait "$cam"
check "CAM-T/REC-1 is not stored (pull interrupted)" [ "$(dk_state CAM-T/REC-1)" = pulling ]
check "CAM-T still holds REC-1" dk_cam_has CAM-T REC-1
check "no vault file for the interrupted pull" [ ! -e "$(dk_vault_file CAM-T REC-1)" ]
check "dockd restarts" dk_start
check "CAM-T docks again" dk_dock CAM-T
check "CAM-T/REC-1 stored and verified" dk_wait_stored CAM-T/REC-1 30
check "CAM-T/REC-1: ingested and stored_local exactly once" sh -c '[ "$1$2" = 11 ]' - \
	"$(dk_count_action CAM-T/REC-1 ingested)" "$(dk_count_action CAM-T/REC-1 stored_local)"
check "CAM-T/REC-1 decrypts byte-identical (vault)" dk_same CAM-T REC-1
check "CAM-T/REC-1 decrypts byte-identical (storage target)" dk_same_store CAM-T REC-1
check "CAM-T docks again: released" dk_dock CAM-T
check "CAM-T/REC-1 released, the camera no longer holds it" sh -c \
	'[ "$1" = released ] && ! "$2" list --dir "$3" | grep -q "^REC-1 "' - \
	"$(dk_state CAM-T/REC-1)" "$CAMSIM" "$DK/cams/CAM-T"

# ---- 5. a conflicting checkpoint object -------------------------------------------
ck_objs() { ls "$DK_STORE/checkpoints/$DK_DOCK_ID" 2>/dev/null | grep -c '\.txt$'; }
check "checkpoint objects were uploaded" wait_until 10 sh -c \
	'[ "$(ls "$1" 2>/dev/null | grep -c "\.txt$")" -ge 2 ]' - "$DK_STORE/checkpoints/$DK_DOCK_ID"
check "dockd stops" dk_stop
# Checkpoint uploads coalesce to the newest (docs/storage-s3.md): only the
# checkpoint that is newest when the worker gets to it is put, so the
# conflict is planted under every size the next checkpoints can take.
top=$(ls "$DK/anchor" | sed -n 's/^checkpoint\.\([0-9]*\)$/\1/p' | sort -n | tail -1)
i=$((top + 1))
while [ $i -le $((top + 400)) ]; do
	echo "not this checkpoint" >"$DK_STORE/checkpoints/$DK_DOCK_ID/$i.txt"; i=$((i + 1))
done
n0=$(ck_objs); al0=$(dk_alerts)
check "dockd starts" dk_start
check "setup: camera CAM-K (one recording)" dk_camera CAM-K 1 50000
check "CAM-K docks (new checkpoints are signed)" dk_dock CAM-K
check "CAM-K/REC-1 stored" dk_wait_stored CAM-K/REC-1 30
newest=$(ls "$DK/anchor" | sed -n 's/^checkpoint\.//p' | sort -n | tail -1)
sleep 2
echo "# checkpoint objects: $n0 before, $(ck_objs) now; newest checkpoint $newest"
check "the conflicting objects were not overwritten: the new checkpoint $newest is not uploaded" \
	[ "$(cat "$DK_STORE/checkpoints/$DK_DOCK_ID/$newest.txt")" = "not this checkpoint" ]
check "no planted object was replaced (uploads stopped at the conflict)" \
	[ "$(cat "$DK_STORE/checkpoints/$DK_DOCK_ID"/*.txt | grep -c "^not this checkpoint$")" = 400 ]
check "an alert about the checkpoint object" wait_until 10 sh -c \
	'tail -n +$(($2 + 1)) "$1" | grep -qi "checkpoint"' - "$DK/alerts.log" "$al0"
tail -n +$((al0 + 1)) "$DK/alerts.log" | sed 's/^/# alert: /'
check "one checkpoint alert only (stopped, not retrying in a loop)" \
	[ "$(tail -n +$((al0 + 1)) "$DK/alerts.log" | grep -ci checkpoint)" = 1 ]
check "recordings still upload meanwhile" [ "$(dk_state CAM-K/REC-1)" = storage_verified ]
i=$((top + 1))
while [ $i -le $((top + 400)) ]; do rm -f "$DK_STORE/checkpoints/$DK_DOCK_ID/$i.txt"; i=$((i + 1)); done
kill -HUP "$DK_PID"
check "after SIGHUP (object put right) checkpoint $newest is uploaded" wait_until 10 \
	test -e "$DK_STORE/checkpoints/$DK_DOCK_ID/$newest.txt"
check "it is byte-identical to the published checkpoint" \
	cmp -s "$DK_STORE/checkpoints/$DK_DOCK_ID/$newest.txt" "$DK/anchor/checkpoint.$newest"
check "dockd stops with exit 0" dk_stop

# ---- 6. --exit-when-idle with a parked item -----------------------------------------
check "setup: camera CAM-X (one recording)" dk_camera CAM-X 1 20000
mkdir -p "$DK_STORE/$DK_AGENCY/CAM-X"
echo "not this recording" >"$DK_STORE/$DK_AGENCY/CAM-X/REC-1.bcde"
check "dockd starts with --exit-when-idle" dk_start --exit-when-idle
check "CAM-X docks" dk_dock CAM-X
wait "$DK_PID"; rc=$?; DK_PID=
check "--exit-when-idle exits 1: an item is parked after a permanent refusal" [ "$rc" -eq 1 ]
check "CAM-X/REC-1 stays stored_local (queued for the next run)" \
	[ "$(dk_state CAM-X/REC-1)" = stored_local ]
check "CAM-X still holds REC-1" dk_cam_has CAM-X REC-1

check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
done_testing
