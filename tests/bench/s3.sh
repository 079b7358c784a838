#!/bin/sh
# Issue #5's S3 benchmark, side by side in one run against one real Ceph RGW
# on loopback (tests/s3_lib.sh), all three over the SAME endpoint: HTTPS with
# the test CA (what a dock uses in production; S3_BENCH_SCHEME=http for the
# plain loopback port instead). Data: ONE recording of SIZE_MB (default
# 1024) MiB of random bytes.
#
#   s3_dock_upload            MB/s  the s3:// target putting the encrypted
#                                   vault file as dockd does: in the storage
#                                   uploader process (`dockd --store-worker`,
#                                   started by storetool --uploader; the file
#                                   and its part digests passed as
#                                   descriptors, progress messages back):
#                                   multipart, Content-MD5 + real
#                                   x-amz-content-sha256 on every request
#                                   (the part digests seal took, as dockd's
#                                   ingest takes them: docs/storage-s3.md),
#                                   part ETag checks, durable part records,
#                                   HEAD size/ETag check after Complete;
#                                   timed: the put call (storetool --timed:
#                                   the uploader started and the target
#                                   probed first, as a running dockd has
#                                   them; new connections and TLS handshakes
#                                   included, as for curl)
#   s3_dock_upload_readback   MB/s  the same + verify with read-back (GET +
#                                   SHA-256 against the ledger's hash)
#   s3_dock_upload_in_process MB/s  the same put with the S3 client in the
#                                   calling process (store_open(), no
#                                   uploader process): what the split costs
#   s3_dock_seal              MB/s  encrypting the plaintext into the vault
#                                   file (evfile, AES-256-GCM, fsync, SHA-256
#                                   and each part's MD5 + SHA-256 while
#                                   writing): what dockd does at ingest
#   s3_dock_seal_without_part_digests MB/s  the same with a file:// target
#                                   (what the part digests cost the ingest)
#   s3_dock_encrypt_upload    MB/s  plaintext -> encrypted -> stored:
#                                   size / (seal + upload), like rclone crypt
#   s3_rclone_crypt           MB/s  `rclone copy` of the plaintext to a crypt
#                                   remote over the same bucket
#   s3_curl                   MB/s  `curl -T` of the ciphertext (UNSIGNED-PAYLOAD,
#                                   no Content-MD5: no integrity checks at all)
#   s3_dock_vs_curl           ratio median over the rounds of the round's
#                                   curl -T time (its whole process) / dock
#                                   upload time (target >= 0.9); the rounds'
#                                   own ratios follow as
#   s3_dock_vs_curl_round_N   ratio (one line per round)
#   s3_dock_process_vs_curl   ratio the same with the dock's whole storetool
#                                   process timed (the uploader's start, the
#                                   probe: what dockd does once at boot)
#   s3_uploader_vs_in_process ratio median over the rounds of the in-process
#                                   put's time / the uploader's put time
#                                   (1.0: the process split costs nothing)
#   s3_dock_requests_per_connection  requests / new connections of one dock
#                                   upload (connection reuse: docs/storage-s3.md)
#   s3_dock_vs_rclone_crypt   ratio s3_dock_encrypt_upload / s3_rclone_crypt
#                                   (target > 1; both start from plaintext)
#   s3_resent_per_interruption bytes of parts sent again per kill -9 of an
#                                   upload (KILLS kills at random points,
#                                   bandwidth-capped so they land mid-upload)
# MB = 10^6 bytes. ROUNDS (default 3) rounds, the order of the runs reversed
# in every other round (the machine is shared; noise is large); each MB/s
# figure is the best of its runs, every run is printed as a `#` line; the
# dock/curl ratio compares the two runs of the same round (taken one right
# after the other, the dock's through the uploader process), then takes the
# median; every round's figures are printed on a `# round N:` line. Objects are
# deleted after each run (RGW's test OSD holds 10 GiB).
# Environment (tests/bench.sh): TOP, BUILD, BIN, TBIN; SIZE_MB, ROUNDS,
# KILLS, KILL_MB, S3_BENCH_SCHEME.
set -u
. "$(dirname "$0")/../lib.sh"
: "${TBIN:=$TOP/${BUILD:-build}/tests}"
ST="$TBIN/tools/storetool"
CUSTODY="${BIN:-$TOP/${BUILD:-build}/bin}/custody"
DOCKD=$(cd "$TOP" && realpath "${BIN:-$TOP/${BUILD:-build}/bin}/dockd" 2>/dev/null)
if [ ! -x "$ST" ] || [ ! -x "$CUSTODY" ] || [ ! -x "$DOCKD" ]; then
	echo "s3 bench: $ST, $CUSTODY or dockd not built; skipped"
	exit 0
fi
# Not /tmp (may be a RAM disk): the vault file lives on a real disk.
T=$(mktemp -d "$TOP/build/bench-s3.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$TOP/tests/s3_lib.sh"
s3_up
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
KILLS=${KILLS:-10}
KILL_MB=${KILL_MB:-256}
if [ "${S3_BENCH_SCHEME:-https}" = http ]; then EP=$S3_ENDPOINT_HTTP; else EP=$S3_ENDPOINT_HTTPS; fi
echo "# endpoint $EP, one recording of $SIZE_MB MiB, $ROUNDS rounds"
B=$(s3_uniq bench)
s3_bucket "$B" >/dev/null || exit 1
"$CUSTODY" agency-keygen --type p256 --private "$T/agency.key" --public "$T/agency.pem" \
	>/dev/null 2>&1 || { echo "s3 bench: agency-keygen failed"; exit 1; }

conf() { # FILE STATE PART_MB PARALLEL BW_MBIT
	mkdir -p "$2"
	cat >"$1" <<EOF
[dock]
id = dock-1
agency_id = agency-1
state_dir = $2
log_level = info
[encryption]
recipients = $T/agency.pem
[storage]
target = s3://$B/dock
bandwidth_mbit = $5
[s3]
endpoint = $EP
ca_file = $S3_CA_FILE
addressing = path
credentials_file = $S3_CREDS_FILE
part_size_mb = $3
parallel_parts = $4
read_back_verify = true
EOF
}
ms() { date +%s%3N; }
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1e6 / (t / 1000) }'; }
best=
keep() { # NAME MS: remember the smallest time per name
	old=$(sed -n "s/^$1 //p" "$T/best" 2>/dev/null)
	if [ -z "$old" ] || [ "$2" -lt "$old" ]; then
		sed -i "/^$1 /d" "$T/best" 2>/dev/null
		echo "$1 $2" >>"$T/best"
	fi
}
get() { sed -n "s/^$1 //p" "$T/best"; }
: >"$T/best"

conf "$T/dock.conf" "$T/state" 16 4 0
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$T/plain" || exit 1
sync
t0=$(ms)
sha=$("$ST" --config "$T/dock.conf" seal "$T/plain" "$T/ct" | sed -n 's/^sha256 //p')
t1=$(ms)
[ -n "$sha" ] || { echo "s3 bench: seal failed"; exit 1; }
keep seal $((t1 - t0))
bytes=$(stat -c %s "$T/plain")
# The same seal with a file:// target (no part digests): what taking them
# at ingest costs.
sed 's|^target = .*|target = file://'"$T"'/filestore|; /^\[s3\]/,$d' "$T/dock.conf" >"$T/file.conf"
sync
t0=$(ms)
"$ST" --config "$T/file.conf" seal "$T/plain" "$T/ct.nodig" >/dev/null || echo "# file-target seal failed"
t1=$(ms)
rm -f "$T/ct.nodig"
keep sealnodig $((t1 - t0))
ctbytes=$(stat -c %s "$T/ct")

cat >"$T/rclone.conf" <<EOF
[rgw]
type = s3
provider = Ceph
access_key_id = $S3_ACCESS_KEY
secret_access_key = $S3_SECRET_KEY
endpoint = $EP
region = us-east-1
force_path_style = true

[sec]
type = crypt
remote = rgw:$B/rclone
password = $(rclone obscure "bench-$$" 2>/dev/null)
EOF
# rclone 1.60 reads AWS_CA_BUNDLE and chokes on it here: drop it.
rcl() { env -u AWS_CA_BUNDLE rclone --config "$T/rclone.conf" --ca-cert "$S3_CA_FILE" "$@"; }

# The dock's put as dockd makes it: through the storage uploader process.
# Timed two ways: the put call alone (storetool --timed: the uploader
# already started and the target probed, as in a running dockd, which does
# both once at boot; its connections are new, TLS handshakes included, as
# curl's are) and the whole storetool process (+ the uploader's start,
# configuration, credentials, uploads.db, the probe's two requests).
run_dock() {
	rm -rf "$T/state"; conf "$T/dock.conf" "$T/state" 16 4 0
	t0=$(ms)
	"$ST" --config "$T/dock.conf" --uploader "$DOCKD" --timed put one "$T/ct" --sha256 "$sha" \
		>"$T/dock.out" 2>"$T/dock.err" || { echo "# dock put failed: $(tail -1 "$T/dock.err")"; return; }
	t1=$(ms)
	"$ST" --config "$T/dock.conf" --uploader "$DOCKD" --timed verify one "$T/ct" --sha256 "$sha" \
		>"$T/verify.out" 2>>"$T/dock.err" || { echo "# dock verify failed: $(tail -1 "$T/dock.err")"; return; }
	pm=$(sed -n 's/^ms //p' "$T/dock.out"); vm=$(sed -n 's/^ms //p' "$T/verify.out")
	echo "# run dock upload (uploader process) $pm ms, + read-back $((pm + vm)) ms;" \
		"whole storetool process $((t1 - t0)) ms"
	keep dock "$pm"; keep dockrb $((pm + vm))
	echo "$r $pm" >>"$T/dock.rounds"
	echo "$r $((t1 - t0))" >>"$T/dockproc.rounds"
	sed -n 's/.*; \([0-9]*\) requests over \([0-9]*\) new connections.*/\1 \2/p' "$T/dock.err" |
		tail -1 >"$T/dock.conns"
	s3_curl -s -o /dev/null -X DELETE "$EP/$B/dock/one"
}
# The same put with the S3 client in storetool's own process.
run_inproc() {
	rm -rf "$T/state"; conf "$T/dock.conf" "$T/state" 16 4 0
	"$ST" --config "$T/dock.conf" --timed put one "$T/ct" --sha256 "$sha" >"$T/inproc.out" \
		2>"$T/inproc.err" || { echo "# in-process put failed: $(tail -1 "$T/inproc.err")"; return; }
	pm=$(sed -n 's/^ms //p' "$T/inproc.out")
	echo "# run dock upload (in process) $pm ms"
	keep inproc "$pm"
	echo "$r $pm" >>"$T/inproc.rounds"
	s3_curl -s -o /dev/null -X DELETE "$EP/$B/dock/one"
}
run_curl() {
	t0=$(ms)
	code=$(s3_curl -s -o /dev/null -w '%{http_code}' -T "$T/ct" "$EP/$B/curl/one")
	t1=$(ms)
	[ "$code" = 200 ] || { echo "# curl -T failed: HTTP $code"; return; }
	echo "# run curl -T $((t1 - t0)) ms"
	keep curl $((t1 - t0))
	echo "$r $((t1 - t0))" >>"$T/curl.rounds"
	s3_curl -s -o /dev/null -X DELETE "$EP/$B/curl/one"
}
run_rclone() {
	command -v rclone >/dev/null 2>&1 || { echo "# rclone not installed"; return; }
	t0=$(ms)
	rcl copy "$T/plain" sec:r >"$T/rclone.err" 2>&1 ||
		{ echo "# rclone failed: $(tail -1 "$T/rclone.err")"; return; }
	t1=$(ms)
	echo "# run rclone crypt $((t1 - t0)) ms"
	keep rclone $((t1 - t0))
	rcl purge rgw:"$B"/rclone >/dev/null 2>&1
}
: >"$T/dock.rounds"; : >"$T/curl.rounds"; : >"$T/inproc.rounds"; : >"$T/dockproc.rounds"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "# round $r: $(uptime)"
	# the dock's and curl's runs of a round always back to back
	if [ $((r % 2)) = 1 ]; then run_inproc; run_dock; run_curl; run_rclone
	else run_rclone; run_curl; run_dock; run_inproc; fi
	r=$((r + 1))
done

d=$(get dock); c=$(get curl); rc=$(get rclone); s=$(get seal); rb=$(get dockrb)
echo "# seal $s ms; bytes: plaintext $bytes, ciphertext $ctbytes"
ip=$(get inproc)
[ -n "$d" ] && echo "BENCH s3_dock_upload $(mbs "$ctbytes" "$d") MB/s"
[ -n "$rb" ] && echo "BENCH s3_dock_upload_readback $(mbs "$ctbytes" "$rb") MB/s"
[ -n "$ip" ] && echo "BENCH s3_dock_upload_in_process $(mbs "$ctbytes" "$ip") MB/s"
echo "BENCH s3_dock_seal $(mbs "$bytes" "$s") MB/s"
echo "BENCH s3_dock_seal_without_part_digests $(mbs "$bytes" "$(get sealnodig)") MB/s"
[ -n "$d" ] && echo "BENCH s3_dock_encrypt_upload $(mbs "$bytes" $((s + d))) MB/s"
[ -n "$rc" ] && echo "BENCH s3_rclone_crypt $(mbs "$bytes" "$rc") MB/s"
[ -n "$c" ] && echo "BENCH s3_curl $(mbs "$ctbytes" "$c") MB/s"
median() { sort -n | awk '{ v[NR] = $1 }
	END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Per round: curl's time / the dock's time of the same round; the
# in-process put's time / the uploader's.
join "$T/dock.rounds" "$T/curl.rounds" | awk '{ printf "%d %.3f\n", $1, $3 / $2 }' >"$T/ratios"
join "$T/dock.rounds" "$T/inproc.rounds" | awk '{ printf "%d %.3f\n", $1, $3 / $2 }' >"$T/split"
join "$T/dockproc.rounds" "$T/curl.rounds" | awk '{ printf "%d %.3f\n", $1, $3 / $2 }' >"$T/procratios"
rmbs() { # FILE ROUND
	v=$(sed -n "s/^$2 //p" "$1"); [ -n "$v" ] && mbs "$ctbytes" "$v" || echo "-"; }
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "# round $r: dock (uploader process) $(rmbs "$T/dock.rounds" $r) MB/s," \
		"curl -T $(rmbs "$T/curl.rounds" $r) MB/s, dock/curl $(sed -n "s/^$r //p" "$T/ratios");" \
		"dock in process $(rmbs "$T/inproc.rounds" $r) MB/s," \
		"uploader/in-process $(sed -n "s/^$r //p" "$T/split");" \
		"whole process $(rmbs "$T/dockproc.rounds" $r) MB/s, its dock/curl $(sed -n "s/^$r //p" "$T/procratios")"
	r=$((r + 1))
done
if [ -s "$T/ratios" ]; then
	echo "BENCH s3_dock_vs_curl $(awk '{ print $2 }' "$T/ratios" | median) ratio"
	while read -r rn ra; do echo "BENCH s3_dock_vs_curl_round_$rn $ra ratio"; done <"$T/ratios"
fi
[ -s "$T/procratios" ] &&
	echo "BENCH s3_dock_process_vs_curl $(awk '{ print $2 }' "$T/procratios" | median) ratio"
[ -s "$T/split" ] && echo "BENCH s3_uploader_vs_in_process $(awk '{ print $2 }' "$T/split" | median) ratio"
if [ -s "$T/dock.conns" ]; then
	read -r nreq ncon <"$T/dock.conns"
	echo "# one dock upload: $nreq requests over $ncon new connections"
	[ "${ncon:-0}" -gt 0 ] &&
		echo "BENCH s3_dock_requests_per_connection $(awk -v a="$nreq" -v b="$ncon" 'BEGIN { printf "%.1f", a / b }') ratio"
fi
[ -n "$d" ] && [ -n "$rc" ] &&
	echo "BENCH s3_dock_vs_rclone_crypt $(awk -v a=$((s + d)) -v b="$rc" 'BEGIN { printf "%.3f", b / a }') ratio"
rm -f "$T/plain"

# ---- interruptions: kill -9 at random points, then resume --------------------
# 5 MiB parts, 3 in flight, 400 Mbit/s, one kill every 0.2-0.8 s.
head -c $((KILL_MB * 1048576)) "$T/ct" >"$T/k"
conf "$T/k.conf" "$T/sk" 5 3 400
ksize=$(stat -c %s "$T/k")
kills=0
: >"$T/k.err"
while [ "$kills" -lt "$KILLS" ]; do
	"$ST" --config "$T/k.conf" -v put two "$T/k" >/dev/null 2>>"$T/k.err" &
	pid=$!
	sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 7 + 2 ))"
	kill -9 "$pid" 2>/dev/null || { wait "$pid"; break; }
	wait "$pid" 2>/dev/null
	kills=$((kills + 1))
done
"$ST" --config "$T/k.conf" -v put two "$T/k" >/dev/null 2>>"$T/k.err" || echo "# resume failed"
"$ST" --config "$T/k.conf" verify two "$T/k" >/dev/null 2>&1 || echo "# verify after kills failed"
# Every part attempt logs "part N/M: sending BYTES bytes": re-sent bytes are
# all bytes handed out minus the file's size.
sent=$(awk '/: sending [0-9]+ bytes/ { for (i = 1; i <= NF; i++) if ($i == "sending") s += $(i + 1) }
	END { printf "%.0f", s }' "$T/k.err")
echo "# $kills kills; $sent part bytes sent for $ksize bytes"
resent=$(awk -v s="$sent" -v k="$ksize" -v n="$kills" 'BEGIN { printf "%.0f", (n > 0 ? (s - k) / n : 0) }')
echo "BENCH s3_resent_per_interruption $resent bytes"
