#!/bin/sh
# `make bench`: runs every tests/bench/*.sh against the normal build and
# collects their `BENCH name value unit` lines at the end. Benchmarks print
# figures; they never pass or fail on speed. Each script runs with no
# arguments and finds everything through TOP, BUILD, BIN and TBIN; scripts
# that use test tools (test_evfile, dockpull, usb_harness) get them built
# here first (`make bench` builds only the programs).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/bench"
mkdir -p "$out"
: >"$out/summary.txt"
export TOP="$top" BUILD=build BIN="$top/build/bin" TBIN="$top/build/tests"
make -s -C "$top" BUILD=build tests >/dev/null || echo "bench: building the test tools failed"
rc=0
for b in "$top"/tests/bench/*.sh; do
	[ -f "$b" ] || continue
	name=$(basename "$b" .sh)
	echo "== bench $name"
	if ! sh "$b" 2>&1 | tee "$out/$name.log"; then rc=1; fi
	grep '^BENCH ' "$out/$name.log" >>"$out/summary.txt"
done
echo "== summary"
cat "$out/summary.txt"
exit $rc
