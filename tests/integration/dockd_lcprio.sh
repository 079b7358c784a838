#!/bin/sh
# Lifecycle jobs yield to ingest (issue 12, "retention and fixity jobs keep
# ingest >= 0.9 of its rate"; docs/retention.md "Lifecycle jobs yield to
# ingest"). Speed is for `make bench` (tests/bench/lifecycle.sh); this
# test checks the rule itself, from the ledger's order of events (seq)
# and dockd's log, with cameras slowed by camsim --slow so that a docking
# spans several of the jobs' cycles:
#   A. a fixity audit running back to back pauses while a camera is
#      pulled: no fixity_checked falls between the camera's first
#      ingest_started and its last stored_local; the audit resumes after.
#   B. a keep-window purge (keep = 0d, every 1 s) of the camera's own
#      copies, verified in storage during the pull, waits until the pull
#      ends, then purges them.
#   C. with the vault under low_free, the purge does NOT wait: verified
#      copies are purged (why low_space) while the camera is still pulled.
#   D. with max_pause_s = 1, an audit started during a long pull still
#      completes while the pull goes on (at busy_bytes_per_s).
#   E. a vault copy purged while an audit runs is skipped, not reported
#      missing and "repaired" back (fails on the code before).
# A and B fail on the code before the rule (the jobs ran during pulls);
# they use the default max_pause_s and purge_max_defer_s (3600 s), so they
# also run, and fail, on that code.
# Runtime: ~50 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
DK_RELEASE_WAIT=30
DK_LOG_LEVEL=info
A_ING=4; A_STORED=8; A_PURGED=13; A_VERIFIED=11; A_FIX=28

# seq of the first ingest_started / last stored_local of camera $1
first_ing() { dk_sql "SELECT min(seq) FROM events WHERE action=$A_ING AND evidence_id LIKE '$1/%'"; }
last_stored() { dk_sql "SELECT max(seq) FROM events WHERE action=$A_STORED AND evidence_id LIKE '$1/%'"; }
# events of ACTION with seq strictly inside camera $2's pull [first ingest_started, last stored_local]
during() { # ACTION SERIAL [extra SQL condition]
	dk_sql "SELECT count(*) FROM events WHERE action=$1 AND seq > $(first_ing "$2")
		AND seq < $(last_stored "$2") ${3:-}"
}
count() { dk_sql "SELECT count(*) FROM events WHERE action=$1 ${2:-}"; }
wait_true() { # SECONDS CMD...: bounded poll
	wt_n=$(($1 * 10)); shift
	until "$@"; do
		wt_n=$((wt_n - 1))
		[ $wt_n -gt 0 ] || return 1
		sleep 0.1
	done
}
ge() { [ "$(eval "$1")" -ge "$2" ] 2>/dev/null; }
conf() { # FIXITY-LINES VAULT-LINES: rewrite the configuration
	dk_conf_write
	printf '\n[fixity]\n%b\n[vault]\n%b\n' "$1" "$2" >>"$DK_CONF"
}
stored_all() { [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE serial='$1' AND state
	IN ('stored_local','storage_verified','released')")" = "$2" ]; }
show_log() { tail -30 "$DK_LOG" | sed 's/^/#   /'; }

check "setup" dk_init "$T/d" storage
conf 'interval_s = 0' 'keep = indefinite'
check "setup: camera BASE, 3 recordings" dk_camera BASE 3 1048576
check "dockd starts" dk_start
check "BASE docks" dk_dock BASE
check "... all 3 released" dk_wait_count released 3 60
dk_stop

# ---- A: fixity pauses during a pull ------------------------------------------
conf 'interval_s = 1\nitems_per_run = 100\nbytes_per_s = 1048576' \
	'keep = indefinite'
check "A: setup: camera ING, 4 recordings" dk_camera ING 4 1048576
check "A: dockd starts (audits back to back at 1 MiB/s)" dk_start
check "A: an audit is under way before the docking" wait_true 30 ge "count $A_FIX" 1
check "A: ING docks (camsim --slow 1 MiB/s)" dk_dock ING --slow 1048576
check "A: ING's 4 recordings stored" stored_all ING 4
check "A: no fixity_checked between ING's first ingest_started and last stored_local" \
	test "$(during $A_FIX ING)" = 0 || show_log
check "A: the audit resumes after the pull" \
	wait_true 30 ge "count $A_FIX 'AND seq > $(last_stored ING)'" 1
check "A: dockd logged the pause" grep -q "fixity: paused: a camera is being ingested" "$DK_LOG"
check "A: ... and the resumption" grep -q "fixity: resumed" "$DK_LOG"
dk_stop

# ---- B: keep-window purge waits for the pull ---------------------------------
conf 'interval_s = 0' 'keep = 0d\npurge_interval_s = 1'
check "B: setup: camera KW, 4 recordings" dk_camera KW 4 524288
check "B: dockd starts" dk_start
check "B: the start-up pass purges the verified copies" wait_true 30 ge "count $A_PURGED" 7
check "B: KW docks (camsim --slow 256 KiB/s)" dk_dock KW --slow 262144
check "B: KW's copies were verified in storage during its pull (work to defer)" \
	test "$(during $A_VERIFIED KW "AND evidence_id LIKE 'KW/%'")" -ge 1
check "B: no local_purged between KW's first ingest_started and last stored_local" \
	test "$(during $A_PURGED KW)" = 0 || show_log
check "B: after the pull, all 4 KW copies purged" \
	wait_true 30 ge "count $A_PURGED \"AND evidence_id LIKE 'KW/%'\"" 4
check "B: dockd logged the deferral" grep -q "purge: keep-window pass deferred" "$DK_LOG"
dk_stop

# ---- C: under low_free the purge does not wait -------------------------------
# low_free = high_free = 1 TiB: the vault is always "short", every verified
# copy is purged oldest first (why low_space); pulling itself only stops
# at min_free_mb (0 here).
conf 'interval_s = 0' \
	'keep = indefinite\nlow_free = 1048576\nhigh_free = 1048576'
check "C: setup: camera LW, 4 recordings" dk_camera LW 4 524288
defer0=$(grep -c "keep-window pass deferred" "$DK_LOG")
check "C: dockd starts" dk_start
check "C: LW docks (camsim --slow 256 KiB/s)" dk_dock LW --slow 262144
check "C: LW copies purged for low space while LW was still pulled" \
	test "$(during $A_PURGED LW "AND evidence_id LIKE 'LW/%'
		AND json_extract(details, '$.why') = 'low_space'")" -ge 1 || show_log
check "C: no deferral logged" test "$(grep -c "keep-window pass deferred" "$DK_LOG")" = "$defer0"
dk_stop

# ---- D: an audit completes under continuous ingest ----------------------------
conf 'interval_s = 1\nitems_per_run = 3\nmax_pause_s = 1\nbusy_bytes_per_s = 1048576' \
	'keep = indefinite'
check "D: setup: camera CL, 6 recordings" dk_camera CL 6 524288
runs0=$(grep -c "fixity: audit of" "$DK_LOG")
check "D: dockd starts" dk_start
dk_dock_bg CL --slow 131072
check "D: CL is being pulled" wait_true 30 ge "count $A_ING \"AND evidence_id LIKE 'CL/%'\"" 1
ing0=$(first_ing CL)
check "D: a whole audit run (3 items) ends after CL's pull began" \
	wait_true 40 ge "dk_sql \"SELECT count(*) FROM events WHERE action=$A_FIX AND seq > $ing0\"" 3
check "D: ... while CL is still being pulled" \
	test "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE serial='CL'
		AND state IN ('listed','pulling')")" -ge 1
check "D: the run logged its end" wait_true 10 ge "grep -c 'fixity: audit of' '$DK_LOG'" $((runs0 + 1))
check "D: it waited max_pause_s, then went on" grep -q "(max_pause_s) for ingest in this run" "$DK_LOG"
kill "$DK_CAM_PID" 2>/dev/null; wait "$DK_CAM_PID" 2>/dev/null
dk_stop
check "custody verify passes" dk_verify

# ---- E: a copy purged during an audit is not "damaged" -----------------------
# Once the jobs resume together after a pull, an audit may reach a vault
# copy the purge removed after the audit chose its items. The purge
# records local_purged first: the audit must see that, not report the copy
# missing (a false alert and a "repair" that would put the purged file back).
unset DK_VAULT	# dk_init keeps a vault set before: this dock gets its own
check "E: setup (a new dock)" dk_init "$T/e" storage
conf 'interval_s = 0' 'keep = indefinite'
check "E: setup: camera PR, 3 recordings" dk_camera PR 3 524288
check "E: dockd starts" dk_start
check "E: PR docks" dk_dock PR
check "E: ... all 3 released" dk_wait_count released 3 60
dk_stop
"$DOCKD" --config "$DK_CONF" fixity --items 3 --bytes-per-s 262144 >"$DK/fix.out" 2>&1 &
fix=$!
check "E: the audit has begun (first copy checked)" wait_true 30 ge "count $A_FIX" 1
conf 'interval_s = 0' 'keep = 0d\npurge_interval_s = 1'
check "E: dockd starts with keep = 0d" dk_start
check "E: it purges the 3 vault copies during the audit" wait_true 30 ge "count $A_PURGED" 3
wait $fix
check "E: the audit ends with exit 0" test $? = 0 || cat "$DK/fix.out"
check "E: no fixity_checked failed" test "$(count $A_FIX 'AND outcome != 1')" = 0
check "E: nothing \"repaired\"" test "$(count 29)" = 0
no_vault_files() { test -z "$(find "$DK_VAULT/$DK_AGENCY/PR" -name '*.bcde')"; }
# (the purge unlinks just after its event: poll)
check "E: no vault file left or brought back" wait_true 10 no_vault_files
dk_stop
done_testing
