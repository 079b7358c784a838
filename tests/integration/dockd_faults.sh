#!/bin/sh
# Every camsim fault against the real dockd: each produces its ledger event,
# dockd never crashes, a bad recording is never released, and a later clean
# docking recovers what can be recovered. Unplug mid-recording
# (--disconnect-after) resumes at the next docking from the saved offset,
# not from zero. One fresh camera per fault, so states do not mix.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
SIZE=${FAULT_SIZE:-400000}
WAIT=60
DK_RELEASE_WAIT=5

alive() { dk_alive; }
kept() { dk_cam_has "${1%%/*}" "${1#*/}" && [ "$(dk_count_action "$1" camera_released)" = 0 ]; }
has() { [ "$(dk_count_action "$1" "$2")" -gt 0 ]; }
# A session event (no evidence id) of SERIAL: ACTION [KEY VALUE-REGEX]
session_event() {
	dk_py '
import re
sys.exit(0 if any(a == args[1] and d.get("serial") == args[0] and
	(len(args) < 4 or re.search(args[3], str(d.get(args[2], ""))))
	for _, a, e, d in events()) else 1)' "$@"
}
stored_ok() { # EVID: eventually storage_verified/released and byte-identical
	case "$(dk_state "$1")" in released|storage_verified) ;; *)
		dk_wait_state "$1" storage_verified "$WAIT" || return 1 ;;
	esac
	dk_same "${1%%/*}" "${1#*/}"
}
fault_cam() { dk_camera "$1" 1 "$SIZE"; }
no_session_event() { ! session_event "$@"; }
any_session_event() { # ACTION KEY VALUE-REGEX, any serial
	dk_py '
import re
sys.exit(0 if any(a == args[0] and re.search(args[2], str(d.get(args[1], "")))
	for _, a, e, d in events()) else 1)' "$@"
}
any_event() { # EVID ACTION...
	e=$1; shift
	for a in "$@"; do has "$e" "$a" && return 0; done
	return 1
}
stored_is_good() { [ ! -f "$(dk_vault_file "$1" "$2")" ] || dk_same "$1" "$2"; }
kept_or_verified() {
	kept "$1" || case "$(dk_state "$1")" in storage_verified|released) true ;; *) false ;; esac
}

check "setup" dk_init "$T/f" storage
check "dockd starts" dk_start

# ---- unplug mid-recording: resume from the saved offset -----------------------
fault_cam F-DISC
dk_dock F-DISC --disconnect-after 250000
# camsim has gone, but dockd may still be taking in what its camera-link
# worker read before the cut: wait (bounded) for the pull to be recorded
i=0; until [ "$(dk_sql "SELECT count(*) FROM events WHERE evidence_id='F-DISC/REC-1'
	AND action = 24")" -gt 0 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
check "disconnect-after: ingest_interrupted with a non-zero offset" \
	dk_py 'sys.exit(0 if any(a == "ingest_interrupted" and int(d.get("offset", 0)) > 0
		for _, a, _, d in events(args[0])) else 1)' F-DISC/REC-1
check "disconnect-after: still pulling, camera keeps it" kept F-DISC/REC-1
check "disconnect-after: dockd alive" alive
check "disconnect-after: saved progress is non-zero" \
	test "$(dk_sql "SELECT durable_chunks FROM dock_recordings WHERE evidence_id='F-DISC/REC-1'")" -gt 0
dk_dock F-DISC
check "disconnect-after: next docking resumed (resume_chunk > 0), not from zero" \
	dk_py 'st = [d for _, a, _, d in events(args[0]) if a == "ingest_started"]
sys.exit(0 if len(st) == 2 and int(st[1].get("resume_chunk", 0)) > 0 else 1)' F-DISC/REC-1
check "disconnect-after: resumed copy is byte-identical" stored_ok F-DISC/REC-1

# ---- corrupted bytes: quarantine, never released, pulled again ----------------
fault_cam F-CORR
dk_dock F-CORR --corrupt-at 123456
check "corrupt-at: integrity_failed" has F-CORR/REC-1 integrity_failed
check "corrupt-at: quarantined" has F-CORR/REC-1 quarantined
check "corrupt-at: not released, camera keeps it" kept F-CORR/REC-1
check "corrupt-at: no ingested event for the bad bytes" test "$(dk_count_action F-CORR/REC-1 ingested)" = 0
check "corrupt-at: the quarantined copy is kept for review" \
	sh -c "find '$DK_VAULT/.quarantine' -type f | grep -q F-CORR"
dk_dock F-CORR
check "corrupt-at: a clean docking pulls it again and stores it byte-identical" stored_ok F-CORR/REC-1

# ---- manifest faults: nothing ingested, nothing released ----------------------
for f in bad-signature lie-hash "lie-size 1000"; do
	name=F-$(echo "$f" | cut -d' ' -f1 | tr a-z A-Z)
	fault_cam "$name"
	# shellcheck disable=SC2086
	dk_dock "$name" --$f
	check "$f: integrity_failed recorded" has "$name/REC-1" integrity_failed
	check "$f: not released, camera keeps it" kept "$name/REC-1"
	check "$f: nothing stored" sh -c "[ ! -f '$(dk_vault_file "$name" REC-1)' ]"
	check "$f: dockd alive" alive
done
check "manifest faults raised integrity alerts" sh -c "grep -qi integrity '$DK/alerts.log'"

# ---- authentication faults: device_rejected + alert ---------------------------
for f in unenrolled-key wrong-version; do
	name=F-$(echo "$f" | tr a-z A-Z)
	fault_cam "$name"
	a0=$(dk_alerts)
	dk_dock "$name" --$f
	if [ "$f" = wrong-version ]; then # refused before the camera says who it is
		check "$f: device_rejected recorded (reason: version)" \
			any_session_event device_rejected reason 'version'
	else
		check "$f: device_rejected recorded" session_event "$name" device_rejected
	fi
	check "$f: never authenticated" no_session_event "$name" device_authenticated
	check "$f: an alert" test "$(dk_alerts)" -gt "$a0"
	check "$f: nothing ingested" test "$(dk_count_action "$name/REC-1" ingest_started)" = 0
	check "$f: dockd alive" alive
done

# ---- link faults that a dock must ride out -----------------------------------
fault_cam F-OOO
dk_dock F-OOO --out-of-order --chunk 65536 # several DATA frames: the first two swap
check "out-of-order: recorded (integrity_failed or ingest_interrupted)" \
	any_event F-OOO/REC-1 integrity_failed ingest_interrupted
check "out-of-order: whatever was stored is byte-identical (bad bytes never are)" \
	stored_is_good F-OOO REC-1
check "out-of-order: camera keeps it until verified" kept_or_verified F-OOO/REC-1
check "out-of-order: dockd alive" alive
dk_dock F-OOO
check "out-of-order: clean docking stores it byte-identical" stored_ok F-OOO/REC-1

for f in "flood 50" "stall 1500" "slow 2000000"; do
	name=F-$(echo "$f" | cut -d' ' -f1 | tr a-z A-Z)
	fault_cam "$name"
	# shellcheck disable=SC2086
	dk_dock "$name" --$f
	check "$f: dockd alive" alive
	dk_state "$name/REC-1" | grep -q . || dk_dock "$name"
	[ "$(dk_state "$name/REC-1")" = pulling ] && dk_dock "$name"
	check "$f: stored byte-identical" stored_ok "$name/REC-1"
done

# ---- camera clock off by an hour ------------------------------------------------
fault_cam F-CLOCK
a0=$(dk_alerts)
dk_dock F-CLOCK --clock-offset 3600
check "clock-offset: device_authenticated carries the offset" \
	session_event F-CLOCK device_authenticated clock_offset_ns '^3[56][0-9]{11}$'
check "clock-offset: an alert (beyond max_clock_drift_s)" test "$(dk_alerts)" -gt "$a0"
check "clock-offset: the recording is still taken" stored_ok F-CLOCK/REC-1

check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
check "dockd never crashed and stops with 0" dk_stop
check "no sanitizer report in dockd's log" \
	sh -c "! grep -Eq 'AddressSanitizer|runtime error:' '$DK_LOG'"
done_testing
