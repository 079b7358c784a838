#!/bin/sh
# The web console (docs/console.md) in a real headless Chromium: a clerk
# logs in (PAM through pam_wrapper + TOTP), finds an officer's recordings
# of one day and prints the chain-of-custody report (PDF and screenshots
# in $BUILD/console-browser/); a supervisor approves a destruction another
# requested and cannot approve their own; an auditor sees the denials in
# the access log and cannot search evidence; an unknown user, a wrong second
# factor, a forged CSRF token and another agency's item get nothing, and
# every one of them is in the ledger. Also: HTTPS only (plain HTTP and
# TLS 1.1 refused). Skips only when Chromium, chromedriver, selenium or
# pam_wrapper are missing or Chromium cannot start. Runtime ~20 s.
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
PAMW=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
PY=/usr/bin/python3
for f in /usr/bin/chromium /usr/bin/chromedriver "$PAMW" "$MATRIX" "$BIN/custody-console"; do
	if [ ! -e "$f" ]; then
		skip "console in Chromium" "$f is missing (packaging/install-deps.sh)"
		done_testing
	fi
done
mktmp
chmod 0755 "$T"   # "nobody" connects to the socket in the last check
SERVE_PID=""; CONSOLE_PID=""
cleanup() {
	for p in $CONSOLE_PID $SERVE_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
C="$BIN/custody"
DB="$T/custody.db"
SOCK="$T/q.sock"
CONF="$T/dock.conf"
OUT="$TOP/$BUILD/console-browser"
rm -rf "$OUT"
mkdir -p "$OUT"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ME=$(id -un)
# the dock's checkpoint key: the item's proof is against its checkpoints
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-a >/dev/null
cat >"$CONF" <<EOC
[ledger]
path = $DB
agency_id = pd-a
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-a

[query]
socket = $SOCK
socket_mode = 0666
client_timeout_ms = 5000
console_account = $ME

[retention]
patrol = 90d

[console]
listen = 127.0.0.1:$PORT
cert = $T/console.crt
key = $T/console.key
totp_file = $T/totp
pam_service = evidence-console
lockout_failures = 3
EOC
c() { "$C" --config "$CONF" "$@" 2>"$T/err"; }
app() { # ID ACTION [args]
	id=$1; a=$2; shift 2
	c append --action "$a" --actor-kind dock --actor-id dock-1 \
		--evidence "$id" "$@" >/dev/null || echo "append $id $a failed: $(cat "$T/err")" >&2
}
epoch() { date -u -d "$1" +%s; }
rec() { # ID OFFICER CAMERA START [AGENCY]
	s=$(epoch "$4"); e=$((s + 600)); ag=${5:-pd-a}
	app "$1" docked --agency "$ag" --details "{\"officer\":\"$2\",\"camera\":\"$3\"}"
	app "$1" ingest_started --agency "$ag" --details "{\"officer\":\"$2\",\"camera\":\"$3\",\"start\":$s,\"end\":$e,\"size\":10,\"sha256\":\"00\",\"category\":\"patrol\",\"attempt\":1,\"resume_chunk\":0}"
	app "$1" ingested --agency "$ag" --details '{"size":10,"sha256":"aa"}'
	app "$1" stored_local --agency "$ag" --details '{"path":"/v/x"}'
}
c init >/dev/null
rec EV-1 ofc-1 CAM-1 "2024-05-01 17:00:00"
app EV-1 storage_verified --agency pd-a --details '{"location":"file:///s/x"}'
rec EV-X ofc-1 '<script>alert(1)</script>' "2024-05-01 19:00:00"
rec EV-2 ofc-1 CAM-1 "2024-05-02 06:30:00"
rec EV-4 ofc-2 CAM-2 "2024-04-30 12:00:00"
app EV-4 retention_set --agency pd-a --details '{"until":"2020-01-01T00:00:00.000000000Z"}'
rec EV-B1 ofc-9 CAM-9 "2024-05-01 18:00:00" pd-b
for u in clerk1:clerk sup1:supervisor sup2:supervisor victim:clerk aud1:auditor gone1:clerk; do
	c user add "${u%%:*}" --role "${u#*:}" --agency pd-a --reason setup >/dev/null ||
		echo "user add $u: $(cat "$T/err")" >&2
done
check "setup: five items, five users" test "$(sqlite3 "$DB" 'SELECT count(*) FROM evidence')" = 5

# TLS certificate (the test's own), PAM accounts (pam_matrix), TOTP secrets
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/console.key" -out "$T/console.crt" 2>/dev/null
mkdir -p "$T/pam"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	"$MATRIX" "$T/passdb" "$MATRIX" "$T/passdb" >"$T/pam/evidence-console"
: >"$T/passdb"; : >"$T/totp"
chmod 0600 "$T/totp"
for u in clerk1 sup1 sup2 victim aud1 nomap gone1; do
	echo "$u:pw-$u-$$:evidence-console" >>"$T/passdb"
	echo "$u $($PY -c 'import base64,os; print(base64.b32encode(os.urandom(20)).decode())')" >>"$T/totp"
done
# clerk1's second factor is (re-)enrolled the documented way: the console
# must accept what `custody console-totp` writes (console_totp.sh)
check "clerk1 enrolled with custody console-totp" \
	quiet c console-totp clerk1 --file "$T/totp" --reason "enrolment" ||
	cat "$T/err" >&2
# gone1's second factor is revoked the documented way; the browser tries
# the secret gone1 had (kept in totp.before), which must no longer work
cp "$T/totp" "$T/totp.before"
check "gone1's second factor revoked with custody console-totp --revoke" \
	quiet c console-totp gone1 --revoke --file "$T/totp" --reason "phone lost" ||
	cat "$T/err" >&2

"$C" --config "$CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "query service listening" test -S "$SOCK"
# pam_wrapper is preloaded; under ASan (build/asan) the sanitizer runtime
# then is not first in the link order (harmless here).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
LD_PRELOAD=$PAMW PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam" \
	"$BIN/custody-console" --config "$CONF" 2>"$T/console.log" &
CONSOLE_PID=$!
i=0; while ! grep -q ready "$T/console.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "console ready" grep -q "ready on https port $PORT" "$T/console.log" || cat "$T/console.log" >&2
BASE="https://127.0.0.1:$PORT"

# --- HTTPS only ------------------------------------------------------------
check_fails "plain HTTP gets no page" curl -sf -m 5 -o /dev/null "http://127.0.0.1:$PORT/login"
check_fails "TLS 1.1 is refused" curl -sk -m 5 -o /dev/null --tlsv1.1 --tls-max 1.1 "$BASE/login"
check "TLS 1.2 works" curl -skf -m 5 -o /dev/null --tlsv1.2 --tls-max 1.2 "$BASE/login"
check "TLS 1.3 works" curl -skf -m 5 -o /dev/null --tlsv1.3 "$BASE/login"
check_fails "a POST without a session is refused" curl -skf -m 5 -o /dev/null -d "csrf=x" "$BASE/item"

# Action numbers are part of the ledger format (custody/event.h).
A_DENIED=22; A_APPR=31; A_REQ=30; A_READ=42
A_LOGIN=63; A_PAGE=66; A_DOWNLOAD=67; A_REFUSED=68; A_LOCKOUT=69
q() { sqlite3 "$DB" "$1"; }
n() { q "SELECT count(*) FROM events WHERE $1"; }
# someone other than the console account cannot act on behalf of a user
if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "on_behalf from another account" "needs root and runuser"
else
check_fails "on_behalf from another account is denied" sh -c \
	"echo '{\"op\":\"search\",\"reason\":\"x\",\"on_behalf\":\"sup1\"}' | runuser -u nobody -- '$C' remote --socket '$SOCK' --raw | grep -q '\"ok\":true'"
check "... and recorded as deny-delegation" [ "$(n "action=$A_DENIED AND details LIKE '%deny-delegation%'")" = 1 ]
fi
# the console stops cleanly on SIGTERM, with no sanitizer report (build/asan)
console_stops() {
	kill "$CONSOLE_PID" && wait "$CONSOLE_PID"
	st=$?; CONSOLE_PID=""
	[ $st = 0 ] && ! grep -q "Sanitizer" "$T/console.log"
}

# --- the browser -----------------------------------------------------------
# pam_wrapper dlopens libpam with RTLD_DEEPBIND, which the sanitizer
# runtime refuses (google/sanitizers#611): no PAM login under ASan.
if ldd "$BIN/custody-console" | grep -q libasan; then
	skip "console in Chromium" "pam_wrapper (RTLD_DEEPBIND) cannot load PAM under ASan"
	check "console stops cleanly" console_stops || cat "$T/console.log" >&2
	done_testing
fi
$PY "$TOP/tests/integration/console_browser.py" "$BASE" "$OUT" "$T/totp.before" "$T/passdb" \
	>"$T/browser.out" 2>"$T/browser.err"
if grep -q '^SKIP' "$T/browser.out"; then
	skip "console in Chromium" "$(sed -n 's/^SKIP //p' "$T/browser.out" | head -1)"
	done_testing
fi
while IFS= read -r line; do
	case $line in
	PASS*) ok "browser: ${line#PASS }" ;;
	FAIL*) not_ok "browser: ${line#FAIL }" ;;
	esac
done <"$T/browser.out"
check "browser script finished" test -s "$T/browser.out" -a ! -s "$T/browser.err" ||
	{ cat "$T/browser.err" >&2; tail -20 "$T/console.log" >&2; }
check "screenshots and the PDF saved under $BUILD/console-browser" \
	test -s "$OUT/04-report.png" -a -s "$OUT/custody-report-EV-1.pdf"
# the proof the clerk downloaded checks with the dock's public key alone
"$C" check-proof "$OUT/proof-EV-1.json" --vkey "$T/ck.vkey" >"$T/cp.out" 2>&1
check "the downloaded proof verifies: custody check-proof [$(grep -o 'OK: [0-9]* of [0-9]* event(s)' "$T/cp.out")]" \
	grep -q "OK: [1-9][0-9]* of [0-9]* event(s) of EV-1 proven" "$T/cp.out" || sed 's/^/# /' "$T/cp.out"

# --- the ledger ------------------------------------------------------------
check "clerk1's login: console_login ok, via console" \
	[ "$(n "action=$A_LOGIN AND outcome=1 AND actor_id='clerk1' AND details LIKE '%\"via\":\"console\"%'")" -ge 1 ]
check "the unknown user's login: console_login failed, name kept" \
	[ "$(n "action=$A_LOGIN AND outcome=2 AND details LIKE '%\"claimed\":\"mallory\"%'")" = 1 ]
check "the wrong second factor: console_login failed at second-factor" \
	[ "$(n "action=$A_LOGIN AND outcome=2 AND details LIKE '%\"claimed\":\"clerk1\"%' AND details LIKE '%second-factor%'")" = 1 ]
check "a PAM account unknown to the ledger: console_login denied" \
	[ "$(n "action=$A_LOGIN AND outcome=3 AND actor_id='nomap'")" = 1 ]
check "the lockout is an event" [ "$(n "action=$A_LOCKOUT AND details LIKE '%\"claimed\":\"victim\"%'")" = 1 ]
check "... and the refused login after it" \
	[ "$(n "action=$A_LOGIN AND outcome=3 AND details LIKE '%\"claimed\":\"victim\"%' AND details LIKE '%locked%'")" = 1 ]
check "the forged CSRF token: console_refused, as clerk1" \
	[ "$(n "action=$A_REFUSED AND actor_id='clerk1' AND details LIKE '%bad CSRF token%'")" = 1 ]
check "... and no case FORGED was assigned" [ "$(n "case_no='FORGED' OR details LIKE '%FORGED\"%' AND action<>$A_REFUSED")" = 0 ]
check "the cross-agency item: access_denied in pd-b, via console" \
	[ "$(n "action=$A_DENIED AND evidence_id='EV-B1' AND agency_id='pd-b' AND actor_id='clerk1' AND details LIKE '%\"via\":\"console\"%'")" = 1 ]
check "the search is a ledger_read with its reason and parameters" \
	[ "$(n "action=$A_READ AND actor_id='clerk1' AND reason='case 2024-118 review' AND details LIKE '%\"officer\":\"ofc-1\"%'")" = 1 ]
check "page views are events" [ "$(n "action=$A_PAGE AND actor_id='clerk1'")" -ge 3 ]
check "the auditor's reading of the access log is itself a ledger_read" \
	[ "$(n "action=$A_READ AND actor_id='aud1' AND reason='monthly audit' AND details LIKE '%access-events%'")" = 1 ]
check "the printed report is a download of EV-1" \
	[ "$(n "action=$A_DOWNLOAD AND actor_id='clerk1' AND evidence_id='EV-1' AND details LIKE '%custody-report%'")" = 1 ]
check "the proof download is a download of EV-1 (detail proof)" \
	[ "$(n "action=$A_DOWNLOAD AND actor_id='clerk1' AND evidence_id='EV-1' AND details LIKE '%\"detail\":\"proof\"%'")" = 1 ]
check "... after the service's ledger_read of the proof, with the reason" \
	[ "$(n "action=$A_READ AND actor_id='clerk1' AND evidence_id='EV-1' AND reason='case 2024-118 review' AND details LIKE '%\"op\":\"proof\"%'")" = 2 ]
check "destruction requested by sup1, approved by sup2" \
	[ "$(n "action=$A_REQ AND actor_id='sup1' AND evidence_id='EV-4'")" = 1 -a \
	  "$(n "action=$A_APPR AND outcome=1 AND actor_id='sup2' AND evidence_id='EV-4'")" = 1 ]
check "sup1's own approval was refused and recorded" \
	[ "$(n "action=$A_APPR AND outcome<>1 AND actor_id='sup1' AND evidence_id='EV-4'")" = 1 ]
check "gone1's revocation is a key_changed event (change revoked)" \
	[ "$(n "action=48 AND reason='phone lost' AND details LIKE '%\"user\":\"gone1\"%' AND details LIKE '%\"change\":\"revoked\"%'")" = 1 ]
check "gone1's login after it: console_login failed at the second factor" \
	[ "$(n "action=$A_LOGIN AND outcome=2 AND details LIKE '%\"claimed\":\"gone1\"%' AND details LIKE '%second-factor%'")" = 1 ]
check "... and gone1 never logged in" [ "$(n "action=$A_LOGIN AND outcome=1 AND actor_id='gone1'")" = 0 ]
check "console stops cleanly" console_stops || tail -20 "$T/console.log" >&2
done_testing
