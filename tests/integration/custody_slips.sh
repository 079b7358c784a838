#!/bin/sh
# Clerks' slips are usage errors, not denials (issue 15: "the operations.md
# example `custody remote search ... --from 2024-05-01` fails ('a reason is
# required') and each slip lands in the auditors' denial list").
# A missing --reason, an unknown option, a bad date or status is told by
# `custody remote` before anything is sent (no event at all); a request
# that reaches the service without its reason is recorded as an unusable
# request (logon, outcome error), answered bad-request, and is not an
# access_denied event; a real policy refusal still is one. The operations.md
# section 8 search runs as written. Root: the service maps the caller's uid.
# On main 8e4b733 checks 3, 4, 6, 9, 11-15, 19 and 22 failed.
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
	skip "clerks' slips" "needs root (the service maps uid 0 to a user)"
	done_testing
fi
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
socket_mode = 0600
client_timeout_ms = 2000
EOF
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
q() { sqlite3 "$DB" "$1" 2>/dev/null; }
A_DENIED=22; A_LOGON=40; A_READ=42
ERROR=4
events() { q "SELECT count(*) FROM events"; }
denials() { q "SELECT count(*) FROM events WHERE action=$A_DENIED"; }
r() { "$C" --config "$CONF" remote --socket "$SOCK" "$@" >"$T/out" 2>"$T/err"; }

"$C" --config "$CONF" init >/dev/null 2>&1
"$C" --config "$CONF" append --agency pd-a --action docked --actor-kind dock \
	--actor-id dock-1 --evidence EV-1 --details '{"officer":"ofc-1234","camera":"CAM-1"}' >/dev/null 2>&1
"$C" --config "$CONF" user add root --role clerk --agency pd-a >/dev/null 2>&1
"$C" --config "$CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "service listening" test -S "$SOCK" || cat "$T/serve.log"

# --- told by the client, nothing sent --------------------------------------
n0=$(events)
check_fails "the issue's slip (no --reason) fails" \
	r search --officer ofc-1234 --from 2024-05-01
check "... saying a reason is required and how" \
	grep -q "a reason is required: add --reason" "$T/err"
check "... nothing was sent: no event [$(events) vs $n0]" test "$(events)" = "$n0"
check_fails "an unknown option (--frm) fails" r search --frm 2024-05-01 --reason "case 24-118"
check "... named, nothing sent" sh -c "grep -q \"unknown option '--frm'\" '$T/err' && test \"\$(sqlite3 '$DB' 'SELECT count(*) FROM events')\" = $n0"
check_fails "a bad date fails" r search --from 2024-13-45 --reason "case 24-118"
check_fails "an invalid status fails" r search --status bogus --reason "case 24-118"
check "... with the list of statuses, nothing sent" sh -c "grep -q 'is not one of: docked' '$T/err' && test \"\$(sqlite3 '$DB' 'SELECT count(*) FROM events')\" = $n0"
check_fails "history without a reason fails" r history EV-1
check "no slip above is an event" test "$(events)" = "$n0"

# --- the service: a request without its reason is malformed, not denied ----
printf '{"op":"search","officer":"ofc-1234"}' | "$C" --config "$CONF" remote --socket "$SOCK" --raw >"$T/raw" 2>&1
check "service: no reason -> bad-request [$(cat "$T/raw")]" grep -q '"error": *"bad-request"' "$T/raw"
check "... recorded as an unusable request (logon, error)" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_LOGON AND outcome=$ERROR AND details LIKE '%a reason is required%'")" = 1
check "... not in the auditors' denial list" test "$(denials)" = 0
printf '{"op":"search","status":"bogus","reason":"r"}' | "$C" --config "$CONF" remote --socket "$SOCK" --raw >"$T/raw" 2>&1
check "service: bad status -> bad-request, not a denial" sh -c "grep -q bad-request '$T/raw' && test \"\$(sqlite3 '$DB' 'SELECT count(*) FROM events WHERE action=$A_DENIED')\" = 0"

# --- a real policy refusal is still a denial (deny by default) -------------
check_fails "a clerk listing access events is refused" r access-events --reason "curious"
check "... as an access_denied event (deny-role)" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND details LIKE '%deny-role%'")" = 1
check_fails "... even without a reason (refused, denial recorded)" \
	sh -c "printf '{\"op\":\"access-events\"}' | '$C' --config '$CONF' remote --socket '$SOCK' --raw | grep -q '\"ok\": *true'"
check "... that one is a denial too" test "$(denials)" = 2

# --- operations.md section 8, as written -----------------------------------
line=$(grep -m1 '^    custody remote search ' "$TOP/docs/operations.md" | sed 's/^    custody //')
check "operations.md has the clerk's search example" test -n "$line"
eval "set -- $line"
check "the example runs as written [$line]" sh -c '"$0" "$@" >/dev/null' "$C" --config "$CONF" "$@" || cat "$T/err"
check "... a ledger_read with its reason" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND reason='case 24-118'")" = 1
done_testing
