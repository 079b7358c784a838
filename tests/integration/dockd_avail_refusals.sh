#!/bin/sh
# Issue 17.4: every refusal names its cause, on the wire (the ERROR text
# camsim prints) and in dockd's log and device_rejected reason, so an
# officer and an administrator can tell them apart (docs/protocol.md,
# 6.13). One camsim per cause: unknown serial, revoked, key differs from
# the enrolment, identity signature invalid, wrong protocol version, and a
# second session of a camera that is still pulling (BUSY). Before, every
# enrolment-stage refusal said "camera not enrolled at this dock", the BUSY
# one included. The storage target is a real Ceph RGW.
# Runtime: ~15 s with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
DK_TARGET=s3
DK_S3_BUCKET=$(s3_uniq dock-refuse)
check "setup: bucket $DK_S3_BUCKET" s3_bucket "$DK_S3_BUCKET"
check "setup: keys, config, ledger" dk_init "$T/d" storage
for c in CAM-OK CAM-REV; do check "setup: camera $c (enrolled)" dk_camera "$c" 1 100000; done
check "setup: camera CAM-BUSY (enrolled), one 4 MB recording" dk_camera CAM-BUSY 1 4000000
check "setup: camera CAM-REV revoked" sh -c '"$1" --config "$2" revoke --serial CAM-REV \
	--reason "reported lost" >/dev/null' - "$DOCKD" "$DK_CONF"
mkdir -p "$DK/cams"
check "setup: camera CAM-NEW, never enrolled" sh -c '"$@" >/dev/null' - "$CAMSIM" init --dir "$DK/cams/CAM-NEW" --serial CAM-NEW --model M1 --officer OFF-N \
	--agency-pub "$DK/keys/agency-sign.pub"
check "dockd starts" dk_start

# The ERROR camsim printed for its last docking: "<code description>: <text>".
wire() { sed -n 's/^camsim: dock sent ERROR //p' "$DK/cam-$1.log" | tail -1; }
refused() { # NAME SERIAL CODE TEXT [camsim options]: refused with CODE and TEXT
	n=$1 s=$2 code=$3 text=$4; shift 4
	: >"$DK/cam-$s.log"
	dk_dock "$s" "$@"
	check "$n: camsim is refused" test $? -ne 0
	w=$(wire "$s")
	echo "# $n: wire: $w"
	check "$n: ERROR $code on the wire" sh -c 'case "$1" in "$2: "*) ;; *) exit 1 ;; esac' - "$w" "$code"
	check "$n: the wire text names the cause ($text)" sh -c 'case "$1" in *"$2"*) ;; *) exit 1 ;; esac' - "$w" "$text"
	i=0; until grep -q "$text" "$DK_LOG" || [ $i -ge 30 ]; do sleep 0.1; i=$((i + 1)); done
	check "$n: dockd's log names the cause" grep -q "$text" "$DK_LOG"
	echo "$w" >>"$DK/texts"
}
# camsim names the code by proto_strerror() (protocol/wire_util.c).
UNENROLLED="device not enrolled or key differs from enrolment"
AUTH="signature or certificate did not verify"
BAD_VERSION="unsupported protocol version"
BUSY="camera busy, retry later"
refused unenrolled CAM-NEW "$UNENROLLED" "not enrolled at this dock (unknown serial)"
refused revoked CAM-REV "$UNENROLLED" "enrolment revoked"
refused "key differs" CAM-OK "$UNENROLLED" "key differs from its enrolment" --unenrolled-key
refused "bad signature" CAM-OK "$AUTH" "identity signature invalid" --bad-identity-signature
refused version CAM-OK "$BAD_VERSION" "version not supported" --wrong-version
dk_dock_bg CAM-BUSY --slow 1000000
first=$DK_CAM_PID
check "busy: the first session of CAM-BUSY is pulling" dk_wait_state CAM-BUSY/REC-1 pulling 20
refused busy CAM-BUSY "$BUSY" "already docked: another session of this serial is active"
kill "$first" 2>/dev/null; wait "$first" 2>/dev/null
check "six refusals, six different texts" test "$(sort -u "$DK/texts" | wc -l)" = 6
reasons=$(dk_sql "SELECT count(DISTINCT reason) FROM events WHERE action = 3")
check "six device_rejected events with six different reasons" test "$reasons" = 6
check "the enrolled camera still docks" dk_dock CAM-OK
check "dockd stops with exit 0" dk_stop
check "custody verify is clean" dk_verify
done_testing
