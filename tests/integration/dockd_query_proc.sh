#!/bin/sh
# The custody query service runs as a process of its own (docs/
# architecture.md, "The query-service process"): clerks' request bytes are
# parsed outside the process that holds the dock key, the checkpoint key
# and the ledger writer. Checks: a separate pid; no key file open or
# mapped, the dock key's bytes nowhere in its memory (and, as the control
# that makes this check able to fail, present in dockd's); no_new_privs;
# the ledger open read-only; queries answered and their events recorded
# through dockd; killed, it is recorded (log + alert) and restarted while
# cameras keep docking; a forged append of an action the query service
# never writes (dockd_attack, QUERY_ATTACK=forge) is refused and alerted.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
check "dock, agency and checkpoint keys" dk_init "$T/dk"

# the dockd child started with --query-service (0: none)
qpid() {
	qp_p=$(pgrep -P "$DK_PID" -f -- "--query-service" | head -1)
	echo "${qp_p:-0}"
}
wait_qpid() { # [NOT_THIS_PID]: wait up to 20 s for a query process
	i=0
	while [ $i -lt 200 ]; do
		QP=$(qpid)
		[ "$QP" != 0 ] && [ "$QP" != "${1:-}" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
status_ok() {
	"$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" --json >"$T/st.json" 2>"$T/st.err" &&
		grep -q "\"dock_id\": *\"$DK_DOCK_ID\"" "$T/st.json"
}
reads() { dk_sql "SELECT count(*) FROM events WHERE action = 42"; }
# the raw Ed25519 seed of the dock key (last 32 bytes of its DER form)
openssl pkey -in "$DK/state/dock.key" -outform DER 2>/dev/null | tail -c 32 >"$T/seed"
has_seed() { # PID: 0 if the seed is in a readable mapping of PID, 1 if not, 2 error
	python3 - "$1" "$T/seed" <<'PY'
import sys
pid, seed = sys.argv[1], open(sys.argv[2], 'rb').read()
assert len(seed) == 32
found = False
try:
    m, mem = open(f"/proc/{pid}/maps"), open(f"/proc/{pid}/mem", 'rb', 0)
except OSError:
    sys.exit(2)
with m, mem:
    for line in m:
        f = line.split()
        if 'r' not in f[1] or (len(f) > 5 and f[5].startswith('[v')):
            continue
        a, b = (int(x, 16) for x in f[0].split('-'))
        try:
            mem.seek(a)
            if seed in mem.read(b - a):
                found = True
                break
        except (OSError, ValueError, OverflowError):
            pass
sys.exit(0 if found else 1)
PY
}

check "the tester is an admin" "$CUSTODY" --config "$DK_CONF" user add "$(id -un)" --role admin \
	--agency "$DK_AGENCY" --reason "dockd test"
check "dockd starts" dk_start
check "the query service is a process of its own" wait_qpid
check "... not dockd itself" [ "$QP" != "$DK_PID" ]
check "custody status is answered through it" status_ok || cat "$T/st.err"
check "... and recorded (ledger_read) through dockd's writer" [ "$(reads)" -ge 1 ]
check "it holds no key file open" sh -c "ls -l /proc/$QP/fd/ >'$T/fds' && ! grep -E 'dock.key|ckpt.key|keys/' '$T/fds'"
check "... none mapped" sh -c "cat /proc/$QP/maps >'$T/maps' && ! grep -E 'dock.key|ckpt.key|keys/' '$T/maps'"
check "... the ledger is open read-only" sh -c \
	"for f in /proc/$QP/fd/*; do [ \"\$(readlink \$f)\" = '$DK_DB' ] || continue; \
	 fl=\$(awk '/^flags:/ {print \$2}' /proc/$QP/fdinfo/\${f##*/}); [ \$((0\$fl & 3)) = 0 ] || exit 1; \
	 n=1; done; [ \"\${n:-0}\" = 1 ]"
check "control: dockd's memory holds the dock key's seed" has_seed "$DK_PID"
no_seed() { has_seed "$1"; [ $? = 1 ]; }
check "... the query process's memory does not" no_seed "$QP"
check "it runs with no_new_privs" grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$QP/status"

# user changes write the users table with their event: not from a read-only
# process. Refused with a clear message, the attempt recorded (outcome error).
"$CUSTODY" --config "$DK_CONF" user --socket "$DK/query.sock" add "qp-user" --role clerk \
	--agency "$DK_AGENCY" --reason "x" >"$T/ua.out" 2>&1
check "user-admin through dockd's socket is refused" [ $? -ne 0 ]
check "... saying to run custody user on the dock" grep -q "read-only" "$T/ua.out"
check "... the attempt recorded (user_added, failed)" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action = 44 AND outcome = 2 AND details LIKE '%read-only%'")" = 1 ]

# --- killed: recorded, restarted; cameras keep docking ------------------------
al0=$(grep -c query-service "$DK/alerts.log" 2>/dev/null || true)
OLD=$QP
[ "$OLD" -gt 1 ] && kill -KILL "$OLD"	# never kill 0 (our process group)
check "killed: dockd starts a new one" wait_qpid "$OLD"
check "... dockd logged it" grep -q "custody query service stopped" "$DK_LOG"
check "... and alerted (query-service)" [ "$(grep -c query-service "$DK/alerts.log")" -gt "${al0:-0}" ]
check "dockd is still running" dk_alive
check "... queries are answered again" status_ok
check "camera CAM-1 with a recording" dk_camera CAM-1 1 30000
check "... docks and is stored" dk_dock CAM-1
check "... REC-1 stored" dk_wait_stored CAM-1/REC-1
check "dockd stops" dk_stop
check "... and the query process is gone with it" [ ! -d "/proc/$QP" ] || \
	! tr '\0' ' ' <"/proc/$QP/cmdline" | grep -q -- --query-service
check "... the socket file removed" [ ! -e "$DK/query.sock" ]
check "custody verify passes" dk_verify || cat "$DK/verify.out"

# --- a forged append of an action the query service never writes ------------
if [ -x "$TBIN/dockd_attack" ]; then
	n0=$(dk_sql "SELECT count(*) FROM events WHERE actor_id = 'attacker'")
	: >"$DK_LOG"
	QUERY_ATTACK=forge QUERY_ATTACK_ARG=destroyed DOCKD=$TBIN/dockd_attack dk_start
	i=0; until grep -q "QUERY_ATTACK forge" "$DK_LOG" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	check "forged 'destroyed' append: the query process was refused" \
		grep -q "QUERY_ATTACK forge destroyed: Operation not permitted" "$DK_LOG"
	check "... dockd logged the refusal" grep -q "asked to append destroyed" "$DK_LOG"
	check "... and alerted" grep -q "query-service.*destroyed" "$DK/alerts.log"
	check "... nothing of it in the ledger" \
		[ "$(dk_sql "SELECT count(*) FROM events WHERE actor_id = 'attacker'")" = "$n0" ]
	check "... the service still answers" status_ok
	check "dockd_attack stops" dk_stop
else
	skip "forged append" "no $TBIN/dockd_attack (make tests)"
fi
done_testing
