#!/bin/sh
# A vault copy damaged on disk after stored_local (bit rot, a bad sector, a
# person) must never reach the storage target or let the camera delete the
# recording: the storage stage hashes the vault file as it reads it and
# compares it with the ciphertext SHA-256 recorded at stored_local.
# Expected: no object, an `uploaded` failed event naming the mismatch, one
# "integrity" alert, no retry loop, no release; the camera keeps the
# recording; an intact neighbour is uploaded and released normally.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

DK_RELEASE_WAIT=0
DK_IDLE_MS=1500
H=$(date +%H | sed 's/^0//')
CLOSED=$(printf '%02d:00-%02d:00' $(((H + 2) % 24)) $(((H + 3) % 24)))

check "setup: keys, certificate, config, ledger" dk_init "$T/d" storage
check "setup: camera CAM-V with two recordings" dk_camera CAM-V 2 200000

# 1. ingest only: the upload window is closed
DK_EXTRA_STORAGE="upload_windows = $CLOSED"
dk_conf_write
check "dockd starts with the upload window closed" dk_start --exit-when-idle
check "CAM-V docks" dk_dock CAM-V
wait "$DK_PID"; DK_PID=
check "both recordings are stored_local" dk_wait_count stored_local 2 5

# 2. damage one byte in the middle of REC-1's vault file
vf="$DK_VAULT/$DK_AGENCY/CAM-V/REC-1.bcde"
check "the vault file exists" [ -f "$vf" ]
off=$(( $(stat -c %s "$vf") / 2 ))
b=$(od -An -tu1 -j "$off" -N1 "$vf" | tr -d ' ')
flip_byte "$vf" "$off"
check "one byte of REC-1's vault copy changed" \
	[ "$(od -An -tu1 -j "$off" -N1 "$vf" | tr -d ' ')" != "$b" ]

# 3. the window opens; the camera docks again (releases happen at docking)
alerts0=$(dk_alerts)
DK_EXTRA_STORAGE=""
dk_conf_write
check "dockd restarts with uploads allowed" dk_start
check "REC-2 (intact) reaches storage_verified" dk_wait_state CAM-V/REC-2 storage_verified 30
sleep 3
check "REC-1 is not storage_verified: still stored_local" [ "$(dk_state CAM-V/REC-1)" = stored_local ]
check "no object for REC-1 on the target" [ ! -e "$DK_STORE/$DK_AGENCY/CAM-V/REC-1.bcde" ]
check "no partial object left for REC-1" \
	[ -z "$(find "$DK_STORE" -name 'REC-1.bcde.part-*' 2>/dev/null)" ]
check "an 'uploaded' failed event names the mismatch" dk_py '
ev = [d for _, a, e, d in events("CAM-V/REC-1") if a == "uploaded"]
sys.exit(0 if len(ev) == 1 and "no longer matches" in ev[0].get("error", "") else 1)'
check "one integrity alert" [ "$(grep -c '^integrity' "$DK/alerts.log")" = 1 ]
check "the log names the damaged item" grep -q "CAM-V/REC-1.*no longer matches" "$DK_LOG"
check "CAM-V docks again" dk_dock CAM-V
check "REC-2 is released" dk_wait_state CAM-V/REC-2 released 30
check "REC-1 is not released" [ "$(dk_state CAM-V/REC-1)" = stored_local ]
check "the camera still holds REC-1" dk_cam_has CAM-V REC-1
check "still one failed event after the docking" \
	[ "$(dk_count_action CAM-V/REC-1 uploaded)" = 1 ]
# Retries inside a failure episode write no event; each try logs
# "EVID: storage target: ..." with its time, so count those.
tries=$(grep -c "CAM-V/REC-1: storage target: " "$DK_LOG")
first=$(grep -m1 "CAM-V/REC-1: storage target: " "$DK_LOG" | cut -d' ' -f1)
echo "# REC-1 tries logged: $tries (first at ${first:-none}, now $(date -u +%Y-%m-%dT%H:%M:%SZ))"
check "no retry loop: REC-1 was tried once in this run (the log shows one try)" [ "$tries" = 1 ]
check "alerts raised during this phase are few (no loop)" [ $(( $(dk_alerts) - alerts0 )) -le 2 ]
check "dockd stops cleanly" dk_stop
check "the ledger verifies" dk_verify
check "ledger release rules hold" dk_ledger_rules
done_testing
