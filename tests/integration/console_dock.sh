#!/bin/sh
# The console's "dock now" page and the auditors' alerts and witness pages
# (docs/console.md) against a real dockd (which embeds the query service),
# a camsim camera docked over the camera socket and pulled slowly, one real
# witness (`custody witness`) and one that is down. In a real headless
# Chromium: the clerk's dock page shows the camera and its progress moves
# through server-sent events (the page's one same-origin script); an
# auditor sees the alerts (the clerk's refused tries among them) and each
# witness's state; a clerk gets nothing from the auditors' pages and a
# clerk of another agency nothing from the dock page, all recorded. With
# curl: the CSP of each new page, the event stream's content type, and a
# forged "view" refused and recorded. Screenshots in
# $BUILD/console-browser/1*.png. Runtime ~50 s (the camera pull is ~37 s).
. "${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
PAMW=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
PY=/usr/bin/python3
for f in /usr/bin/chromium /usr/bin/chromedriver "$PAMW" "$MATRIX" "$BIN/custody-console"; do
	if [ ! -e "$f" ]; then
		skip "dock page in Chromium" "$f is missing (packaging/install-deps.sh)"
		done_testing
	fi
done
mktmp
CONSOLE_PID= W1_PID= CAM_PID=
trap 'kill $CONSOLE_PID $CAM_PID $W1_PID $DK_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT INT TERM
C="$BIN/custody"
ME=$(id -un)
OUT="$TOP/$BUILD/console-browser"
mkdir -p "$OUT"
rm -f "$OUT"/1[0-9]-*.png
check "dock, agency and checkpoint keys" dk_init "$T/dk"

# witnesses: w1 runs and cosigns; w2 is configured but nobody listens
ORIGIN=dock.test/$DK_AGENCY
for n in 1 2; do
	"$C" witness keygen --key "$T/w$n.key" --vkey "$T/w$n.vkey" --name "w$n.test/witness" >/dev/null
done
"$C" witness --listen 127.0.0.1:0 --state "$T/w1" --key "$T/w1.key" --name w1.test/witness \
	--log "$ORIGIN $(cat "$DK/state/ckpt.vkey")" >"$T/w1.out" 2>"$T/w1.err" &
W1_PID=$!
i=0; until grep -q '^vkey ' "$T/w1.out" 2>/dev/null || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.05; done
W1_PORT=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$T/w1.out")
freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DEAD_PORT=$(freeport)
PORT=$(freeport)
check "witness w1 listening" test -n "$W1_PORT"
# the console account is this user; later keys of [query] are added in place
sed -i "s|^socket = $DK/query.sock\$|socket = $DK/query.sock\nconsole_account = $ME|" "$DK_CONF"
cat >>"$DK_CONF" <<EOC

[witness]
witness = http://127.0.0.1:$W1_PORT $(cat "$T/w1.vkey")
witness = http://127.0.0.1:$DEAD_PORT $(cat "$T/w2.vkey")
timeout_s = 2
retry_s = 1
EOC

c() { "$C" --config "$DK_CONF" "$@" 2>"$T/err"; }
for u in clerk1:clerk:$DK_AGENCY clerk2:clerk:$DK_AGENCY aud1:auditor:$DK_AGENCY \
	 outsider:clerk:pd-other; do
	n=${u%%:*}; r=${u#*:}; a=${r#*:}; r=${r%%:*}
	c user add "$n" --role "$r" --agency "$a" --reason setup >/dev/null ||
		echo "# user add $u: $(cat "$T/err")" >&2
done

# console: its own config (the service is dockd's), TLS, PAM, TOTP
cat >"$T/console.conf" <<EOC
[query]
socket = $DK/query.sock

[console]
listen = 127.0.0.1:$PORT
cert = $T/console.crt
key = $T/console.key
totp_file = $T/totp
pam_service = evidence-console
EOC
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/console.key" -out "$T/console.crt" 2>/dev/null
mkdir -p "$T/pam"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	"$MATRIX" "$T/passdb" "$MATRIX" "$T/passdb" >"$T/pam/evidence-console"
: >"$T/passdb"; : >"$T/totp"; chmod 0600 "$T/totp"
for u in clerk1 clerk2 aud1 outsider; do
	echo "$u:pw-$u-$$:evidence-console" >>"$T/passdb"
	echo "$u $($PY -c 'import base64,os; print(base64.b32encode(os.urandom(20)).decode())')" >>"$T/totp"
done

# the camera: 4 recordings of ~3 MB sent in 16 KiB frames, 50 ms apart
# (~9 s each): slow enough to watch, bounded
check "camera CAM-1 enrolled" dk_camera CAM-1 4 3000000 ofc-7
check "dockd starts" dk_start
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
LD_PRELOAD=$PAMW PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam" \
	"$BIN/custody-console" --config "$T/console.conf" 2>"$T/console.log" &
CONSOLE_PID=$!
i=0; while ! grep -q ready "$T/console.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "console ready" grep -q "ready on https port $PORT" "$T/console.log" || cat "$T/console.log" >&2
BASE="https://127.0.0.1:$PORT"
"$CAMSIM" serve --dir "$DK/cams/CAM-1" --connect "$DK_SOCK" --chunk 16384 --trickle 50 \
	>"$T/cam.log" 2>&1 &
CAM_PID=$!
i=0; until grep -q 'camera CAM-1 (officer' "$DK_LOG" || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
check "CAM-1 docked" grep -q 'camera CAM-1 (officer' "$DK_LOG"

A_DENIED=22; A_READ=42; A_PAGE=66
n() { sqlite3 "$DK_DB" "SELECT count(*) FROM events WHERE $1"; }

# a tick names the view event it belongs to: another one is refused
check "a forged view (seq 1: not a /dock/events view) is refused" sh -c \
	"echo '{\"op\":\"status\",\"view\":\"1\",\"on_behalf\":\"clerk2\"}' | '$C' remote --socket '$DK/query.sock' --raw | grep -q '\"error\":\"denied\"'"
check "... and recorded as deny-view" [ "$(n "action=$A_DENIED AND actor_id='clerk2' AND details LIKE '%deny-view%'")" = 1 ]

# the service's replies themselves (the console asks for aud1)
raw() { echo "$1" | "$C" remote --socket "$DK/query.sock" --raw; }
raw '{"op":"status","on_behalf":"aud1"}' >"$T/st.json"
check "status (for aud1): CAM-1 with recordings done/total, queue bytes, free space" sh -c \
	"grep -q '\"ok\":true' '$T/st.json' && grep -q '\"serial\":\"CAM-1\"' '$T/st.json' &&
	 grep -q '\"recordings_total\":4' '$T/st.json' && grep -q '\"storage_bytes\":[0-9]' '$T/st.json' &&
	 grep -q '\"state\":{\"free\":[0-9]' '$T/st.json'"
i=0; until raw '{"op":"witness-status","on_behalf":"aud1"}' | grep -q '"name":"w2.test/witness"' ||
	[ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
raw '{"op":"witness-status","on_behalf":"aud1"}' >"$T/ws.json"
check "witness-status (for aud1): both witnesses, w2 failing" sh -c \
	"grep -q '\"name\":\"w1.test/witness\"' '$T/ws.json' &&
	 grep -q '\"last_error\":\"no answer' '$T/ws.json' && ! grep -q '\"cameras\"' '$T/ws.json'"

# pam_wrapper dlopens libpam with RTLD_DEEPBIND, which the sanitizer
# runtime refuses (google/sanitizers#611): no login under ASan
if ldd "$BIN/custody-console" | grep -q libasan; then
	skip "dock page with curl and in Chromium" "pam_wrapper (RTLD_DEEPBIND) cannot load PAM under ASan"
	kill "$CONSOLE_PID"; wait "$CONSOLE_PID"; st=$?; CONSOLE_PID=
	check "console stops cleanly" [ $st = 0 ]
	check "no sanitizer report" sh -c "! grep -q Sanitizer '$T/console.log'"
	done_testing
fi

# --- curl: headers, the event stream, the refusals -----------------------------
# login COOKIEJAR USER: a session through the login form (PAM + TOTP)
totp() { $PY -c 'import base64,hmac,hashlib,struct,sys,time
k=base64.b32decode(sys.argv[1]); m=hmac.new(k,struct.pack(">Q",int(time.time()//30)),hashlib.sha1).digest()
o=m[-1]&15; print("%06d"%((struct.unpack(">I",m[o:o+4])[0]&0x7FFFFFFF)%1000000))' "$(sed -n "s/^$1 //p" "$T/totp")"; }
login() {
	curl -sk -m 10 -c "$1" -b "$1" -o "$T/login.html" "$BASE/login"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html" | head -1)
	curl -sk -m 10 -c "$1" -b "$1" -o /dev/null -w '%{http_code}' \
		--data-urlencode "csrf=$csrf" --data-urlencode "user=$2" \
		--data-urlencode "password=pw-$2-$$" --data-urlencode "otp=$(totp "$2")" "$BASE/login"
}
check "clerk2 logs in with curl" [ "$(login "$T/jar" clerk2)" = 303 ]
curl -sk -m 10 -b "$T/jar" -D "$T/h" -o "$T/dock.html" "$BASE/dock"
check "/dock: 200" grep -q '^HTTP/[0-9.]* 200' "$T/h"
check "/dock: the CSP allows only same-origin script and connections, nothing inline" \
	grep -qi "^content-security-policy: default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src 'self'; connect-src 'self'" "$T/h"
check_fails "/dock: no inline script in the page" grep -q '<script>' "$T/dock.html"
check "/dock: the queue in recordings and bytes" grep -Eq "id=\"queue-storage\">[0-9]+ recordings, <span id=\"queue-bytes\">[0-9.]+ [KMG]?i?B<" "$T/dock.html"
check "/dock: the camera, server-rendered (works without JavaScript)" \
	grep -q '<tr data-serial="CAM-1"><td>CAM-1</td><td>ofc-7</td>' "$T/dock.html"
curl -sk -m 10 -b "$T/jar" -D "$T/h" -o "$T/dock.js" "$BASE/static/dock.js"
check "/static/dock.js: JavaScript, same origin" grep -qi '^content-type: text/javascript' "$T/h"
check_fails "... and it uses no eval, no innerHTML" grep -Eq 'eval|innerHTML|Function\(' "$T/dock.js"
curl -sk -m 6 -b "$T/jar" -D "$T/h" -o "$T/events" "$BASE/dock/events"
check "/dock/events: text/event-stream" grep -qi '^content-type: text/event-stream' "$T/h"
check "/dock/events: status events with the camera (several in 6 s)" \
	[ "$(grep -c '^event: status' "$T/events")" -ge 2 -a "$(grep -c '"serial":"CAM-1"' "$T/events")" -ge 2 ]
check "... carrying the dock's status (queue bytes, space, witnesses, done/total)" sh -c \
	"grep '^data: ' '$T/events' | tail -1 >'$T/last' && grep -q '\"storage_bytes\":[0-9]' '$T/last' &&
	 grep -q '\"recordings_total\":4' '$T/last' && grep -q '\"space\":{\"vault\":{\"free\":[0-9]' '$T/last' &&
	 grep -q '\"witnesses\":\[' '$T/last'"
check "... one stream is one recorded view" \
	[ "$(n "action=$A_PAGE AND actor_id='clerk2' AND details LIKE '%\"path\":\"/dock/events\"%'")" = 1 ]
check "... and its ticks add no reads (1 status read: the /dock page's)" \
	[ "$(n "action=$A_READ AND actor_id='clerk2' AND details LIKE '%\"op\":\"status\"%'")" = 1 ]
for p in alerts witness; do
	curl -sk -m 10 -b "$T/jar" -D "$T/h" -o "$T/$p.html" "$BASE/$p"
	check "/$p for a clerk: 403, refused" grep -q '^HTTP/[0-9.]* 403' "$T/h"
	check "/$p: the default CSP (no script)" \
		grep -qi "^content-security-policy: default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'.$" "$T/h"
done
check "the clerk's tries are access_denied events (deny-role)" \
	[ "$(n "action=$A_DENIED AND actor_id='clerk2' AND details LIKE '%deny-role%' AND (details LIKE '%\"op\":\"alerts\"%' OR details LIKE '%\"op\":\"witness-status\"%')")" = 2 ]
# --- the browser ---------------------------------------------------------------
$PY "$TOP/tests/integration/console_dock.py" "$BASE" "$OUT" "$T/totp" "$T/passdb" \
	>"$T/browser.out" 2>"$T/browser.err"
if grep -q '^SKIP' "$T/browser.out"; then
	skip "dock page in Chromium" "$(sed -n 's/^SKIP //p' "$T/browser.out" | head -1)"
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
check "screenshots saved" test -s "$OUT/10-dock-live.png" -a -s "$OUT/12-alerts.png" -a -s "$OUT/13-witness.png"
check "the other agency's clerk: access_denied (deny-agency) on status" \
	[ "$(n "action=$A_DENIED AND actor_id='outsider' AND details LIKE '%deny-agency%' AND details LIKE '%\"op\":\"status\"%'")" -ge 1 ]
check "the auditor's alerts and witness reads are ledger_read events" \
	[ "$(n "action=$A_READ AND actor_id='aud1' AND details LIKE '%\"op\":\"alerts\"%'")" -ge 1 -a \
	  "$(n "action=$A_READ AND actor_id='aud1' AND details LIKE '%\"op\":\"witness-status\"%'")" -ge 1 ]
kill "$CONSOLE_PID"; wait "$CONSOLE_PID"; st=$?; CONSOLE_PID=
check "console stops cleanly with a live view open or not" [ $st = 0 ]
done_testing
