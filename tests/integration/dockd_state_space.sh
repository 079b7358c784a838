#!/bin/sh
# Issue 11, defect 7: min_free_mb guards the state directory (which holds
# the custody ledger) like the vault. The state directory on a 16 MiB tmpfs
# (needs root and mount; otherwise skipped), the vault on the ordinary disk,
# min_free_mb = 4. With the state directory filled to under 4 MiB free, a
# docking camera is not pulled: an alert naming the state directory, the
# camera keeps its recording, the ledger stays consistent. Space comes back
# (the filler is removed) while the camera stays docked: the pull resumes in
# the same docking, the recording is stored and released. The old dockd
# checked only the vault: it pulled into a nearly full ledger filesystem.
# Runtime ~15 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
cleanup() { kill $(jobs -p) 2>/dev/null; umount "$T/dk/state" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

wait_for() { # CMD...: poll up to 30 s
	for n in $(seq 150); do "$@" && return 0; sleep 0.2; done
	return 1
}
mkdir -p "$T/dk/state"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=16m,mode=0700 tmpfs "$T/dk/state" 2>/dev/null; then
	skip "state directory space" "needs root and a tmpfs mount"
	done_testing
fi
DK_MIN_FREE_MB=4
DK_IDLE_MS=3000
check "setup: state directory (ledger) on a 16 MiB tmpfs, vault on disk" dk_init "$T/dk" local
check "setup: camera CAM-S with one 2 MB recording" dk_camera CAM-S 1 2000000
free_mb() { df -Pm "$DK/state" | awk 'NR == 2 { print $4 }'; }
# leave about 2 MiB free: below min_free_mb
fill=$(( $(free_mb) - 2 ))
check "setup: fill the state directory to 2 MiB free" \
	dd if=/dev/zero of="$DK/state/filler" bs=1M count="$fill" status=none
check "... now below min_free_mb ($(free_mb) MiB free)" test "$(free_mb)" -lt 4
check "dockd starts" dk_start
dk_dock_bg CAM-S
cam=$DK_CAM_PID
check "an alert names the state directory" \
	wait_for grep -qs "state directory (custody ledger) below min_free_mb" "$DK/alerts.log"
check "the camera stays docked, waiting" kill -0 "$cam"
check "nothing was pulled: no ingest_started" test "$(dk_count_action CAM-S/REC-1 ingest_started)" = 0
check "the camera keeps its recording" dk_cam_has CAM-S REC-1
check "the ledger is consistent meanwhile (custody verify)" dk_verify
rm -f "$DK/state/filler"
check "space is back: the recording is stored and released in the same docking" \
	wait_for sh -c '[ "$(sqlite3 -readonly "$1" "SELECT state FROM dock_recordings WHERE evidence_id=\"CAM-S/REC-1\"")" = released ]' - "$DK_DB"
wait "$cam"
check "the docking ended cleanly (camsim exit 0)" test $? = 0
check "stored byte-identical" dk_same CAM-S REC-1
check "dockd stops with exit 0" dk_stop
check "custody verify is clean" dk_verify
check "release rule and once-only steps over the whole ledger" dk_ledger_rules local
done_testing
