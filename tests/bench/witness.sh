#!/bin/sh
# Witness benchmarks (figures only, no assertions): the cost of having a
# checkpoint cosigned by a `custody witness` on loopback.
#   witness_cosign_ms      wall time of one add-checkpoint round trip (curl):
#                          strict parse, log signature check, RFC 6962
#                          consistency proof check, state file written and
#                          fsynced twice, cosignature; p50 and p90 over the
#                          checkpoints of a ledger of ~CKPTS checkpoints
#   witness_proof_ms       one `custody consistency-proof` command (process
#                          start included) per checkpoint pair
#                          (the proof dockd builds from its ledger, O(n)
#                          leaf reads without a subtree cache) at that size
#   witness_append_rate    durable appends per second (demo-fill, 10
#                          recordings per checkpoint) - dockd witnesses from
#                          its own thread, so this is the rate with a
#                          witness too; printed for comparison
#   witness_append_rate_inline  the same appends if every checkpoint
#                          (one per 10 recordings) also waited in line for
#                          its consistency proof and the witness's
#                          cosignature: events / (fill time + the measured
#                          proof and round-trip times); the worst case, an
#                          upper bound of what witnessing costs the ledger
# Usage: tests/bench/witness.sh [BUILD_DIR]   (CKPTS=N, default 200)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-${BUILD:-build}}
C="$top/$B/bin/custody"
N=${CKPTS:-200}
T=$(mktemp -d "${TMPDIR:-/tmp}/witness-bench.XXXXXX")
WPID=
trap 'kill $WPID 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/ext"
cat >"$T/c.ini" <<EOC
[ledger]
path = $T/l.db
agency_id = pd-bench
checkpoint_key = $T/ck.key
checkpoint_origin = dock.example/pd-bench
external_checkpoint_dir = $T/ext
EOC
now() { date +%s.%N; }
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-bench >/dev/null
"$C" --config "$T/c.ini" init >/dev/null
t0=$(now)
"$C" --config "$T/c.ini" demo-fill $((N * 10)) --per-session 10 >/dev/null || exit 1
t1=$(now)
ev=$(sqlite3 "$T/l.db" "SELECT count(*) FROM events")
echo "BENCH witness_append_rate $(echo "$ev / ($t1 - $t0)" | bc) events/s"
"$C" witness keygen --key "$T/w.key" --vkey "$T/w.vkey" --name bench.test/witness >/dev/null
"$C" witness --listen 127.0.0.1:0 --state "$T/w" --key "$T/w.key" --name bench.test/witness \
	--log "dock.example/pd-bench $(cat "$T/ck.vkey")" >"$T/w.out" 2>/dev/null &
WPID=$!
i=0; until grep -q '^vkey ' "$T/w.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done
port=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$T/w.out")
sizes=$(sqlite3 "$T/l.db" "SELECT size FROM checkpoints ORDER BY size")
old=0
: >"$T/rt"; : >"$T/pf"
for s in $sizes; do
	a=$(now)
	"$C" --config "$T/c.ini" consistency-proof "$old" "$s" >"$T/req" || exit 1
	b=$(now)
	echo "($b - $a) * 1000" | bc >>"$T/pf"
	code=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --data-binary @"$T/req" \
		"http://127.0.0.1:$port/add-checkpoint")
	[ "${code%% *}" = 200 ] || { echo "witness answered $code"; exit 1; }
	echo "${code#* } * 1000" | bc >>"$T/rt"
	old=$s
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.2f", a[i]}'; }
echo "# $(wc -l <"$T/rt") checkpoints, last size $old"
echo "BENCH witness_cosign_ms_p50 $(pct "$T/rt" 50) ms"
echo "BENCH witness_cosign_ms_p90 $(pct "$T/rt" 90) ms"
echo "BENCH witness_proof_ms_p50 $(pct "$T/pf" 50) ms"
tw=$(paste -sd+ "$T/rt" | bc); tp=$(paste -sd+ "$T/pf" | bc)
echo "BENCH witness_append_rate_inline $(echo "$ev / ($t1 - $t0 + ($tw + $tp) / 1000)" | bc) events/s"
