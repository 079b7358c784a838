#!/bin/sh
# The s3:// storage target (dockd/store/store_s3.c) against a real Ceph RGW,
# driven by tests/tools/storetool: single PUT and multipart byte-identical,
# the same multipart put through the storage uploader process (as dockd),
# write-once, kill -9 during multipart uploads then resume (only the parts
# in flight re-sent, no orphaned uploads), tampered upload records, orphan
# abort at open, Object Lock (retain-until, legal hold), lock required on a
# plain bucket, bad credentials / missing bucket.
. "$(dirname "$0")/../lib.sh"
mktmp

. "$TOP/tests/s3_lib.sh"
s3_up

ST="$TBIN/tools/storetool"
[ -x "$ST" ] || { not_ok "storetool is built ($ST)"; done_testing; }
B=$(s3_uniq st)
s3_bucket "$B-p" || not_ok "create bucket $B-p"
s3_bucket "$B-l" lock || not_ok "create bucket $B-l (Object Lock)"
mkdir -p "$T/state" "$T/state2"
echo "not a key: the config needs one recipient" >"$T/agency.pem"

# conf FILE BUCKET/PREFIX [extra [s3] lines...]
conf() {
	f=$1 tgt=$2 state=${STATE:-$T/state}
	shift 2
	cat >"$f" <<EOF
[dock]
id = dock-1
agency_id = agency-1
state_dir = $state
log_level = ${LOGLEVEL:-info}
[encryption]
recipients = $T/agency.pem
[storage]
target = s3://$tgt
bandwidth_mbit = ${BW:-0}
[s3]
endpoint = ${ENDPOINT:-$S3_ENDPOINT_HTTP}
region = us-east-1
addressing = path
credentials_file = $S3_CREDS_FILE
part_size_mb = 5
parallel_parts = 3
read_back_verify = true
max_attempts = 3
EOF
	for l in "$@"; do echo "$l" >>"$f"; done
}

PREFIX="evidence store/äöü"
conf "$T/p.conf" "$B-p/$PREFIX"
head -c 100000 /dev/urandom >"$T/small"
head -c $((20 * 1048576 + 12345)) /dev/urandom >"$T/big"

# ---- single PUT and multipart, byte-identical ---------------------------------
check "single PUT" "$ST" --config "$T/p.conf" put a/cam1/small.bcde "$T/small" --category "dui stop" --case "C-1"
check "verify single (HEAD + read-back SHA-256)" "$ST" --config "$T/p.conf" verify a/cam1/small.bcde "$T/small"
"$ST" --config "$T/p.conf" get a/cam1/small.bcde "$T/small.back"
check "single PUT object is byte-identical" cmp -s "$T/small" "$T/small.back"
"$ST" --config "$T/p.conf" head a/cam1/small.bcde >"$T/h1"
check "single PUT tags" grep -q "^tag category=dui stop" "$T/h1"

"$ST" --config "$T/p.conf" -v put a/cam1/big.bcde "$T/big" --category traffic >"$T/big.out" 2>"$T/big.err"
check "multipart put (20 MiB, 5 MiB parts, 3 in flight)" test $? -eq 0
check "multipart sent 5 parts" test "$(grep -c 'part [0-9]*/5: sending' "$T/big.err")" -eq 5
check "multipart progress counted every byte" grep -q "^progress $((20 * 1048576 + 12345))$" "$T/big.out"
check "multipart ETag has -5" grep -q '^etag [0-9a-f]\{32\}-5$' "$T/big.out"
check "verify multipart" "$ST" --config "$T/p.conf" verify a/cam1/big.bcde "$T/big"
"$ST" --config "$T/p.conf" get a/cam1/big.bcde "$T/big.back"
check "multipart object is byte-identical" cmp -s "$T/big" "$T/big.back"
"$ST" --config "$T/p.conf" head a/cam1/big.bcde >"$T/h2"
check "multipart tags set after completion" grep -q "^tag category=traffic" "$T/h2"
check "no upload state left" test "$(sqlite3 "$T/state/uploads.db" 'SELECT count(*) FROM uploads')" = 0

# ---- the same through the storage uploader process, as dockd runs it ----------
# (storetool --uploader: `dockd --store-worker`, the file and its descriptors
# handed over, progress messages back)
DOCKD=$(realpath "$BIN/dockd")
"$ST" --config "$T/p.conf" --uploader "$DOCKD" put a/cam1/up.bcde "$T/big" >"$T/up.out" 2>"$T/up.err"
check "uploader: multipart put" test $? -eq 0 || sed 's/^/#   /' "$T/up.err"
check "uploader: it ran in a storage uploader process" grep -q "storage uploader started" "$T/up.err"
check "uploader: the last progress message counted every byte" \
	grep -q "^progress $((20 * 1048576 + 12345))$" "$T/up.out"
"$ST" --config "$T/p.conf" --uploader "$DOCKD" verify a/cam1/up.bcde "$T/big" 2>"$T/upv.err"
check "uploader: verify" test $? -eq 0 || sed 's/^/#   /' "$T/upv.err"
"$ST" --config "$T/p.conf" get a/cam1/up.bcde "$T/up.back"
check "uploader: object is byte-identical" cmp -s "$T/big" "$T/up.back"

# ---- HTTPS with the test CA ------------------------------------------------------
ENDPOINT=$S3_ENDPOINT_HTTPS conf "$T/s.conf" "$B-p/tls" "ca_file = $S3_CA_FILE"
check "put over HTTPS (CA file)" "$ST" --config "$T/s.conf" put a/cam1/tls.bcde "$T/small"
ENDPOINT=$S3_ENDPOINT_HTTPS conf "$T/s2.conf" "$B-p/tls"
"$ST" --config "$T/s2.conf" verify a/cam1/tls.bcde "$T/small" 2>"$T/tls.err"
check "HTTPS without the CA: refused (-EKEYREJECTED)" grep -q "(-129)" "$T/tls.err"

# ---- write-once ---------------------------------------------------------------
check "put of identical bytes again succeeds" "$ST" --config "$T/p.conf" put a/cam1/big.bcde "$T/big"
head -c $((20 * 1048576 + 12345)) /dev/urandom >"$T/other"
"$ST" --config "$T/p.conf" put a/cam1/big.bcde "$T/other" 2>"$T/eexist.err"
check "different bytes under an existing key: -EEXIST" grep -q "(-17)" "$T/eexist.err"
"$ST" --config "$T/p.conf" get a/cam1/big.bcde "$T/big.back2"
check "existing object not overwritten" cmp -s "$T/big" "$T/big.back2"
"$ST" --config "$T/p.conf" verify a/cam1/big.bcde "$T/other" 2>"$T/vbad.err"
check "verify against other bytes: -EBADMSG" grep -q "(-74)" "$T/vbad.err"
"$ST" --config "$T/p.conf" verify a/cam1/nothere.bcde "$T/other" 2>"$T/vnone.err"
check "verify of an absent key: -ENOENT" grep -q "(-2)" "$T/vnone.err"

# ---- kill -9 during multipart uploads, then resume ----------------------------
# 60 MiB (12 parts) at 40 Mbit/s (~12 s per upload): kill at random points,
# then finish. Every part upload logs "part N/12: sending" (debug) when it
# starts, killed runs included, so the log counts every part sent.
# Kill points are placed by what the run has done, not by time since its
# start (storetool's start-up alone can take a second on a loaded machine):
# run 1 is killed as soon as its first part is recorded as stored, so the
# next run must resume; the others 0-0.6 s after their first part started.
# The rate limiter starts with one second of tokens (5 MB here), so the
# first three parts (15 MiB) of a run take ~2 s: a run killed 0-0.6 s after
# its first "sending" still has its parts in flight.
# Part sends in a log (s3 debug lines, dockd/store/store_s3_mpu.c): prints
# "SENDS PARTS RESENDS AGAIN": part sends, distinct (object, part), sends
# beyond the first of a part, and sends of a part already logged as stored
# (kept or sent) for an upload not since found broken: a resumed upload
# never sends those again; one that never resumes does.
part_sends() { # LOG
	python3 - "$1" <<'PY'
import re, sys
sent, stored, sends, again = set(), {}, 0, 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"upload of (.+?): part (\d+)(?:/\d+)?(: sending| stored| was stored before)", line)
    if m:
        k, n = m.group(1), int(m.group(2))
        if m.group(3) == ": sending":
            sends += 1
            again += n in stored.get(k, set())
            sent.add((k, n))
        else:
            stored.setdefault(k, set()).add(n)
    m = re.search(r"upload (?:\S+ )?of (.+?): part (\d+) (?:recorded but not on the server|.*does not match our record)", line)
    if m:
        stored.pop(m.group(1), None)
print(sends, len(sent), sends - len(sent), again)
PY
}
head -c $((60 * 1048576)) /dev/urandom >"$T/k"
BW=40 LOGLEVEL=debug conf "$T/k.conf" "$B-p/$PREFIX"
# until_logged FILE PATTERN PID: PATTERN appears in FILE; fails if PID exits first (60 s cap)
until_logged() {
	n=0
	while ! grep -q "$2" "$1"; do
		kill -0 "$3" 2>/dev/null || return 1
		n=$((n + 1))
		[ $n -le 1200 ] || return 1
		sleep 0.05
	done
}
kills=0 unplaced=0
: >"$T/k.err"
for i in 1 2 3 4 5 6; do
	"$ST" --config "$T/k.conf" put a/cam2/k.bcde "$T/k" 2>"$T/k.$i.err" >/dev/null &
	pid=$!
	if [ $i = 1 ]; then
		until_logged "$T/k.$i.err" 'part [0-9]*/12 stored' $pid || unplaced=$((unplaced + 1))
	else
		until_logged "$T/k.$i.err" 'part [0-9]*/12: sending' $pid || unplaced=$((unplaced + 1))
		sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 7 ))"
	fi
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null
	cat "$T/k.$i.err" >>"$T/k.err"
done
check "every kill point was placed mid-upload (by the run's own log)" test $unplaced = 0
"$ST" --config "$T/k.conf" put a/cam2/k.bcde "$T/k" 2>>"$T/k.err" >/dev/null
check "put completes after $kills kill -9" test $? -eq 0
set -- $(part_sends "$T/k.err")
sends=${1:-0}; parts=${2:-0}; resends=${3:-0}; again=${4:-0}
echo "# $sends part sends of $parts parts: $resends re-sent, $again after being stored"
check "all 12 parts were sent" test "$parts" -eq 12
check "no part stored before a kill was sent again (the upload resumes)" test "$again" -eq 0
check "each interruption re-sent at most the 3 parts in flight ($resends re-sent, $kills kills)" \
	test "$resends" -le $((3 * kills))
check "every kill hit an unfinished upload" test "$kills" -ge 4
check "resume was used" grep -q "resuming upload of" "$T/k.err"
check "verify after kills" "$ST" --config "$T/k.conf" verify a/cam2/k.bcde "$T/k"
"$ST" --config "$T/p.conf" orphans >"$T/orph1" 2>/dev/null
check "no orphaned multipart uploads remain" grep -q "^uploads 0$" "$T/orph1"

# ---- connections reset mid-part (faultproxy): retried, only those bytes again --
if s3_proxy --reset-after 3000000:3; then
	ENDPOINT=$S3_PROXY_URL conf "$T/x.conf" "$B-p/$PREFIX-x"
	check "multipart through resetting connections" \
		"$ST" --config "$T/x.conf" put a/cam5/x.bcde "$T/big"
	s3_proxy_stop
	resets=$(s3_proxy_stat resets)
	up=$(s3_proxy_stat bytes_up)
	check "the proxy did reset connections ($resets)" test "${resets:-0}" -ge 1
	# object + at most one part per reset + 1 MiB of request heads
	check "bytes sent <= object + one part per reset ($up)" \
		test "${up:-0}" -le $((20 * 1048576 + 12345 + ${resets:-0} * 5242880 + 1048576))
	conf "$T/x2.conf" "$B-p/$PREFIX-x"
	check "verify after resets" "$ST" --config "$T/x2.conf" verify a/cam5/x.bcde "$T/big"
else
	not_ok "faultproxy starts"
fi

# ---- a tampered part record: loud mismatch, then a fresh upload -----------------
BW=80 conf "$T/t.conf" "$B-p/$PREFIX"
"$ST" --config "$T/t.conf" put a/cam3/t.bcde "$T/k" 2>/dev/null &
pid=$!
n=0
while [ "$n" -lt 100 ]; do
	c=$(sqlite3 "$T/state/uploads.db" 'SELECT count(*) FROM parts' 2>/dev/null || echo 0)
	[ "${c:-0}" -ge 2 ] && break
	sleep 0.1
	n=$((n + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# A part on the server whose record was lost (as after a crash between the
# server's 200 and our commit) is checked against our bytes and kept.
lost=$(sqlite3 "$T/state/uploads.db" 'SELECT min(number) FROM parts')
sqlite3 "$T/state/uploads.db" "DELETE FROM parts WHERE number = $lost"
BW=80 LOGLEVEL=debug conf "$T/t2.conf" "$B-p/$PREFIX"
"$ST" --config "$T/t2.conf" put a/cam3/t.bcde "$T/k" 2>"$T/t2.err" >/dev/null &
pid=$!
n=0
until grep -q "sending" "$T/t2.err" || [ "$n" -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "unrecorded server part with our bytes: kept" grep -q "part $lost was stored before an interruption; kept" "$T/t2.err"
check "unrecorded server part with our bytes: not sent again" \
	test "$(grep -c "part $lost/12: sending" "$T/t2.err")" -eq 0
sqlite3 "$T/state/uploads.db" "UPDATE parts SET etag = '0123456789abcdef0123456789abcdef' WHERE number = (SELECT min(number) FROM parts)"
"$ST" --config "$T/t.conf" put a/cam3/t.bcde "$T/k" 2>"$T/t.err" >/dev/null
check "tampered record: put fails with -EBADMSG" grep -q "(-74)" "$T/t.err"
check "tampered record: loud mismatch" grep -q "does not match our record" "$T/t.err"
check "tampered record: upload aborted and forgotten" \
	test "$(sqlite3 "$T/state/uploads.db" 'SELECT count(*) FROM uploads')" = 0
check "after a mismatch the next put starts afresh" "$ST" --config "$T/t.conf" put a/cam3/t.bcde "$T/k"
check "verify after fresh upload" "$ST" --config "$T/t.conf" verify a/cam3/t.bcde "$T/k"

# ---- orphan abort at open ---------------------------------------------------------
STATE=$T/state2 BW=80 conf "$T/o.conf" "$B-p/$PREFIX-o"
"$ST" --config "$T/o.conf" put a/cam4/o.bcde "$T/k" 2>/dev/null &
pid=$!
n=0
while [ "$n" -lt 100 ]; do
	c=$(sqlite3 "$T/state2/uploads.db" 'SELECT count(*) FROM parts' 2>/dev/null || echo 0)
	[ "${c:-0}" -ge 1 ] && break
	sleep 0.1
	n=$((n + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$ST" --config "$T/o.conf" orphans >"$T/orph2" 2>/dev/null
check "a recorded unfinished upload is not an orphan" grep -q "^uploads 1$" "$T/orph2"
rm -f "$T/state2/uploads.db" "$T/state2/uploads.db-wal" "$T/state2/uploads.db-shm"
"$ST" --config "$T/o.conf" orphans >"$T/orph3" 2>"$T/orph3.err"
check "orphan aborted at open" grep -q "aborting orphaned multipart upload" "$T/orph3.err"
check "no uploads left after the sweep" grep -q "^uploads 0$" "$T/orph3"

# ---- Object Lock --------------------------------------------------------------------
until=$(($(date +%s) + 3600))
conf "$T/l.conf" "$B-l/locked" "object_lock = compliance"
check "single PUT with retention + legal hold" \
	"$ST" --config "$T/l.conf" put a/c/l1.bcde "$T/small" --retain-until "$until" --legal-hold --category x
"$ST" --config "$T/l.conf" head a/c/l1.bcde >"$T/hl1"
check "single: COMPLIANCE" grep -q "^lock_mode COMPLIANCE$" "$T/hl1"
check "single: retain-until" test "$(sed -n 's/^retain_until //p' "$T/hl1")" -ge "$until"
check "single: legal hold" grep -q "^legal_hold 1$" "$T/hl1"
check "multipart with retention + legal hold" \
	"$ST" --config "$T/l.conf" put a/c/l2.bcde "$T/big" --retain-until "$until" --legal-hold
"$ST" --config "$T/l.conf" head a/c/l2.bcde >"$T/hl2"
check "multipart: COMPLIANCE" grep -q "^lock_mode COMPLIANCE$" "$T/hl2"
check "multipart: retain-until" test "$(sed -n 's/^retain_until //p' "$T/hl2")" -ge "$until"
check "multipart: legal hold" grep -q "^legal_hold 1$" "$T/hl2"
check "verify locked multipart" "$ST" --config "$T/l.conf" verify a/c/l2.bcde "$T/big"
# A retention that lapsed before the upload (S3 refuses a past date): stored,
# locked for at least a day from now, with a warning.
lapsed=$(($(date +%s) - 3 * 86400))
check "lapsed retention: the put still succeeds" \
	"$ST" --config "$T/l.conf" put a/c/l3.bcde "$T/small" --retain-until "$lapsed" 2>"$T/l3.err"
check "lapsed retention: a warning names it" grep -q "before now + 1 day" "$T/l3.err"
"$ST" --config "$T/l.conf" head a/c/l3.bcde >"$T/hl3"
check "lapsed retention: locked until at least now + 1 day" \
	test "$(sed -n 's/^retain_until //p' "$T/hl3")" -ge "$(($(date +%s) + 86400 - 120))"

conf "$T/r.conf" "$B-p/req" "object_lock = compliance" "object_lock_required = true"
"$ST" --config "$T/r.conf" put a/c/r.bcde "$T/small" 2>"$T/r.err"
check "lock required + plain bucket: -ENOTSUP" grep -q "(-95)" "$T/r.err"
check "lock required + plain bucket: clear message" grep -q "has no Object Lock" "$T/r.err"

# ---- a damaged source is never stored -------------------------------------------
# The hash dockd recorded at stored_local is passed as --sha256; the file then
# changes by one byte (bit rot in the vault): nothing may be stored.
damaged() { # NAME SIZE OFFSET
	head -c "$2" /dev/urandom >"$T/$1"
	dm_sha=$(sha256sum "$T/$1" | cut -d' ' -f1)
	flip_byte "$T/$1" "$3"
	"$ST" --config "$T/p.conf" put "a/dmg/$1.bcde" "$T/$1" --sha256 "$dm_sha" 2>"$T/$1.err"
}
damaged dsmall 70000 1234
check "damaged source, single PUT: refused (-EUCLEAN)" grep -q "(-117)" "$T/dsmall.err"
check "damaged source, single PUT: the log says why" grep -q "no longer matches its recorded SHA-256" "$T/dsmall.err"
check_fails "damaged source, single PUT: no object" "$ST" --config "$T/p.conf" head a/dmg/dsmall.bcde
damaged dbig $((12 * 1048576)) $((11 * 1048576))
check "damaged source, multipart: refused (-EUCLEAN)" grep -q "(-117)" "$T/dbig.err"
check_fails "damaged source, multipart: no object" "$ST" --config "$T/p.conf" head a/dmg/dbig.bcde
check "damaged source, multipart: the upload was aborted, no state left" \
	test "$(sqlite3 "$T/state/uploads.db" "SELECT count(*) FROM uploads WHERE key LIKE '%dmg%'")" = 0
check "damaged source, multipart: no orphaned upload on the server" \
	sh -c '! "$1" --config "$2" orphans 2>/dev/null | grep -q dmg' - "$ST" "$T/p.conf"

# ---- part digests taken when the file is written (dockd/ingest/partsum.h) ----------
# storetool seal leaves FILE.parts as dockd's ingest does with an s3://
# target; put then sends those digests without hashing, and the server's
# checks of them are the check of the vault copy.
"$BIN/custody" agency-keygen --type p256 --private "$T/ak.key" --public "$T/ak.pem" \
	>/dev/null 2>&1
conf "$T/ps.conf" "$B-p/ps"
sed -i "s|^recipients = .*|recipients = $T/ak.pem|" "$T/ps.conf"
head -c $((12 * 1048576 + 777)) /dev/urandom >"$T/pt"
ps_sha=$("$ST" --config "$T/ps.conf" seal "$T/pt" "$T/ps1" | sed -n 's/^sha256 //p')
check "seal with an s3:// target leaves part digests" test -s "$T/ps1.parts"
cp "$T/ps1" "$T/ps2"; cp "$T/ps1.parts" "$T/ps2.parts"
cp "$T/ps1" "$T/ps3"; cp "$T/ps1.parts" "$T/ps3.parts"
cp "$T/ps1" "$T/ps4"; cp "$T/ps1.parts" "$T/ps4.parts"
"$ST" --config "$T/ps.conf" put a/ps/one.bcde "$T/ps1" --sha256 "$ps_sha" >/dev/null 2>"$T/ps1.err"
check "put with the digests taken at seal" test $? -eq 0
check "... they were used" grep -q "with the part digests taken at ingest" "$T/ps1.err"
check "... and held: no fallback to hashing" sh -c '! grep -q "checking the vault file" "$1"' - "$T/ps1.err"
check "verify (read-back SHA-256)" "$ST" --config "$T/ps.conf" verify a/ps/one.bcde "$T/ps1"
# one changed vault byte: the server refuses that part, the fallback's
# whole-file check finds the damage, nothing is stored
flip_byte "$T/ps2" $((7 * 1048576))
"$ST" --config "$T/ps.conf" put a/ps/two.bcde "$T/ps2" --sha256 "$ps_sha" >/dev/null 2>"$T/ps2.err"
check "damaged vault copy with digests: refused (-EUCLEAN)" grep -q "(-117)" "$T/ps2.err"
check "... the server refused the part first" grep -q "checking the vault file" "$T/ps2.err"
check_fails "... no object" "$ST" --config "$T/ps.conf" head a/ps/two.bcde
# a wrong digest in a well-formed file: the part is refused, the fallback
# finds the vault copy sound and stores it
python3 - "$T/ps3.parts" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[72 + 48] ^= 1                        # part 2's MD5, first byte
b[-32:] = hashlib.sha256(b[:-32]).digest()
open(sys.argv[1], "wb").write(b)
PY
"$ST" --config "$T/ps.conf" put a/ps/three.bcde "$T/ps3" --sha256 "$ps_sha" >/dev/null 2>"$T/ps3.err"
check "wrong digest file: put still succeeds" test $? -eq 0
check "... after falling back to hashing" grep -q "checking the vault file" "$T/ps3.err"
check "... verify" "$ST" --config "$T/ps.conf" verify a/ps/three.bcde "$T/ps3"
# a damaged digest file (trailer): not used at all
flip_byte "$T/ps4.parts" 100
"$ST" --config "$T/ps.conf" put a/ps/four.bcde "$T/ps4" --sha256 "$ps_sha" >/dev/null 2>"$T/ps4.err"
check "damaged digest file: put succeeds" test $? -eq 0
check "... without it" sh -c '! grep -q "taken at ingest" "$1"' - "$T/ps4.err"
check "... verify" "$ST" --config "$T/ps.conf" verify a/ps/four.bcde "$T/ps4"

# ---- server problems are clear, and do not fail open --------------------------
conf "$T/nb.conf" "nosuch-$B/x"
"$ST" --config "$T/nb.conf" put a/c/n.bcde "$T/small" 2>"$T/nb.err"
check "missing bucket: -ENXIO" grep -q "(-6)" "$T/nb.err"
check "missing bucket: clear message" grep -q "bucket does not exist" "$T/nb.err"
printf 'access_key = %s\nsecret_key = wrongwrongwrong\n' "$(sed -n 's/^access_key *= *//p' "$S3_CREDS_FILE")" >"$T/badcreds"
chmod 600 "$T/badcreds"
conf "$T/bc.conf" "$B-p/x" "credentials_file = $T/badcreds"
"$ST" --config "$T/bc.conf" put a/c/n.bcde "$T/small" 2>"$T/bc.err"
check "bad secret: -EACCES" grep -q "(-13)" "$T/bc.err"

done_testing
