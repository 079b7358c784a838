#!/bin/sh
# dockd end to end over emulated USB (umockdev): the unmodified daemon runs
# as the harness's child with `usb = true`; the harness emulates the
# cameras' USB devices, each bridged to a real camsim (tests/usb/harness.c).
#   1. two cameras plugged at once: every recording stored, verified,
#      released, byte-identical after decryption; docked events say usb;
#   2. a camera plugged in before dockd starts is docked (found by listing);
#   3. unplug mid-transfer, plug in again: ingest_interrupted at a non-zero
#      offset, and the next docking resumes from the saved chunk, not zero.
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
H="$TBIN/usb_harness"
if ! command -v umockdev-wrapper >/dev/null 2>&1 || [ ! -x "$H" ]; then
	skip "dockd over USB" "umockdev-wrapper or usb_harness missing"
	done_testing
fi
mktmp
DK_USB=true
DK_IDLE_MS=4000 # --exit-when-idle must not fire before the first plug
TIMEOUT=${USB_TIMEOUT:-180}

# Run dockd under the harness; log $DK/NAME.log, exit code $DK/NAME.rc.
# --notify: the harness plugs once dockd said READY=1 (sd_notify), which it
# says after its udev monitor is live, so a plug is seen as a uevent however
# slowly dockd starts (a fixed delay after its start was not enough on a
# loaded machine); --plug-first cameras are there before dockd starts.
harness() { # NAME HARNESS-OPTIONS...
	name=$1; shift
	umockdev-wrapper "$H" harness --notify --camsim "$CAMSIM" \
		--term-when-done --timeout "$TIMEOUT" "$@" \
		-- "$DOCKD" --config "$DK_CONF" --exit-when-idle >"$DK/$name.log" 2>&1
	echo $? >"$DK/$name.rc"
	grep '^harness:' "$DK/$name.log" | sed "s/^/# $name: /"
}
rc_is() { [ "$(cat "$DK/$1.rc")" = "$2" ]; }
released() { [ "$(dk_state "$1")" = released ]; }
docked_over_usb() { # SERIAL
	dk_py 'sys.exit(0 if any(a == "docked" and d.get("serial") == args[0] and
		d.get("transport") == "usb" for _, a, _, d in events()) else 1)' "$1"
}
# Plug again (found by enumeration) until REC is released.
until_released() { # SERIAL REC NAME
	for n in 1 2 3; do
		released "$1/$2" && return 0
		harness "$3-$n" --plug-first --cam "$1=$DK/cams/$1"
	done
	released "$1/$2"
}

check "setup (usb = true)" dk_init "$T/u" storage
check "setup: camera CAM-U1, 2 recordings" dk_camera CAM-U1 2 1500000
check "setup: camera CAM-U2, 2 recordings" dk_camera CAM-U2 2 1100000

# ---- 1. two cameras at once ---------------------------------------------------
harness two --cam "CAM-U1=$DK/cams/CAM-U1" --cam "CAM-U2=$DK/cams/CAM-U2"
check "two cameras: dockd exits 0 (SIGTERM after both said BYE)" rc_is two 0
check "no sanitizer or crash report in dockd's output" \
	sh -c "! grep -Eq 'ERROR: AddressSanitizer|runtime error:|killed by signal' '$DK/two.log'"
for c in CAM-U1 CAM-U2; do
	check "$c: docked event with transport usb" docked_over_usb "$c"
	for r in REC-1 REC-2; do
		check "$c/$r: released (re-plugging if storage was slow)" until_released "$c" "$r" "re-$c"
		check "$c/$r: vault copy decrypts byte-identical" dk_same "$c" "$r"
		check "$c/$r: storage copy decrypts byte-identical" dk_same_store "$c" "$r"
		check "$c/$r: release after storage_verified" \
			dk_order "$c/$r" storage_verified camera_released
	done
done

# ---- 2. a camera already plugged in when dockd starts ------------------------
# Found by hotplug_open's listing, not by a uevent: dockd must drain that
# listing before its first poll (no uevent ever wakes it for this camera).
check "setup: camera CAM-U4, one recording" dk_camera CAM-U4 1 400000
harness present --plug-first --cam "CAM-U4=$DK/cams/CAM-U4"
check "present at start: docked over usb" docked_over_usb CAM-U4
check "present at start: vault copy decrypts byte-identical" dk_same CAM-U4 REC-1

# ---- 3. unplug mid-transfer, plug in again ---------------------------------
check "setup: camera CAM-U3, one 3 MB recording" dk_camera CAM-U3 1 3000000
harness unplug --serial CAM-U3 --camdir "$DK/cams/CAM-U3" --unplug-after 2200000 \
	--replug-after 300
check "unplug: the harness yanked the cable mid-transfer" \
	grep -q 'unplugging after 2200000' "$DK/unplug.log"
check "unplug: ... and plugged it in again" grep -q 'plugged CAM-U3 in again' "$DK/unplug.log"
check "unplug: dockd exits 0" rc_is unplug 0
check "unplug: ingest_interrupted at a non-zero offset" \
	dk_py 'sys.exit(0 if any(a == "ingest_interrupted" and int(d.get("offset", 0)) > 0
		for _, a, _, d in events(args[0])) else 1)' CAM-U3/REC-1
check "unplug: the next docking resumed from the saved chunk, not from zero" \
	dk_py 'st = [d for _, a, _, d in events(args[0]) if a == "ingest_started"]
sys.exit(0 if len(st) >= 2 and int(st[-1].get("resume_chunk", 0)) > 0 else 1)' CAM-U3/REC-1
check "unplug: released in the end" until_released CAM-U3 REC-1 re-CAM-U3
check "unplug: byte-identical after decryption" dk_same CAM-U3 REC-1
check "unplug: one attempt, nothing quarantined" \
	test "$(dk_count_action CAM-U3/REC-1 quarantined)" = 0

check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
