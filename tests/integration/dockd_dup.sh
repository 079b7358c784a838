#!/bin/sh
# One camera, one session: while a camera's first docking is pulling, a
# second session presenting the same serial (USB re-enumeration, a replayed
# or hostile peer) is refused with ERROR BUSY, recorded as device_rejected
# and alerted; the first docking completes and the recording is stored
# exactly once.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
DK_IDLE_MS=3000
check "keys and configuration" dk_init "$T/dk"
check "camera CAM-D with one 4 MB recording, enrolled" dk_camera CAM-D 1 4000000
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-D --slow 1000000 &
first=$!
check "first docking is pulling" dk_wait_state CAM-D/REC-1 pulling 20
a0=$(dk_alerts)
dk_dock CAM-D
check_fails "second session of the same serial is refused" [ $? -eq 0 ]
# The camera has its ERROR before the dock writes the event: poll briefly.
rejected() { [ "$(dk_sql "SELECT count(*) FROM events WHERE action=3 AND reason LIKE 'already docked%'")" -ge 1 ]; }
i=0; until rejected || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
check "the refusal is a device_rejected event saying why" rejected
i=0; while [ "$(dk_alerts)" -le "$a0" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "the refusal raised an alert" [ "$(dk_alerts)" -gt "$a0" ]
wait $first
check "first docking ends cleanly" [ $? -eq 0 ]
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd exits 0" [ $rc -eq 0 ]
check "the recording was released" [ "$(dk_state CAM-D/REC-1)" = released ]
check "stored exactly once, byte-identical" dk_same CAM-D REC-1
check "one ingest_started only" [ "$(dk_count_action CAM-D/REC-1 ingest_started)" = 1 ]
check "nothing was moved to quarantine" \
	sh -c "[ -z \"\$(find '$DK_VAULT/.quarantine' -type f 2>/dev/null)\" ]"
check "custody verify is clean" dk_verify
done_testing
