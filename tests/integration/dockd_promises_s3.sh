#!/bin/sh
# The upload bandwidth cap, measured (docs/dockd-config.md [storage]
# bandwidth_mbit: "cap over all uploads together, applied by the s3://
# target (a shared token bucket)"): with bandwidth_mbit = 8 (1 MB/s, a
# burst of one second's worth), two recordings of ~4 MB each uploaded by
# two workers at once (real Ceph RGW) take together at least
#   (bytes - 1 s x rate) / rate
# from the first upload_started to the last `uploaded` event (each at its
# ledger time), within 10 %; uncapped, loopback takes well under that.
# Also not absurdly slow (the cap is not a stall): under 4 x the bound + 20 s.
# Runtime ~40 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
MBIT=8
RATE=$((MBIT * 125000)) # bytes/s

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-bw)
DK_RELEASE_WAIT=0
DK_EXTRA_STORAGE="parallel_uploads = 2
bandwidth_mbit = $MBIT"
DK_S3_EXTRA="part_size_mb = 5
parallel_parts = 2"
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config (bandwidth_mbit = $MBIT), ledger" dk_init "$T/b" storage
check "setup: camera CAM-W, two ~4 MB recordings" dk_camera CAM-W 2 4000000
check "dockd starts" dk_start
check "CAM-W docks" dk_dock CAM-W
check "CAM-W/REC-1 storage_verified" dk_wait_stored CAM-W/REC-1 120
check "CAM-W/REC-2 storage_verified" dk_wait_stored CAM-W/REC-2 120
check "dockd stops with exit 0" dk_stop
bytes=$(dk_sql "SELECT sum(ct_size) FROM dock_recordings WHERE serial='CAM-W'")
ms=$(dk_py '
rows = con.execute("SELECT action, time_ns FROM events WHERE evidence_id LIKE ? ORDER BY seq",
                   ("CAM-W/%",)).fetchall()
st = [t for a, t in rows if names.get(a) == "upload_started"]
up = [t for a, t in rows if names.get(a) == "uploaded"]
print((max(up) - min(st)) // 1000000 if st and up else -1)')
min_ms=$(( (bytes - RATE) * 1000 / RATE * 9 / 10 ))
max_ms=$(( 4 * (bytes * 1000 / RATE) + 20000 ))
echo "# $bytes bytes uploaded in $ms ms at a cap of $RATE bytes/s" \
	"(bound: >= $min_ms ms, <= $max_ms ms; measured $((bytes / (ms > 0 ? ms : 1))) kB/s)"
check "the uploads took >= (bytes - 1 s burst) / cap - 10 % ($ms >= $min_ms ms)" \
	test "$ms" -ge "$min_ms"
check "... and were not stalled ($ms <= $max_ms ms)" test "$ms" -le "$max_ms"
check "CAM-W/REC-1 decrypts byte-identical from S3" dk_same_s3 CAM-W REC-1
check "custody verify is clean" dk_verify
done_testing
