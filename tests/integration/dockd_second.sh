#!/bin/sh
# A second dockd on the same state (issue 15): it is refused at once with a
# message naming the lock file and the running daemon, exits non-zero and
# touches nothing: the first daemon's camera and query sockets are the same
# files afterwards and it still answers. Before the lock, the second
# daemon printed "ready" and, when stopped, removed both sockets.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
check "dock, agency and checkpoint keys" dk_init "$T/dk" || done_testing
"$CUSTODY" --config "$DK_CONF" user add "$(id -un)" --role clerk --agency "$DK_AGENCY" \
	--reason "second dockd test" >/dev/null 2>&1
check "the first dockd starts" dk_start || done_testing
i=0
while [ ! -S "$DK/query.sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
ino() { stat -c %i "$1" 2>/dev/null; }
cam_ino=$(ino "$DK_SOCK"); q_ino=$(ino "$DK/query.sock")

"$DOCKD" --config "$DK_CONF" >"$T/second.log" 2>&1 &
p2=$!
i=0 # bounded wait: the refusal is immediate, an unlocked dockd keeps running
while kill -0 "$p2" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$p2" 2>/dev/null; then
	not_ok "the second dockd is refused and exits"
	kill -TERM "$p2"
	wait "$p2"
else
	wait "$p2"; rc=$?
	check "the second dockd exits non-zero" [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]
fi
sed 's/^/#   /' "$T/second.log"
check "its message names the lock file and the running daemon's pid" \
	grep -q "$DK/state/dockd.lock: another dockd (pid $DK_PID) is already running" "$T/second.log"
check "it never says ready" sh -c "! grep -q ') ready' '$T/second.log'"
check "the first daemon's camera socket is the same file" [ "$(ino "$DK_SOCK")" = "$cam_ino" ]
check "the first daemon's query socket is the same file" \
	[ "$(ino "$DK/query.sock")" = "$q_ino" ]
check "the first daemon still answers custody status" sh -c \
	"'$CUSTODY' --config '$DK_CONF' status --socket '$DK/query.sock' --json | grep -q '\"dock_id\": *\"$DK_DOCK_ID\"'"
check "the first daemon is still running" dk_alive
check "it stops cleanly" dk_stop
# The kernel drops the lock with the process: a restart is not blocked.
check "dockd starts again after the first stopped" dk_start
check "and stops" dk_stop
done_testing
