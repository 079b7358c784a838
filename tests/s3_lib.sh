# S3 helpers for shell tests: a real Ceph RGW on loopback (tests/s3/rgw.sh)
# and the fault-injecting proxy (tests/tools/faultproxy.c). Source it AFTER
# tests/lib.sh. Functions:
#
#   s3_up                  make an RGW available and source its env file
#                          (S3_ENDPOINT_HTTP, S3_ENDPOINT_HTTPS, S3_CA_FILE,
#                          S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY,
#                          S3_CREDS_FILE, S3_OTHER_ACCESS_KEY,
#                          S3_OTHER_SECRET_KEY, S3_RGW_DIR). Reuses a running
#                          one when $S3_RGW_DIR/env exists (tests/run.sh may
#                          start one per suite); otherwise starts its own and
#                          stops it at exit. Without the Ceph packages it
#                          prints a TAP skip for the whole script and exits 0.
#                          Call it as a plain command, never in $(...).
#   s3_bucket NAME [lock]  create bucket NAME (Object Lock with `lock`)
#   s3_uniq PREFIX         print a bucket name unique to this run (buckets
#                          live as long as a shared RGW: never reuse names)
#   s3_curl ARGS...        curl signed (SigV4) as the main user; adds
#                          x-amz-content-sha256: UNSIGNED-PAYLOAD and the CA
#   s3_curl_other ARGS...  the same as the second user (owns nothing)
#   s3_proxy [OPTS...]     start faultproxy in front of RGW's plain HTTP port
#                          with faultproxy options OPTS; sets S3_PROXY_URL
#                          (http://127.0.0.1:PORT), S3_PROXY_PID,
#                          S3_PROXY_STATS (its stats file). One at a time.
#                          S3_PROXY_LISTEN (default 127.0.0.1:0) is its
#                          listening address (a fixed port: a restarted proxy
#                          at the same endpoint)
#   s3_proxy_stop          SIGTERM the proxy and wait for it
#   s3_proxy_stat KEY      print KEY's value from the proxy's stats file
#
# Own state is named s3_*: tests may use short names freely.
S3_RGW_SH="$TOP/tests/s3/rgw.sh"
FAULTPROXY="$TBIN/tools/faultproxy"
s3_own_dir=
S3_PROXY_PID=
S3_PROXY_URL=
S3_PROXY_STATS=

s3_down() {
	[ -n "$s3_own_dir" ] || return 0
	sh "$S3_RGW_SH" stop "$s3_own_dir" >/dev/null 2>&1
	rm -rf "$s3_own_dir"
	s3_own_dir=
}

s3_up() {
	if [ -n "${S3_RGW_DIR:-}" ] && [ -f "$S3_RGW_DIR/env" ]; then
		if ! s3_st=$(sh "$S3_RGW_SH" status "$S3_RGW_DIR" 2>&1); then
			not_ok "shared RGW in $S3_RGW_DIR is usable: $s3_st"
			done_testing
		fi
		. "$S3_RGW_DIR/env"
		return 0
	fi
	for s3_c in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
		if ! command -v "$s3_c" >/dev/null 2>&1; then
			skip "S3 tests" "Ceph RGW not installed ($s3_c missing; packaging/install-deps.sh installs it)"
			done_testing
		fi
	done
	s3_own_dir=$(mktemp -d "${TMPDIR:-/tmp}/dock-rgw.XXXXXX")
	# Stop RGW before tests/lib.sh's own cleanup (mktmp's EXIT trap, which
	# this trap replaces and repeats).
	if [ -n "${T:-}" ]; then
		trap 's3_proxy_stop; s3_down; kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
	else
		trap 's3_proxy_stop; s3_down; kill $(jobs -p) 2>/dev/null' EXIT
	fi
	if ! sh "$S3_RGW_SH" start "$s3_own_dir" >"$s3_own_dir.log" 2>&1; then
		cat "$s3_own_dir.log" >&2
		rm -f "$s3_own_dir.log"
		not_ok "Ceph RGW starts (tests/s3/rgw.sh start)"
		done_testing
	fi
	rm -f "$s3_own_dir.log"
	# Safety net when a later `trap ... EXIT` (e.g. mktmp called after
	# s3_up) replaces ours: stop RGW once this shell is gone. It ignores
	# the SIGTERM that lib.sh's cleanup sends to all jobs.
	( trap '' TERM INT HUP
	  while kill -0 $$ 2>/dev/null; do sleep 1; done
	  [ -f "$s3_own_dir/env" ] && sh "$S3_RGW_SH" stop "$s3_own_dir"
	  rm -rf "$s3_own_dir" ) </dev/null >/dev/null 2>&1 &
	. "$s3_own_dir/env"
}

s3_bucket() {
	sh "$S3_RGW_SH" bucket "$S3_RGW_DIR" "$@"
}

s3_uniq() {
	printf '%s-%s-%s\n' "$1" "$$" "$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
}

s3_curl() {
	curl --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --cacert "$S3_CA_FILE" "$@"
}

s3_curl_other() {
	curl --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$S3_OTHER_ACCESS_KEY:$S3_OTHER_SECRET_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --cacert "$S3_CA_FILE" "$@"
}

s3_proxy() {
	s3_proxy_stop
	s3_pdir=${T:-$S3_RGW_DIR}
	s3_pn=$(( ${s3_pn:-0} + 1 ))
	rm -f "$s3_pdir/proxy$s3_pn.port"
	S3_PROXY_STATS="$s3_pdir/proxy$s3_pn.stats"
	"$FAULTPROXY" --listen "${S3_PROXY_LISTEN:-127.0.0.1:0}" --upstream "${S3_ENDPOINT_HTTP#http://}" \
		--port-file "$s3_pdir/proxy$s3_pn.port" --stats-file "$S3_PROXY_STATS" "$@" \
		</dev/null >"$s3_pdir/proxy$s3_pn.log" 2>&1 &
	S3_PROXY_PID=$!
	s3_i=0
	while [ ! -s "$s3_pdir/proxy$s3_pn.port" ]; do
		if ! kill -0 "$S3_PROXY_PID" 2>/dev/null || [ "$s3_i" -ge 100 ]; then
			cat "$s3_pdir/proxy$s3_pn.log" >&2
			S3_PROXY_PID=
			return 1
		fi
		sleep 0.1; s3_i=$((s3_i + 1))
	done
	S3_PROXY_URL="http://127.0.0.1:$(cat "$s3_pdir/proxy$s3_pn.port")"
}

s3_proxy_stop() {
	[ -n "$S3_PROXY_PID" ] || return 0
	kill -TERM "$S3_PROXY_PID" 2>/dev/null
	wait "$S3_PROXY_PID" 2>/dev/null
	S3_PROXY_PID=
}

s3_proxy_stat() {
	sed -n "s/^$1 //p" "$S3_PROXY_STATS"
}
