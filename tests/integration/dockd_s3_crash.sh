#!/bin/sh
# kill -9 dockd at random points while it uploads to S3 (a real Ceph RGW,
# through tests/tools/faultproxy capped at 3 MB/s up: it counts the bytes).
# Phase 1 ingests everything with the upload window closed; phase 2 opens
# it and kills dockd NKILL times (default 20; SOAK=1: 60), each a random
# 0-1 s after a part started sending (or, after three kills without any
# part stored, after the next part or object is stored: the run must make
# progress). How many kills the recordings last for depends on the
# machine's speed (a loaded machine's longer cycles let more parts
# through), so when all are stored before the NKILL-th kill the cameras
# dock again with one more large recording each and the kills go on.
# Then, with dockd left alone:
#   - every recording is storage_verified exactly once in the ledger and
#     released after that; the ledger verifies
#   - one object version per key (Object Lock bucket, versioned: a second
#     PUT would leave a second version), no multipart upload left open,
#     no row left in <state_dir>/uploads.db
#   - each object decrypts byte-identical
#   - from dockd's debug log: no part logged as stored is ever sent again
#     (an upload that never resumes fails this), and the parts sent more
#     than once are at most kills x parallel_uploads x parallel_parts (the
#     parts in flight at a kill)
#   - bytes sent (client->server through the proxy) <= ciphertext total +
#     those re-sent parts x part size + a cut small PUT per worker and kill
#     + 2 MiB of request heads and checkpoints
# Runtime: ~60-90 s (ASan ~2 min) with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
NKILL=${S3CRASH_KILLS:-20}
[ "${SOAK:-0}" = 1 ] && NKILL=${S3CRASH_KILLS:-60}
MIB=1048576
BIG=$((13 * MIB + 12345)) # three parts of 5 MiB (the last one short)
[ "${SOAK:-0}" = 1 ] && BIG=$((21 * MIB + 12345))
SMALL=300000
PART=$((5 * MIB)); NUP=2; NPARTS=2

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
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; } # 0..65535
add_rec() { # SERIAL REC SIZE
	dk_randfile "$DK/orig/$1/$2.bin" "$3" "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category patrol --start $(($(date +%s) - 3600)) \
			--end $(($(date +%s) - 3000)) >/dev/null
}
cam() { # SERIAL SIZE1 SIZE2
	dk_camera "$1" 0 0 && add_rec "$1" REC-1 "$2" && add_rec "$1" REC-2 "$3"
}
ALL="CAM-A/REC-1 CAM-A/REC-2 CAM-B/REC-1 CAM-B/REC-2 CAM-C/REC-1 CAM-C/REC-2"
NREC=6
n_stored() { dk_sql "SELECT count(*) FROM dock_recordings WHERE state IN ('storage_verified','released')"; }
all_stored() { [ "$(n_stored)" = $NREC ]; }
# Lines matching ERE in dockd's log after line $base.
new_lines() { tail -n +$((base + 1)) "$DK_LOG" | grep -cE "$1"; }
# Wait (<= 60 s) for a log line matching ERE after $base; false when all
# recordings are stored or dockd died first.
wait_line() {
	i=0
	while [ "$(new_lines "$1")" = 0 ]; do
		all_stored && return 1
		dk_alive || return 1
		i=$((i + 1)); [ $i -lt 1200 ] || return 1
		sleep 0.05
	done
}
# A part or a (small) recording stored; checkpoint objects do not count.
PROGRESS="part [0-9]+/[0-9]+ stored|s3: stored s3://[^ ]*/$DK_AGENCY/"
# All recordings stored before NKILL kills: one more large recording on
# each camera, docked (which also releases the stored ones); dockd alive.
batch=2
more_recordings() {
	batch=$((batch + 1))
	for c in CAM-A CAM-B CAM-C; do
		add_rec "$c" "REC-$batch" $((BIG + batch * 4099)) || return 1
		ALL="$ALL $c/REC-$batch"
		NREC=$((NREC + 1))
	done
	for c in CAM-A CAM-B CAM-C; do dk_dock "$c" || return 1; done
	echo "# all stored after $kills kills: docked REC-$batch on each camera"
}
# An upload window that is closed now: it opens in 2 hours.
closed_window() {
	h=$(( ($(date +%H | sed 's/^0//') + 2) % 24 ))
	printf '%02d:00-%02d:30' "$h" "$h"
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-crash)
DK_S3_CA=none
DK_RELEASE_WAIT=0
check "setup: Object Lock (versioned) bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET" lock
# 3 MB/s client->server: a 5 MiB part takes a few seconds with four in
# flight, so most kills cut parts mid-transfer.
check "setup: byte-counting proxy (3 MB/s up) in front of RGW" s3_proxy --bandwidth 3000000:up
DK_S3_ENDPOINT=$S3_PROXY_URL
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = $NPARTS
object_lock = governance
low_speed_time_s = 5"
DK_EXTRA_STORAGE="parallel_uploads = $NUP
upload_windows = $(closed_window)"
check "setup: keys, config (s3:// via the proxy, window closed), ledger" dk_init "$T/c" storage
check "setup: CAM-A (one large, one small recording)" cam CAM-A "$BIG" "$SMALL"
check "setup: CAM-B (two large recordings)" cam CAM-B $((BIG + 4099)) $((BIG + 65536))
check "setup: CAM-C (one small, one large recording)" cam CAM-C "$SMALL" $((BIG - 7 * 4099))

# ---- phase 1: ingest, nothing uploaded yet -----------------------------------
check "dockd starts" dk_start
for c in CAM-A CAM-B CAM-C; do check "docking $c: camsim exits 0" dk_dock "$c"; done
check "all $NREC recordings stored locally" dk_wait_count stored_local $NREC 60
check "nothing uploaded while the window is closed" test "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state='storage_verified'")" = 0
check "dockd stops" dk_stop

# ---- phase 2: kill -9 during uploads ----------------------------------------
DK_EXTRA_STORAGE="parallel_uploads = $NUP"
dk_conf_write
kills=0; dry=0; cycles=0; trace=""
while [ $kills -lt "$NKILL" ] && [ $cycles -lt $((NKILL * 4)) ]; do
	cycles=$((cycles + 1))
	base=$(wc -l <"$DK_LOG")
	dk_alive || dk_start || break
	if all_stored; then
		more_recordings || break
		dry=0
		continue
	fi
	if [ $dry -ge 3 ]; then
		wait_line "$PROGRESS" || { all_stored && continue; }
		how=stored
	else
		wait_line 'part [0-9]+/[0-9]+: sending' || { all_stored && continue; }
		how=sending
	fi
	ms=$(( $(rnd) % 1000 ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	all_stored && continue
	dk_kill9
	kills=$((kills + 1))
	if [ "$(new_lines "$PROGRESS")" = 0 ]; then
		dry=$((dry + 1))
	else
		dry=0
	fi
	trace="$trace $how+${ms}ms"
done
echo "# kill points (after the first part sending / stored, + delay):$trace"
echo "# $kills kills in $cycles cycles; $(n_stored) of $NREC stored before the last restart"
check "killed dockd at least $NKILL times during uploads" test "$kills" -ge "$NKILL"
dk_alive || check "dockd restarts after the last kill" dk_start
for e in $ALL; do
	check "$e reaches storage_verified" dk_wait_stored "$e" 120
done
# Release: the cameras dock again.
for c in CAM-A CAM-B CAM-C; do dk_dock "$c"; done
check "every recording released at the next docking" dk_wait_count released $NREC 30
check "dockd stops with exit 0" dk_stop
s3_proxy_stop

# ---- checks -------------------------------------------------------------------
for e in $ALL; do
	c=${e%/*}; r=${e#*/}
	check "$e: S3 object decrypts byte-identical" dk_same_s3 "$c" "$r"
	check "$e: storage_verified once, then released once" sh -c \
		"[ \"\$1\" = 1 ] && [ \"\$2\" = 1 ]" - \
		"$(dk_count_action "$e" storage_verified)" "$(dk_count_action "$e" camera_released)"
done
check "release rule and once-only steps over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
# ListObjectVersions (s3tool has no such command): count versions per key.
s3_curl -s "$S3_ENDPOINT_HTTPS/$DK_S3_BUCKET?prefix=$DK_AGENCY%2F&versions=" >"$DK/versions.xml"
one_version_each() {
	python3 - "$DK/versions.xml" $ALL <<'EOF'
import re, sys
xml = open(sys.argv[1]).read()
if "<ListVersionsResult" not in xml or "<IsTruncated>true" in xml:
    print("# unexpected listing: " + xml[:300]); sys.exit(1)
keys = re.findall(r"<Version>.*?<Key>([^<]*)</Key>", xml) + \
       re.findall(r"<DeleteMarker>.*?<Key>([^<]*)</Key>", xml)
bad = 0
for e in sys.argv[2:]:
    k = "pd-test/%s.bcde" % e
    n = keys.count(k)
    if n != 1:
        print("# %s: %d versions" % (k, n)); bad = 1
if len(keys) != len(sys.argv) - 2:
    print("# %d versions in all, expected %d: %s" % (len(keys), len(sys.argv) - 2, keys)); bad = 1
sys.exit(bad)
EOF
}
check "exactly one object version per key (no second PUT, no delete marker)" one_version_each
no_uploads() { dk_s3tool uploads >"$DK/uploads.out" 2>&1 && [ ! -s "$DK/uploads.out" ]; }
check "no multipart upload left open (no orphan)" no_uploads
sed 's/^/# open upload: /' "$DK/uploads.out"
check "uploads.db holds no unfinished upload" \
	test "$(sqlite3 "$DK/state/uploads.db" 'SELECT count(*) FROM uploads' 2>&1)" = 0
total=$(dk_sql "SELECT sum(ct_size) FROM dock_recordings")
sent=$(s3_proxy_stat bytes_up)
set -- $(part_sends "$DK_LOG")
sends=${1:-0}; parts=${2:-0}; resends=${3:-0}; again=${4:-0}
echo "# part sends $sends of $parts distinct parts: $resends re-sent, $again after being stored"
check "no part stored before a kill was sent again (uploads resume)" test "$again" = 0
check "part sends logged for every multipart part (>= 9)" test "$parts" -ge 9
# A kill cuts at most the parts in flight: parallel_uploads x parallel_parts.
check "re-sent parts <= kills x parts in flight ($resends <= $kills x $NUP x $NPARTS)" \
	test "$resends" -le $((kills * NUP * NPARTS))
# Bytes: each part send carries <= PART; a kill may also cut a single PUT
# of a small recording (<= SMALL + ciphertext overhead) per upload worker.
limit=$((total + resends * PART + kills * NUP * (SMALL + 65536) + 2 * MIB))
echo "# ciphertext $total bytes; sent through the proxy $sent bytes;" \
	"limit $limit (ciphertext + $resends re-sent parts x $PART + $kills kills x $NUP small PUTs + 2 MiB)"
check "bytes sent <= ciphertext + the re-sent parts (+ cut small PUTs, request heads)" \
	test "${sent:-0}" -ge "$total" -a "${sent:-0}" -le "$limit"
resumed=$(grep -c 'resuming upload of' "$DK_LOG")
echo "# $resumed resumed uploads (parts kept from before a kill)"
check "some upload resumed with parts stored before a kill" test "$resumed" -gt 0
done_testing
