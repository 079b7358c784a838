#!/bin/sh
# Search as clerks think (issue 12): by when a recording was MADE (the
# manifest's start/end, not when the dock first saw it), in the clerk's
# time zone - also through the query service, whose own zone must not
# matter; status validated (released finds released items, bogus is an
# error); legal hold; due for destruction; refused cameras; every time in
# one form with its offset (--utc: Z), --json RFC 3339.
# Each check below failed on main 492890f. Runtime: ~3 s. Root for the
# service part (the query service maps the caller's uid to a user).
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
mktmp
C="$BIN/custody"
DB="$T/custody.db"
SOCK="$T/q.sock"
CONF="$T/dock.conf"
cat >"$CONF" <<EOF
[ledger]
path = $DB
agency_id = pd-a

[query]
socket = $SOCK
socket_mode = 0666
client_timeout_ms = 2000
EOF
LA=America/Los_Angeles
c() { "$C" --config "$CONF" "$@" 2>"$T/err"; }
ids() { python3 -c 'import json,sys; print(" ".join(i["evidence_id"] for i in json.load(sys.stdin)["items"]))'; }
app() { # ID ACTION [--details J] ...
	id=$1; a=$2; shift 2
	c append --agency pd-a --action "$a" --actor-kind dock --actor-id dock-1 \
		--evidence "$id" "$@" >/dev/null || echo "append $id $a failed: $(cat "$T/err")" >&2
}
epoch() { date -u -d "$1" +%s; }
# A recording: docked now (2026...), recorded at START (UTC) for 10 min.
rec() { # ID OFFICER CAMERA START
	s=$(epoch "$4"); e=$((s + 600))
	app "$1" docked --details "{\"officer\":\"$2\",\"camera\":\"$3\"}"
	app "$1" ingest_started --details "{\"officer\":\"$2\",\"camera\":\"$3\",\"start\":$s,\"end\":$e,\"size\":10,\"sha256\":\"00\",\"category\":\"patrol\",\"attempt\":1,\"resume_chunk\":0}"
	app "$1" ingested --details "{\"size\":10,\"sha256\":\"aa\"}"
	app "$1" stored_local --details '{"path":"/v/x"}'
}

c init >/dev/null
# EV-1: ofc-1, May 1 10:00 PDT (17:00Z), stored, uploaded, verified, released
rec EV-1 ofc-1 CAM-1 "2024-05-01 17:00:00"
app EV-1 storage_verified --details '{"location":"file:///s/x"}'
app EV-1 camera_released --details '{"confirmed":"test"}'
# EV-2: ofc-1, May 1 23:30 PDT = May 2 06:30Z (May 1 for a Los Angeles clerk)
rec EV-2 ofc-1 CAM-1 "2024-05-02 06:30:00"
# EV-3: ofc-2, under legal hold, case with a comma, retention in 2030
rec EV-3 ofc-2 CAM-2 "2024-05-01 19:00:00"
app EV-3 hold_set --reason "litigation" --case "24-1,A"
app EV-3 retention_set --details '{"until":"2030-01-01T00:00:00.000000000Z"}'
# EV-4: ofc-1, April 30, retention passed: due for destruction
rec EV-4 ofc-1 CAM-1 "2024-04-30 12:00:00"
app EV-4 retention_set --details '{"until":"2020-01-01T00:00:00.000000000Z"}'
# EV-5: retention passed but held: not due
rec EV-5 ofc-3 CAM-3 "2024-04-01 12:00:00"
app EV-5 retention_set --details '{"until":"2020-01-01"}'
app EV-5 hold_set --reason "appeal"
# a refused camera (no evidence item)
c append --agency pd-a --action device_rejected --actor-kind dock --actor-id dock-1 \
	--outcome denied --reason "unknown serial" \
	--details '{"serial":"CAM-9","pubkey":"00","reason":"unknown serial"}' >/dev/null
check "setup: five items" test "$(sqlite3 "$DB" 'SELECT count(*) FROM evidence')" = 5

# --- recording time, in the clerk's zone ---------------------------------
got=$(TZ=$LA c search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 --json | ids)
check "officer X's recordings on May 1 (Los Angeles clerk): EV-1 EV-2 [$got]" test "$got" = "EV-1 EV-2"
got=$(TZ=UTC c search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 --json | ids)
check "the same day for a UTC clerk: EV-1 only [$got]" test "$got" = "EV-1"
got=$(TZ=$LA c search --from 2024-05-01T09:00-07:00 --to 2024-05-01T11:00-07:00 --json | ids)
check "explicit offset: 09:00-11:00 -07:00 finds EV-1 [$got]" test "$got" = "EV-1"
got=$(TZ=$LA c search --docked-from 2025-01-01 --json | ids)
check "--docked-from: when the dock first saw them (all docked now) [$got]" test "$got" = "EV-5 EV-4 EV-1 EV-3 EV-2"
TZ=$LA c search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 --json >"$T/s.json"
check "--json: recording_start/end RFC 3339 UTC from the manifest" python3 -c '
import json, sys
i = json.load(open(sys.argv[1]))["items"][0]
assert i["recording_start"] == "2024-05-01T17:00:00.000000000Z", i
assert i["recording_end"] == "2024-05-01T17:10:00.000000000Z", i
assert i["released"] is True' "$T/s.json"

# --- status --------------------------------------------------------------
got=$(c search --status released --json | ids)
check "--status released finds the released item [$got]" test "$got" = "EV-1"
got=$(c search --status stored --json | ids)
check "--status stored: the others [$got]" test "$got" = "EV-5 EV-4 EV-3 EV-2"
check_fails "--status bogus is an error" c search --status bogus
check "... naming the real statuses" grep -q "not a status; use one of: docked.*released" "$T/err"

# --- hold, due, case, refused --------------------------------------------
got=$(c search --hold yes --json | ids)
check "--hold yes [$got]" test "$got" = "EV-5 EV-3"
got=$(c search --hold no --json | ids)
check "--hold no [$got]" test "$got" = "EV-4 EV-1 EV-2"
got=$(c search --due --json | ids)
check "--due: retention passed and not held [$got]" test "$got" = "EV-4"
got=$(c search --case "24-1,A" --json | ids)
check "--case with a comma [$got]" test "$got" = "EV-3"
c search --refused --camera CAM-9 >"$T/ref.txt"
check "--refused --camera finds the refused camera (docs/operations.md §7)" \
	grep -q "device_rejected.*denied.*unknown serial" "$T/ref.txt"
check "... counted" grep -q "^1 refusal$" "$T/ref.txt"
check_fails "--refused with an item filter is an error" c search --refused --officer ofc-1

# --- times shown ---------------------------------------------------------
TZ=$LA c --read-only search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 >"$T/s.txt"
check "search table: RECORDED in local time with offset" \
	grep -Eq '^EV-1 +2024-05-01 10:00:00 -0700 +verified, released ' "$T/s.txt"
TZ=$LA c --read-only history EV-3 >"$T/h.txt"
check "history: every event time as 'YYYY-MM-DD HH:MM:SS -0800' (no zone name)" sh -c "
	sed -n '/^SEQ/,\$p' '$T/h.txt' | tail -n +2 | awk '{print \$2, \$3, \$4}' >'$T/times'
	test -s '$T/times' && ! grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}\$' '$T/times'"
check "history: retention in the same form, not UTC with nanoseconds" \
	grep -q "retention until 2029-12-31 16:00:00 -0800" "$T/h.txt"
TZ=$LA c --read-only history --utc EV-3 >"$T/hu.txt"
check "history --utc: Z" grep -q "retention until 2030-01-01 00:00:00 Z" "$T/hu.txt"
TZ=$LA c --read-only --utc search --status released >"$T/su.txt"
check "custody --utc search: RECORDED in UTC" grep -Eq '^EV-1 +2024-05-01 17:00:00 Z ' "$T/su.txt"

# --- through the query service, whose zone is not the clerk's -------------
if [ "$(id -u)" = 0 ]; then
	c user add root --role clerk --agency pd-a >/dev/null
	TZ=Asia/Tokyo "$C" --config "$CONF" serve 2>"$T/serve.log" &
	SERVE_PID=$!
	i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	r() { "$C" --config "$CONF" remote --socket "$SOCK" "$@" 2>"$T/err"; }
	got=$(TZ=$LA r --json search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 --reason t | ids)
	check "service (Tokyo) + clerk (Los Angeles): May 1 is the clerk's May 1 [$got]" \
		test "$got" = "EV-1 EV-2"
	got=$(TZ=$LA r --json search --status released --reason t | ids)
	check "service: --status released [$got]" test "$got" = "EV-1"
	check_fails "service: --status bogus is an error" r search --status bogus --reason t
	check "... naming the real statuses" grep -q "is not one of: docked" "$T/err"
	got=$(TZ=$LA r --json search --due --reason t | ids)
	check "service: --due [$got]" test "$got" = "EV-4"
	got=$(r --json search --refused --camera CAM-9 --reason t | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
	check "service: --refused [$got]" test "$got" = 1
	TZ=$LA r search --officer ofc-1 --from 2024-05-01 --to 2024-05-01 --reason t >"$T/rs.txt"
	check "service: times printed in the clerk's zone" \
		grep -Eq '^EV-2 +2024-05-01 23:30:00 -0700 ' "$T/rs.txt"
	kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null
else
	skip "query service checks" "needs root (uid-mapped users)"
fi
done_testing
