#!/bin/sh
# Power-cut test: dockd runs under tests/powercut/libpowercut.so, which
# records what each file and directory holds durably (fsync/fdatasync of
# the file; directory fsync for names) and, at write-like operation N,
# rolls the state, vault and storage directories back to what a power cut
# could leave (unsynced bytes lost or torn at a sector, unsynced renames,
# links, unlinks and creations undone) and kills dockd (SIGKILL).
# See docs/testing.md. POWERCUT_POINTS cut points (default 100; make soak:
# 1000, tests/powercut/soak.sh), each in a fresh docking of one new
# recording (3 sync points, so durable progress is recorded mid-pull),
# spread over the phases of a round (their operations counted first):
# ingest, vault link, upload to the file:// target, and the ledger's
# SQLite commits (every event and state change, the release included).
#
# After every cut, before dockd runs again: every recording the camera no
# longer holds has a copy in the target that decrypts to the original bytes.
# The next point's run restarts dockd on what the cut left (it recovers,
# then is cut again); every VERIFY_EVERY points a plain run (no library)
# empties the camera. Throughout: no restarted pull found less on the disk
# than its recorded durable chunk count ("recorded durable progress
# missing", logged by dockd before every restart or resume of a pull with
# durable chunks: the fdatasync before durable progress is recorded),
# `custody verify` is clean and the
# release rule holds over the ledger (every camera_released after a
# storage_verified); at the end every recording is released once, its vault
# and target copies byte-identical to the original.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
PCLIB=${POWERCUT_LIB:-$TOP/$BUILD/tests/libpowercut.so}
if [ ! -f "$PCLIB" ]; then
	skip "power-cut suite" "$PCLIB not built"
	done_testing
fi
# The library interposes libc under a normal build's dockd; under ASan the
# sanitizer's own interceptors and link-order check sit in the same place.
if [ "${SANITIZED:-0}" = 1 ]; then
	skip "power-cut suite" "runs in the normal build only (LD_PRELOAD library)"
	done_testing
fi
mktmp
POINTS=${POWERCUT_POINTS:-100} # `make soak`: 1000 (tests/powercut/soak.sh)
SIZE=${POWERCUT_SIZE:-3300000}   # > 3 MiB: three sync points mid-pull
SEED=${POWERCUT_SEED:-$(date +%s)}
VERIFY_EVERY=${VERIFY_EVERY:-10}
CAM=CAM-P
DK_SYNC_MB=1
DK_RELEASE_WAIT=5
DK_IDLE_MS=200
DK_LOG_LEVEL=info
echo "# seed $SEED, $POINTS points (POWERCUT_SEED=$SEED reproduces them)"

check "setup" dk_init "$T/p" storage
check "setup: camera $CAM" dk_camera "$CAM" 0 0
mkdir -p "$T/stash"
dk_randfile "$T/pool" $((SIZE + 600000)) "pool-$SEED"
PCDIRS="$DK/state:$DK_VAULT:$DK_STORE"

n_rec=0
ALL=""
add_rec() {
	n_rec=$((n_rec + 1))
	r="R$n_rec"
	# a slice of a random pool (cheaper than dk_randfile per recording)
	tail -c +$((n_rec * 4099 % 400000 + 1)) "$T/pool" | head -c $((SIZE + (n_rec * 7919) % 100000)) \
		>"$DK/orig/$CAM/$r.bin" || return 1
	"$CAMSIM" add --dir "$DK/cams/$CAM" --id "$r" --file "$DK/orig/$CAM/$r.bin" \
		--category patrol >/dev/null || return 1
	ALL="$ALL $r"
}

# dockd under the library; returns when dockd is gone (cut, or stopped
# after the docking). Sets cut=1 when the power was cut.
run_cut() { # AT [MATCH]
	rm -f "$DK_SOCK" "$T/pc.log"
	env LD_PRELOAD="$PCLIB" POWERCUT_DIRS="$PCDIRS" POWERCUT_STASH="$T/stash" \
		POWERCUT_AT="$1" POWERCUT_MATCH="${2:-}" POWERCUT_SEED="$SEED" POWERCUT_LOG="$T/pc.log" \
		"$DOCKD" --config "$DK_CONF" >>"$DK_LOG" 2>&1 &
	DK_PID=$!
	i=0
	while [ ! -S "$DK_SOCK" ] && dk_alive && [ $i -lt 300 ]; do
		i=$((i + 1)); sleep 0.05
	done
	if dk_alive; then
		dk_dock "$CAM"
		# the release is in the docking; a last ledger commit may follow
		sleep 0.3
	fi
	killed=0
	if dk_alive; then
		kill -KILL "$DK_PID" 2>/dev/null
		killed=1
	fi
	{ wait "$DK_PID"; } 2>/dev/null
	rc=$?
	DK_PID=
	cut=0
	grep -q '^CUT done' "$T/pc.log" 2>/dev/null && cut=1
	[ $cut = 1 ] || [ $killed = 1 ] || { echo "# dockd exited $rc without a cut"; return 1; }
	return 0
}

# Every recording gone from the camera has a good copy in the target.
GONE=" " # checked after leaving the camera
lost=0
check_gone() {
	on_cam=" $("$CAMSIM" list --dir "$DK/cams/$CAM" | awk '{print $1}' | tr '\n' ' ')"
	for r in $ALL; do
		case "$on_cam" in *" $r "*) continue ;; esac
		case "$GONE" in *" $r "*) continue ;; esac
		GONE="$GONE$r "
		if ! dk_same_store "$CAM" "$r"; then
			echo "# LOST: $r left the camera without a good copy in the target ($1)"
			lost=$((lost + 1))
		fi
	done
}

# dockd normally, dockings until the camera holds nothing.
drain() {
	dk_start || return 1
	for k in 1 2 3 4; do
		"$CAMSIM" list --dir "$DK/cams/$CAM" | grep -q '^R' || break
		dk_dock "$CAM"
	done
	dk_stop || return 1
	! "$CAMSIM" list --dir "$DK/cams/$CAM" | grep -q '^R'
}

ledger_ok() { dk_verify && dk_ledger_rules storage; }

# ---- calibration: one round, no cut, the operation count ------------------
add_rec || not_ok "calibration recording"
run_cut 0
total=$(grep -cE '^[0-9]+ ' "$T/pc.log")
echo "# one round: $total write-like operations on the dock's files"
check "calibration round: dockd ran under the library and released" \
	sh -c "[ $total -gt 50 ] && ! '$CAMSIM' list --dir '$DK/cams/$CAM' | grep -q '^R'"
grep -E '^[0-9]+ ' "$T/pc.log" | awk '{print $2}' | sort | uniq -c | sed 's/^/#   /'
# The points are spread over five phases, in turn, by the files an
# operation touches (POWERCUT_MATCH: only those count towards the cut):
# part (the new recording's partial file: its writes and sync points, the
# durable progress recorded after them; twice as often as the others),
# ingest (all partial files, the data keys and their directory), vault
# (the link into the vault and its directory), upload (the file:// target:
# copy, link, directory, checkpoints) and the ledger (SQLite's WAL and
# database: every event and state change, release included). Within a
# phase, a random one of the operations the calibration round did there.
PH_part="$DK_VAULT/.partial/$CAM/R1.part"
PH_ingest="$DK_VAULT/.partial/"
PH_vault="$DK_VAULT/$DK_AGENCY/"
PH_upload="$DK_STORE/"
PH_ledger="$DK/state/"
for ph in part ingest vault upload ledger; do
	eval "pre=\$PH_$ph"
	eval "n_$ph=$(grep -cE "^[0-9]+ [a-z_]+ $pre" "$T/pc.log")"
	eval "echo \"#   phase $ph: \$n_$ph operations\""
done
pick_point() { # POINT: sets ph, at (the phase, an operation number in it)
	ph=$(echo part vault part ingest upload ledger | cut -d' ' -f$(($1 % 6 + 1)))
	eval "n=\$n_$ph"
	# the first 90 %: the counts vary a little from round to round
	n=$((n - n / 10)); [ "$n" -gt 0 ] || n=1
	at=$(awk -v s="$SEED" -v p="$1" -v n="$n" 'BEGIN { srand(s % 1000003 * 1009 + p); print int(rand() * n) + 1 }')
}

# ---- the points ------------------------------------------------------------
# Each point is one dockd run under the library: it recovers from the
# previous cut (the library changes nothing before its own cut point) and
# docks the camera with a new recording. A run that ends before its cut
# point is killed with SIGKILL (nothing rolled back: what kill -9 leaves).
# Every VERIFY_EVERY points, and at the end, a plain run (no library)
# empties the camera and the ledger is checked.
cuts=0 nocut=0 drains_failed=0 resume_lost=0 ledger_bad=0 runs_failed=0 p=0
while [ $p -lt "$POINTS" ]; do
	p=$((p + 1))
	add_rec || { not_ok "point $p: add a recording"; break; }
	pick_point "$p"
	logmark=$(($(wc -l <"$DK_LOG") + 1))
	PH_part="$DK_VAULT/.partial/$CAM/R$n_rec.part" # this point's recording
	eval "run_cut \"\$at\" \"\$PH_$ph\"" || runs_failed=$((runs_failed + 1))
	if [ $cut = 1 ]; then
		cuts=$((cuts + 1))
		what=$(grep '^CUT [0-9]' "$T/pc.log" | cut -d' ' -f3- | sed "s|$DK/||")
	else
		nocut=$((nocut + 1))
		what="(no cut: the run ended first; kill -9)"
	fi
	check_gone "point $p, at $at: $what"
	if [ $((p % VERIFY_EVERY)) = 0 ] || [ $p = "$POINTS" ]; then
		if ! drain; then
			drains_failed=$((drains_failed + 1))
			echo "# point $p: a plain run did not empty the camera"
			tail -n 5 "$DK_LOG" | sed 's/^/#   /'
		fi
		check_gone "point $p after a plain run"
		if ! ledger_ok; then
			ledger_bad=$((ledger_bad + 1))
			echo "# point $p: ledger check failed:"
			tail -n 5 "$DK/verify.out" | sed 's/^/#   /'
		fi
	fi
	# every restart mid-pull logs 'cannot resume' (no data key after a
	# restart); this is dockd's own check that the partial file still
	# holds the recorded durable chunks (ingest_open.c part_lost)
	if tail -n +"$logmark" "$DK_LOG" | grep -q 'recorded durable progress missing'; then
		resume_lost=$((resume_lost + 1))
		echo "# point $p (after the cut before it): recorded durable progress was not on the disk:"
		tail -n +"$logmark" "$DK_LOG" | grep 'recorded durable progress missing' | sed 's/^/#   /'
	fi
	echo "# point $p ($ph $at/$n): $what"
done
echo "# $cuts cuts, $nocut rounds ended before their cut point"
check "$POINTS points: the power was cut in most of them" test $cuts -ge $((POINTS * 2 / 3))
check "no recording ever left the camera without a good stored copy" test $lost = 0
check "every plain run after cuts emptied the camera" test $drains_failed = 0
check "dockd never died without a cut" test $runs_failed = 0
check "no recorded durable progress was ever missing after a cut" test $resume_lost = 0
check "custody verify clean and release rule held at every check" test $ledger_bad = 0

released_once() {
	bad=0
	for r in $ALL; do
		[ "$(dk_state "$CAM/$r")" = released ] || { echo "# $r: $(dk_state "$CAM/$r")"; bad=1; }
		dk_same_store "$CAM" "$r" || { echo "# $r: stored copy differs"; bad=1; }
		dk_same "$CAM" "$r" || { echo "# $r: vault copy differs"; bad=1; }
	done
	return $bad
}
check "every recording released, vault and target copies byte-identical" released_once
check "ledger: one row per recording" \
	test "$(dk_sql 'SELECT count(*) FROM dock_recordings')" = "$n_rec"
check "custody verify is clean at the end" dk_verify
tail -1 "$DK/verify.out" | sed 's/^/# /'
done_testing
