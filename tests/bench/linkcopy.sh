#!/bin/sh
# The camera-link split's transfer cost, modelled (tests/bench/linkcopy.c;
# docs/architecture.md, "Messages between dockd and a worker"): CPU seconds
# per GiB that the worker and the daemon spend moving 1 MiB camera frames
# from the camera socket into the daemon's private memory, three ways:
#   BENCH linkcopy_socket_{worker,daemon}   linkmsg v2: DATA pieces over the
#                                           socketpair
#   BENCH linkcopy_framering_{..}           the worker's frame buffer is a
#                                           shared memfd; the daemon copies out
#                                           (built: linkmsg v3, linkring.h)
#   BENCH linkcopy_copyring_{..}            the worker copies each frame into a
#                                           2-slot memfd ring; the daemon
#                                           copies out
# ROUNDS turns of each (default 5; the modes alternate), medians; every
# turn is printed as a `#` line. MIB (default 1024) per turn.
# Environment (tests/bench.sh): TOP.
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
ROUNDS=${ROUNDS:-5}
MIB=${MIB:-1024}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$W/linkcopy" "$TOP/tests/bench/linkcopy.c" || {
	echo "linkcopy bench: cannot build tests/bench/linkcopy.c; skipped"
	exit 0
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for m in 0 1 2; do
		set -- $("$W/linkcopy" "$m" "$MIB") || exit 1
		echo "# round $r mode $m: worker $2 s/GiB, daemon $4 s/GiB"
		echo "$2" >>"$W/w$m"
		echo "$4" >>"$W/d$m"
	done
	r=$((r + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m=0
for name in socket framering copyring; do
	echo "BENCH linkcopy_${name}_worker $(median "$W/w$m") s/GiB"
	echo "BENCH linkcopy_${name}_daemon $(median "$W/d$m") s/GiB"
	m=$((m + 1))
done
