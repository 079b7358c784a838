#!/bin/sh
# The S3 test bed itself: a real Ceph RGW on loopback (tests/s3/rgw.sh) and
# the fault-injecting proxy (tests/tools/faultproxy) in front of it.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/s3_lib.sh"
mktmp
s3_up

# ---- the server -------------------------------------------------------------
code() { # curl args... -> HTTP status only
	curl -s -o "$T/body" -w '%{http_code}' --max-time 30 "$@"
}
body_has() { grep -q "$1" "$T/body"; }

check "RGW status is running" sh "$S3_RGW_SH" status "$S3_RGW_DIR"
check "credentials file is 0600 with both keys" sh -c '
	[ "$(stat -c %a "$1")" = 600 ] &&
	grep -qx "access_key = $2" "$1" && grep -qx "secret_key = $3" "$1"' \
	sh "$S3_CREDS_FILE" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
c=$(s3_curl -s -o "$T/body" -w '%{http_code}' "$S3_ENDPOINT_HTTPS/")
check "HTTPS with the test CA: signed ListBuckets 200" [ "$c" = 200 ]
check_fails "HTTPS without the test CA is refused by curl" \
	curl -s -o /dev/null --max-time 10 "$S3_ENDPOINT_HTTPS/"
c=$(code --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:wrong$S3_SECRET_KEY" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT_HTTP/")
check "wrong secret -> 403 SignatureDoesNotMatch" sh -c \
	'[ "$1" = 403 ] && grep -q SignatureDoesNotMatch "$2"' sh "$c" "$T/body"
c=$(code --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "AKIANOSUCHKEY0000000:$S3_SECRET_KEY" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT_HTTP/")
check "unknown access key -> 403 InvalidAccessKeyId" sh -c \
	'[ "$1" = 403 ] && grep -q InvalidAccessKeyId "$2"' sh "$c" "$T/body"

b=$(s3_uniq plain)
lb=$(s3_uniq locked)
check "create a bucket" s3_bucket "$b"
check "create an Object Lock bucket" s3_bucket "$lb" lock
s3_curl -s -o "$T/body" "$S3_ENDPOINT_HTTP/$lb?object-lock="
check "Object Lock is enabled on it" body_has '<ObjectLockEnabled>Enabled</ObjectLockEnabled>'
s3_curl -s -o "$T/body" "$S3_ENDPOINT_HTTP/$b?object-lock="
check "and not on the plain bucket" sh -c '! grep -q "<ObjectLockEnabled>Enabled" "$1"' sh "$T/body"
c=$(s3_curl_other -s -o "$T/body" -w '%{http_code}' "$S3_ENDPOINT_HTTP/$b")
check "the other user gets 403 AccessDenied on our bucket" sh -c \
	'[ "$1" = 403 ] && grep -q AccessDenied "$2"' sh "$c" "$T/body"

# ---- through the proxy --------------------------------------------------------
head -c 3000000 /dev/urandom >"$T/obj"
put() { # URL KEY [curl args]: PUT $T/obj; prints the HTTP status
	u=$1; k=$2; shift 2
	s3_curl -s -o "$T/body" -w '%{http_code}' -T "$T/obj" "$@" "$u/$b/$k"
}
get_same() { # URL KEY
	s3_curl -sf -o "$T/got" "$1/$b/$2" && cmp -s "$T/got" "$T/obj"
}

check "faultproxy starts (plain forwarding)" s3_proxy
check "PUT through the proxy -> 200" [ "$(put "$S3_PROXY_URL" k1)" = 200 ]
check "GET through the proxy returns the same bytes" get_same "$S3_PROXY_URL" k1
s3_proxy_stop
up=$(s3_proxy_stat bytes_up); down=$(s3_proxy_stat bytes_down)
check "stats count the bytes both ways ($up up, $down down)" \
	[ "$up" -gt 3000000 -a "$down" -gt 3000000 ]
check "stats count the connections" [ "$(s3_proxy_stat connections)" -ge 1 ]

s3_proxy --reset-after 100000:1
check_fails "reset after 100000 bytes: curl fails" \
	s3_curl -sf -o /dev/null -T "$T/obj" "$S3_PROXY_URL/$b/k2"
check "the reset was counted once" [ "$(s3_proxy_stat resets)" = 1 ]
check "exactly 100000 bytes went upstream" [ "$(s3_proxy_stat bytes_up)" = 100000 ]
check "the next connection is not reset (COUNT=1)" [ "$(put "$S3_PROXY_URL" k2)" = 200 ]
s3_proxy_stop

s3_proxy --inject 503:SlowDown:1
c=$(put "$S3_PROXY_URL" k3)
check "inject: first request gets 503 SlowDown" sh -c \
	'[ "$1" = 503 ] && grep -q "<Code>SlowDown</Code>" "$2"' sh "$c" "$T/body"
check "inject: the second request passes" [ "$(put "$S3_PROXY_URL" k3)" = 200 ]
check "inject: counted once" [ "$(s3_proxy_stat injected)" = 1 ]
s3_proxy_stop

s3_proxy --inject 500:InternalError:%2
c1=$(s3_curl -s -o /dev/null -w '%{http_code}' "$S3_PROXY_URL/$b/k1")
c2=$(s3_curl -s -o "$T/body" -w '%{http_code}' "$S3_PROXY_URL/$b/k1")
c3=$(s3_curl -s -o /dev/null -w '%{http_code}' "$S3_PROXY_URL/$b/k1")
check "inject every 2nd: 200, 500 InternalError, 200 ($c1 $c2 $c3)" sh -c \
	'[ "$1 $2 $3" = "200 500 200" ] && grep -q "<Code>InternalError</Code>" "$4"' \
	sh "$c1" "$c2" "$c3" "$T/body"
s3_proxy_stop

s3_proxy --stall-after 50000:inf
check_fails "stall forever after 50000 bytes: curl --max-time 3 gives up" \
	s3_curl -sf -o /dev/null --max-time 3 -T "$T/obj" "$S3_PROXY_URL/$b/k4"
check "the stall was counted" [ "$(s3_proxy_stat stalls)" = 1 ]
check "no more than 50000 bytes went upstream" [ "$(s3_proxy_stat bytes_up)" -le 50000 ]
s3_proxy_stop

s3_proxy --stall-after 1000:300:1
check "a short stall (300 ms) only delays: PUT 200" [ "$(put "$S3_PROXY_URL" k5)" = 200 ]
check "and the object is whole" get_same "$S3_ENDPOINT_HTTP" k5
s3_proxy_stop

s3_proxy --bandwidth 2000000:up --latency 20
check "bandwidth cap + latency: PUT 200" [ "$(put "$S3_PROXY_URL" k6)" = 200 ]
check "and GET returns the same bytes" get_same "$S3_PROXY_URL" k6
check "the capped bytes are counted" [ "$(s3_proxy_stat bytes_up)" -gt 3000000 ]
s3_proxy_stop

# Hostile peer: garbage, an unterminated head, then a normal request.
s3_proxy --inject 503:SlowDown:1
head -c 40000 /dev/urandom | timeout 5 curl -s -o /dev/null --max-time 3 \
	-X POST --data-binary @- "$S3_PROXY_URL/x" 2>/dev/null
python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5000); s.close()' \
	"${S3_PROXY_URL##*:}" 2>/dev/null
check "proxy survives hostile clients" kill -0 "$S3_PROXY_PID"
c=$(s3_curl -s -o /dev/null -w '%{http_code}' "$S3_PROXY_URL/$b/k1")
check "and still forwards afterwards ($c)" [ "$c" = 200 ]
pid=$S3_PROXY_PID
s3_proxy_stop
check "SIGTERM: the proxy is gone" sh -c '! kill -0 "$1" 2>/dev/null' sh "$pid"

done_testing
