#!/bin/sh
# Verified copy before release, end to end: the file:// storage target
# damages what it stores (tests/powercut/libpowercut.so with POWERCUT_FLIP:
# one byte of every write under the target's evidence tree is changed on
# its way to the disk, as a failing NAS would). dockd must read the copy
# back (store_verify), find it wrong, and record neither storage_verified
# nor a release: the recording stays on the camera. A dockd that skipped
# the check would release against a copy that does not decrypt.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
PCLIB=${POWERCUT_LIB:-$TOP/$BUILD/tests/libpowercut.so}
if [ ! -f "$PCLIB" ]; then
	skip "damaging target" "$PCLIB not built"
	done_testing
fi
# The library interposes libc under a normal build's dockd; under ASan the
# sanitizer's own interceptors and link-order check sit in the same place.
if [ "${SANITIZED:-0}" = 1 ]; then
	skip "damaging target" "runs in the normal build only (LD_PRELOAD library)"
	done_testing
fi
mktmp
DK_RELEASE_WAIT=4
DK_LOG_LEVEL=info
check "setup" dk_init "$T/d" storage
check "setup: camera with 2 recordings" dk_camera CAM-D 2 300000
mkdir -p "$T/stash"
DK_WRAP="env LD_PRELOAD=$PCLIB POWERCUT_DIRS=$DK_STORE POWERCUT_STASH=$T/stash POWERCUT_FLIP=$DK_STORE/$DK_AGENCY/"
check "dockd starts with the damaging target" dk_start
check "docking ends" dk_dock CAM-D
check "both recordings stored locally" dk_wait_count stored_local 2 30
# the storage worker has had the release wait and more to try
sleep 2
damaged() { [ -f "$DK_STORE/$DK_AGENCY/CAM-D/$1.bcde" ] && ! dk_same_store CAM-D "$1"; }
for r in REC-1 REC-2; do
	e="CAM-D/$r"
	check "$r: the target's copy is damaged (the fault is real)" damaged "$r"
	check "$r: not storage_verified (still stored_local)" test "$(dk_state "$e")" = stored_local
	check "$r: no storage_verified event" test "$(dk_count_action "$e" storage_verified)" = 0
	check "$r: no camera_released event" test "$(dk_count_action "$e" camera_released)" = 0
	check "$r: the camera still holds it" dk_cam_has CAM-D "$r"
done
check "dockd logged the failed verification" grep -q "storage target:" "$DK_LOG"
check "release rule holds over the ledger" dk_ledger_rules storage
# dockd's release step and the custodian's receipt gate (dockd/custodian/custodian.c)
# check the same rule twice: in an honest run the gate never has to refuse
# (a receipt_refused here means the release step asked for one too early)
check "the receipt gate never had to refuse (no receipt_refused)" \
	test "$(dk_sql "SELECT count(*) FROM events WHERE action = 58")" = 0
check "custody verify is clean" dk_verify
check "dockd stops" dk_stop
done_testing
