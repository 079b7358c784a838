#!/bin/sh
# USB pull throughput under umockdev: one 256 MiB recording pulled from
# camsim through the emulated bulk endpoints (tests/usb/usbemu.c) by the
# real hotplug + transport_usb + session + pull code. Measures the
# emulation (one umockdev socket round trip per URB), not real USB.
# Prints: BENCH usb_pull_MBps <value> MB/s, BENCH usb_echo_MBps <value> MB/s
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BIN:=$TOP/build/bin}"
: "${TBIN:=$TOP/build/tests}"
MB=${USB_BENCH_MB:-256}
H="$TBIN/usb_harness"
if ! command -v umockdev-wrapper >/dev/null 2>&1 || [ ! -x "$H" ]; then
	echo "usb_pull: umockdev-wrapper or $H missing; skipped"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/usb-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -m 700 "$T/keys"
"$H" keys "$T/keys" || exit 1
head -c $((MB * 1048576)) /dev/urandom >"$T/rec.bin"
"$BIN/camsim" init --dir "$T/cam" --serial CAM-BENCH-1 --model M1 --officer OFF-1 \
	--agency-pub "$T/keys/agency.pub" >/dev/null || exit 1
"$BIN/camsim" add --dir "$T/cam" --id REC-BENCH --file "$T/rec.bin" --category bench \
	>/dev/null || exit 1
rm -f "$T/rec.bin"
umockdev-wrapper "$H" harness --timeout 600 --serial CAM-BENCH-1 --camsim "$BIN/camsim" \
	--camdir "$T/cam" -- "$H" client pull --keys "$T/keys" --cam-pub "$T/cam/device.pub" \
	--rec REC-BENCH --out "$T/out.bin" >"$T/pull.log" 2>&1 || { cat "$T/pull.log"; exit 1; }
grep '^BENCH' "$T/pull.log"
umockdev-wrapper "$H" harness --timeout 600 --echo -- "$H" client echo --rounds 64 \
	>"$T/echo.log" 2>&1 || { cat "$T/echo.log"; exit 1; }
grep '^BENCH' "$T/echo.log"
