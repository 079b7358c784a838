#!/bin/sh
# The custody query service runs as a process of its own (docs/
# architecture.md, "The query-service process"): clerks' request bytes are
# parsed outside the process that holds the dock key, the checkpoint key
# and the ledger writer. Checks: a separate pid; no key file open or
# mapped, the dock key's bytes nowhere in its memory (and, as the control
# that makes this check able to fail, present in dockd's); no_new_privs;
# the ledger open read-only; queries answered and their events recorded
# through dockd; killed, it is recorded (log, alert, link_worker_killed
# with process query-service) and restarted while
# cameras keep docking; a forged append of an action the query service
# never writes (dockd_attack, QUERY_ATTACK=forge) is refused and alerted.
# The console's court package (op export-package) through dockd's query
# process: asked by the console account (nobody, which cannot read the
# ledger or the vault), built by the service, received as a descriptor.
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
# the console's account: nobody (export-package below); the agency's
# custody certificate and a witness, as in console_export.sh
CS="$TBIN/tools/cosign"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$DK/keys/agency-sign.key" --agency-id "$DK_AGENCY" --version 1 \
	--quorum 1 --witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
"$CUSTODY" agency-sign custody-cert --key "$DK/keys/agency-sign.key" --agency-id "$DK_AGENCY" \
	--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" \
	--dock-pub "$dk_pub" --days 365 --out "$DK/keys/custody.cert" >/dev/null
sed -i "/^checkpoint_interval_s/a custody_cert = $DK/keys/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
sed -i "/^socket = /a socket_mode = 0666\nconsole_account = nobody\ncustody = $CUSTODY" "$DK_CONF"
chmod 0711 "$T" "$DK"; chmod 0644 "$DK_CONF"; chmod 0700 "$DK_VAULT"
check "clerk1 mapped" "$CUSTODY" --config "$DK_CONF" user add clerk1 --role clerk \
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
no_seed() { has_seed "$1"; [ $? = 1 ]; }
if [ -n "${SANITIZED:-}" ]; then
	# ASan reserves terabytes of shadow and allocator memory: reading it
	# through /proc/PID/mem faults it in until the OOM killer stops dockd.
	skip "control: the custodian's memory holds the dock key's seed" "ASan's reserved memory cannot be scanned"
	skip "... the query process's memory does not" "ASan's reserved memory cannot be scanned"
else
	# the key lives in the custodian process (docs/architecture.md), not dockd
	CU=$(pgrep -P "$DK_PID" -f -- --custodian | head -1)
	check "control: the custodian's memory holds the dock key's seed" has_seed "${CU:-0}"
	check "... the query process's memory does not" no_seed "$QP"
fi
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
check "... recorded: link_worker_killed, process query-service, signal 9" [ "$(dk_sql "SELECT \
count(*) FROM events WHERE action = 57 AND json_extract(details,'\$.process') = 'query-service' \
AND json_extract(details,'\$.signal') = 9")" = 1 ]
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

# --- the console's court package through dockd's query process -------------
# the last checkpoint (covering REC-1) cosigned by the witness
N=$(dk_sql "SELECT max(size) FROM checkpoints")
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
check "dockd starts again" dk_start
check "... with its query process" wait_qpid
# export-package as the console (nobody): the reply line and the package's
# descriptor (SCM_RIGHTS); the package bytes to stdout, the reply to stderr
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 - "$DK/query.sock" >"$T/pkg.tar" 2>"$T/pkg.reply" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"op": "export-package", "on_behalf": "clerk1",
                      "item": "CAM-1/REC-1", "reason": "dockd test"}).encode() + b"\n")
s.shutdown(socket.SHUT_WR)
data, fds = b"", []
while True:
    m, f, _, _ = socket.recv_fds(s, 65536, 4)
    fds += f
    if not m:
        break
    data += m
sys.stderr.write(data.decode())
for fd in fds:
    with os.fdopen(fd, "rb") as p:
        sys.stdout.buffer.write(p.read())
PY
check "export-package through dockd's query process: ok, a descriptor with the package" \
	sh -c "grep -q '\"ok\":true' '$T/pkg.reply' && [ -s '$T/pkg.tar' ] &&
	       [ \$(stat -c %s '$T/pkg.tar') = \$(sed 's/.*\"size\":\\([0-9]*\\).*/\\1/' '$T/pkg.reply') ]" ||
	sed 's/^/# /' "$T/pkg.reply"
check "... holding the vault file" sh -c \
	"tar -xOf '$T/pkg.tar' court-CAM-1_REC-1/data/items/CAM-1/REC-1/evidence.bcde | cmp -s - '$(dk_vault_file CAM-1 REC-1)'"
check "... custody verify-package accepts it" "$CUSTODY" verify-package "$T/pkg.tar" \
	--agency "$DK/keys/agency.vkey"
check "... no package directory left in /tmp" \
	sh -c "! find /tmp -name 'custody-package.*' -newer '$DK_CONF' 2>/dev/null | grep -q ."
check "... the exported event by clerk1, via console, built by the service" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=20 AND outcome=1 AND actor_id='clerk1' AND details LIKE '%\"via\":\"console\"%' AND details LIKE '%\"built_by\":\"query-service\"%'")" = 1 ]
check "dockd stops" dk_stop

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
