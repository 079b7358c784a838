#!/bin/sh
# Issue 17.3: checkpoints must not starve evidence. dockd -> faultproxy ->
# Ceph RGW, one upload worker. The store is down (the proxy is gone:
# connection refused) while a camera with two recordings docks and another
# docks 8 times (each docking signs a checkpoint): a backlog of evidence and
# checkpoints. dockd restarts with the store back. Then:
#   - the first upload after the restart is evidence (both recordings are
#     verified before any checkpoint goes up);
#   - the checkpoints coalesce: only the newest of the backlog is put (it
#     commits to everything the older ones cover), byte-identical to the
#     anchor copy; no older one is uploaded.
# Before, the worker put every checkpoint of the backlog, oldest first,
# before the first evidence upload.
# Runtime: ~40 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-ckpt)
DK_S3_CA=none
DK_RELEASE_WAIT=2
DK_EXTRA_STORAGE="parallel_uploads = 1"
DK_S3_EXTRA="max_attempts = 2"
N=8
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
# A port where nothing listens: the proxy's, after it is gone.
check "setup: a proxy port" s3_proxy
DK_S3_ENDPOINT=$S3_PROXY_URL
s3_proxy_stop
check "setup: keys, config, ledger" dk_init "$T/d" storage
check "setup: camera CAM-E with two recordings" dk_camera CAM-E 2 150000
check "setup: camera CAM-C, nothing recorded" dk_camera CAM-C 0 0
check "dockd starts with the store down" dk_start
check "CAM-E docks" dk_dock CAM-E
check "CAM-E/REC-1 waits in the vault (stored_local)" test "$(dk_state CAM-E/REC-1)" = stored_local
i=0; while [ $i -lt $N ]; do dk_dock CAM-C; i=$((i + 1)); done
check "dockd stops" dk_stop
done0=$(cat "$DK/state/checkpoints-uploaded" 2>/dev/null || echo 0)
backlog=$(dk_sql "SELECT count(*) FROM checkpoints WHERE size > ${done0:-0}")
newest=$(dk_sql "SELECT max(size) FROM checkpoints")
echo "# backlog: $backlog checkpoints (sizes after ${done0:-0}), newest $newest"
check "a backlog of at least $N checkpoints" test "$backlog" -ge "$N"
check "both recordings still wait (stored_local)" \
	test "$(dk_state CAM-E/REC-1)/$(dk_state CAM-E/REC-2)" = stored_local/stored_local

check "the store is back (a new proxy)" s3_proxy
DK_S3_ENDPOINT=$S3_PROXY_URL
dk_conf_write
mark=$(wc -l <"$DK_LOG")
check "dockd restarts" dk_start
check "CAM-E/REC-1 verified in storage" dk_wait_stored CAM-E/REC-1 60
check "CAM-E/REC-2 verified in storage" dk_wait_stored CAM-E/REC-2 60
up() { tail -n +"$((mark + 1))" "$DK_LOG" | grep -q "checkpoint $newest uploaded"; }
i=0; until up || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
check "the newest checkpoint ($newest) is uploaded" up
check "dockd stops" dk_stop
tail -n +"$((mark + 1))" "$DK_LOG" >"$DK/after.log"
grep -n "storage verified\|checkpoint [0-9]* uploaded" "$DK/after.log" | sed 's/^/# after restart: /'
first_ev=$(grep -n "storage verified" "$DK/after.log" | head -1 | cut -d: -f1)
first_ck=$(grep -n "checkpoint [0-9]* uploaded" "$DK/after.log" | head -1 | cut -d: -f1)
last_ev=$(grep -n "storage verified" "$DK/after.log" | tail -1 | cut -d: -f1)
check "evidence first: the first upload after the restart is a recording" \
	test "${first_ev:-999999}" -lt "${first_ck:-0}"
check "both recordings went up before any checkpoint" test "${last_ev:-999999}" -lt "${first_ck:-0}"
older=$(grep -o "checkpoint [0-9]* uploaded" "$DK/after.log" | awk -v n="$newest" '$2 < n' | wc -l)
check "coalesced: none of the $backlog older checkpoints was uploaded" test "$older" = 0
ck_same() {
	dk_s3tool get "checkpoints/$DK_DOCK_ID/$newest.txt" "$DK/ck.txt" >/dev/null 2>&1 &&
		cmp -s "$DK/ck.txt" "$DK/anchor/checkpoint.$newest"
}
check "the newest checkpoint object is byte-identical to the anchor copy" ck_same
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
