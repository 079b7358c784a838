#!/bin/sh
# A crash between the vault link and the stored_local transaction
# (docs/dockd.md "Crash recovery"): the vault file exists, its row is still
# pulling. The next docking pulls the recording again; the unrecorded file
# is moved aside to .quarantine/<serial>/<rid>.<attempt>.stale (the vault
# name is write-once) and the new file is linked: ingested once,
# byte-identical, nothing lost, the ledger verifies.
# The crash is real: a watcher polls for the vault name and kill -9s dockd
# the moment it appears; if the transaction won the race (the row is
# already stored_local), another camera tries again (at most 12).
# Runtime ~20 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

check "setup: keys, certificate, config, ledger" dk_init "$T/d" storage
hit=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	c=CAM-$i
	dk_camera "$c" 1 300000 || { not_ok "setup: camera $c"; break; }
	vf=$(dk_vault_file "$c" REC-1)
	dk_start || { not_ok "dockd starts"; break; }
	python3 - "$DK_PID" "$vf" >"$DK/watch.out" 2>&1 <<'PY' &
import os, signal, sys, time
pid, path = int(sys.argv[1]), sys.argv[2]
end = time.monotonic() + 60
print("ready", flush=True)
while time.monotonic() < end:
    if os.path.lexists(path):
        os.kill(pid, signal.SIGKILL)
        print("killed"); sys.exit(0)
sys.exit(1)
PY
	w=$!
	n=0 # python may take a while to start on a loaded machine
	until grep -q ready "$DK/watch.out" 2>/dev/null || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
	dk_dock "$c"
	wait "$w"; wrc=$?
	wait "$DK_PID" 2>/dev/null; DK_PID=
	st=$(dk_state "$c/REC-1")
	echo "# try $i: watcher exit $wrc, $c/REC-1 is $st after the kill"
	if [ "$wrc" = 0 ] && [ "$st" = pulling ] && [ -e "$vf" ]; then hit=$c; break; fi
done
if [ -z "$hit" ]; then
	not_ok "a kill -9 landed between the vault link and stored_local (12 tries)"
	done_testing
fi
ok "kill -9 between the vault link and stored_local ($hit: file present, row pulling)"
cp "$vf" "$DK/unrecorded.bcde"
check "no stored_local event for $hit/REC-1 yet" [ "$(dk_count_action "$hit/REC-1" stored_local)" = 0 ]
check "dockd restarts" dk_start
check "$hit docks again" dk_dock "$hit"
check "$hit/REC-1 reaches storage_verified" dk_wait_stored "$hit/REC-1" 30
stale=$(ls "$DK_VAULT/.quarantine/$hit/" 2>/dev/null | grep '^REC-1\.[0-9]*\.stale$')
echo "# quarantine: ${stale:-nothing}"
check "the unrecorded file was moved to .quarantine/$hit/REC-1.<attempt>.stale" [ -n "$stale" ]
check "... unchanged (the very file the crash left)" \
	cmp -s "$DK_VAULT/.quarantine/$hit/$stale" "$DK/unrecorded.bcde"
check "the log says it was moved aside" grep -q "moved an unrecorded vault file aside" "$DK_LOG"
check "the new vault file decrypts byte-identical" dk_same "$hit" REC-1
check "ingested and stored_local exactly once" sh -c '[ "$1$2" = 11 ]' - \
	"$(dk_count_action "$hit/REC-1" ingested)" "$(dk_count_action "$hit/REC-1" stored_local)"
check "the storage copy decrypts byte-identical" dk_same_store "$hit" REC-1
check "dockd stops with exit 0" dk_stop
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
