#!/bin/sh
# The camera-link worker's sandbox (docs/architecture.md, "The camera-link
# worker"). build/tests/dockd_attack is dockd whose worker, after parsing a
# camera's manifest, runs the attacker action named by LINK_ATTACK (dockd/
# linkw_attack.c). Each attempt must be denied or kill the worker; the
# daemon records link_worker_killed (action 57) and raises an alert; the
# camera keeps its recording. Then: the normal dockd ignores LINK_ATTACK
# and contains no attack code; and the custodian's receipt gate refuses a
# receipt for a recording the ledger does not show stored, although a
# dock_recordings row (written around the ledger) says storage_verified:
# receipt_refused (action 58), an alert, the camera keeps it.
# The shared ring (dockd/link/linkring.h): a worker that sends a DATA
# descriptor reaching past the ring, or out of sequence, is killed the same
# way; one that rewrites the ring's bytes after the frame's CRC check and
# while the daemon copies them out only fails its own recording's hash:
# integrity_failed, nothing released, the daemon carries on.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
[ -x "$TBIN/dockd_attack" ] || { echo "1..0 # SKIP no $TBIN/dockd_attack (make tests)"; exit 0; }
mktmp
DK_IDLE_MS=1500
check "dock, agency and checkpoint keys" dk_init "$T/dk"
sleep 600 &
SIB=$!

killed() { dk_sql "SELECT count(*) FROM events WHERE action = 57"; }
alerts_of() { c=$(grep -c "$1" "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
link_alerts() { alerts_of link-worker; }

n=0
for spec in "keyfile $DK/state/dock.key 31" "ledger $DK_DB 31" "vault $DK_VAULT 31" \
	"net 127.0.0.1:9 31" "ptrace $SIB 31" "receipt REC-1 9" "forge REC-X 9" \
	"ring_oob REC-1 9" "ring_seq REC-1 9"; do
	set -- $spec
	a=$1 arg=$2 sig=$3
	n=$((n + 1))
	cam=CAM-A$n
	check "camera $cam with a recording" dk_camera $cam 1 30000
	k0=$(killed); al0=$(link_alerts); : >"$DK_LOG"
	LINK_ATTACK=$a LINK_ATTACK_ARG=$arg DOCKD=$TBIN/dockd_attack dk_start --exit-when-idle
	dk_dock $cam
	wait "$DK_PID"; DK_PID=
	check "$a: the compromised worker tried it" grep -q "LINK_ATTACK: trying $a" "$DK_LOG"
	case $a in
	receipt|forge|ring_*) ;;
	*) check_fails "$a: the system call never returned (seccomp killed the worker)" \
		grep -q "LINK_ATTACK: done" "$DK_LOG" ;;
	esac
	check "$a: link_worker_killed recorded" [ "$(killed)" -eq $((k0 + 1)) ]
	check "$a: its details name the camera and signal $sig" [ "$(dk_sql "SELECT \
json_extract(details,'\$.serial') || ' ' || json_extract(details,'\$.signal') FROM events \
WHERE action = 57 ORDER BY seq DESC LIMIT 1")" = "$cam $sig" ]
	check "$a: an alert was raised" [ "$(link_alerts)" -gt "$al0" ]
	check "$a: the camera keeps its recording" dk_cam_has $cam REC-1
	check_fails "$a: nothing released" [ "$(dk_state $cam/REC-1)" = released ]
done
check "vault: nothing planted" [ ! -e "$DK_VAULT/planted" ]

# Ring bytes rewritten under the daemon's copy: the hash check fails cleanly.
check "camera CAM-R with a recording" dk_camera CAM-R 1 30000
k0=$(killed); : >"$DK_LOG"
LINK_ATTACK=ring_scribble DOCKD=$TBIN/dockd_attack dk_start --exit-when-idle
dk_dock CAM-R
wait "$DK_PID"; st=$?; DK_PID=
check "ring_scribble: the worker rewrote the ring during the copy" \
	grep -q "LINK_ATTACK: done: the descriptor was sent" "$DK_LOG"
check "ring_scribble: dockd exited normally (status 0)" [ "$st" -eq 0 ]
check "ring_scribble: integrity_failed recorded" [ "$(dk_count_action CAM-R/REC-1 integrity_failed)" -ge 1 ]
check "ring_scribble: no worker killed (the bytes were just wrong)" [ "$(killed)" -eq "$k0" ]
check "ring_scribble: the camera keeps its recording" dk_cam_has CAM-R REC-1
check_fails "ring_scribble: nothing released" [ "$(dk_state CAM-R/REC-1)" = released ]
check_fails "the normal dockd contains no attack code" grep -q "LINK_ATTACK" "$BIN/dockd"

# The normal build ignores LINK_ATTACK: the docking completes.
check "camera CAM-N" dk_camera CAM-N 1 30000
k0=$(killed)
LINK_ATTACK=keyfile LINK_ATTACK_ARG=$DK/state/dock.key dk_start --exit-when-idle
dk_dock CAM-N
wait "$DK_PID"; DK_PID=
check "normal dockd: CAM-N/REC-1 released" [ "$(dk_state CAM-N/REC-1)" = released ]
check "normal dockd: no worker killed" [ "$(killed)" -eq "$k0" ]

# The receipt gate: a dock_recordings row claims storage_verified for a
# recording the ledger never saw ingested.
check "camera CAM-G" dk_camera CAM-G 1 30000
f=$DK/orig/CAM-G/REC-1.bin
sha=$(sha256sum "$f" | cut -d' ' -f1); size=$(stat -c %s "$f")
check "a forged storage_verified row" sqlite3 "$DK_DB" "INSERT INTO dock_recordings(serial,\
 recording_id, evidence_id, officer, size, sha256, category, start_utc, end_utc, manifest_sig,\
 state, updated_ns) VALUES('CAM-G','REC-1','CAM-G/REC-1','OFF-CAM-G',$size,'$sha','patrol',0,0,\
'00','storage_verified',0)"
ga0=$(alerts_of receipt-refused)
dk_start --exit-when-idle
dk_dock CAM-G
wait "$DK_PID"; DK_PID=
check "receipt_refused recorded" [ "$(dk_sql "SELECT count(*) FROM events WHERE action = 58 \
AND json_extract(details,'\$.recording_id') = 'REC-1' AND json_extract(details,'\$.serial') = \
'CAM-G' AND json_extract(details,'\$.sha256') = '$sha'")" -eq 1 ]
check "its why names the ledger" [ "$(dk_sql "SELECT json_extract(details,'\$.why') FROM events \
WHERE action = 58")" = "no such item in the ledger" ]
check "receipt-refused alert" [ "$(alerts_of receipt-refused)" -gt "$ga0" ]
check "the camera keeps the recording" dk_cam_has CAM-G REC-1
check_fails "no camera_released for it" [ "$(dk_sql "SELECT count(*) FROM events WHERE \
evidence_id = 'CAM-G/REC-1' AND action = (SELECT action FROM events WHERE evidence_id = \
'CAM-N/REC-1' ORDER BY seq DESC LIMIT 1)")" -gt 0 ]
check "custody verify is clean" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
done_testing
