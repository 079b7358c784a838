#!/bin/sh
# dockd smoke test: one enrolled camsim camera with 2 recordings docks over
# the Unix socket; dockd --exit-when-idle ingests, stores to file://,
# releases and exits 0. Then: both vault copies decrypt byte-identical,
# custody verify is clean, the camera no longer holds them and each was
# released only after storage_verified (event order in the ledger).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
DK_IDLE_MS=3000
check "dock, agency and checkpoint keys" dk_init "$T/dk"
check "camera CAM-1 with 2 recordings, enrolled by dockd enroll" dk_camera CAM-1 2 70000
check "the enrolment is in the ledger (device_enrolled)" sh -c \
	'[ "$(sqlite3 "$1" "SELECT count(*) FROM events WHERE action = 51")" = 1 ]' - "$DK_DB"

"$CUSTODY" --config "$DK_CONF" user add "$(id -un)" --role clerk --agency "$DK_AGENCY" \
	--reason "smoke test" >/dev/null 2>&1
check "dockd starts" dk_start --exit-when-idle
check "custody status is answered by the embedded query service" sh -c \
	"'$CUSTODY' --config '$DK_CONF' status --socket '$DK/query.sock' --json | grep -q '\"dock_id\": *\"$DK_DOCK_ID\"'"
dk_dock CAM-1
check "camsim docking ends cleanly" [ $? -eq 0 ]
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd --exit-when-idle exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -30 "$DK_LOG" | sed 's/^/#   /'

for r in REC-1 REC-2; do
	e="CAM-1/$r"
	check "$e: state released" [ "$(dk_state "$e")" = released ]
	check "$e: vault copy decrypts byte-identical" dk_same CAM-1 $r
	check "$e: storage copy decrypts byte-identical" dk_same_store CAM-1 $r
	check "$e: ingested before stored_local" dk_order "$e" ingested stored_local
	check "$e: storage_verified before camera_released" \
		dk_order "$e" storage_verified camera_released
	if dk_cam_has CAM-1 $r; then not_ok "$e: camera deleted it"; else ok "$e: camera deleted it"; fi
done
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "no partial or key files are left" \
	sh -c "[ -z \"\$(find '$DK_VAULT/.partial' -type f 2>/dev/null)\" ]"
check "custody verify is clean" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
check "history --json lists the release after storage_verified" sh -c \
	"'$CUSTODY' --config '$DK_CONF' history CAM-1/REC-1 --json | python3 -c '
import json, sys
t = sys.stdin.read()
try:
    evs = json.loads(t)
except ValueError:
    evs = [json.loads(l) for l in t.splitlines() if l.strip()]
if isinstance(evs, dict):
    evs = evs.get(\"events\", [])
acts = [e[\"action\"] for e in evs]
sys.exit(0 if acts.index(\"storage_verified\") < acts.index(\"camera_released\") else 1)'"

# An unenrolled camera gets nothing and is an event + an alert.
"$CAMSIM" init --dir "$DK/cams/X" --serial CAM-X --model M --officer o \
	--agency-pub "$DK/keys/agency-sign.pub" >/dev/null
head -c 1000 /dev/urandom >"$T/x.bin"
"$CAMSIM" add --dir "$DK/cams/X" --id R1 --file "$T/x.bin" --category patrol >/dev/null
a0=$(dk_alerts)
# A data key left behind by a crash after stored_local is wiped at start.
mkdir -p "$DK_VAULT/.partial/CAM-1"
head -c 32 /dev/urandom >"$DK_VAULT/.partial/CAM-1/REC-1.key"
check "dockd starts again" dk_start --exit-when-idle
dk_dock X
check_fails "the unenrolled camera is refused" [ $? -eq 0 ]
wait "$DK_PID"; DK_PID=
check "device_rejected recorded" [ "$(dk_sql "SELECT count(*) FROM events WHERE action=3")" -ge 1 ]
check "an alert was raised" [ "$(dk_alerts)" -gt "$a0" ]
check "nothing ingested from it" [ -z "$(dk_sql "SELECT 1 FROM dock_recordings WHERE serial='CAM-X'")" ]
check "the unenrolled camera still has its recording" dk_cam_has X R1
check "a stale data key of a stored recording was wiped at start" \
	[ ! -e "$DK_VAULT/.partial/CAM-1/REC-1.key" ]
done_testing
