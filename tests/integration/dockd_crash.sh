#!/bin/sh
# Crash test: kill -9 dockd at random points across ingest, storage and
# release (50 points; SOAK=1: 300), restarting it each time while two
# cameras keep docking. Cameras get fresh recordings whenever all theirs
# are released, so kill points keep landing in every phase.
# The first point after fresh recordings are added is a mid-pull point: the
# cameras are throttled harder and dockd is killed as soon as its table shows
# one of them pulling (an observed state, not a delay, so a loaded machine
# cannot move it past the pulls). The other points are timed: 0..MAXMS ms
# after the cameras start, drawn before they start, with no process start-up
# (python) between docking and the kill.
#
# After EVERY kill, for every recording the camera no longer holds: the
# storage target has a copy that decrypts to the original bytes (nothing is
# ever lost: the camera deletes only against a verified copy).
# At the end (a clean run drains everything): every recording is held
# exactly once in the vault and once in the target, byte-identical after
# decryption; each item has exactly one ingested / stored_local /
# storage_verified / camera_released event, every camera_released has an
# earlier storage_verified; `custody verify` is clean.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
POINTS=${CRASH_POINTS:-50}
[ "${SOAK:-0}" = 1 ] && POINTS=${CRASH_POINTS:-300}
SIZE=${CRASH_SIZE:-600000}  # bytes per recording (~10 chunks of 64 KiB)
RATE=${CRASH_RATE:-1500000} # camera link throttle, bytes/s: stretches ingest
PULL_RATE=${CRASH_PULL_RATE:-250000} # at mid-pull points: a pull lasts > 2 s
MAXMS=${CRASH_MAXMS:-1000}  # kill between 0 and MAXMS ms after docking starts
CAMS="CAM-X CAM-Y"
DK_SYNC_MB=1
DK_RELEASE_WAIT=2
DK_LOG_LEVEL=info

check "setup" dk_init "$T/c" storage
for c in $CAMS; do
	check "setup: camera $c" dk_camera "$c" 0 0
done

round=0
ALL="" # every evidence id ever added
add_round() {
	round=$((round + 1))
	for c in $CAMS; do
		for i in 1 2; do
			r="R$round-$i"
			dk_randfile "$DK/orig/$c/$r.bin" $((SIZE + (round * 7919 + i * 4099) % 200000)) \
				"$c-$r" || return 1
			"$CAMSIM" add --dir "$DK/cams/$c" --id "$r" --file "$DK/orig/$c/$r.bin" \
				--category patrol >/dev/null || return 1
			ALL="$ALL $c/$r"
		done
	done
}
cam_empty() { ! "$CAMSIM" list --dir "$DK/cams/$1" | grep -q '^R'; }

# Recordings already checked after leaving their camera.
: >"$DK/gone.ok"
lost=0
check_gone() {
	for e in $ALL; do
		c=${e%%/*}; r=${e#*/}
		grep -qx "$e" "$DK/gone.ok" && continue
		dk_cam_has "$c" "$r" && continue
		if dk_same_store "$c" "$r"; then
			echo "$e" >>"$DK/gone.ok"
		else
			echo "# LOST: $e left the camera without a verified copy in the target (point $1)"
			lost=$((lost + 1))
			echo "$e" >>"$DK/gone.ok"
		fi
	done
}

# Timing helpers without python: its start-up took 2.5 s under load (two of
# them between docking and the kill put every kill after the releases).
rand_ms() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % (MAXMS + 1) )); }
msleep() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
# Until one of this round's recordings is pulling (30 s cap).
until_pulling() {
	n=0
	until [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE recording_id LIKE 'R$round-%'
		AND state = 'pulling'")" -gt 0 ] 2>/dev/null; do
		n=$((n + 1))
		[ $n -le 600 ] || return 1
		sleep 0.05
	done
}

check "first recordings added" add_round
crashes=0 starts_failed=0 p=0
fresh=1 mid=0 mid_hit=0 mid_unplaced=0
while [ $p -lt "$POINTS" ]; do
	p=$((p + 1))
	ms=$(rand_ms) rate=$RATE
	[ $fresh = 1 ] && ms=mid-pull rate=$PULL_RATE
	if ! dk_start; then
		starts_failed=$((starts_failed + 1))
		echo "# point $p: dockd did not come up"
		dk_kill9
		continue
	fi
	pids=""
	for c in $CAMS; do
		dk_dock_bg "$c" --slow "$rate" --chunk 32768
		pids="$pids $DK_CAM_PID"
	done
	if [ $fresh = 1 ]; then
		mid=$((mid + 1))
		until_pulling || { mid_unplaced=$((mid_unplaced + 1)); echo "# point $p: no pull seen"; }
	else
		msleep "$ms"
	fi
	if ! dk_alive; then
		wait "$DK_PID"; rc=$?
		[ $rc -ge 128 ] && { crashes=$((crashes + 1)); echo "# point $p: dockd died by itself ($rc)"; }
		DK_PID=
	fi
	dk_kill9
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	for q in $pids; do wait "$q" 2>/dev/null; done
	check_gone "$p at $ms"
	# Where the kill landed (states of this round's recordings, from the dock's table).
	phase=$(dk_sql "SELECT group_concat(state || ':' || n, ' ') FROM (SELECT state, count(*) AS n
		FROM dock_recordings WHERE recording_id LIKE 'R$round-%' GROUP BY state)")
	echo "# point $p at $ms: $phase"
	for st in pulling stored_local storage_verified; do
		case " $phase" in *" $st:"*) eval "hit_$st=\$((\${hit_$st:-0} + 1))" ;; esac
	done
	[ $fresh = 1 ] && case " $phase" in *" pulling:"*) mid_hit=$((mid_hit + 1)) ;; esac
	fresh=0
	if cam_empty CAM-X && cam_empty CAM-Y; then add_round && fresh=1; fi
done
echo "# kill points that left recordings pulling: ${hit_pulling:-0}, stored_local: ${hit_stored_local:-0}, storage_verified (not yet released): ${hit_storage_verified:-0}"
echo "# mid-pull points: $mid, a pull seen before the kill: $((mid - mid_unplaced)), pulling after it: $mid_hit"
check "kill points landed mid-pull" test "${hit_pulling:-0}" -gt 0
check "every mid-pull point ($mid) left a recording pulling ($mid_hit)" \
	test "$mid" -gt 0 -a "$mid_hit" = "$mid"
check "timed points ($((POINTS - mid))) outnumber mid-pull points" test $((POINTS - mid)) -ge "$mid"
check "$POINTS kill -9 points, dockd never crashed on its own" test $crashes = 0
check "dockd restarted after every kill" test $starts_failed = 0
check "no recording ever left a camera without a verified stored copy" test $lost = 0

# Drain: clean runs until every recording is released.
drain() {
	for n in 1 2 3 4 5 6; do
		dk_start || return 1
		for c in $CAMS; do dk_dock "$c"; done
		dk_wait_count stored_local 0 60
		for c in $CAMS; do dk_dock "$c"; done
		dk_stop || return 1
		left=$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state<>'released'")
		[ "$left" = 0 ] && return 0
	done
	return 1
}
check "after the crashes a clean run releases every recording" drain
check_gone final
n_all=$(echo $ALL | wc -w)
echo "# $round rounds, $n_all recordings, $POINTS kill points"
once_everywhere() {
	bad=0
	for e in $ALL; do
		c=${e%%/*}; r=${e#*/}
		[ "$(dk_state "$e")" = released ] || { echo "# $e: state $(dk_state "$e")"; bad=1; }
		[ -f "$(dk_vault_file "$c" "$r")" ] || { echo "# $e: no vault file"; bad=1; }
		dk_same "$c" "$r" || { echo "# $e: vault copy differs"; bad=1; }
		dk_same_store "$c" "$r" || { echo "# $e: stored copy differs"; bad=1; }
		dk_cam_has "$c" "$r" && { echo "# $e: still on the camera"; bad=1; }
	done
	return $bad
}
check "every recording released, byte-identical in vault and target" once_everywhere
check "vault holds exactly one file per recording" \
	test "$(find "$DK_VAULT/$DK_AGENCY" -name '*.bcde' -type f | wc -l)" = "$n_all"
check "target holds exactly one object per recording" \
	test "$(find "$DK_STORE/$DK_AGENCY" -name '*.bcde' -type f | wc -l)" = "$n_all"
check "ledger: each step once per item; release after storage_verified" dk_ledger_rules storage
check "ledger: one dock_recordings row per recording" \
	test "$(dk_sql 'SELECT count(*) FROM dock_recordings')" = "$n_all"
check "no data key left behind" sh -c "! find '$DK_VAULT' -name '*.key' | grep -q ."
check "custody verify is clean" dk_verify
tail -1 "$DK/verify.out" | sed 's/^/# /'
done_testing
