#!/bin/sh
# Crash and concurrency tests for the custody ledger (real SQLite, WAL):
#  - readers (history, verify) run while another process appends;
#  - an appender killed with SIGKILL at random moments leaves a ledger
#    that verifies after the dock's startup step (`custody checkpoint`,
#    which publishes a checkpoint the crash left unpublished).
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
mkdir -p "$T/ext"
cat >"$T/c.ini" <<EOC
[ledger]
path = $T/l.db
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $T/ext
EOC
"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
"$C" --config "$T/c.ini" init >/dev/null
"$C" --config "$T/c.ini" demo-fill 2 >/dev/null
id=$(sqlite3 "$T/l.db" "SELECT evidence_id FROM evidence LIMIT 1")
[ -n "${SANITIZED:-}" ] && N=60 || N=300

# concurrent readers
"$C" --config "$T/c.ini" demo-fill $N --per-session 1 >"$T/fill.out" 2>&1 &
pid=$!
rerr=0; reads=0
while kill -0 $pid 2>/dev/null && [ $reads -lt 40 ]; do
	"$C" --config "$T/c.ini" history "$id" >/dev/null 2>>"$T/rerr" || rerr=$((rerr + 1))
	"$C" --config "$T/c.ini" verify >>"$T/vout" 2>>"$T/rerr" || rerr=$((rerr + 1))
	reads=$((reads + 1))
done
wait $pid; frc=$?
check "appender finished while readers ran ($reads rounds)" [ $frc -eq 0 ]
check "no reader error or finding during appends" [ $rerr -eq 0 ]
[ $rerr -eq 0 ] || sed 's/^/# /' "$T/rerr" "$T/vout" | grep -v '^# OK' | head

# kill -9 during appends
for i in 1 2 3 4; do
	"$C" --config "$T/c.ini" demo-fill 2000 --per-session 1 >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (i * 37 + $$) % 7 + 2 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	check "startup checkpoint after kill -9 #$i" sh -c "'$C' --config '$T/c.ini' checkpoint >/dev/null"
	out=$("$C" --config "$T/c.ini" verify 2>&1); rc=$?
	if [ $rc -eq 0 ]; then ok "ledger verifies after kill -9 #$i"
	else not_ok "ledger verifies after kill -9 #$i"; printf '%s\n' "$out" | sed 's/^/# /' | head; fi
done
n=$(sqlite3 "$T/l.db" "SELECT count(*) FROM events")
check "events survived ($n)" [ "$n" -gt 100 ]
done_testing
