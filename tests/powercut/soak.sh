#!/bin/sh
# `make soak`'s power-cut part: tests/integration/dockd_powercut.sh with
# POWERCUT_POINTS cut points (default 1000), on its own, with its log in
# BUILD/test-logs/dockd_powercut-soak.log (the suite's own run of the
# script keeps its 100). Usage: tests/powercut/soak.sh [BUILD]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-build}
mkdir -p "$top/$b/test-logs"
log="$top/$b/test-logs/dockd_powercut-soak.log"
BUILD="$b" BIN="$top/$b/bin" TBIN="$top/$b/tests" TOP="$top" \
	POWERCUT_POINTS="${POWERCUT_POINTS:-1000}" sh "$top/tests/integration/dockd_powercut.sh" \
	</dev/null >"$log" 2>&1
rc=$?
grep -E '^(not )?ok ' "$log"
tail -n 3 "$log"
exit $rc
