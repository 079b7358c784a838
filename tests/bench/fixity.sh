#!/bin/sh
# Fixity audit rate (figures only, no assertions): a dock with FIX_N
# released recordings of FIX_MB MiB each (file:// target on the same disk
# as the vault), then one unthrottled audit (`dockd fixity --bytes-per-s 0`)
# reading both copies of every item:
#   BENCH fixity_items_per_s   items/s  items audited (2 copies each) per second
#   BENCH fixity_gib_per_s     GiB/s    bytes read and hashed per second
# then a second camera's FIX_N recordings are ingested twice, alone and
# while audits at the default rate limit ([fixity] bytes_per_s, 50 MiB/s)
# run back to back over the first camera's items:
#   BENCH fixity_ingest_ratio  ratio    ingest MB/s with audits / without
#                                       (target >= 0.9)
# Times are the wall clock of the audit command (ledger events included);
# ingest rates come from the ledger (first ingest_started -> last
# stored_local of the camera).
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

# ingest rate of camera $1's items from the ledger, MB/s
ingest_mbps() {
	dk_sql "SELECT (SELECT sum(size) FROM dock_recordings WHERE serial='$1') * 1000.0 /
		(max(time_ns) FILTER (WHERE action = 8) - min(time_ns) FILTER (WHERE action = 4))
		FROM events WHERE evidence_id LIKE '$1/%'"
}
ingest_run() { # SERIAL
	dk_camera "$1" "$FIX_N" $((FIX_MB * 1048576)) >/dev/null || return 1
	dk_dock "$1" >/dev/null 2>&1
	dk_wait_count stored_local 0 600 && dk_wait_count pulling 0 600
}
dk_start || { tail "$DK_LOG"; exit 1; }
ingest_run ING1 || exit 1
alone=$(ingest_mbps ING1)
( while :; do "$DOCKD" --config "$DK_CONF" fixity --items "$FIX_N" >/dev/null 2>&1; done ) &
loop=$!
ingest_run ING2 || exit 1
kill $loop 2>/dev/null; wait $loop 2>/dev/null
with=$(ingest_mbps ING2)
dk_stop
echo "# ingest alone $alone MB/s, with audits $with MB/s"
python3 -c 'import sys; a, w = float(sys.argv[1]), float(sys.argv[2]); print("BENCH fixity_ingest_ratio %.2f ratio" % (w / a))' "$alone" "$with"
