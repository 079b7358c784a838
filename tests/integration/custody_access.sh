#!/bin/sh
# Access control of the custody ledger, with real OS users against a real
# `custody serve` (SO_PEERCRED identity): file permissions, agency
# confinement, refusals as events + alerts, auditors' view, role changes,
# hostile requests. Needs root (to create users and switch to them).
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "custody access control" "needs root and runuser"
	done_testing
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/dock-access.XXXXXX")
chmod 0755 "$T"
CREATED=""
SERVE_PID=""
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	for u in $CREATED; do userdel "$u" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# --- accounts: our own test users, or existing system accounts ---------
# (no $(...) subshells here, so CREATED survives for the cleanup)
test_users CLERK_A:dockt-clerk-a:daemon CLERK_B:dockt-clerk-b:bin \
	    AUDITOR:dockt-auditor:sys ADMIN:dockt-admin:games \
	    STRANGER:dockt-stranger:nobody
for u in "$CLERK_A" "$CLERK_B" "$AUDITOR" "$ADMIN" "$STRANGER"; do
	id "$u" >/dev/null 2>&1 || { not_ok "account $u exists"; done_testing; }
done

# --- ledger, config, service ---------------------------------------------
install -m 0755 "$BIN/custody" "$T/custody"
C="$T/custody"
mkdir -m 0755 "$T/srv"
DB="$T/srv/custody.db"
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

[alert]
command = $T/alert.sh
timeout_ms = 5000
EOF
chmod 0644 "$CONF"
cat >"$T/alert.sh" <<EOF
#!/bin/sh
echo "kind=\$CUSTODY_ALERT_KIND user=\$CUSTODY_ALERT_USER detail=\$CUSTODY_ALERT_DETAIL arg=\$1" >>"$T/alerts.log"
EOF
chmod 0755 "$T/alert.sh"

as() { u=$1; shift; runuser -u "$u" -- "$@"; }
quiet() { "$@" >/dev/null; }
# Alert commands run asynchronously (after the reply): wait for their
# effect, bounded (10 s; not reaching it is a failure, not a timing test).
eventually() { n=0; until "$@"; do n=$((n + 1)); [ $n -ge 100 ] && return 1; sleep 0.1; done; }
q() { sqlite3 "$DB" "$1" 2>/dev/null; }
# Action numbers are part of the ledger format (custody/event.h).
A_DENIED=22; A_LOGON=40; A_READ=42; A_ADDED=44; A_PERM=46

"$C" --config "$CONF" init >/dev/null 2>&1
check "ledger created" test -f "$DB"
# one item in pd-a, one in pd-b
for item in pd-a:EV-A1 pd-b:EV-B1; do
	"$C" --config "$CONF" append --agency "${item%%:*}" --action docked \
		--actor-kind dock --actor-id dock-1 --evidence "${item#*:}" \
		>/dev/null 2>&1
done
check "items EV-A1 (pd-a) and EV-B1 (pd-b) present" \
	test "$(q "SELECT agency_id FROM evidence ORDER BY evidence_id" | tr '\n' ' ')" = "pd-a pd-b "

# bootstrap: the service account (root here) makes the first admin locally
check "bootstrap: local user add of the first admin" \
	"$C" --config "$CONF" user add "$ADMIN" --role admin --agency pd-a \
	--reason "initial admin"
check "clerk of pd-b added locally" \
	"$C" --config "$CONF" user add "$CLERK_B" --role clerk --agency pd-b
check "bootstrap recorded as user_added by local:root" \
	test "$(q "SELECT actor_id FROM events WHERE action=$A_ADDED AND details LIKE '%\"$ADMIN\"%'")" = "local:root"

"$C" --config "$CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "service listening" test -S "$SOCK"

# (1) the ledger file is the service account's alone
check "ledger file mode 0600 owned by the service account" \
	test "$(stat -c '%a %U' "$DB")" = "600 root"
check_fails "another OS user cannot read the ledger file (cat)" \
	as "$CLERK_A" cat "$DB"
check_fails "another OS user cannot open the ledger (sqlite3)" \
	as "$CLERK_A" sqlite3 "$DB" "SELECT count(*) FROM events"

# (6) admin changes go through the service and are events; clerks cannot
check "admin adds a supervisor through the service" \
	as "$ADMIN" "$C" --config "$CONF" user add "$CLERK_A" --role supervisor \
	--agency pd-a --reason "new hire"
check "admin demotes them to clerk" \
	as "$ADMIN" "$C" --config "$CONF" user set-role "$CLERK_A" --role clerk
check "admin adds an auditor" \
	as "$ADMIN" "$C" --config "$CONF" user add "$AUDITOR" --role auditor \
	--agency pd-a
check "role change is a permission_changed event by the admin" \
	test "$(q "SELECT actor_id FROM events WHERE action=$A_PERM AND details LIKE '%\"role\":\"clerk\"%'")" = "$ADMIN"
check_fails "a clerk cannot change roles" \
	as "$CLERK_A" "$C" --config "$CONF" user set-role "$CLERK_A" --role admin
check "... the attempt is an access_denied event" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$CLERK_A' AND details LIKE '%deny-role%'")" = 1
check_fails "an admin of pd-a cannot add users to pd-b" \
	as "$ADMIN" "$C" --config "$CONF" user add "$STRANGER" --role admin --agency pd-b
check "the role table still says clerk" \
	test "$(q "SELECT role FROM custody_users WHERE name='$CLERK_A'")" = clerk

# (2) a clerk of pd-a reads the history of a pd-a item; it is an event
out=$(as "$CLERK_A" "$C" --config "$CONF" remote history EV-A1 --reason "case 2024-118" 2>&1)
rc=$?
check "clerk A gets the history of EV-A1" test $rc -eq 0
case "$out" in *EV-A1*) ok "history output names the item" ;;
	*) not_ok "history output names the item: $out" ;; esac
check "the read is a ledger_read event with who and why" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='$CLERK_A' AND evidence_id='EV-A1' AND reason='case 2024-118'")" = 1
check_fails "without a reason: refused" \
	as "$CLERK_A" "$C" --config "$CONF" remote history EV-A1

# (2b) the plain commands: a clerk cannot read the file, so `custody history`
# and `custody search` go through the service (same output formats)
out=$(as "$CLERK_A" "$C" --config "$CONF" history EV-A1 --reason "plain 1" 2>&1)
rc=$?
check "clerk A: plain 'custody history' works via the service" test $rc -eq 0
case "$out" in *EV-A1*) ok "plain history output names the item" ;;
	*) not_ok "plain history output names the item: $out" ;; esac
check "... recorded as the clerk's ledger_read with the reason" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='$CLERK_A' AND evidence_id='EV-A1' AND reason='plain 1'")" = 1
out=$(as "$CLERK_A" "$C" --config "$CONF" history --json EV-A1 --reason "plain 2" 2>&1)
case "$out" in *'"evidence_id": "EV-A1"'*) ok "plain history --json via the service" ;;
	*) not_ok "plain history --json via the service: $out" ;; esac
out=$(as "$CLERK_A" "$C" --config "$CONF" search --json --reason "plain 3" 2>&1)
rc=$?
case "$rc:$out" in 0:*EV-A1*EV-B1*|0:*EV-B1*) not_ok "plain search confined to pd-a: $out" ;;
	0:*EV-A1*) ok "plain search via the service, confined to pd-a" ;;
	*) not_ok "plain search via the service ($rc): $out" ;; esac
check_fails "plain history without a reason: refused" \
	as "$CLERK_A" "$C" --config "$CONF" history EV-A1
check "the service account still reads the file directly" \
	quiet "$C" --config "$CONF" history EV-A1
check "... recorded as a local read (actor root, no service)" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='root' AND details NOT LIKE '%qservice%'")" -ge 1

# (2c) `custody status` against `custody serve` (no dock behind it)
out=$(as "$CLERK_A" "$C" --config "$CONF" status --json 2>&1)
rc=$?
check "status without a dock: exit 2" test $rc -eq 2
case "$out" in *"status unavailable: no dock in this service"*)
	ok "status without a dock: clear error" ;;
	*) not_ok "status without a dock: clear error ($out)" ;; esac
check "... and the status request is recorded" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='$CLERK_A' AND details LIKE '%\"op\":\"status\"%'")" = 1
check_fails "status for an unknown user: refused" \
	as "$STRANGER" "$C" --config "$CONF" status

# (3) a clerk of pd-b asking for a pd-a item: refused, event, alert, log
before=$(cat "$T/alerts.log" 2>/dev/null | wc -l)
out=$(as "$CLERK_B" "$C" --config "$CONF" remote history EV-A1 --reason "curious" 2>&1)
rc=$?
check "clerk B is refused (exit 1)" test $rc -eq 1
case "$out" in *EV-A1\ *|*'"events"'*) not_ok "no history leaked to clerk B" ;;
	*) ok "no history leaked to clerk B" ;; esac
check "the refusal is an access_denied event in pd-a" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$CLERK_B' AND agency_id='pd-a' AND evidence_id='EV-A1'")" = 1
check "the alert command ran for clerk B" \
	eventually grep -q "kind=access-denied user=$CLERK_B detail=deny-agency" "$T/alerts.log"
check "a WARNING line was logged" \
	grep -q "WARNING custody alert: kind=access-denied user=$CLERK_B" "$T/serve.log"
check "clerk B can read their own agency's item" \
	quiet as "$CLERK_B" "$C" --config "$CONF" remote history EV-B1 --reason "case 9"

# (4) an unknown OS user gets nothing
check_fails "unknown user is refused" \
	as "$STRANGER" "$C" --config "$CONF" remote search --reason "looking"
check "... recorded" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_DENIED AND actor_id='$STRANGER' AND details LIKE '%deny-unknown-user%' AND details LIKE '%\"op\":\"search\"%'")" = 1
check "... and alerted" eventually grep -q "kind=unknown-user user=$STRANGER" "$T/alerts.log"

# (5) the auditor sees the access events of their agency
out=$(as "$AUDITOR" "$C" --config "$CONF" remote --json access-events --reason "monthly audit" 2>&1)
check "auditor reads access events" test $? -eq 0
case "$out" in *"$CLERK_B"*access_denied*|*access_denied*"$CLERK_B"*)
	ok "auditor sees clerk B's refused attempt" ;;
	*) not_ok "auditor sees clerk B's refused attempt" ;; esac
case "$out" in *ledger_read*) ok "auditor sees ledger reads" ;;
	*) not_ok "auditor sees ledger reads" ;; esac
check "reading the audit log is itself recorded" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_READ AND actor_id='$AUDITOR' AND details LIKE '%access-events%'")" = 1
check_fails "a clerk may not read access events" \
	as "$CLERK_A" "$C" --config "$CONF" remote access-events --reason "x"
check_fails "an auditor may not read evidence history" \
	as "$AUDITOR" "$C" --config "$CONF" remote history EV-A1 --reason "x"

# (7) hostile requests: clear errors, no crash, service keeps serving
raw() { as "$CLERK_A" "$C" remote --socket "$SOCK" --raw; }
out=$(printf 'not json at all\n' | raw)
case "$out" in *'"error":"bad-request"'*) ok "malformed request: bad-request" ;;
	*) not_ok "malformed request: bad-request ($out)" ;; esac
out=$(head -c 100000 /dev/zero | tr '\0' 'x' | raw)
case "$out" in *'"error":"too-large"'*) ok "oversized request: too-large" ;;
	*) not_ok "oversized request: too-large ($out)" ;; esac
out=$(printf '{"op":"history","item":"EV-A1","reason":"r","x":{"y":[1,2]}}\n' | raw)
case "$out" in *'"error":"bad-request"'*) ok "unknown key: bad-request" ;;
	*) not_ok "unknown key: bad-request ($out)" ;; esac
check "bad requests are recorded (logon, error)" \
	test "$(q "SELECT count(*) FROM events WHERE action=$A_LOGON AND actor_id='$CLERK_A'")" -ge 2
check "service still running" kill -0 "$SERVE_PID"
check "service still answers" \
	quiet as "$CLERK_A" "$C" --config "$CONF" remote history EV-A1 --reason "again"

kill "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
SERVE_PID=""
check "service stops cleanly on SIGTERM" test "$rc" -eq 0
check "socket removed on exit" test ! -e "$SOCK"
done_testing
