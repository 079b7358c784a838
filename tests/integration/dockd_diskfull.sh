#!/bin/sh
# Disk full and write errors under dockd: no release, an alert, no crash,
# and recovery once space is back / the errors stop.
#   A. ENOSPC for real: the vault on a small tmpfs (needs root and mount;
#      otherwise skipped). Then the pre-check: below min_free_mb no pull
#      starts at all.
#   B. EIO on every write(2) and open(2) of dockd (libfiu's fiu-run -x,
#      switched on and off at run time with fiu-ctrl): both the vault (the
#      partial file's open) and the storage target fail. SQLite (pwrite,
#      files already open) and the camera link (send) are spared.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
cleanup() { kill $(jobs -p) 2>/dev/null; umount "$T/small" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
WAIT=60

alive() { dk_alive; }
not_released() { [ "$(dk_count_action "$1" camera_released)" = 0 ] && dk_cam_has "${1%%/*}" "${1#*/}"; }
interrupted_with() { # EVID TEXT: an ingest_interrupted event whose details mention TEXT
	dk_py '
import re
sys.exit(0 if any(a == "ingest_interrupted" and re.search(args[1], json.dumps(d), re.I)
                  for _, a, _, d in events(args[0])) else 1)' "$1" "$2"
}
show_logs() { # SERIAL: what dockd and the camera said, for a failed check
	echo "# state: $(dk_state "$1/REC-1"); dockd.log:"; tail -25 "$DK_LOG" | sed 's/^/#   /'
	echo "# cam-$1.log:"; tail -8 "$DK/cam-$1.log" | sed 's/^/#   /'
}
has_event() { [ "$(dk_count_action "$1" "$2")" -gt 0 ]; }
alerted() { [ "$(dk_alerts)" -gt "$1" ]; }
wait_for() { # CMD...: poll up to $WAIT s
	for n in $(seq $((WAIT * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
dock_until_released() { # SERIAL REC
	for n in 1 2 3 4; do
		[ "$(dk_state "$1/$2")" = released ] && return 0
		[ "$(dk_state "$1/$2")" = stored_local ] && dk_wait_stored "$1/$2" "$WAIT"
		dk_dock "$1"
	done
	[ "$(dk_state "$1/$2")" = released ]
}

# ---- A: a real full filesystem ---------------------------------------------
mkdir "$T/small"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m,mode=0755 tmpfs "$T/small" 2>/dev/null; then
	DK_VAULT=$T/small/vault
	check "A setup: vault on a 2 MiB tmpfs" dk_init "$T/a" storage
	check "A setup: camera with a 3 MiB recording" dk_camera CAM-F 1 3000000
	check "A: dockd starts" dk_start
	# dockd keeps the camera docked and pauses while the vault is full.
	dk_dock_bg CAM-F
	cam=$DK_CAM_PID
	check "A: ingest stopped with ingest_interrupted naming the full disk" \
		wait_for interrupted_with CAM-F/REC-1 'space|ENOSPC|full'
	check "A: not quarantined (the recording is fine)" \
		test "$(dk_count_action CAM-F/REC-1 quarantined)" = 0
	check "A: no release, the camera keeps the recording" not_released CAM-F/REC-1
	check "A: an alert was raised" wait_for alerted 0
	check "A: dockd is still running" alive
	# min_free_mb = 0: nothing tells when space is back, so the docking ends
	# cleanly while the disk is still full: BYE (camsim exits 0, not a reset),
	# one ingest_interrupted, one alert.
	check "A: the docking ends while the vault is still full" \
		wait_for sh -c "! kill -0 $cam 2>/dev/null"
	wait "$cam"
	rc=$?
	check "A: ... cleanly, with BYE (camsim exit $rc)" test "$rc" = 0
	check "A: ... dockd logged why" grep -q 'min_free_mb = 0 free: ending this docking' "$DK_LOG"
	check "A: ... exactly one ingest_interrupted" \
		test "$(dk_count_action CAM-F/REC-1 ingest_interrupted)" = 1
	check "A: ... exactly one alert" test "$(dk_alerts)" = 1
	check "A: ... the camera still holds the recording" not_released CAM-F/REC-1
	mount -o remount,size=64m "$T/small"
	check "A: space back: stored, verified and released (same or next docking)" \
		dock_until_released CAM-F REC-1
	check "A: the pull continued from the saved offset, not from zero" \
		dk_py 'sys.exit(0 if any(a == "ingest_started" and int(d.get("resume_chunk", 0)) > 0
			for _, a, _, d in events(args[0])) else 1)' CAM-F/REC-1
	check "A: vault copy byte-identical" dk_same CAM-F REC-1
	check "A: release rule holds" dk_ledger_rules storage
	check "A: custody verify is clean" dk_verify
	check "A: dockd stops cleanly" dk_stop

	# Pre-check: the vault has less than min_free_mb free -> no pull starts.
	DK_MIN_FREE_MB=100
	dk_conf_write
	check "A setup: camera CAM-G (min_free_mb 100 > 64 MiB filesystem)" dk_camera CAM-G 1 500000
	a0=$(dk_alerts)
	check "A: dockd starts" dk_start
	dk_dock_bg CAM-G
	cam=$DK_CAM_PID
	check "A: below min_free_mb an alert says the vault is short" wait_for alerted "$a0"
	check "A: ... no pull started" test "$(dk_count_action CAM-G/REC-1 ingest_started)" = 0
	check "A: ... nothing released" not_released CAM-G/REC-1
	check "A: dockd still running" alive
	kill "$cam" 2>/dev/null; wait "$cam" 2>/dev/null
	# dockd notices the camera left at its next keepalive; only then may the
	# same serial dock again (a second session of a serial is refused).
	check "A: dockd ends the waiting session when the camera leaves" \
		wait_for grep -q 'camera CAM-G: session done' "$DK_LOG"
	DK_MIN_FREE_MB=0
	dk_conf_write
	kill -HUP "$DK_PID"
	sleep 1
	dk_dock CAM-G
	check "A: min_free_mb lowered (SIGHUP), next docking: stored" \
		dk_wait_stored CAM-G/REC-1 "$WAIT"
	check "A: CAM-G byte-identical" dk_same CAM-G REC-1
	check "A: dockd stops cleanly" dk_stop
	umount "$T/small"
	DK_VAULT=
else
	skip "A: ENOSPC on a small tmpfs" "cannot mount tmpfs here (not root or no permission)"
fi

# ---- B: write errors (libfiu) ------------------------------------------------
if ! command -v fiu-run >/dev/null 2>&1 || ! command -v fiu-ctrl >/dev/null 2>&1; then
	skip "B: write errors" "fiu-run/fiu-ctrl missing (Debian package fiu-utils)"
	done_testing
fi
if [ "${SANITIZED:-0}" = 1 ]; then
	# libfiu's LD_PRELOAD wrappers and the ASan runtime both interpose libc
	# (dockd segfaults at start); part B runs in the normal build.
	skip "B: write errors (libfiu)" "libfiu's preload cannot run under ASan"
	done_testing
fi
DK_MIN_FREE_MB=0
check "B setup" dk_init "$T/b" storage
check "B setup: camera CAM-W with a 1 MiB recording" dk_camera CAM-W 1 1000000
DK_WRAP="fiu-run -x -f $T/b/fiu"
check "B: dockd starts under fiu-run" dk_start
DK_WRAP=
fiu() { fiu-ctrl -f "$T/b/fiu" -c "$1" "$DK_PID"; }
# write() and open(): data keys stay in memory now, so a pull no longer
# write()s a key file; the partial file's open() fails instead (the
# ciphertext goes out through pwrite, which SQLite shares: spared).
check "B: failpoint posix/io/rw/write (EIO) enabled" fiu "enable name=posix/io/rw/write,failinfo=5"
check "B: failpoint posix/io/oc/open (EIO) enabled" fiu "enable name=posix/io/oc/open,failinfo=5"
dk_dock_bg CAM-W
cam=$DK_CAM_PID
check "B: ingest_interrupted recorded" wait_for has_event CAM-W/REC-1 ingest_interrupted ||
	show_logs CAM-W
check "B: an alert was raised" wait_for alerted 0
check "B: no release, the camera keeps the recording" not_released CAM-W/REC-1
check "B: dockd is still running" alive
check "B: failpoint disabled" fiu "disable name=posix/io/rw/write"
check "B: failpoint open disabled" fiu "disable name=posix/io/oc/open"
wait "$cam"
echo "# B: docking through the write errors: camsim exit $?"
check "B: recovery: stored and verified (same or next docking)" dock_until_released CAM-W REC-1
check "B: byte-identical" dk_same CAM-W REC-1
check "B: storage copy byte-identical" dk_same_store CAM-W REC-1

check "B setup: camera CAM-V" dk_camera CAM-V 1 800000
dk_dock CAM-V
check "B: a new camera after recovery is stored normally" \
	dk_wait_stored CAM-V/REC-1 "$WAIT" || show_logs CAM-V
check "B: release rule holds" dk_ledger_rules storage
check "B: custody verify is clean" dk_verify
# fiu-run's control thread is started by its preload library before dockd
# blocks SIGTERM for its signalfd, so the signal may land there and kill the
# process the default way (143): both count as stopped.
dk_stop; rc=$?
check "B: dockd stopped (exit $rc: 0, or 143 through fiu's thread)" test $rc = 0 -o $rc = 143
done_testing
