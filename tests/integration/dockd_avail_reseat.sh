#!/bin/sh
# Issue 17.1: an officer re-seating a camera during the release wait must
# never look like an attack. dockd -> faultproxy -> Ceph RGW with
# release_wait_s = 30; the proxy is stopped (SIGSTOP: the store hangs) so
# the camera's session sits in its final wait for uploads.
#   1. a second session of the serial while the first is still connected
#      and waiting: refused with BUSY and its own text after the 3 s grace,
#      no device_rejected, no alert (a log line);
#   2. the camera is pulled out (camsim killed) and docked again at once:
#      the dock notices the hang-up, frees the bay, and the new session
#      docks: no device_rejected, no device-rejected alert;
#   3. nothing was released early: the recording stays on the camera until
#      the store is back and it is verified; the next docking releases it.
# Before, the wait did not watch the link: every re-dock for the rest of
# release_wait_s was refused "already docked", each one a device_rejected
# event and a security alert.
# Runtime: ~40 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-reseat)
DK_S3_CA=none
DK_RELEASE_WAIT=30
DK_S3_EXTRA="low_speed_time_s = 5"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: proxy in front of RGW" s3_proxy
DK_S3_ENDPOINT=$S3_PROXY_URL
check "setup: keys, config (release_wait_s = 30), ledger" dk_init "$T/d" storage
check "setup: camera CAM-R with one recording" dk_camera CAM-R 1 200000
check "dockd starts" dk_start
kill -STOP "$S3_PROXY_PID"
dk_dock_bg CAM-R
p1=$DK_CAM_PID
check "CAM-R docks; its recording is stored locally" dk_wait_state CAM-R/REC-1 stored_local 30
sleep 1 # the session is in its final wait now (the store hangs)
rejected() { dk_sql "SELECT count(*) FROM events WHERE action = 3"; }
alerts_rej() { cat "$DK/alerts.log" 2>/dev/null | grep -c device-rejected; }
docked() { grep -c "camera CAM-R (officer OFF-CAM-R) docked" "$DK_LOG"; }

# ---- 1. a second session while the first still holds the link ------------------
t0=$(date +%s)
dk_dock CAM-R
rc=$?
t1=$(date +%s)
w=$(sed -n 's/^camsim: dock sent ERROR //p' "$DK/cam-CAM-R.log" | tail -1)
echo "# live duplicate: wire: $w (after $((t1 - t0)) s)"
check "duplicate: refused" test "$rc" -ne 0
check "duplicate: ERROR BUSY with the re-seat text" sh -c \
	'case "$1" in "camera busy, retry later: busy: this camera"*"finishing its upload wait"*) ;; *) exit 1 ;; esac' - "$w"
check "duplicate: it waited the grace (>= 2 s) for the old session first" test $((t1 - t0)) -ge 2
check "duplicate: no device_rejected event" test "$(rejected)" = 0
check "duplicate: no alert" test "$(dk_alerts)" = 0
check "duplicate: a plain log line" grep -q "re-seated while its previous session" "$DK_LOG"
check "the first session is still docked" kill -0 "$p1"

# ---- 2. pulled out during the wait, docked again at once -----------------------
kill -KILL "$p1"; wait "$p1" 2>/dev/null
dk_dock_bg CAM-R
p2=$DK_CAM_PID
i=0; until [ "$(docked)" -ge 2 ] || [ $i -ge 80 ]; do sleep 0.1; i=$((i + 1)); done
echo "# re-seat docked after about $((i / 10)).$((i % 10)) s"
check "re-seat: the dock noticed the camera left during the wait" \
	grep -q "camera CAM-R left during the wait for storage" "$DK_LOG"
check "re-seat: the new session docked (device_authenticated twice in all)" test "$(docked)" -ge 2
check "re-seat: within 5 s" test "$i" -lt 50
check "re-seat: its camsim is still connected (not refused)" kill -0 "$p2" 2>/dev/null
check "re-seat: no device_rejected event" test "$(rejected)" = 0
check "re-seat: no device-rejected alert" test "$(alerts_rej)" = 0
check "nothing released early: REC-1 still on the camera" dk_cam_has CAM-R REC-1
check "nothing released early: REC-1 still stored_local" test "$(dk_state CAM-R/REC-1)" = stored_local
kill -KILL "$p2" 2>/dev/null; wait "$p2" 2>/dev/null

# ---- 3. the store comes back --------------------------------------------------------
kill -CONT "$S3_PROXY_PID"
check "the store is back: REC-1 verified in storage" dk_wait_stored CAM-R/REC-1 120
check "the next docking releases it" dk_dock CAM-R
check "REC-1 released" test "$(dk_state CAM-R/REC-1)" = released
check "the S3 object decrypts byte-identical" dk_same_s3 CAM-R REC-1
check "still no device_rejected event" test "$(rejected)" = 0
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "dockd stops with exit 0" dk_stop
check "custody verify is clean" dk_verify
done_testing
