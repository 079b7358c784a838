#!/bin/sh
# The custodian process (docs/architecture.md, "The custodian"): the dock
# key and the checkpoint key live only in `dockd --custodian`, which signs
# AUTH_DOCK, release receipts and checkpoints for dockd and checks the
# ledger itself before it signs.
#   1. dockd (every thread of the daemon process) never opens a key file,
#      holds no key seed in its memory and no key file descriptor;
#   2. a receipt request sent straight on the channel (tests/tools/custreq,
#      a "compromised dockd") for a recording the ledger does not show
#      stored is refused by the custodian; receipt bytes sent as an
#      AUTH_DOCK request are not signed; a real AUTH_DOCK is;
#   3. a ledger with an event row changed under the custodian: its
#      checkpoint request is refused; dockd records checkpoint_refused
#      (action 70) and raises an alert; nothing is signed over it;
#   4. the custodian killed (and unable to restart: its key moved away):
#      no signature meanwhile (the camera cannot dock, keeps its
#      recordings), an alert; key back: dockd restarts it, the camera docks
#      and is released.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
REQ=$TBIN/tools/custreq
[ -x "$REQ" ] || { echo "1..0 # SKIP no $REQ (make tests)"; exit 0; }
mktmp
DK_IDLE_MS=1500
check "dock, agency and checkpoint keys" dk_init "$T/dk"
alerts_of() { c=$(grep -c "$1" "$DK/alerts.log" 2>/dev/null); echo "${c:-0}"; }
cust_pid() { ps -o pid=,args= --ppid "$1" 2>/dev/null | awk '$3 == "--custodian" {print $1}'; }

# ---- 1. no key in dockd ----------------------------------------------------
check "camera CAM-1 with 2 recordings" dk_camera CAM-1 2 30000
# (LeakSanitizer cannot run under ptrace: off for this run in the ASan build)
DK_WRAP="env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
strace -f -qq -e trace=openat,open,execve -ff -o $T/st" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; DK_PID=
check "CAM-1/REC-1 released through the custodian" [ "$(dk_state CAM-1/REC-1)" = released ]
# each process and thread has its own trace file; the custodian's alone
# execs "--custodian"
: >"$T/openers"
for f in "$T"/st.*; do
	grep -Eq "$DK/state/(dock|ckpt)\.key" "$f" || continue
	if grep -q '"--custodian"' "$f"; then echo custodian; else echo "dockd $f"; fi >>"$T/openers"
done
check "the custodian opened the keys (strace saw it)" grep -q '^custodian$' "$T/openers"
check_fails "no thread of dockd opened a key file" grep -q '^dockd' "$T/openers"
grep '^dockd' "$T/openers" | sed 's/^/#   /'

check "dockd starts" dk_start
CP=$(cust_pid "$DK_PID")
check "a custodian process runs under dockd" [ -n "$CP" ]
check_fails "no key file among dockd's descriptors" sh -c \
	"ls -l /proc/$DK_PID/fd 2>/dev/null | grep -Eq '(dock|ckpt)\.key'"
seed() { openssl pkey -in "$1" -outform DER 2>/dev/null | tail -c 32 | od -An -tx1 | tr -d ' \n'; }
cat >"$T/memscan.py" <<'EOP'
import re, sys
pid, seeds = int(sys.argv[1]), [bytes.fromhex(s) for s in sys.argv[2:]]
found = 0
with open(f"/proc/{pid}/maps") as m, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in m:
        a, perm = line.split()[:2]
        if "r" not in perm:
            continue
        lo, hi = (int(x, 16) for x in a.split("-"))
        if hi - lo > (1 << 30):
            continue  # a sanitizer's shadow reservation, not data
        tail = b""
        while lo < hi:
            n = min(hi - lo, 1 << 24)
            try:
                mem.seek(lo)
                data = tail + mem.read(n)
            except (OSError, ValueError, OverflowError):
                break
            found += sum(data.count(s) for s in seeds)
            tail = data[-31:]
            lo += n
print(found)
EOP
SD=$(seed "$DK/state/dock.key"); SC=$(seed "$DK/state/ckpt.key")
check "the key seeds are read" [ ${#SD} -eq 64 ] && [ ${#SC} -eq 64 ]
if [ "$(id -u)" = 0 ]; then # the custodian is not dumpable: only root reads it
	check "the custodian's memory holds the dock key seed (the scan works)" \
		[ "$(python3 "$T/memscan.py" "$CP" "$SD" 2>/dev/null || echo 0)" -gt 0 ]
else
	skip "the custodian's memory holds the dock key seed" "not root"
fi
check "dockd's memory holds neither key seed" \
	[ "$(python3 "$T/memscan.py" "$DK_PID" "$SD" "$SC")" -eq 0 ]
# SIGHUP after the configuration file was replaced (an editor, sed -i, a
# package upgrade: a new inode the running custodian's landlock rule does
# not name): a new custodian reads it, with the same keys; the old one
# kept its old release policy before ("the running release policy stays")
a0=$(alerts_of custodian)
cp "$DK_CONF" "$T/conf.new" && mv "$T/conf.new" "$DK_CONF"
kill -HUP "$DK_PID"
new_cust() { np=$(cust_pid "$DK_PID"); [ -n "$np" ] && [ "$np" != "$CP" ]; }
until_new() { i=0; until new_cust; do i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1; done; }
check "SIGHUP: a new custodian reads the replaced configuration" until_new
check_fails "... the release policy was read (not kept stale)" \
	grep -q "the running release policy stays" "$DK_LOG"
check "... not alerted as a death" [ "$(alerts_of custodian)" = "$a0" ]
check "... nor recorded as one" [ "$(dk_sql "SELECT count(*) FROM events WHERE action = 57 AND \
json_extract(details,'\$.process') = 'custodian'")" = 0 ]
check "dockd stops" dk_stop

# ---- 2. the custodian checks what it signs ----------------------------------
check "camera CAM-G" dk_camera CAM-G 1 30000
sha=$(sha256sum "$DK/orig/CAM-G/REC-1.bin" | cut -d' ' -f1)
# dockd's own side is bypassed: nothing in the ledger for CAM-G
"$REQ" "$DOCKD" "$DK_CONF" receipt CAM-G REC-1 "$sha" >"$T/req" 2>&1
check "receipt for a recording never stored: refused by the custodian" \
	grep -qx 'rc=-1' "$T/req"
check "its why names the ledger" grep -qx 'why=no such item in the ledger' "$T/req"
sha1=$(sha256sum "$DK/orig/CAM-1/REC-1.bin" | cut -d' ' -f1)
"$REQ" "$DOCKD" "$DK_CONF" receipt CAM-1 REC-1 "$sha1" >"$T/req" 2>&1
check "receipt for a recording the ledger shows verified, its hash: signed" \
	grep -qx 'rc=0' "$T/req"
"$REQ" "$DOCKD" "$DK_CONF" receipt CAM-1 REC-1 "$sha" >"$T/req" 2>&1
check "the same with another hash: refused" \
	grep -qx 'why=sha256 differs from the ingested one' "$T/req"
"$REQ" "$DOCKD" "$DK_CONF" auth-receipt >"$T/req" 2>&1
check "receipt bytes as an AUTH_DOCK request: not signed" grep -qx 'rc=-1' "$T/req"
"$REQ" "$DOCKD" "$DK_CONF" auth "$DK/state/dock.cert" >"$T/req" 2>&1
check "a real AUTH_DOCK to-be-signed: signed with the dock key" grep -qx 'sig=valid' "$T/req"

# ---- 3. a changed event row: no checkpoint over it ---------------------------
"$REQ" "$DOCKD" "$DK_CONF" ckpt >"$T/req" 2>&1
check "the untouched ledger: checkpoint signed" grep -qx 'rc=0' "$T/req"
n0=$(dk_sql "SELECT count(*) FROM events")
cp0=$(dk_sql "SELECT max(size) FROM checkpoints")
orig=$(dk_sql "SELECT hex(reason) FROM events WHERE seq = 3")
trig=$(dk_sql "SELECT sql FROM sqlite_master WHERE name = 'events_no_update'")
check "history rewritten: one event's reason changed in the SQLite file" \
	sqlite3 "$DK_DB" "DROP TRIGGER events_no_update; \
UPDATE events SET reason = 'nothing happened' WHERE seq = 3"
"$REQ" "$DOCKD" "$DK_CONF" ckpt >"$T/req" 2>&1
check "checkpoint request over it: refused by the custodian" grep -qx 'rc=-1' "$T/req"
check "why names the changed event" grep -q '^why=event 3 was changed' "$T/req"
a0=$(alerts_of checkpoint-refused)
dk_start --exit-when-idle
wait "$DK_PID"; DK_PID=
check "dockd recorded checkpoint_refused (action 70)" [ "$(dk_sql "SELECT count(*) FROM events \
WHERE action = 70 AND json_extract(details,'\$.why') LIKE 'event 3 was changed%'")" -ge 1 ]
check "a checkpoint-refused alert" [ "$(alerts_of checkpoint-refused)" -gt "$a0" ]
check "no checkpoint signed over the changed ledger" \
	[ "$(dk_sql "SELECT count(*) FROM checkpoints WHERE size > $n0")" -eq 0 ]
check "no external checkpoint either" [ "$(ls "$DK/anchor" | sed 's/checkpoint\.//' | \
	awk -v n="$n0" '$1 + 0 > n + 0' | wc -l)" -eq 0 ]
check "the row put back" sqlite3 "$DK_DB" \
	"UPDATE events SET reason = CAST(X'$orig' AS TEXT) WHERE seq = 3; $trig;"
dk_start --exit-when-idle
wait "$DK_PID"; DK_PID=
check "the ledger as it was: checkpoints signed again" \
	[ "$(dk_sql "SELECT max(size) FROM checkpoints")" -gt "$n0" ]
check "custody verify is clean" dk_verify

# ---- 4. the custodian killed ---------------------------------------------------
check "camera CAM-K with a recording" dk_camera CAM-K 1 30000
check "dockd starts" dk_start
CP=$(cust_pid "$DK_PID")
check "its custodian runs" [ -n "$CP" ]
a0=$(alerts_of custodian)
mv "$DK/state/dock.key" "$DK/state/dock.key.away"
kill -KILL "$CP"
i=0; while [ "$(alerts_of custodian)" -le "$a0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "its death is alerted" [ "$(alerts_of custodian)" -gt "$a0" ]
check_fails "no custodian meanwhile (its key is away)" [ -n "$(cust_pid "$DK_PID")" ]
dk_dock CAM-K
check "no signature meanwhile: nothing released" [ "$(dk_state CAM-K/REC-1)" != released ]
check "the camera keeps its recording" dk_cam_has CAM-K REC-1
check "dockd still runs" dk_alive
mv "$DK/state/dock.key.away" "$DK/state/dock.key"
i=0; while { [ -z "$(cust_pid "$DK_PID")" ] || [ "$(cust_pid "$DK_PID")" = "$CP" ]; } && \
	[ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
check "dockd restarted the custodian" [ -n "$(cust_pid "$DK_PID")" ]
dk_dock CAM-K
check "CAM-K/REC-1 released after the restart" dk_wait_state CAM-K/REC-1 released 30
check_fails "the camera deleted it" dk_cam_has CAM-K REC-1
check "dockd stops" dk_stop
check "custody verify is clean" dk_verify
done_testing
