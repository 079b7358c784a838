#!/bin/sh
# Custody ledger benchmarks (figures only, no assertions):
#   custody_fill_rate        bulk generation of ~1M events: the realistic
#                            lifecycle mix of `demo-fill` (~11.7 events per
#                            recording, see custody/cmd/fill.c), batches of
#                            1000 recordings, one signed + published
#                            checkpoint per batch
#   custody_verify_1m        full `custody verify` of that ledger: median of
#                            3 runs (min and max printed as a comment)
#   custody_history_*        1000 warm history queries of random existing
#                            items: wall p50/p90/p99/max, CPU-time p99
#   custody_append_rate_*    durable appends (synchronous=FULL, WAL), group
#                            commit of ~14 and ~120 events per transaction
#                            (1 and 10 recordings per batch)
# Usage: tests/bench/custody.sh [BUILD_DIR]   (EVENTS=N to change 1M)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-${BUILD:-build}}
C="$top/$B/bin/custody"
RECS=$(( ${EVENTS:-1000000} * 10 / 117 + 1 ))
T=$(mktemp -d "${TMPDIR:-/tmp}/custody-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/ext"
cat >"$T/c.ini" <<EOC
[ledger]
path = $T/l.db
agency_id = pd-bench
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-bench
external_checkpoint_dir = $T/ext
EOC
now() { date +%s.%N; }
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-bench >/dev/null
"$C" --config "$T/c.ini" init >/dev/null
t0=$(now)
"$C" --config "$T/c.ini" demo-fill $RECS --per-session 1000 >/dev/null || exit 1
t1=$(now)
n=$(sqlite3 "$T/l.db" "SELECT count(*) FROM events")
echo "BENCH custody_events $n events"
echo "BENCH custody_fill_rate $(echo "$n / ($t1 - $t0)" | bc) events/s"
echo "BENCH custody_db_size $(( $(stat -c %s "$T/l.db") / 1048576 )) MiB"
echo "# load average before verify: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
	t0=$(now)
	"$C" --config "$T/c.ini" --read-only verify --vkey "$T/ck.vkey" >"$T/verify.out"; rc=$?
	t1=$(now)
	echo "$(echo "scale=3; ($t1 - $t0) / 1" | bc) $rc"
done | sort -n >"$T/vtimes"
tail -1 "$T/verify.out" | sed 's/^/# /'
echo "# verify runs (s, exit): $(tr '\n' ' ' <"$T/vtimes")"
echo "BENCH custody_verify_1m $(sed -n 2p "$T/vtimes" | cut -d' ' -f1) s (exit $(sed -n 2p "$T/vtimes" | cut -d' ' -f2))"
echo "# load average before history: $(cut -d' ' -f1-3 /proc/loadavg)"
"$C" --config "$T/c.ini" bench history 1000
for per in 1 10; do
	rm -f "$T"/a.db*
	recs=$(( 2400 / per ))
	t0=$(now)
	"$C" --db "$T/a.db" demo-fill $recs --per-session $per --no-checkpoint >/dev/null
	t1=$(now)
	ev=$(sqlite3 "$T/a.db" "SELECT count(*) FROM events")
	echo "BENCH custody_append_rate_batch$((per * 12)) $(echo "$ev / ($t1 - $t0)" | bc) events/s"
done
