#!/bin/sh
# Issue 17.2: HTTP 409 OperationAborted on PUT ?tagging (what RGW answers
# after a storage stall: a tag operation still in progress) is transient.
# dockd -> faultproxy -> Ceph RGW; the proxy answers the first 3 PUT
# ?tagging requests (kept-alive connections too: --inject-match) with 409
# OperationAborted. The request is retried inside the S3 client (a few
# hundred ms of jittered backoff), so: both recordings are stored and
# verified within seconds of their ingest, the camera is released in the
# same docking, no storage alert, no "storage target failed" backoff, no
# failed upload. The old classifier took 409 for a permanent "Invalid
# argument": a storage alert and the worker's backoff (1 s, 2 s, 4 s...).
# Runtime: ~15 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-409)
DK_S3_CA=none
DK_RELEASE_WAIT=20
check "setup: bucket $DK_S3_BUCKET (Object Lock)" s3_bucket "$DK_S3_BUCKET" lock
check "setup: proxy answers the first 3 PUT ?tagging with 409 OperationAborted" \
	s3_proxy --inject 409:OperationAborted:3 --inject-match "?tagging"
DK_S3_ENDPOINT=$S3_PROXY_URL
check "setup: keys, config, ledger" dk_init "$T/d" storage
check "setup: camera CAM-T with two recordings" dk_camera CAM-T 2 150000
check "dockd starts" dk_start
check "docking CAM-T: camsim exits 0" dk_dock CAM-T
for r in REC-1 REC-2; do
	check "CAM-T/$r: stored, verified and released in the same docking" \
		test "$(dk_state "CAM-T/$r")" = released
	check "CAM-T/$r: the S3 object decrypts byte-identical" dk_same_s3 CAM-T "$r"
done
# Seconds from stored_local to storage_verified, per item: the 409s cost
# only the S3 client's short jittered retries.
lag=$(dk_py '
names_r = {v: k for k, v in names.items()}
sl, sv = names_r["stored_local"], names_r["storage_verified"]
m = 0
for e in ("CAM-T/REC-1", "CAM-T/REC-2"):
    a = con.execute("SELECT time_ns FROM events WHERE evidence_id=? AND action=?", (e, sl)).fetchone()
    b = con.execute("SELECT time_ns FROM events WHERE evidence_id=? AND action=?", (e, sv)).fetchone()
    if not a or not b: m = 10**9; break
    m = max(m, (b[0] - a[0]) // 1000000)
print(m)')
echo "# longest stored_local -> storage_verified: ${lag} ms"
check "each item verified within 5 s of its ingest (no worker backoff)" test "${lag:-999999}" -lt 5000
check "no alert was raised" test "$(dk_alerts)" = 0
check "the worker never backed off (no 'storage target failed')" \
	sh -c '! grep -q "storage target failed\|Invalid argument" "$1"' - "$DK_LOG"
fails=$(dk_py 'print(sum(1 for _, a, _, d in events() if a == "uploaded" and "error" in d))')
check "no failed upload recorded" test "$fails" = 0
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "dockd stops with exit 0" dk_stop
s3_proxy_stop
check "the proxy answered 3 requests with 409" test "$(s3_proxy_stat injected)" = 3
check "... all of them PUT ?tagging requests" test "$(s3_proxy_stat matched)" -ge 3
grep -i "tag\|409" "$DK_LOG" | head -10 | sed "s/^/# log: /"
done_testing
