#!/bin/sh
# The ingest's writer stage alone (tests/bench/dwrite.c, dockd/ingest/dwrite.h):
# MIB MiB (default 1024) appended with the ciphertext SHA-256 on, flushed
# every 64 MiB, fsynced, against `dd bs=1M conv=fsync` of as many bytes, to
# the same disk (the build tree's), ROUNDS turns each (default 3; the order
# swaps every round), medians; every turn is printed as a `#` line:
#   BENCH dwrite_MB_s            MB/s  the writer, SHA-256 and O_DIRECT writes
#   BENCH dwrite_dd_MB_s         MB/s  dd conv=fsync
#   BENCH dwrite_vs_dd           ratio
#   BENCH dwrite_cpu_per_GiB     s     the writer's CPU (user + sys) per GiB
# DWRITE_SRC (default dockd/ingest/dwrite.c dwrite_io.c; paths without
# blanks) builds another version of it, e.g. main's dwrite.c, to compare. Environment (tests/bench.sh): TOP.
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
ROUNDS=${ROUNDS:-3}
MIB=${MIB:-1024}
DWRITE_SRC=${DWRITE_SRC:-$TOP/dockd/ingest/dwrite.c $TOP/dockd/ingest/dwrite_io.c}
mkdir -p "$TOP/build"
W=$(mktemp -d "$TOP/build/bench-dwrite.XXXXXX") # the build disk, not /tmp
trap 'rm -rf "$W"' EXIT
cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$TOP/dockd/ingest" -o "$W/dwrite" \
	"$TOP/tests/bench/dwrite.c" $DWRITE_SRC -lcrypto -lpthread || {
	echo "dwrite bench: cannot build; skipped"
	exit 0
}
head -c $((MIB * 1048576)) /dev/urandom >"$W/src" || exit 1
run_dw() {
	sync
	set -- $("$W/dwrite" "$W/out" "$MIB") || exit 1
	rm -f "$W/out"
	echo "# dwrite ${1}s, CPU ${2}s"
	awk -v s="$1" -v m="$MIB" 'BEGIN { printf "%.1f\n", m * 1048576 / s / 1e6 }' >>"$W/dw.rates"
	awk -v c="$2" -v m="$MIB" 'BEGIN { printf "%.2f\n", c * 1024 / m }' >>"$W/dw.cpu"
}
run_dd() {
	sync
	t0=$(date +%s.%N)
	dd if="$W/src" of="$W/out" bs=1M conv=fsync status=none || exit 1
	t1=$(date +%s.%N)
	rm -f "$W/out"
	s=$(echo "$t1 - $t0" | bc)
	echo "# dd conv=fsync ${s}s"
	awk -v s="$s" -v m="$MIB" 'BEGIN { printf "%.1f\n", m * 1048576 / s / 1e6 }' >>"$W/dd.rates"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then run_dd; run_dw; else run_dw; run_dd; fi
	r=$((r + 1))
done
dw=$(median "$W/dw.rates")
dd=$(median "$W/dd.rates")
echo "BENCH dwrite_MB_s $dw MB/s"
echo "BENCH dwrite_dd_MB_s $dd MB/s"
echo "BENCH dwrite_vs_dd $(awk -v a="$dw" -v b="$dd" 'BEGIN { printf "%.3f", a / b }') ratio"
echo "BENCH dwrite_cpu_per_GiB $(median "$W/dw.cpu") s"
