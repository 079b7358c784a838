#!/bin/sh
# Run each libFuzzer target for SECONDS over its committed seed corpus
# (tests/fuzz/corpus/NAME). New inputs go to build/fuzz/corpus-NAME so the
# committed corpus only changes by hand. Any crash fails the run; copy the
# crash file into tests/fuzz/regressions/NAME/ and it replays in `make check`.
set -u
secs=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for f in "$@"; do
	name=$(basename "$f")
	seed="$top/tests/fuzz/corpus/$name"
	work="$top/build/fuzz/corpus-$name"
	mkdir -p "$work" "$seed" "$top/build/fuzz/crash-$name"
	echo "== $name for ${secs}s"
	if ! "$f" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$top/build/fuzz/crash-$name/" "$work" "$seed" \
		>"$top/build/fuzz/$name.log" 2>&1; then
		echo "FUZZ CRASH in $name: see build/fuzz/$name.log and build/fuzz/crash-$name/"
		tail -n 40 "$top/build/fuzz/$name.log"
		rc=1
	else
		grep -E 'stat::number_of_executed_units|stat::peak_rss' "$top/build/fuzz/$name.log"
	fi
done
exit $rc
