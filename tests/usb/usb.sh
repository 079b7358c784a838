#!/bin/sh
# USB end to end under umockdev: an emulated camera USB device (usbemu.c)
# bridged to a real camsim; the dock side is the unmodified library
# (protocol/hotplug + transport_usb + session + pull) in `usb_harness client`.
# See tests/usb/usbtest.h for the roles and exit codes.
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

H="$TBIN/usb_harness"
CAMSIM="$BIN/camsim"
if ! command -v umockdev-wrapper >/dev/null 2>&1 || [ ! -x "$H" ] || [ ! -x "$CAMSIM" ]; then
	skip "usb end to end" "umockdev-wrapper, usb_harness or camsim missing"
	done_testing
fi
mktmp >/dev/null # sets $T and the cleanup trap in this shell (not in a $(...) subshell)

# Run the harness with its client; output in $T/$1.log, exit code in $T/$1.rc.
# The client is "$H client ..." (after --), both under the umockdev preload.
harness() {
	name=$1; shift
	umockdev-wrapper "$H" harness --timeout 60 "$@" >"$T/$name.log" 2>&1
	echo $? >"$T/$name.rc"
	sed "s/^/# $name: /" "$T/$name.log"
}
rc() { cat "$T/$1.rc"; }
has() { grep -q -- "$2" "$T/$1.log"; }

# ---- fixtures: agency + dock keys, a camera with one 6 MiB recording -----
mkdir -m 700 "$T/keys"
check "test keys and dock certificate" "$H" keys "$T/keys"
head -c 6291469 /dev/urandom >"$T/rec.bin" # odd size: last DATA frame is short
check "camsim provisioned" sh -c "'$CAMSIM' init --dir '$T/cam' --serial CAM-USB-1 \
	--model M1 --officer OFF-7 --agency-pub '$T/keys/agency.pub' >/dev/null &&
	'$CAMSIM' add --dir '$T/cam' --id REC-1 --file '$T/rec.bin' --category patrol >/dev/null"
PULL="$H client pull --keys $T/keys --cam-pub $T/cam/device.pub --rec REC-1"

# ---- raw transport: frames through the emulated bulk endpoints -----------
harness echo --echo -- "$H" client echo --rounds 4
check "transport: echo client exits 0" test "$(rc echo)" = 0
check "transport: 1-byte frame round trip" has echo "^ok echo 1 bytes"
check "transport: 512-byte frame round trip" has echo "^ok echo 512 bytes"
check "transport: ZLP flag exactly on frames that are multiples of wMaxPacketSize" \
	sh -c "grep -q '^harness: zlp ok [1-9][0-9]* missing 0 spurious 0$' '$T/echo.log'"
check "transport: PROTO_MAX_FRAME round trip" has echo "^ok echo 1048660 bytes"
check "transport: idle recv gives -ETIMEDOUT, stream still usable" \
	sh -c "grep -q '^ok idle recv times out' '$T/echo.log' &&
	       grep -q '^ok stream usable after timeout' '$T/echo.log'"
check "transport: recv with timeout 0 polls without blocking and gets the data" \
	has echo "^ok zero-timeout recv polls completions"

harness vialibusb --echo -- "$H" client echo --rounds 1 --via libusb
check "transport: opened from libusb's device list (transport_usb_open_device)" \
	sh -c "[ $(rc vialibusb) = 0 ] && grep -q '^ok echo 1048660 bytes' '$T/vialibusb.log'"

harness stall --echo --stall-out -- "$H" client stall
check "transport: send the camera never takes gives -ETIMEDOUT; close returns" \
	sh -c "[ $(rc stall) = 0 ] && grep -q '^ok stalled send gives -ETIMEDOUT' '$T/stall.log'"

# ---- hotplug add, then a verified pull, byte-identical --------------------
harness pull --camsim "$CAMSIM" --camdir "$T/cam" -- $PULL --out "$T/pull.bin"
check "hotplug: udev add seen with serial and VID:PID" \
	has pull "^ADD serial=CAM-USB-1 vid=1209 pid=0001 devnode=/dev/bus/usb/001/003"
check "pull: client exits 0" test "$(rc pull)" = 0
check "pull: byte-identical with the camera's recording" cmp -s "$T/rec.bin" "$T/pull.bin"

# ---- camera already plugged in when the dock starts: enumeration ----------
harness present --plug-first --camsim "$CAMSIM" --camdir "$T/cam" -- $PULL --out "$T/present.bin"
check "hotplug: camera present at start is found by enumeration" \
	has present "^ADD serial=CAM-USB-1"
check "hotplug: ... and pulled byte-identical" cmp -s "$T/rec.bin" "$T/present.bin"

# ---- foreign VID:PID and missing vendor interface are ignored -------------
harness decoys --decoys --camsim "$CAMSIM" --camdir "$T/cam" -- $PULL --out "$T/decoys.bin"
check "hotplug: wrong VID:PID and no vendor interface not reported" \
	sh -c "! grep -q 'ADD serial=DECOY' '$T/decoys.log'"
check "hotplug: the real camera behind the decoys is pulled" \
	sh -c "[ $(rc decoys) = 0 ] && cmp -s '$T/rec.bin' '$T/decoys.bin'"

# ---- unplug mid-transfer: detach reported, no hang, no crash --------------
harness unplug --unplug-after 2500000 --camsim "$CAMSIM" --camdir "$T/cam" \
	-- $PULL --out "$T/unplug.bin"
check "unplug: harness yanked the cable mid-transfer" has unplug "unplugging after 2500000"
check "unplug: client reports the detach (-ENODEV) and exits cleanly" \
	sh -c "[ $(rc unplug) = 3 ] && grep -q '^DETACH' '$T/unplug.log'"
check "unplug: hotplug reports the remove by serial" has unplug "^REMOVE serial=CAM-USB-1"
size=$(stat -c %s "$T/unplug.bin" 2>/dev/null || echo 0)
check "unplug: partial file is a true prefix, shorter than the recording" \
	sh -c "[ $size -gt 0 ] && [ $size -lt 6291469 ] && cmp -s -n $size '$T/rec.bin' '$T/unplug.bin'"
check "unplug: resume after re-plug completes the file byte-identical" \
	sh -c "umockdev-wrapper '$H' harness --timeout 60 --camsim '$CAMSIM' --camdir '$T/cam' \
		-- $PULL --out '$T/unplug.bin' >'$T/resume.log' 2>&1 &&
	       cmp -s '$T/rec.bin' '$T/unplug.bin'"

grep -h '^BENCH' "$T/pull.log" "$T/echo.log" | sed 's/^/# /'
done_testing
