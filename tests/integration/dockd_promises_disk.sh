#!/bin/sh
# Disk full, then resume within the same docking (docs/dockd.md "Free
# space"): with min_free_mb set, a vault that runs short mid-pull stops the
# pull (ingest_interrupted, one "disk" alert), the session waits with the
# camera docked, and once space returns the same docking finishes the same
# recording: one docking, ingested once, byte-identical, released only
# after storage_verified. The vault is a small tmpfs (needs root and
# mount; otherwise skipped). Runtime ~20 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
cleanup() { kill $(jobs -p) 2>/dev/null; umount "$T/small" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

wait_for() { # SECONDS CMD...
	w=$(( $1 * 5 )); shift
	while ! "$@"; do w=$((w - 1)); [ $w -gt 0 ] || return 1; sleep 0.2; done
}
has_event() { [ "$(dk_count_action "$1" "$2")" -gt 0 ]; }
docked_events() { # SERIAL
	dk_py 'print(sum(1 for _, a, _, d in events() if a == "docked" and d.get("serial") == args[0]))' "$1"
}

mkdir "$T/small"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=8m,mode=0755 tmpfs "$T/small" 2>/dev/null; then
	skip "disk full then resume in the same docking" "cannot mount tmpfs here (not root or no permission)"
	done_testing
fi
DK_VAULT=$T/small/vault
DK_MIN_FREE_MB=4
DK_RELEASE_WAIT=30 # this docking waits for the upload, then releases
check "setup: vault on an 8 MiB tmpfs, min_free_mb = 4" dk_init "$T/d" storage
check "setup: camera CAM-F with a 6 MB recording" dk_camera CAM-F 1 6000000
check "dockd starts" dk_start
dk_dock_bg CAM-F --slow 3000000
cam=$DK_CAM_PID
check "the pull stops short of space: ingest_interrupted" \
	wait_for 60 has_event CAM-F/REC-1 ingest_interrupted
check "one disk alert" wait_for 10 sh -c '[ "$(grep -c "^disk" "$1" 2>/dev/null)" = 1 ]' - "$DK/alerts.log"
sleep 1
check "the camera stays docked meanwhile" kill -0 "$cam"
check "not stored, not released while short of space" sh -c \
	'[ "$1" = pulling ] && [ "$2" = 0 ]' - "$(dk_state CAM-F/REC-1)" \
	"$(dk_count_action CAM-F/REC-1 camera_released)"
mount -o remount,size=64m "$T/small"
check "space back: the same docking stores the recording" dk_wait_stored CAM-F/REC-1 60
check "dockd logged that pulling resumed" grep -q "pulling resumes" "$DK_LOG"
wait "$cam"; rc=$?
check "the docking ends cleanly (camsim exit $rc)" [ "$rc" -eq 0 ]
check "it was one docking of CAM-F" [ "$(docked_events CAM-F)" = 1 ]
check "ingested and stored_local exactly once" sh -c '[ "$1$2" = 11 ]' - \
	"$(dk_count_action CAM-F/REC-1 ingested)" "$(dk_count_action CAM-F/REC-1 stored_local)"
check "still one disk alert" [ "$(grep -c '^disk' "$DK/alerts.log")" = 1 ]
check "vault copy byte-identical" dk_same CAM-F REC-1
check "released in that docking, after storage_verified" \
	dk_order CAM-F/REC-1 storage_verified camera_released
check "the camera no longer holds it" sh -c '! "$1" list --dir "$2" | grep -q "^REC-1 "' - \
	"$CAMSIM" "$DK/cams/CAM-F"
check "dockd stops with exit 0" dk_stop
check "release rule holds" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
