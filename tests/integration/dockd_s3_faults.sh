#!/bin/sh
# dockd -> tests/tools/faultproxy -> Ceph RGW (plain HTTP on loopback):
# uploads survive network faults with bounded retries ([s3] max_attempts = 4,
# low_speed_time_s = 5). One camera per fault, each with a multipart
# recording (two 5 MiB parts) and a small one (one PUT):
#   resets  - the first 3 connections that carry 1 MB are reset (RST)
#   stall   - the first connection that carries 1 MB stalls until dockd's
#             low-speed limit cuts it
#   503     - the first 19 requests get 503 SlowDown: with at most 6
#             requests in flight some request gives up after exactly
#             max_attempts = 4 tries (logged), the worker backs off and the
#             next tries succeed
#   503 %3  - every 3rd new connection's first request gets 503 SlowDown
#             (hits the data path: parts, HEADs, read-back)
# Each time: every recording is stored and verified, the object decrypts
# byte-identical, the proxy saw exactly the faults asked for, nothing was
# recorded as a failed upload, the ledger verifies. Tries are read from
# dockd's error lines of the phase ("N attempts"): in the 503 burst some
# request must give up after exactly 4 (a missing line fails), in the
# others none may give up.
# Runtime: ~40 s (ASan ~60 s) with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
MIB=1048576
BIG=$((7 * MIB + 4321))
SMALL=200000
WAIT=${S3FAULT_WAIT:-120}

add_rec() { # SERIAL REC SIZE
	dk_randfile "$DK/orig/$1/$2.bin" "$3" "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category patrol --start $(($(date +%s) - 3600)) \
			--end $(($(date +%s) - 3000)) >/dev/null
}
cam() { dk_camera "$1" 0 0 && add_rec "$1" REC-1 "$BIG" && add_rec "$1" REC-2 "$SMALL"; }
released() { [ "$(dk_state "$1")" = released ]; }
# Dock until both recordings are released (stored ones are released at the
# next docking when storage took longer than release_wait_s).
dock_until_released() { # SERIAL
	for try in 1 2 3; do
		released "$1/REC-1" && released "$1/REC-2" && return 0
		dk_wait_stored "$1/REC-1" "$WAIT" && dk_wait_stored "$1/REC-2" "$WAIT" || return 1
		dk_dock "$1"
	done
	released "$1/REC-1" && released "$1/REC-2"
}
# Tries of the S3 requests that gave up in this phase, one number per
# dockd error line ("...; N attempts)"), from the log lines after $mark.
# A request cancelled because dockd is stopping (code Cancelled, after the
# attempt in flight) did not give up: it is taken up again at the next start.
gave_up_tries() { tail -n +$((mark + 1)) "$DK_LOG" | grep -v ' Cancelled: ' |
	grep -Eo '[0-9]+ attempts?\)' | grep -Eo '^[0-9]+'; }
# Requests that gave up in this phase: none (no error line at all).
none_gave_up() {
	n=$(gave_up_tries | grep -c .)
	[ "$n" = 0 ] && return 0
	echo "# $n request(s) gave up: $(gave_up_tries | tr '\n' ' ')"
	tail -n +$((mark + 1)) "$DK_LOG" | grep -v ' Cancelled: ' |
		grep -E '[0-9]+ attempts?\)' | sed 's/^/#   /'
	return 1
}
# Requests that gave up in this phase: at least one, each after exactly
# max_attempts = 4 tries (a missing line is a failure, not 0 tries).
gave_up_after_4() {
	t=$(gave_up_tries | tr '\n' ' ')
	echo "# tries of the requests that gave up: ${t:-none}"
	[ -n "$t" ] && [ -z "$(gave_up_tries | grep -vx 4)" ]
}
no_failed_upload() { # EVID: no `uploaded` event with outcome failed
	dk_py '
bad = [d for _, a, _, d in events(args[0]) if a == "uploaded" and (d.get("outcome") == "failed" or "error" in d)]
sys.exit(1 if bad else 0)' "$1"
}
phase() { # NAME SERIAL PROXY-OPTIONS...: a camera docked through a new proxy
	name=$1; serial=$2; shift 2
	check "$name: proxy with $*" s3_proxy "$@"
	mark=$(wc -l <"$DK_LOG" 2>/dev/null || echo 0)
	DK_S3_ENDPOINT=$S3_PROXY_URL
	dk_conf_write
	check "$name: dockd starts (endpoint $S3_PROXY_URL)" dk_start
	check "$name: docking $serial: camsim exits 0" dk_dock "$serial"
	check "$name: both recordings stored, verified and released" dock_until_released "$serial"
	for r in REC-1 REC-2; do
		check "$name: $serial/$r: S3 object decrypts byte-identical" dk_same_s3 "$serial" "$r"
		check "$name: $serial/$r: storage_verified once, no failed upload" sh -c \
			'[ "$1" = 1 ]' - "$(dk_count_action "$serial/$r" storage_verified)"
		check "$name: $serial/$r: no failed upload recorded" no_failed_upload "$serial/$r"
	done
	check "$name: dockd stops with exit 0" dk_stop
	s3_proxy_stop
	echo "# $name: proxy: $(tr '\n' ' ' <"$S3_PROXY_STATS")"
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-faults)
DK_S3_CA=none
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = 2
max_attempts = 4
low_speed_time_s = 5"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config, ledger" dk_init "$T/f" storage
for c in CAM-R CAM-S CAM-5 CAM-P; do check "setup: camera $c" cam "$c"; done

# ---- connection resets ---------------------------------------------------------
phase resets CAM-R --reset-after 1000000:3
check "resets: the proxy reset 3 connections" test "$(s3_proxy_stat resets)" = 3
ct=$(dk_sql "SELECT sum(ct_size) FROM dock_recordings WHERE serial='CAM-R'")
up=$(s3_proxy_stat bytes_up)
echo "# resets: ciphertext $ct bytes, sent $up bytes"
check "resets: re-sent at most the 3 cut parts (sent <= ciphertext + 3 x 5 MiB)" \
	test "$up" -le $((ct + 3 * 5 * MIB + MIB))
check "resets: no request gave up (3 resets < max_attempts = 4 tries)" none_gave_up

# ---- a stall longer than low_speed_time_s ------------------------------------
phase stall CAM-S --stall-after 1000000:inf:1
check "stall: the proxy stalled one connection" test "$(s3_proxy_stat stalls)" = 1
check "stall: the stalled connection was cut and retried (a new connection)" \
	test "$(s3_proxy_stat connections)" -gt 1
check "stall: no request gave up (one stall < max_attempts = 4 tries)" none_gave_up

# ---- a burst of 503 SlowDown -------------------------------------------------------
al0=$(dk_alerts)
phase 503 CAM-5 --inject 503:SlowDown:19
check "503: the proxy answered 19 requests with 503 SlowDown" \
	test "$(s3_proxy_stat injected)" = 19
# Each logged SlowDown failure is a request that gave up; with at most
# max_attempts tries each, 19 answers give at least 1 and at most 19 / 4 = 4
# of them (unbounded retries: none; fewer tries: more).
nfail=$(tail -n +$((mark + 1)) "$DK_LOG" | grep -c 'SlowDown')
tail -n +$((mark + 1)) "$DK_LOG" | grep SlowDown | head -5 | sed 's/^/# 503: /'
check "503: $nfail request(s) gave up on SlowDown: between 1 and 4" \
	test "$nfail" -ge 1 -a "$nfail" -le 4
check "503: each request that gave up took exactly max_attempts = 4 tries (logged)" \
	gave_up_after_4
check "503: as many logged give-ups as SlowDown lines" \
	test "$(gave_up_tries | grep -c .)" = "$nfail"
# The proxy counts what dockd sent: 19 injected answers with at most 4
# tries per request leave >= 19 / 4 requests, so the proxy saw >= 5 first
# request heads; each give-up ends an episode, so it is also bounded.
rq=$(s3_proxy_stat requests)
echo "# 503: the proxy saw $rq requests ($(s3_proxy_stat injected) answered 503)"
check "503: the proxy saw more requests than it answered with 503 (retries ended)" \
	test "${rq:-0}" -gt 19
al=$(( $(dk_alerts) - al0 ))
echo "# 503: $al alert(s)"
check "503: at most a few alerts (no alert per retry)" test "$al" -le 2

# ---- 503 SlowDown on every 3rd new connection, while parts are sent ---------
phase "503 every 3rd connection" CAM-P --inject 503:SlowDown:%3
check "503 every 3rd connection: the proxy injected some" \
	test "$(s3_proxy_stat injected)" -ge 1
check "503 every 3rd connection: no request gave up (each retried within 4 tries)" \
	none_gave_up

check "no multipart upload left open" sh -c \
	'[ -z "$("$@" uploads 2>&1)" ]' - "$TBIN/tools/s3tool" --endpoint "$S3_ENDPOINT_HTTPS" \
	--ca "$S3_CA_FILE" --creds "$S3_CREDS_FILE" --bucket "$DK_S3_BUCKET"
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
done_testing
