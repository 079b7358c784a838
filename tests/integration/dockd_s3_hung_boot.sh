#!/bin/sh
# Issue 11, defect 9: start-up and docking never wait on the network. The
# s3:// endpoint is a TCP listener that accepts and never answers (faultproxy
# stalling every connection from its first byte: a hung storage server at
# boot). dockd must open its camera socket and ingest a camera while S3 is
# still hung (asserted by order: the recording is stored_local and the
# docking over while the endpoint has answered no byte), keep custody
# offline (the camera keeps the recording: nothing verified, nothing
# released), then catch up when a real endpoint appears at the same address
# (a plain proxy to RGW): uploaded and verified, released at the next
# docking. Default [s3] timeouts: the old dockd probed the bucket before
# opening its socket (8 attempts x 30 s low-speed limit), so dk_start's
# 60 s bound failed. Runtime ~30 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-hung)
DK_S3_CA=none
DK_RELEASE_WAIT=3
check "setup: bucket $DK_S3_BUCKET (Object Lock)" s3_bucket "$DK_S3_BUCKET" lock
check "setup: a hung S3 endpoint (accepts TCP, never answers)" s3_proxy --stall-after 0:inf
DK_S3_ENDPOINT=$S3_PROXY_URL
port=${S3_PROXY_URL##*:}
hung_stats=$S3_PROXY_STATS
check "setup: keys, config, ledger" dk_init "$T/d" storage
check "setup: camera CAM-H with two recordings" dk_camera CAM-H 2 120000
check "dockd is ready (camera socket open) while S3 hangs" dk_start
check "docking CAM-H while S3 hangs: camsim exits 0" dk_dock CAM-H
for r in REC-1 REC-2; do
	st=$(dk_state "CAM-H/$r")
	check "CAM-H/$r: stored in the vault during the docking (state $st)" test "$st" = stored_local
	check "CAM-H/$r: the camera keeps it (nothing verified yet)" dk_cam_has CAM-H "$r"
done
check "custody verify is clean while offline" dk_verify

# The real server appears at the same address: uploads catch up.
s3_proxy_stop
# Its stats file is complete once it exited: it never sent a byte back, so
# everything above happened while S3 was hung; and dockd did try it.
check "the hung endpoint answered nothing, ever" \
	test "$(sed -n 's/^bytes_down //p' "$hung_stats")" = 0
check "dockd did connect to the hung endpoint" \
	test "$(sed -n 's/^connections //p' "$hung_stats")" -ge 1
S3_PROXY_LISTEN=127.0.0.1:$port
check "setup: a working endpoint at the same address" s3_proxy
for r in REC-1 REC-2; do
	check "CAM-H/$r: uploaded and verified once S3 answers" dk_wait_state "CAM-H/$r" storage_verified 50
	check "CAM-H/$r: the S3 object decrypts byte-identical" dk_same_s3 CAM-H "$r"
done
check "next docking of CAM-H: camsim exits 0" dk_dock CAM-H
for r in REC-1 REC-2; do
	check "CAM-H/$r: released at the next docking" test "$(dk_state "CAM-H/$r")" = released
done
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "dockd stops with exit 0" dk_stop
s3_proxy_stop
done_testing
