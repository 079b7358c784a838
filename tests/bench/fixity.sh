#!/bin/sh
# Fixity audit rate (figures only, no assertions): a dock with FIX_N
# released recordings of FIX_MB MiB each (file:// target on the same disk
# as the vault), then one unthrottled audit (`dockd fixity --bytes-per-s 0`)
# reading both copies of every item:
#   BENCH fixity_items_per_s   items/s  items audited (2 copies each) per second
#   BENCH fixity_gib_per_s     GiB/s    bytes read and hashed per second
# Times are the wall clock of the audit command (ledger events included).
# Environment (tests/bench.sh): TOP, BUILD, BIN, TBIN. FIX_N (default 32),
# FIX_MB (default 8).
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
. "$TOP/tests/lib.sh" >/dev/null
. "$TOP/tests/dockd_lib.sh"
FIX_N=${FIX_N:-32}
FIX_MB=${FIX_MB:-8}
if [ ! -x "$DOCKD" ]; then
	echo "fixity bench: $DOCKD not built; skipped"
	exit 0
fi
W=$(mktemp -d "$TOP/build/bench-fixity.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
DK_CHUNK=1048576
DK_LOG_LEVEL=info
DK_RELEASE_WAIT=60
dk_init "$W/d" storage || exit 1
printf '\n[fixity]\ninterval_s = 0\n' >>"$DK_CONF"
dk_camera FIX "$FIX_N" $((FIX_MB * 1048576)) || exit 1
dk_start || { tail "$DK_LOG"; exit 1; }
dk_dock FIX >/dev/null 2>&1
dk_wait_count released "$FIX_N" 600 || { echo "fixity bench: not all released"; exit 1; }
dk_stop
t0=$(date +%s.%N)
"$DOCKD" --config "$DK_CONF" fixity --bytes-per-s 0 --items "$FIX_N" --json >"$W/fix.json" ||
	{ echo "fixity bench: audit failed"; cat "$W/fix.json"; exit 1; }
t1=$(date +%s.%N)
python3 - "$W/fix.json" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = float(sys.argv[3]) - float(sys.argv[2])
print("# %d items, %d copies, %d bytes in %.3f s" % (r["items"], r["copies"], r["bytes"], s))
print("BENCH fixity_items_per_s %.1f items/s" % (r["items"] / s))
print("BENCH fixity_gib_per_s %.3f GiB/s" % (r["bytes"] / s / 2**30))
PY
