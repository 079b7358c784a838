#!/bin/sh
# S3 Object Lock through the dock (a real Ceph RGW over HTTPS): a bucket
# with Object Lock, [s3] object_lock = compliance, object_lock_required.
# One camera with a recording per retention class:
#   patrol (90d), use-of-force (2y = 730d), homicide (indefinite)
# Checks, through the S3 API (tests/tools/s3tool head): each dated object
# has lock mode COMPLIANCE and retain-until = the upload time + the
# category's days from [retention] (never before the ledger's
# retention_set date, counted from ingest); the indefinite one has a legal
# hold ON and no retain-until; the tags name the retention class; deleting
# a locked object version is refused by the server (and the version is
# still there afterwards); the ledger's uploaded event names the version.
# Runtime: ~15 s (ASan ~25 s) with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
NOW=$(date +%s)
END=$((NOW - 3000))

add_rec() { # SERIAL REC SIZE CATEGORY
	dk_randfile "$DK/orig/$1/$2.bin" "$3" "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category "$4" --start $((END - 600)) --end "$END" >/dev/null
}
cam() {
	dk_camera CAM-X 0 0 && add_rec CAM-X REC-1 250000 patrol &&
		add_rec CAM-X REC-2 $((5 * 1048576 + 99999)) use-of-force &&
		add_rec CAM-X REC-3 260000 homicide
}
head_of() { dk_s3tool head "$(dk_s3_key CAM-X "$1")" >"$DK/head-$1.out" 2>&1; }
field() { sed -n "s/^$2 //p" "$DK/head-$1.out"; } # REC FIELD
# The uploaded event's version id equals the object's current version.
version_in_ledger() { # REC
	dk_py '
v = [d for _, a, _, d in events(args[0]) if a == "uploaded" and "error" not in d]
sys.exit(0 if v and v[0].get("version_id") == args[1] and args[1] else 1)' "CAM-X/$1" "$2"
}
rm_version() { dk_s3tool rm "$1" --version "$2" 2>>"$DK/rm.err"; }
version_there() { dk_s3tool head "$1" --version "$2" >/dev/null 2>&1; }
end_utc() { dk_sql "SELECT end_utc FROM dock_recordings WHERE evidence_id='CAM-X/$1'"; }

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-lock)
DK_EXTRA_RETENTION="homicide = indefinite
short = 1d"
DK_S3_EXTRA="object_lock = compliance
object_lock_required = true
part_size_mb = 5"
check "setup: Object Lock bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET" lock
check "setup: the bucket reports Object Lock enabled" sh -c \
	'"$@" lock-status | grep -q enabled' - "$TBIN/tools/s3tool" --endpoint "$S3_ENDPOINT_HTTPS" \
	--ca "$S3_CA_FILE" --creds "$S3_CREDS_FILE" --bucket "$DK_S3_BUCKET"
check "setup: keys, config (object_lock = compliance), ledger" dk_init "$T/l" storage
check "setup: camera with patrol, use-of-force, homicide recordings" cam
check "dockd starts" dk_start
check "docking CAM-X: camsim exits 0" dk_dock CAM-X
for r in REC-1 REC-2 REC-3; do
	check "CAM-X/$r storage_verified" dk_wait_stored "CAM-X/$r" 90
done
for r in REC-1 REC-2 REC-3; do
	check "CAM-X/$r: decrypts byte-identical from S3" dk_same_s3 CAM-X "$r"
	check "CAM-X/$r: s3tool head works" head_of "$r"
	sed "s/^/# CAM-X\/$r: /" "$DK/head-$r.out"
done
e1=$(end_utc REC-1); e2=$(end_utc REC-2)
check "recording end times are the camera's ($END)" test "$e1" = "$END" -a "$e2" = "$END"
check "patrol: lock mode COMPLIANCE" test "$(field REC-1 lock-mode)" = COMPLIANCE
# The lock counts from the upload: between the test's start and now, + days.
locked_for() { # REC DAYS
	lf_v=$(field "$1" retain-until); lf_now=$(date +%s)
	[ "$lf_v" -ge $((NOW + $2 * 86400)) ] && [ "$lf_v" -le $((lf_now + $2 * 86400)) ]
}
not_before_ledger() { # REC: retain-until >= the ledger's retention_set until
	dk_py '
import datetime
u = [d["until"] for _, a, e, d in events("CAM-X/" + args[0]) if a == "retention_set"][0]
t = datetime.datetime.fromisoformat(u.replace("Z", "+00:00")).timestamp()
sys.exit(0 if int(args[1]) >= int(t) else 1)' "$1" "$(field "$1" retain-until)"
}
check "patrol: retain-until = upload time + 90 days" locked_for REC-1 90
check "patrol: retain-until not before the ledger's retention_set date" not_before_ledger REC-1
check "patrol: no legal hold" test "$(field REC-1 legal-hold)" = off
check "use-of-force: lock mode COMPLIANCE" test "$(field REC-2 lock-mode)" = COMPLIANCE
check "use-of-force: retain-until = upload time + 730 days (2y)" locked_for REC-2 730
check "use-of-force: retain-until not before the ledger's date" not_before_ledger REC-2
check "homicide (indefinite): legal hold ON" test "$(field REC-3 legal-hold)" = on
check "homicide (indefinite): no retain-until" test "$(field REC-3 retain-until)" = 0
has_tag() { dk_s3tool tags "$(dk_s3_key CAM-X "$1")" 2>/dev/null | grep -qx "$2"; }
check "tags: patrol retention=90d" has_tag REC-1 retention=90d
check "tags: use-of-force retention=730d" has_tag REC-2 retention=730d
check "tags: homicide retention=indefinite" has_tag REC-3 retention=indefinite
check "tags: homicide category=homicide" has_tag REC-3 category=homicide
for r in REC-1 REC-2 REC-3; do
	v=$(field "$r" version)
	check "CAM-X/$r: the ledger's uploaded event names version $v" version_in_ledger "$r" "$v"
	key=$(dk_s3_key CAM-X "$r")
	check_fails "CAM-X/$r: deleting version $v is refused by the server" rm_version "$key" "$v"
	check "CAM-X/$r: version $v is still there" version_there "$key" "$v"
done
dk_s3tool rm "$(dk_s3_key CAM-X REC-1)" --version "$(field REC-1 version)" 2>&1 |
	sed 's/^/# delete refused: /'
# A DELETE without a version only adds a delete marker: the locked version
# stays readable.
marker_then_get() { # KEY VERSION OUT
	dk_s3tool rm "$1" >/dev/null 2>&1
	dk_s3tool get "$1" "$3" --version "$2" >/dev/null 2>&1
}
check "a plain DELETE (delete marker) leaves the locked version readable" \
	marker_then_get "$(dk_s3_key CAM-X REC-1)" "$(field REC-1 version)" "$DK/v.bcde"
check "that version still decrypts byte-identical" sh -c \
	'"$1" --decrypt "$2" "$3" "$4" >/dev/null 2>&1 && cmp -s "$4" "$5"' - \
	"$TBIN/test_evfile" "$DK/keys/agency-enc.key" "$DK/v.bcde" "$DK/v.bin" "$DK/orig/CAM-X/REC-1.bin"
dk_dock CAM-X
check "all three released after storage_verified" dk_wait_count released 3 30
# A recording docked after its minimum retention would have lapsed counted
# from its end (end + 1 day is in the past) is still stored and locked for
# its full minimum retention from now (S3 refuses a past retain-until).
if true; then
	old=$((NOW - 3 * 86400))
	dk_randfile "$DK/orig/CAM-X/REC-4.bin" 123456 lapsed
	"$CAMSIM" add --dir "$DK/cams/CAM-X" --id REC-4 --file "$DK/orig/CAM-X/REC-4.bin" \
		--category short --start $((old - 600)) --end "$old" >/dev/null
	dk_dock CAM-X
	check "lapsed retention: CAM-X/REC-4 is stored and verified anyway" \
		dk_wait_stored CAM-X/REC-4 60
	check "lapsed retention: its object decrypts byte-identical" dk_same_s3 CAM-X REC-4
	head_of REC-4
	check "lapsed retention: still locked for a full day from upload" locked_for REC-4 1
fi
check "release rule holds" dk_ledger_rules storage
check "dockd stops with exit 0" dk_stop
check "custody verify is clean" dk_verify
done_testing
