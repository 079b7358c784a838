#!/bin/sh
# Web console benchmarks (docs/console.md; figures only, no assertions):
#   console_item_p50/p99            GET /item?id= of random existing items
#   console_search_officer_p50/p99  GET /search by officer (about 1/200 of all
#                                   items match; the first 200 are rendered)
#   console_search_case_p50/p99     GET /search by case number
# over a ledger of ~1M events made by `custody demo-fill` (the realistic
# lifecycle mix, ~85k recordings, 200 officers, 1000 cases), served by a
# real `custody serve` and `custody-console` over HTTPS on loopback, one
# logged-in clerk (PAM through pam_wrapper, TOTP), one keep-alive
# connection. Each figure is the wall time from sending the request to
# the last byte of the page, and includes everything a real page costs:
# the page_view event and (search, item) the service's ledger_read event,
# each a durable ledger append, and the query itself. ROUNDS rounds of N
# requests; per round p50/p90/p99/max are printed as comments, the BENCH
# line is the median over the rounds. Skips (a comment, no BENCH line)
# without pam_wrapper or the console binary.
# Usage: tests/bench/console.sh [BUILD_DIR]  (EVENTS=N, ROUNDS=3, N=300)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-${BUILD:-build}}
C="$top/$B/bin/custody"
CON="$top/$B/bin/custody-console"
PAMW=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
for f in "$CON" "$PAMW" "$MATRIX" /usr/bin/python3; do
	[ -e "$f" ] || { echo "# console bench skipped: $f is missing"; exit 0; }
done
RECS=$(( ${EVENTS:-1000000} * 10 / 117 + 1 ))
ROUNDS=${ROUNDS:-3}
N=${N:-300}
T=$(mktemp -d "${TMPDIR:-/tmp}/console-bench.XXXXXX")
SERVE_PID=""; CONSOLE_PID=""
cleanup() {
	for p in $CONSOLE_PID $SERVE_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ME=$(id -un)
cat >"$T/c.ini" <<EOC
[ledger]
path = $T/l.db
agency_id = pd-bench
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-bench

[query]
socket = $T/q.sock
socket_mode = 0600
console_account = $ME

[console]
listen = 127.0.0.1:$PORT
cert = $T/console.crt
key = $T/console.key
totp_file = $T/totp
pam_service = evidence-console
EOC
now() { date +%s.%N; }
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-bench >/dev/null
"$C" --config "$T/c.ini" init >/dev/null
t0=$(now)
"$C" --config "$T/c.ini" demo-fill $RECS --per-session 1000 >/dev/null 2>"$T/fill.err" ||
	{ cat "$T/fill.err"; exit 1; }
t1=$(now)
"$C" --config "$T/c.ini" user add clerk1 --role clerk --agency pd-bench --reason bench >/dev/null || exit 1
echo "BENCH console_ledger_events $(sqlite3 "$T/l.db" "SELECT count(*) FROM events") events"
echo "# demo-fill took $(echo "scale=1; ($t1 - $t0) / 1" | bc) s"
sqlite3 "$T/l.db" "SELECT evidence_id FROM evidence ORDER BY random() LIMIT 2000" >"$T/ids"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/console.key" -out "$T/console.crt" 2>/dev/null
mkdir -p "$T/pam"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	"$MATRIX" "$T/passdb" "$MATRIX" "$T/passdb" >"$T/pam/evidence-console"
echo "clerk1:pw-bench:evidence-console" >"$T/passdb"
SECRET=$(python3 -c 'import base64,os; print(base64.b32encode(os.urandom(20)).decode())')
echo "clerk1 $SECRET" >"$T/totp"
chmod 0600 "$T/totp"

"$C" --config "$T/c.ini" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$T/q.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T/q.sock" ] || { echo "# query service did not start"; cat "$T/serve.log"; exit 1; }
LD_PRELOAD=$PAMW PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam" \
	"$CON" --config "$T/c.ini" 2>"$T/console.log" &
CONSOLE_PID=$!
i=0; while ! grep -q ready "$T/console.log" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
grep -q ready "$T/console.log" || { echo "# console did not start"; cat "$T/console.log"; exit 1; }

echo "# shared machine: load average before the requests: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
python3 "$top/tests/bench/console_client.py" 127.0.0.1 "$PORT" clerk1 pw-bench "$SECRET" \
	"$ROUNDS" "$N" "$T/ids" 200 || { tail -5 "$T/console.log"; exit 1; }
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
