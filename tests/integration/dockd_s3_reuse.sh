#!/bin/sh
# dockd -> tests/tools/faultproxy (counting every request, kept-alive
# connections included) -> Ceph RGW: the S3 client reuses connections
# (docs/storage-s3.md, "Connections").
#   reuse - a camera with 12 small recordings (one PUT each) and one of
#           three 5 MiB parts: every request (probe, HEAD, PUT, parts,
#           Complete, tagging, verify HEAD + read-back GET) is counted;
#           far fewer connections than requests (a new connection per
#           put and per verify makes at least 2 per recording: >= 26),
#           and no more than the pool can hold at once
#   idle  - the proxy is restarted on the same port between dockings, so
#           every kept-alive connection is closed under dockd while idle
#           (a server's keep-alive timeout): the next camera's recordings
#           are stored and verified, no request gives up, no failed upload
#   stale - the proxy resets the first 8 requests that arrive on a
#           kept-alive connection instead of forwarding them (a server that
#           closed the idle connection just as dockd reused it), with
#           [s3] max_attempts = 1: each is sent again at once on a new
#           connection (bodies re-read from the start) and nothing gives
#           up (without that, a PUT whose body cannot be rewound fails)
# Runtime: ~40 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
MIB=1048576
NSMALL=12
WAIT=${S3REUSE_WAIT:-120}

add_big() { # SERIAL
	dk_randfile "$DK/orig/$1/BIG.bin" $((12 * MIB + 777)) "$1-big" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id BIG --file "$DK/orig/$1/BIG.bin" \
			--category patrol --start $(($(date +%s) - 3600)) \
			--end $(($(date +%s) - 3000)) >/dev/null
}
cam() { dk_camera "$1" "$NSMALL" 60000 && add_big "$1"; }
recs() { i=1; while [ "$i" -le "$NSMALL" ]; do echo "REC-$i"; i=$((i + 1)); done; echo BIG; }
all_stored() { # SERIAL
	for r in $(recs); do dk_wait_stored "$1/$r" "$WAIT" || { echo "# $1/$r: $(dk_state "$1/$r")"; return 1; }; done
}
all_same() { # SERIAL
	for r in $(recs); do dk_same_s3 "$1" "$r" || { echo "# $1/$r differs"; return 1; }; done
}
no_failed_upload() { # SERIAL
	dk_py '
bad = [e for _, a, e, d in events() if (e or "").startswith(args[0] + "/") and a == "uploaded" and
       (d.get("outcome") == "failed" or "error" in d)]
print("\n".join("# failed upload: " + e for e in bad))
sys.exit(1 if bad else 0)' "$1"
}
# S3 requests that gave up or failed in this phase (dockd's error lines
# "...; N attempts)"), from the log after $mark; a request cancelled
# because dockd is stopping did not fail (it is taken up at the next start).
failed_lines() { tail -n +$((mark + 1)) "$DK_LOG" | grep -v ' Cancelled: ' |
	grep -E '[0-9]+ attempts?\)'; }
none_gave_up() {
	[ -z "$(failed_lines)" ] && return 0
	failed_lines | head -5 | sed 's/^/#   /'
	return 1
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-reuse)
DK_S3_CA=none
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = 2
read_back_verify = true"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config, ledger" dk_init "$T/f" storage
check "setup: camera CAM-A ($NSMALL small recordings + 3 parts)" cam CAM-A
check "setup: camera CAM-B" cam CAM-B
check "setup: camera CAM-C" cam CAM-C

# ---- reuse -------------------------------------------------------------------------
# --inject-match without --inject: inject nothing, count every request head.
check "reuse: counting proxy" s3_proxy --inject-match "HTTP/1.1"
port=${S3_PROXY_URL##*:}
DK_S3_ENDPOINT=$S3_PROXY_URL
dk_conf_write
mark=0
check "reuse: dockd starts" dk_start
check "reuse: docking CAM-A: camsim exits 0" dk_dock CAM-A
check "reuse: every recording stored and verified" all_stored CAM-A
# dockd keeps running: its connections stay open, idle, for the next phase.
s3_proxy_stop
echo "# reuse: proxy: $(tr '\n' ' ' <"$S3_PROXY_STATS")"
conns=$(s3_proxy_stat connections)
reqs=$(s3_proxy_stat requests)
grep 'requests over' "$DK_LOG" | tail -1 | sed 's/^.*stored/# reuse: dockd: stored/'
# 13 recordings: at least HEAD + PUT (or parts) + HEAD + verify HEAD + GET.
check "reuse: the proxy counted every request ($reqs >= 13 x 5)" test "${reqs:-0}" -ge 65
check "reuse: $conns connections for $reqs requests: at most one per 4 requests" \
	test $((conns * 4)) -le "${reqs:-0}"
# parallel_uploads = 2 uploads at once, each with its own client and 2
# part workers: 6 clients, each with at most one connection at a time.
check "reuse: $conns connections: no more than the 6 clients in use at once" \
	test "${conns:-99}" -le 6
check "reuse: no request gave up" none_gave_up
check "reuse: CAM-A: every object decrypts byte-identical" all_same CAM-A
check "reuse: CAM-A: no failed upload recorded" no_failed_upload CAM-A

# ---- idle connections closed by the server ------------------------------------------
# The "server" went away with dockd's idle connections (the proxy closed
# them all when it stopped) and comes back on the same port.
check "idle: counting proxy back on port $port" s3_proxy --inject-match "HTTP/1.1" \
	--listen "127.0.0.1:$port"
check "idle: the same port" test "${S3_PROXY_URL##*:}" = "$port"
mark=$(wc -l <"$DK_LOG")
check "idle: docking CAM-B: camsim exits 0" dk_dock CAM-B
check "idle: every recording stored and verified" all_stored CAM-B
check "idle: dockd stops with exit 0" dk_stop
s3_proxy_stop
echo "# idle: proxy: $(tr '\n' ' ' <"$S3_PROXY_STATS")"
check "idle: no request gave up (closed connections replaced, not failed)" none_gave_up
check "idle: CAM-B: every object decrypts byte-identical" all_same CAM-B
check "idle: CAM-B: no failed upload recorded" no_failed_upload CAM-B
conns=$(s3_proxy_stat connections)
reqs=$(s3_proxy_stat requests)
check "idle: $conns connections for $reqs requests: reused again" \
	test $((conns * 4)) -le "${reqs:-0}"

# ---- a connection closed as it is reused ----------------------------------------------
check "stale: proxy resetting the first 8 requests on kept-alive connections" \
	s3_proxy --inject-match "HTTP/1.1" --reset-reused 8
DK_S3_ENDPOINT=$S3_PROXY_URL
DK_S3_EXTRA="$DK_S3_EXTRA
max_attempts = 1"
dk_conf_write
mark=$(wc -l <"$DK_LOG")
check "stale: dockd starts (max_attempts = 1)" dk_start
check "stale: docking CAM-C: camsim exits 0" dk_dock CAM-C
check "stale: every recording stored and verified" all_stored CAM-C
check "stale: dockd stops with exit 0" dk_stop
s3_proxy_stop
echo "# stale: proxy: $(tr '\n' ' ' <"$S3_PROXY_STATS")"
check "stale: the proxy reset 8 reused connections" test "$(s3_proxy_stat resets)" = 8
check "stale: no request gave up (each resent at once, within 1 attempt's budget)" none_gave_up
check "stale: CAM-C: every object decrypts byte-identical" all_same CAM-C
check "stale: CAM-C: no failed upload recorded" no_failed_upload CAM-C

check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
