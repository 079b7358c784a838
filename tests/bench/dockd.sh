#!/bin/sh
# dockd ingest benchmarks (figures only, no assertions):
#   1. one camera over the socket, one 1 GiB recording, and side by side in
#      the same run `dd bs=1M conv=fsync` of the same bytes to the same disk
#      (ROUNDS turns each, medians):
#        BENCH dockd_ingest_1GiB       MB/s  ingest_started -> stored_local
#                                            (pull + SHA-256 + AES-256-GCM +
#                                            ciphertext SHA-256 + fsync + link;
#                                            release_policy = storage, so the
#                                            device re-read is the storage
#                                            stage's, docs/dockd.md)
#        BENCH dd_fsync_1GiB           MB/s
#        BENCH dockd_vs_dd_ratio       ratio (target >= 0.9)
#        BENCH dockd_docking_1GiB      s     connect -> storage_verified
#        BENCH dockd_ingest_cpu_per_GiB s    CPU time (user + sys) of dockd and
#                                            its camera-link worker from start
#                                            to stored_local, per GiB (target
#                                            <= 2.0)
#        BENCH dockd_ingest_cpu_daemon_per_GiB / _cpu_worker_per_GiB  s
#                                            the same split: dockd's own threads,
#                                            and its child processes (the
#                                            camera-link worker)
#   2. sixteen cameras docking at once, one recording each, NROUNDS16 rounds
#      (default ROUNDS; a new recording per camera each round); medians:
#        BENCH dockd_16cam_aggregate   MB/s  total bytes / first ingest_started
#                                            -> last stored_local
#        BENCH dockd_16cam_min / _max  MB/s  per-camera ingest throughput
#        BENCH dockd_peak_rss          MiB   dockd's VmHWM after both runs
#        BENCH dockd_16cam_vs_single   ratio aggregate / part 1's single-camera
#                                            ingest rate (target >= 0.8)
#        BENCH dockd_16cam_min_vs_max  ratio slowest / fastest camera (target
#                                            >= 0.67)
#        BENCH dockd_16cam_cpu_per_GiB s     CPU seconds of dockd and its camera-
#                                            link workers per GiB in the
#                                            16-camera run (against part 1's:
#                                            is the aggregate short of the single
#                                            camera's rate because each byte costs
#                                            more CPU, or because threads wait?)
#        BENCH dockd_16cam_pss         MiB   peak total PSS of dockd and all its
#                                            descendant processes during the
#                                            16-camera run (sampled every
#                                            0.5 s; target <= 64); a `#` line
#                                            per round splits the peak into
#                                            dockd's own and its workers'.
#   Every round's figures are printed as a `#` line before the medians.
#   Times come from the ledger's own event timestamps (ns). On a machine
#   other jobs load, the wall-clock rates and ratios swing with that load;
#   the CPU figures (user + sys, from /proc) much less.
# Environment (tests/bench.sh): TOP, BUILD, BIN, TBIN.
# SIZE_MB (default 1024) and CAM_MB (default 128) scale it down; ROUNDS
# (default 3) sets the dd/dock turns of part 1. BENCH_POLICY=local runs it
# with release_policy = local (the ingest then re-reads each recording from
# the device before stored_local: its CPU is in the figures). PART2=0 skips
# part 2 (sixteen cameras). PROBE: a command run in the background during
# each dock turn of part 1 (from its start to stored_local, then sent
# SIGTERM and waited for: `exec` the tool), with PROBE_PID (dockd's pid)
# and PROBE_ROUND in its environment, e.g.
#   PROBE='exec perf sched record -a -g -o /tmp/s.$PROBE_ROUND.data'
# (docs/dockd.md "Ingest pipeline": who waits on whom).
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
. "$TOP/tests/lib.sh" >/dev/null
. "$TOP/tests/dockd_lib.sh"
SIZE_MB=${SIZE_MB:-1024}
CAM_MB=${CAM_MB:-128}
NCAM=${NCAM:-16}
sz=1GiB
[ "$SIZE_MB" = 1024 ] || sz=${SIZE_MB}MiB
if [ ! -x "$DOCKD" ]; then
	echo "dockd bench: $DOCKD not built; skipped"
	exit 0
fi
# Same disk as the build tree (not /tmp, which may be a RAM disk).
W=$(mktemp -d "$TOP/build/bench-dockd.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
DK_CHUNK=1048576
DK_SYNC_MB=64
DK_LOG_LEVEL=info
DK_RELEASE_WAIT=60
dk_init "$W/d" "${BENCH_POLICY:-storage}" || exit 1

# Ingest rate of one item from the ledger: size / (stored_local - ingest_started).
item_rates() { # prints "evid bytes start_ns end_ns" per item with both events
	dk_py '
first, last = {}, {}
for seq, a, e, d in events():
    if a == "ingest_started" and e not in first: first[e] = con.execute(
        "SELECT time_ns FROM events WHERE seq=?", (seq,)).fetchone()[0]
    if a == "stored_local": last[e] = con.execute(
        "SELECT time_ns FROM events WHERE seq=?", (seq,)).fetchone()[0]
for e in sorted(last):
    size = con.execute("SELECT size FROM dock_recordings WHERE evidence_id=?", (e,)).fetchone()[0]
    print(e, size, first[e], last[e])'
}
now() { date +%s.%N; }
mbps() { echo "scale=1; $1 / 1000000 / $2" | bc; }

# ---- 1. one camera, 1 GiB, against dd --------------------------------------
# ROUNDS rounds (default 3), dd and the dock taking turns (the order swaps
# every round): this virtual disk's dd rate alone swings from 390 to
# 850 MB/s between runs minutes apart, so one run of each compares noise.
# The figures are the medians; every run is printed as a `#` line.
ROUNDS=${ROUNDS:-3}
dk_camera BIG 0 0 || exit 1
big=$W/big.bin
dk_randfile "$big" $((SIZE_MB * 1048576)) bench || exit 1
bytes=$(stat -c %s "$big")
dk_start || { tail "$DK_LOG"; exit 1; }
# dockd's own ticks plus its camera-link workers' (docs/architecture.md):
# live ones from their stat, ended ones from dockd's cutime + cstime.
cpu_split() { # prints "DAEMON CHILDREN" ticks
	set -- $(awk '{ print $14 + $15, $16 + $17 }' "/proc/$DK_PID/stat")
	cs_d=$1 cs_c=$2
	for cp in $(cat /proc/"$DK_PID"/task/*/children 2>/dev/null); do
		cs_c=$((cs_c + $(awk '{ print $14 + $15 }' "/proc/$cp/stat" 2>/dev/null || echo 0)))
	done
	echo "$cs_d $cs_c"
}
cpu_ticks() { set -- $(cpu_split); echo $(($1 + $2)); }
# ticks for BYTES bytes, as seconds per GiB
per_gib() { awk -v c="$1" -v tk="$(getconf CLK_TCK)" -v b="$2" \
	'BEGIN { printf "%.2f\n", c / tk * 1073741824 / b }'; }

run_dd() {
	sync
	t0=$(now)
	dd if="$big" of="$DK_VAULT/dd.out" bs=1M conv=fsync status=none || exit 1
	t1=$(now)
	rm -f "$DK_VAULT/dd.out"
	sync
	s=$(echo "$t1 - $t0" | bc)
	echo "# run $1: dd conv=fsync ${s}s, $(mbps "$bytes" "$s") MB/s"
	echo "$(mbps "$bytes" "$s")" >>"$W/dd.rates"
}
run_dock() { # ROUND: a new recording of the same bytes each round
	rid=REC-$1 rnd=$1
	ln -f "$big" "$DK/orig/BIG/$rid.bin" || exit 1
	"$CAMSIM" add --dir "$DK/cams/BIG" --id "$rid" --file "$big" --category patrol >/dev/null ||
		exit 1
	sync
	set -- $(cpu_split)
	cd0=$1 cw0=$2
	probe=
	if [ -n "${PROBE:-}" ]; then
		PROBE_PID=$DK_PID PROBE_ROUND=$rnd sh -c "$PROBE" &
		probe=$!
		sleep 0.5 # let it start before the turn
	fi
	t0=$(now)
	dk_dock_bg BIG
	cam=$DK_CAM_PID
	# dockd's CPU time (utime + stime) until the item reaches stored_local:
	# the ingest's CPU per GiB, steadier than wall-clock figures. Watched in
	# dockd's log with one grep every 50 ms: polling the database (a sqlite3
	# process every 20 ms) took 5-10 % of this 2-core machine's CPU away
	# from the ingest it measures.
	until grep -q "BIG/$rid: stored locally" "$DK_LOG"; do
		kill -0 "$cam" 2>/dev/null || break
		sleep 0.05
	done
	set -- $(cpu_split)
	cd1=$1 cw1=$2
	[ -z "$probe" ] || { kill -TERM "$probe" 2>/dev/null; wait "$probe"; }
	wait "$cam" || echo "# camsim exit $?"
	dk_wait_stored "BIG/$rid" 600 || echo "# not storage_verified"
	t1=$(now)
	set -- $(item_rates | grep "^BIG/$rid ")
	ing_s=$(echo "scale=6; ($4 - $3) / 1000000000" | bc)
	echo "# run ${rid#REC-}: dockd ingest ${ing_s}s, $(mbps "$bytes" "$ing_s") MB/s"
	mbps "$bytes" "$ing_s" >>"$W/dock.rates"
	echo "$t1 - $t0" | bc >>"$W/dock.docking"
	per_gib $((cd1 - cd0 + cw1 - cw0)) "$bytes" >>"$W/dock.cpu"
	per_gib $((cd1 - cd0)) "$bytes" >>"$W/dock.cpu_d"
	per_gib $((cw1 - cw0)) "$bytes" >>"$W/dock.cpu_w"
	echo "# run ${rid#REC-}: CPU per GiB $(tail -1 "$W/dock.cpu") s" \
		"(dockd $(tail -1 "$W/dock.cpu_d") s + camera-link worker $(tail -1 "$W/dock.cpu_w") s)"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then run_dd "$r"; run_dock "$r"; else run_dock "$r"; run_dd "$r"; fi
	r=$((r + 1))
done
dd_rate=$(median "$W/dd.rates")
ing_rate=$(median "$W/dock.rates")
echo "BENCH dockd_ingest_$sz $ing_rate MB/s"
echo "BENCH dd_fsync_$sz $dd_rate MB/s"
echo "BENCH dockd_vs_dd_ratio $(awk -v a="$ing_rate" -v b="$dd_rate" 'BEGIN { printf "%.3f", a / b }') ratio"
echo "BENCH dockd_docking_$sz $(median "$W/dock.docking" | xargs printf "%.2f") s"
echo "BENCH dockd_ingest_cpu_per_GiB $(median "$W/dock.cpu") s"
echo "BENCH dockd_ingest_cpu_daemon_per_GiB $(median "$W/dock.cpu_d") s"
echo "BENCH dockd_ingest_cpu_worker_per_GiB $(median "$W/dock.cpu_w") s"
dk_same BIG REC-1 || echo "# WARNING: the big recording did not decrypt byte-identical"
rm -f "$DK/dec.bin" "$big" "$DK"/orig/BIG/REC-*.bin
if [ "${PART2:-1}" = 0 ]; then
	dk_stop
	exit 0
fi

# ---- 2. sixteen cameras at once ----------------------------------------------
k=1
while [ $k -le "$NCAM" ]; do
	dk_camera "C$k" 1 $((CAM_MB * 1048576)) || exit 1
	k=$((k + 1))
done
# Total PSS (proportional set size: shared pages split between the
# processes that map them) of dockd and every process under it, in KiB.
pss_tree() {
	pt=$DK_PID; pall=$DK_PID
	while [ -n "$pt" ]; do
		pt=$(for q in $pt; do cat "/proc/$q/task"/*/children 2>/dev/null; done | tr -s ' \n' ' ')
		pall="$pall $pt"
	done
	for q in $pall; do awk '/^Pss:/ { print $2 }' "/proc/$q/smaps_rollup" 2>/dev/null; done |
		awk '{ s += $1 } END { print s + 0 }'
}
pss_daemon() { awk '/^Pss:/ { print $2 }' "/proc/$DK_PID/smaps_rollup" 2>/dev/null; }
NROUNDS16=${NROUNDS16:-$ROUNDS}
: >"$W/r16.txt"
r=1
while [ "$r" -le "$NROUNDS16" ]; do
	if [ "$r" -gt 1 ]; then # a new recording on every camera (same bytes)
		k=1
		while [ $k -le "$NCAM" ]; do
			"$CAMSIM" add --dir "$DK/cams/C$k" --id "REC-$r" --file "$DK/orig/C$k/REC-1.bin" \
				--category patrol >/dev/null || exit 1
			k=$((k + 1))
		done
	fi
	echo 0 >"$W/pss.max"
	rm -f "$W/pss.stop"
	n0=$(grep -c ' stored locally' "$DK_LOG")
	c16=$(cpu_ticks)
	pids=""
	k=1
	while [ $k -le "$NCAM" ]; do
		dk_dock_bg "C$k"
		pids="$pids $DK_CAM_PID"
		k=$((k + 1))
	done
	( while kill -0 "$DK_PID" 2>/dev/null; do
		dv=$(pss_daemon); v=$(pss_tree)
		if [ "$v" -gt "$(cat "$W/pss.max")" ]; then
			echo "$v" >"$W/pss.max"; echo "${dv:-0}" >"$W/pss.dmax"
		fi
		[ -f "$W/pss.stop" ] && break
		sleep 0.5
	  done ) &
	pss_pid=$!
	# CPU of dockd and its workers until the last of them is stored locally
	# (as in part 1: the storage stage's copy is not counted), watched in
	# the log like part 1.
	until [ $(( $(grep -c ' stored locally' "$DK_LOG") - n0 )) -ge "$NCAM" ]; do
		alive=0
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 1 ] || break
		sleep 0.05
	done
	c16=$(( $(cpu_ticks) - c16 ))
	for p in $pids; do wait "$p"; done
	dk_wait_count pulling 0 600
	dk_wait_count listed 0 60
	touch "$W/pss.stop"; wait "$pss_pid"
	# where the peak was: dockd itself, and its camera-link workers
	echo "# round $r: PSS at the peak $(($(cat "$W/pss.max") / 1024)) MiB: dockd" \
		"$(($(cat "$W/pss.dmax" 2>/dev/null || echo 0) / 1024)) MiB, workers" \
		"$(( ($(cat "$W/pss.max") - $(cat "$W/pss.dmax" 2>/dev/null || echo 0)) / 1024)) MiB"
	item_rates | grep "^C[0-9]*/REC-$r " >"$W/rates"
	python3 - "$W/rates" "$r" "$ing_rate" "$(cat "$W/pss.max")" "$c16" "$(getconf CLK_TCK)" \
		>>"$W/r16.txt" <<'EOF'
import sys
rnd = sys.argv[2]
single, pss = float(sys.argv[3]), int(sys.argv[4])
cpu_s = int(sys.argv[5]) / int(sys.argv[6])
rows = [l.split() for l in open(sys.argv[1])]
rows = [(e, int(b), int(s), int(t)) for e, b, s, t in rows]
if not rows:
    print("# round %s: no item reached stored_local" % rnd); sys.exit(0)
total = sum(b for _, b, _, _ in rows)
span = (max(t for *_, t in rows) - min(s for _, _, s, _ in rows)) / 1e9
per = [b / ((t - s) / 1e9) / 1e6 for _, b, s, t in rows]
agg = total / span / 1e6
print("# round %s: %d cameras, %d bytes in %.2f s; per camera MB/s: %s" %
      (rnd, len(rows), total, span, " ".join("%.1f" % v for v in sorted(per))))
# each camera's ingest_started and stored_local, in s after the first
# ingest_started: shows a camera that starts early or ends alone
t0 = min(s for _, _, s, _ in rows)
print("# round %s: camera start-end s (MB/s): %s" % (rnd, " ".join(
      "%s %.2f-%.2f (%.1f)" % (e.split("/")[0], (s - t0) / 1e9, (t - t0) / 1e9, v)
      for (e, _, s, t), v in sorted(zip(rows, per), key=lambda x: x[0][2]))))
# a row per round: aggregate min max vs_single min_vs_max pss_MiB cpu_per_GiB
print("R %.1f %.1f %.1f %.3f %.3f %.1f %.2f" % (agg, min(per), max(per), agg / single,
      min(per) / max(per), pss / 1024, cpu_s * 1073741824 / total))
EOF
	r=$((r + 1))
done
python3 - "$W/r16.txt" "$NCAM" <<'EOF'
import statistics, sys
n = sys.argv[2]
lines = open(sys.argv[1]).read().splitlines()
for l in lines:
    if l.startswith("#"):
        print(l)
rows = [[float(v) for v in l.split()[1:]] for l in lines if l.startswith("R ")]
names = [("aggregate", "MB/s", "%.1f"), ("min", "MB/s", "%.1f"), ("max", "MB/s", "%.1f"),
         ("vs_single", "ratio", "%.3f"), ("min_vs_max", "ratio", "%.3f"),
         ("pss", "MiB", "%.1f"), ("cpu_per_GiB", "s", "%.2f")]
for i, (k, unit, fmt) in enumerate(names):
    print("# %scam_%s per round: %s" % (n, k, " ".join(fmt % r[i] for r in rows)))
for i, (k, unit, fmt) in enumerate(names):
    vals = [r[i] for r in rows]
    if vals:
        print(("BENCH dockd_%scam_%s " + fmt + " %s") % (n, k, statistics.median(vals), unit))
EOF
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DK_PID/status")
echo "BENCH dockd_peak_rss $(echo "scale=1; $hwm / 1024" | bc) MiB"
dk_stop
