#!/bin/sh
# `make bench`: runs every tests/bench/*.sh against the normal build and
# collects their `BENCH name value unit` lines at the end. Benchmarks print
# figures; they never pass or fail on speed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/bench"
mkdir -p "$out"
: >"$out/summary.txt"
export TOP="$top" BUILD=build BIN="$top/build/bin" TBIN="$top/build/tests"
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
