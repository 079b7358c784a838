#!/bin/sh
# Issue 12, two-person destruction on a real Ceph RGW (docs/retention.md
# "Destruction"): an Object Lock bucket.
#  REC-1 is uploaded with [s3] object_lock = compliance under a 1-day
#  category: its version is locked for a day. The table then changes to 0
#  days and a case assign + unassign recomputes REC-1's ledger date: due.
#  A two-person destruction is approved, and the server refuses to delete
#  the locked version: dockd records a failed `destroyed` (with the error),
#  alerts, and deletes nothing (vault file and S3 version still there).
#  REC-2 is uploaded after object_lock is switched off (no retain-until):
#  its two-person destruction removes the S3 version (checked by listing
#  the bucket's versions) and the vault file. REC-3: a ledger hold puts an
#  S3 legal hold on its version (storage_hold event; the server then
#  refuses a delete), the release takes it off, and it is destroyed.
#  `custody verify` passes.
# Against the binaries of 8631943 (before this change) `custody destroy` is
# an unknown command and no storage_hold is written: 18 checks fail. Needs
# root and runuser (two supervisors: SO_PEERCRED).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "two-person destruction on S3" "needs root and runuser"
	done_testing
fi
mktmp
chmod 0755 "$T"
s3_up
CREATED=""
cleanup() {
	dk_stop >/dev/null 2>&1
	for u in $CREATED; do userdel "$u" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
test_users SUP1:dockt-ssup1:daemon SUP2:dockt-ssup2:bin
A_DESTROYED=23; A_REQ=30; A_APPR=31; A_SHOLD=38
C="$BIN/custody"
q() { dk_sql "$1"; }
quiet() { "$@" >/dev/null 2>&1; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
n_ev() { q "SELECT count(*) FROM events WHERE evidence_id='$1' AND action=$2 AND outcome=${3:-1}"; }
conf() { # rewrite the config, then the query socket mode and the alert command
	dk_conf_write &&
		sed -i 's|^\[query\]|[query]\nsocket_mode = 0666|' "$DK_CONF" &&
		printf '\n[alert]\ncommand = %s\n' "$DK/alert.sh" >>"$DK_CONF"
}
add_rec() { # REC
	dk_randfile "$DK/orig/CAM-S/$1.bin" 150000 "CAM-S-$1" &&
		"$CAMSIM" add --dir "$DK/cams/CAM-S" --id "$1" --file "$DK/orig/CAM-S/$1.bin" \
			--category short --start 1700000000 --end 1700000300 >/dev/null
}
versions() { # KEY: the version ids (and delete markers) the bucket lists for
	# KEY; fails unless the bucket answered with a version listing
	s3_curl -s "$S3_ENDPOINT_HTTPS/$DK_S3_BUCKET?prefix=${DK_AGENCY}&versions=" >"$T/versions.xml" &&
		python3 - "$1" "$T/versions.xml" <<'EOP'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[2]).getroot()
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
if r.tag != ns + "ListVersionsResult":
    sys.exit(1)
for v in list(r.iter(ns + "Version")) + list(r.iter(ns + "DeleteMarker")):
    if v.findtext(ns + "Key") == sys.argv[1]:
        print(v.findtext(ns + "VersionId"))
EOP
}
wait_destroyed() { # EVID OUTCOME
	i=0; while [ "$(n_ev "$1" $A_DESTROYED "$2")" != 1 ] && [ $i -lt 150 ]; do
		sleep 0.1; i=$((i + 1)); done
	[ "$(n_ev "$1" $A_DESTROYED "$2")" = 1 ]
}
destroy2() { # EVID: request by supervisor 1, approval by supervisor 2
	quiet as "$SUP1" "$C" --config "$DK_CONF" destroy request "$1" --reason "retention expired" &&
		quiet as "$SUP2" "$C" --config "$DK_CONF" destroy approve "$1" --reason "checked"
}

DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-destroy)
DK_EXTRA_RETENTION="short = 1d"
DK_S3_EXTRA="object_lock = compliance
object_lock_required = true"
check "setup: Object Lock bucket" s3_bucket "$DK_S3_BUCKET" lock
check "setup: dock" dk_init "$T/dk" storage
chmod 0755 "$DK" "$DK/state"
check "setup: config" conf
check "setup: camera" dk_camera CAM-S 0 0
check "setup: REC-1 (short)" add_rec REC-1
check "dockd starts (object_lock = compliance)" dk_start
check "docking" dk_dock CAM-S
check "CAM-S/REC-1 verified in S3" dk_wait_stored CAM-S/REC-1 90
K1=$(dk_s3_key CAM-S REC-1)
V1=$(q "SELECT json_extract(details,'\$.version_id') FROM events WHERE evidence_id='CAM-S/REC-1' AND action=10 AND outcome=1")
dk_s3tool head "$K1" --version "$V1" >"$T/h1" 2>&1
check "REC-1's version $V1 is locked COMPLIANCE" grep -qx "lock-mode COMPLIANCE" "$T/h1"
check "dockd stops" dk_stop

# The table changes; REC-2 goes up without Object Lock.
DK_EXTRA_RETENTION="short = 0d"
DK_S3_EXTRA=""
check "config: short = 0d, no object_lock" conf
check "setup: REC-2, REC-3 (short)" add_rec REC-2 && add_rec REC-3
check "dockd starts" dk_start
check "docking" dk_dock CAM-S
check "CAM-S/REC-2 verified in S3" dk_wait_stored CAM-S/REC-2 90
check "CAM-S/REC-3 verified in S3" dk_wait_stored CAM-S/REC-3 90
K2=$(dk_s3_key CAM-S REC-2)
V2=$(q "SELECT json_extract(details,'\$.version_id') FROM events WHERE evidence_id='CAM-S/REC-2' AND action=10 AND outcome=1")
check "REC-2 has its version in the bucket" [ "$(versions "$K2")" = "$V2" ]
check "supervisor 1" quiet "$C" --config "$DK_CONF" user add "$SUP1" --role supervisor --agency "$DK_AGENCY"
check "supervisor 2" quiet "$C" --config "$DK_CONF" user add "$SUP2" --role supervisor --agency "$DK_AGENCY"
# a case assigned and unassigned recomputes REC-1's date under the new table
check "case assign REC-1" quiet as "$SUP1" "$C" --config "$DK_CONF" case assign CAM-S/REC-1 X-1 --reason "review"
check "case unassign REC-1: its date is now ingest + 0 days" \
	quiet as "$SUP1" "$C" --config "$DK_CONF" case unassign CAM-S/REC-1 X-1 --reason "no case"
as "$SUP1" "$C" --config "$DK_CONF" due --json >"$T/due.json" 2>&1
check "both are due" sh -c "grep -q CAM-S/REC-1 '$T/due.json' && grep -q CAM-S/REC-2 '$T/due.json'"
as "$SUP1" "$C" --config "$DK_CONF" destroy plan CAM-S/REC-1 --reason "plan" >"$T/plan1" 2>&1
check "the dry run names REC-1's S3 version" grep -qF -e "$V1" "$T/plan1"

# --- Object Lock not expired: the server refuses --------------------------------
VAULT1=$(q "SELECT json_extract(details,'\$.path') FROM events WHERE evidence_id='CAM-S/REC-1' AND action=8")
A0=$(dk_alerts)
check "two supervisors approve REC-1's destruction" destroy2 CAM-S/REC-1
check "dockd records a failed destroyed event" wait_destroyed CAM-S/REC-1 2
DET=$(q "SELECT details FROM events WHERE evidence_id='CAM-S/REC-1' AND action=$A_DESTROYED")
echo "# destroyed (failed): $DET"
check "... the error names Object Lock" sh -c "echo '$DET' | grep -q 'Object Lock'"
check "... and claims no copy deleted" sh -c "! echo '$DET' | grep -q '\"result\"'"
check "... alerted (destruction-failed)" sh -c "[ \$(grep -c destruction-failed '$DK/alerts.log') -ge 1 ]"
check "the locked version is still in the bucket" [ "$(versions "$K1")" = "$V1" ]
check "the vault file is still there" [ -f "$VAULT1" ]
check "the record is not destroyed" [ "$(q "SELECT status FROM evidence WHERE evidence_id='CAM-S/REC-1'")" != destroyed ]
check "no retry without a new request (no second destroyed event)" sh -c "sleep 2; [ \$(sqlite3 -readonly '$DK_DB' \"SELECT count(*) FROM events WHERE evidence_id='CAM-S/REC-1' AND action=$A_DESTROYED\") = 1 ]"

# --- a proper destruction removes every copy ------------------------------------
VAULT2=$(q "SELECT json_extract(details,'\$.path') FROM events WHERE evidence_id='CAM-S/REC-2' AND action=8")
check "REC-2's vault file exists" [ -f "$VAULT2" ]
check "two supervisors approve REC-2's destruction" destroy2 CAM-S/REC-2
check "dockd records destroyed (ok)" wait_destroyed CAM-S/REC-2 1
echo "# destroyed: $(q "SELECT details FROM events WHERE evidence_id='CAM-S/REC-2' AND action=$A_DESTROYED")"
versions "$K2" >"$T/v2"
check "the bucket answers a version listing" [ $? -eq 0 ]
check "... with no version of REC-2's key (nor a delete marker)" [ ! -s "$T/v2" ]
check_fails "... nor does a HEAD of its version find it" dk_s3tool head "$K2" --version "$V2"
check "REC-2's vault file is gone" [ ! -e "$VAULT2" ]
check "REC-1's locked version is untouched" [ "$(versions "$K1")" = "$V1" ]
# --- a ledger hold puts an S3 legal hold on the stored version, and off -------
K3=$(dk_s3_key CAM-S REC-3)
V3=$(q "SELECT json_extract(details,'\$.version_id') FROM events WHERE evidence_id='CAM-S/REC-3' AND action=10 AND outcome=1")
shold() { # EVID true|false: a storage_hold event with that "on" after the last hold edit
	i=0; while [ $i -lt 100 ]; do
		[ "$(q "SELECT count(*) FROM events WHERE evidence_id='$1' AND action=$A_SHOLD AND outcome=1 AND json_extract(details,'\$.on')=$([ "$2" = true ] && echo 1 || echo 0) AND seq > (SELECT max(seq) FROM events WHERE evidence_id='$1' AND action IN (17,18))")" -ge 1 ] && return 0
		sleep 0.1; i=$((i + 1)); done
	return 1
}
check "hold set on REC-3" quiet as "$SUP1" "$C" --config "$DK_CONF" hold set CAM-S/REC-3 --reason "litigation 12"
check "dockd records storage_hold on" shold CAM-S/REC-3 true
dk_s3tool head "$K3" --version "$V3" >"$T/h3" 2>&1
check "... the S3 version has legal hold ON" grep -qx "legal-hold on" "$T/h3"
check_fails "... and the server refuses to delete it" dk_s3tool rm "$K3" --version "$V3"
check "hold released on REC-3" quiet as "$SUP1" "$C" --config "$DK_CONF" hold release CAM-S/REC-3 --reason "ended"
check "dockd records storage_hold off" shold CAM-S/REC-3 false
dk_s3tool head "$K3" --version "$V3" >"$T/h3" 2>&1
check "... the S3 version's legal hold is OFF" grep -qx "legal-hold off" "$T/h3"
check "REC-3 is destroyed by two supervisors" destroy2 CAM-S/REC-3 && wait_destroyed CAM-S/REC-3 1
versions "$K3" >"$T/v3"
check "... the bucket answers a version listing" [ $? -eq 0 ]
check "... with no version of REC-3 left" [ ! -s "$T/v3" ]

check "dockd stops" dk_stop
check "custody verify passes" quiet "$C" --config "$DK_CONF" verify
done_testing
