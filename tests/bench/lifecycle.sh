#!/bin/sh
# Ingest beside the retention jobs (issue 12: "retention and fixity jobs
# keep ingest >= 0.9 of its rate without them"; figures only, no
# assertions). A dock with a file:// target first docks a camera BASE with
# LC_N recordings of LC_MB MiB (default 16 x 8 MiB) and waits until all
# are verified in storage and released. Then rounds alternate two turns,
# each with a fresh camera of the same load (LC_N x LC_MB) and dockd
# restarted with:
#   with     [vault] keep = 0d, purge_interval_s = 1, low_free/high_free 0:
#            the purge worker removes every verified vault copy (the
#            previous turns' cameras and, within about a second of its
#            storage_verified, each of the ingesting camera's own);
#            [fixity] interval_s = 1 at the default items_per_run and
#            bytes_per_s (50 MiB/s): dockd's own audit thread re-reads the
#            stored copies back to back.
#   without  [vault] keep = indefinite, low_free/high_free 0 (no purge);
#            [fixity] interval_s = 0 (no scheduled audit).
# Order: with, without, without, with, with, without ... (LC_ROUNDS rounds,
# default 3; each round has one turn of each, the first turn alternating).
#   BENCH lifecycle_ingest_ratio_round_N  ratio  ingest MB/s with / without
#   BENCH lifecycle_ingest_ratio          ratio  median of the rounds (target >= 0.9)
# Ingest rates come from the ledger (first ingest_started -> last
# stored_local of the turn's camera, as in fixity.sh); the uploads to the
# file:// target run in both turns (they are part of ingest).
# Not measured: two-person destruction (tests/integration/custody_destroy.sh)
# needs two OS users as supervisors on the query socket (root, runuser),
# and the destruction pass of dockd's main loop only has work after such
# an approval (its per-tick look at the ledger runs in both turns alike).
# Hold sync (dockd/store/holdsync.c) acts only on an s3:// target with Object
# Lock; with this file:// target it has nothing to do in either turn.
# The jobs yield to ingest (docs/retention.md "Lifecycle jobs yield to
# ingest"): in a "with" turn they wait while the camera is pulled, so
# after the pull the turn also waits (outside the measured ingest) until
# the jobs caught up - no verified copy left in the vault, one whole audit
# run ended - and prints how long that took and the audit's figures.
# LC_DEFER=0 sets [fixity] max_pause_s and [vault] purge_max_defer_s to 0
# in the "with" turns: the jobs then never wait (the audit reads at
# busy_bytes_per_s, 4 MiB/s, during the pull, both at nice +10 and I/O
# class idle): the worst case, after the pause budgets are spent.
# LC_CONTROL=1: both turns of every round run without the jobs (an A/A
# control: the spread of its ratios is the noise of the machine).
# Environment (tests/bench.sh): TOP, BUILD, BIN, TBIN. LC_N (16), LC_MB (8),
# LC_ROUNDS (3), LC_DEFER (3600), LC_CONTROL (0).
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BIN:=$TOP/$BUILD/bin}"
: "${TBIN:=$TOP/$BUILD/tests}"
. "$TOP/tests/lib.sh" >/dev/null
. "$TOP/tests/dockd_lib.sh"
LC_N=${LC_N:-16}
LC_MB=${LC_MB:-8}
LC_ROUNDS=${LC_ROUNDS:-3}
LC_DEFER=${LC_DEFER:-3600}
LC_CONTROL=${LC_CONTROL:-0}
if [ ! -x "$DOCKD" ]; then
	echo "lifecycle bench: $DOCKD not built; skipped"
	exit 0
fi
# Same disk as the build tree (not /tmp, which may be a RAM disk).
W=$(mktemp -d "$TOP/build/bench-lifecycle.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
DK_CHUNK=1048576
DK_LOG_LEVEL=info
DK_RELEASE_WAIT=120
conf() { # with|without
	dk_conf_write
	if [ "$1" = with ]; then k=0d; p="purge_interval_s = 1\npurge_max_defer_s = $LC_DEFER\n"
		f="1\nmax_pause_s = $LC_DEFER"
	else k=indefinite; p=''; f=0; fi
	# dk_conf_write's [vault] already sets low_free = high_free = 0
	printf "\n[vault]\nkeep = $k\n$p" >>"$DK_CONF"
	printf "\n[fixity]\ninterval_s = $f\n" >>"$DK_CONF"
}
# With jobs: after the pull, the deferred work must still get done. Wait
# (not measured in the ratio) until no verified copy is left in the vault
# and one whole audit run has ended; print how long that took after the
# camera's last stored_local and the work done.
catch_up() { # SERIAL
	n0=$1; t0=$(date +%s.%N); i=0
	while [ "$(dk_sql "SELECT count(*) FROM evidence WHERE local_copy = 1 AND status IN
		('verified', 'released')")" != 0 ] || ! grep -q "fixity: audit of" "$DK_LOG.turn"; do
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "# $n0: jobs did not catch up in 300 s"; return 0; }
		sleep 0.1
		tail -c +$((log0 + 1)) "$DK_LOG" >"$DK_LOG.turn"
	done
	t1=$(date +%s.%N)
	python3 -c 'import sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
print("# %s: jobs caught up %.1f s after the pull ended; audit: %s" % (sys.argv[3], t1 - t0,
      open(sys.argv[4]).read().split("fixity: audit of ", 1)[1].split("\n", 1)[0]))' \
		"$t0" "$t1" "$n0" "$DK_LOG.turn"
}
# ingest rate of camera $1's items from the ledger, MB/s
ingest_mbps() {
	dk_sql "SELECT round((SELECT sum(size) FROM dock_recordings WHERE serial='$1') * 1000.0 /
		(max(time_ns) FILTER (WHERE action = 8) - min(time_ns) FILTER (WHERE action = 4)), 2)
		FROM events WHERE evidence_id LIKE '$1/%'"
}
turn() { # with|without SERIAL: prints the camera's ingest MB/s
	[ "$LC_CONTROL" = 0 ] || set -- without "$2"
	conf "$1"
	dk_camera "$2" "$LC_N" $((LC_MB << 20)) >/dev/null || return 1
	log0=$(stat -c %s "$DK_LOG" 2>/dev/null || echo 0)
	dk_start || return 1
	dk_dock "$2" >/dev/null 2>&1
	dk_wait_count stored_local 0 600 && dk_wait_count pulling 0 600 || return 1
	[ "$1" = without ] || catch_up "$2" >&2
	dk_stop
	jobs_during "$2" >&2
	ingest_mbps "$2"
}
# local_purged and fixity_checked events inside camera $1's ingest window
jobs_during() {
	dk_py '
t = con.execute("SELECT min(time_ns) FILTER (WHERE action = 4), max(time_ns) FILTER (WHERE action = 8) FROM events WHERE evidence_id LIKE ?", (args[0] + "/%",)).fetchone()
n = {}
for a, c in con.execute("SELECT action, count(*) FROM events WHERE time_ns BETWEEN ? AND ? GROUP BY action", t):
    n[names.get(a, a)] = c
print("# %s: ingest %.1f s; during it %d local_purged, %d fixity_checked" %
      (args[0], (t[1] - t[0]) / 1e9, n.get("local_purged", 0), n.get("fixity_checked", 0)))' "$1"
}
dk_init "$W/d" storage || exit 1
conf without
dk_camera BASE "$LC_N" $((LC_MB << 20)) || exit 1
dk_start || { tail "$DK_LOG"; exit 1; }
dk_dock BASE >/dev/null 2>&1
dk_wait_count released "$LC_N" 600 || { echo "lifecycle bench: not all released"; exit 1; }
dk_stop
ratios=""
r=1
while [ $r -le "$LC_ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then order="with without"; else order="without with"; fi
	for t in $order; do
		v=$(turn $t "R$r$t") || { echo "lifecycle bench: round $r $t failed"; tail "$DK_LOG"; exit 1; }
		eval "mb_$t=\$v"
	done
	purged=$(dk_sql "SELECT count(*) FROM events WHERE action = 13")
	echo "# round $r ($order): ingest with jobs $mb_with MB/s, without $mb_without MB/s; local_purged so far $purged; load $(cut -d' ' -f1-3 /proc/loadavg)"
	rr=$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$mb_with" "$mb_without")
	echo "BENCH lifecycle_ingest_ratio_round_$r $rr ratio"
	ratios="$ratios $rr"
	r=$((r + 1))
done
dk_py '
fx = sum(1 for _, a, _, _ in events() if a.startswith("fixity"))
print("# ledger: %d local_purged, %d fixity events" %
      (sum(1 for _, a, _, _ in events() if a == "local_purged"), fx))'
python3 -c 'import statistics, sys; print("BENCH lifecycle_ingest_ratio %.2f ratio" % statistics.median(float(x) for x in sys.argv[1:]))' $ratios
