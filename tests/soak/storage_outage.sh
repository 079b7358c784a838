#!/bin/sh
# Storage-outage soak (issue 17; `make soak`, not part of `make check`).
# dockd -> faultproxy (fixed port) -> Ceph RGW. SOAK_CYCLES outages (default
# 6, about 4 minutes in all), alternating:
#   stall   - the proxy is SIGSTOPped: the store hangs (connections accepted,
#             nothing answered), like a stalled radosgw; then SIGCONT
#   restart - the proxy is killed (connection refused, like radosgw down)
#             and started again on the same port
# Each outage lasts 4-16 s, the last SOAK_LONG s (default 45: the workers'
# backoff grows to its cap). Meanwhile every camera gets a new recording and
# docks: CAM-1 docks and leaves; CAM-2 is pulled out during its wait and
# re-seated at once; CAM-3 docks, is pulled out for good and comes back at
# the next cycle. After each recovery the soak measures how long until the
# first upload is verified (uploads resume) and until the queue is empty,
# and counts the alerts of that outage. It checks (TAP):
#   - uploads resume within SOAK_RESUME_MAX s (default 12) of every recovery
#   - at most 2 storage alerts per outage (docs/storage-s3.md, "Error
#     codes": one when uploads first fail, one more only if the failure
#     turns permanent), and no device-rejected alert, no device_rejected
#   - nothing lost: every recording is on its camera or verified in storage
#     (the S3 object decrypts byte-identical); nothing released early
#     (dk_ledger_rules: camera_released only after storage_verified)
# The numbers are printed as "# outage N ..." lines and a summary.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
CYCLES=${SOAK_CYCLES:-6}
RESUME_MAX=${SOAK_RESUME_MAX:-12}
LONG=${SOAK_LONG:-45}
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-soak)
DK_S3_CA=none
DK_RELEASE_WAIT=10
DK_S3_EXTRA="low_speed_time_s = 5"
now() { date +%s.%N | cut -c1-14; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the proxy on a fixed port -----------------------------------------------------
check "setup: a free port for the proxy" s3_proxy
PORT=${S3_PROXY_URL##*:}
s3_proxy_stop
PPID_=
proxy_start() {
	"$FAULTPROXY" --listen "127.0.0.1:$PORT" --upstream "${S3_ENDPOINT_HTTP#http://}" \
		--port-file "$T/proxy.port" </dev/null >>"$T/proxy.log" 2>&1 &
	PPID_=$!
	i=0; while [ ! -s "$T/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	rm -f "$T/proxy.port"
}
proxy_kill() { kill -KILL "$PPID_" 2>/dev/null; wait "$PPID_" 2>/dev/null; }
proxy_start
DK_S3_ENDPOINT=http://127.0.0.1:$PORT

check "setup: bucket $DK_S3_BUCKET (Object Lock)" s3_bucket "$DK_S3_BUCKET" lock
check "setup: keys, config, ledger" dk_init "$T/d" storage
for c in CAM-1 CAM-2 CAM-3; do check "setup: camera $c" dk_camera "$c" 1 100000; done
check "dockd starts" dk_start
add_rec() { # SERIAL ID
	dk_randfile "$DK/orig/$1/$2.bin" $((120000 + $(od -An -N2 -tu2 /dev/urandom))) "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category patrol --start $(($(date +%s) - 900)) --end $(($(date +%s) - 600)) \
			>/dev/null
}
verified() { dk_sql "SELECT count(*) FROM dock_recordings WHERE state IN ('storage_verified','released')"; }
queued() { dk_sql "SELECT count(*) FROM dock_recordings WHERE state = 'stored_local'"; }
storage_alerts() { cat "$DK/alerts.log" 2>/dev/null | grep -c '^storage'; }
rej_alerts() { cat "$DK/alerts.log" 2>/dev/null | grep -c 'device-rejected'; }
rejected() { dk_sql "SELECT count(*) FROM events WHERE action = 3"; }
wait_pid() { # PID SECONDS: wait for a background camsim, kill it when late
	i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null
}

worst=0; sum=0; n_meas=0; max_alerts=0; summary=
c=1
while [ "$c" -le "$CYCLES" ]; do
	for s in CAM-1 CAM-2 CAM-3; do add_rec "$s" "C$c" || not_ok "cycle $c: add a recording to $s"; done
	kind=stall; [ $((c % 2)) -eq 0 ] && kind=restart
	len=$((4 + (c * 5) % 13))
	[ "$c" -eq "$CYCLES" ] && len=$LONG # the last: long enough for the backoff to grow
	a0=$(storage_alerts)
	t_out=$(now)
	if [ $kind = stall ]; then kill -STOP "$PPID_"; else proxy_kill; fi
	# cameras during the outage
	dk_dock_bg CAM-1; p1=$DK_CAM_PID
	dk_dock_bg CAM-3; p3=$DK_CAM_PID
	dk_dock_bg CAM-2; p2=$DK_CAM_PID
	dk_wait_state "CAM-2/C$c" stored_local 20 || not_ok "cycle $c: CAM-2/C$c ingested"
	sleep 0.5
	kill -KILL "$p2" 2>/dev/null; wait "$p2" 2>/dev/null # pulled out...
	dk_dock_bg CAM-2; p2=$DK_CAM_PID                     # ...and re-seated at once
	dk_wait_state "CAM-3/C$c" stored_local 20 || not_ok "cycle $c: CAM-3/C$c ingested"
	kill -KILL "$p3" 2>/dev/null; wait "$p3" 2>/dev/null # CAM-3 leaves mid-wait
	# the rest of the outage
	while [ "$(elapsed "$t_out" "$(now)" | cut -d. -f1)" -lt "$len" ]; do sleep 0.2; done
	v0=$(verified)
	if [ $kind = stall ]; then kill -CONT "$PPID_"; else proxy_start; fi
	t_rec=$(now)
	resume=
	while [ -z "$resume" ]; do
		if [ "$(verified)" -gt "$v0" ]; then resume=$(elapsed "$t_rec" "$(now)"); break; fi
		[ "$(elapsed "$t_rec" "$(now)" | cut -d. -f1)" -lt 90 ] || { resume=timeout; break; }
		sleep 0.1
	done
	drain=
	while [ -z "$drain" ]; do
		if [ "$(queued)" = 0 ]; then drain=$(elapsed "$t_rec" "$(now)"); break; fi
		[ "$(elapsed "$t_rec" "$(now)" | cut -d. -f1)" -lt 120 ] || { drain=timeout; break; }
		sleep 0.2
	done
	wait_pid "$p1" 20; wait_pid "$p2" 20
	al=$(( $(storage_alerts) - a0 ))
	echo "# outage $c: $kind ${len} s; uploads resumed after ${resume} s, queue empty after ${drain} s; storage alerts $al"
	summary="$summary $resume"
	check "outage $c ($kind ${len} s): uploads resume within $RESUME_MAX s of the recovery (${resume} s)" \
		awk -v r="$resume" -v m="$RESUME_MAX" 'BEGIN { exit !(r != "timeout" && r + 0 <= m) }'
	check "outage $c: the queue drains (${drain} s)" test "$drain" != timeout
	check "outage $c: at most 2 storage alerts ($al)" test "$al" -le 2
	check "outage $c: no device_rejected, no device-rejected alert" \
		test "$(rejected)/$(rej_alerts)" = 0/0
	[ "$al" -gt "$max_alerts" ] && max_alerts=$al
	[ "$resume" != timeout ] && {
		worst=$(awk -v a="$worst" -v b="$resume" 'BEGIN { print (b > a) ? b : a }')
		sum=$(awk -v a="$sum" -v b="$resume" 'BEGIN { print a + b }')
		n_meas=$((n_meas + 1))
	}
	c=$((c + 1))
done
echo "# resume times (s):$summary"
[ "$n_meas" -gt 0 ] && echo "# resume: worst $worst s, mean $(awk -v a="$sum" -v n="$n_meas" 'BEGIN { printf "%.1f", a / n }') s over $n_meas outages; most storage alerts in one outage: $max_alerts"

# ---- final: every camera docks once more with the store up ------------------------
for s in CAM-1 CAM-2 CAM-3; do check "final docking of $s" dk_dock "$s"; done
lost=0; onc=0; stored=0
for s in CAM-1 CAM-2 CAM-3; do
	for f in "$DK/orig/$s"/*.bin; do
		r=$(basename "$f" .bin)
		st=$(dk_state "$s/$r")
		if dk_cam_has "$s" "$r"; then
			onc=$((onc + 1))
		elif [ "$st" = released ] && dk_same_s3 "$s" "$r"; then
			stored=$((stored + 1))
		else
			lost=$((lost + 1)); echo "# LOST: $s/$r (state ${st:-none})"
		fi
	done
done
echo "# recordings: $stored released and verified in storage, $onc still on their camera, $lost lost"
check "nothing lost: every recording on its camera or verified in storage" test "$lost" = 0
check "nothing released early (release rule over the whole ledger)" dk_ledger_rules storage
check "dockd stops with exit 0" dk_stop
check "custody verify is clean" dk_verify
proxy_kill
done_testing
