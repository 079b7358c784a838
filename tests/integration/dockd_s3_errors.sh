#!/bin/sh
# Permanent S3 errors (a real Ceph RGW over HTTPS): wrong secret key, a
# missing bucket, a dock clock one hour fast (faketime), and
# object_lock_required with a bucket without Object Lock. Each time:
#   - dockd keeps running and keeps ingesting (stored_local), releases
#     nothing (the camera keeps its recordings even when it docks again)
#   - the log names the cause in words; `custody status --json` shows it
#   - one `uploaded` event with outcome failed {error, object_key} per
#     recording, and few alerts: over several more seconds neither grows,
#     nor does the number of tries in dockd's log (no tight retry loop)
# then the cause is fixed (right credentials + restart / bucket created +
# SIGHUP / normal clock + restart / lock not required + restart) and the
# recordings are stored, verified, released and decrypt byte-identical.
# Runtime: ~60 s (ASan ~80 s) with a shared RGW.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/s3_lib.sh"
dk_require
mktmp
s3_up
WAIT=${S3ERR_WAIT:-90}
QUIET=${S3ERR_QUIET:-6} # seconds to watch for repeated events and alerts

add_rec() { # SERIAL REC SIZE
	dk_randfile "$DK/orig/$1/$2.bin" "$3" "$1-$2" &&
		"$CAMSIM" add --dir "$DK/cams/$1" --id "$2" --file "$DK/orig/$1/$2.bin" \
			--category patrol --start $(($(date +%s) - 3600)) \
			--end $(($(date +%s) - 3000)) >/dev/null
}
cam() { dk_camera "$1" 0 0 && add_rec "$1" REC-1 300000 && add_rec "$1" REC-2 $((6 * 1048576)); }
failed_events() { # SERIAL: `uploaded` events with outcome failed of its recordings
	dk_py 'print(sum(1 for _, a, e, d in events() if a == "uploaded" and "error" in d
                and e.startswith(args[0] + "/")))' "$1"
}
wait_failed() { # SERIAL [S]
	i=0
	while [ "$(failed_events "$1")" = 0 ]; do
		i=$((i + 1)); [ $i -lt $(( ${2:-$WAIT} * 10 )) ] || return 1
		sleep 0.1
	done
}
failed_detail() { # SERIAL WORDS-ERE: the failed events name the cause and the object key
	dk_py '
import re
d = [(e, d) for _, a, e, d in events() if a == "uploaded" and "error" in d
     and e.startswith(args[0] + "/")]
ok = d and all(re.search(args[1], x["error"], re.I) and
               x.get("object_key") == args[2] + "/" + e + ".bcde" for e, x in d)
if not ok: print("# failed events: %s" % d)
sys.exit(0 if ok else 1)' "$1" "$2" "${DK_S3_PREFIX:+$DK_S3_PREFIX/}$DK_AGENCY"
}
status_error() { # ERE: custody status --json shows a storage error matching it
	dk_status_json >"$DK/st.json" 2>&1 &&
		python3 - "$DK/st.json" "$1" <<'EOF'
import json, re, sys
s = json.load(open(sys.argv[1]))["storage"]
ok = s.get("last_error") and re.search(sys.argv[2], s["last_error"], re.I)
if not ok: print("# storage status: %s" % s)
sys.exit(0 if ok else 1)
EOF
}
# Tries of camera SERIAL's uploads: each failed one logs "EVID: storage
# target: ..." (retries inside a failure episode write no event, so events
# cannot show a retry loop; the log can).
tries() { grep -Ec "^[^ ]+ dockd\[[0-9]+\] [a-z]+: $1/REC-[0-9]+: storage target: " "$DK_LOG"; }
# Storage alerts only (a skewed dock clock also raises a "clock" alert
# about the camera's clock, which is right).
st_alerts() { grep -c '^storage ' "$DK/alerts.log" 2>/dev/null || echo 0; }
mark=0
start_mark() { mark=$(cat "$DK_LOG" 2>/dev/null | wc -l); }
on_camera() { dk_cam_has "$1" REC-1 && dk_cam_has "$1" REC-2; }
not_released() { # SERIAL
	[ "$(dk_count_action "$1/REC-1" camera_released)$(dk_count_action "$1/REC-2" camera_released)" = 00 ]
}
stored_not_verified() { # SERIAL
	[ "$(dk_state "$1/REC-1")" = stored_local ] && [ "$(dk_state "$1/REC-2")" = stored_local ]
}
# The refusal for camera SERIAL: LOG-ERE in dockd's log, EVT-ERE in the
# failed events and in custody status, nothing released, no tight loop.
refused() { # NAME SERIAL LOG-ERE EVT-ERE
	name=$1; s=$2; al0=$(st_alerts)
	check "$name: docking $s: camsim exits 0" dk_dock "$s"
	check "$name: a failed uploaded event is recorded" wait_failed "$s"
	tail -n +$((mark + 1)) "$DK_LOG" >"$DK/log.part"
	check "$name: the log names the cause" grep -Eqi "$3" "$DK/log.part"
	grep -Ei "$3" "$DK/log.part" | head -2 | sed "s/^/# $name: /"
	check "$name: the failed event names the cause and the object key" \
		failed_detail "$s" "$4"
	check "$name: custody status --json shows the error" status_error "$4"
	a0=$(st_alerts); n0=$(failed_events "$s"); t0=$(tries "$s")
	check "$name: a storage alert was raised" test "$a0" -gt "$al0"
	sleep "$QUIET"
	dk_dock "$s" # docking again must not release anything either
	a1=$(st_alerts)
	echo "# $name: storage alerts $((a0 - al0)), $QUIET s later $((a1 - al0))"
	check "$name: no more storage alerts ${QUIET} s later (no tight loop)" test "$a1" = "$a0"
	n1=$(failed_events "$s"); t1=$(tries "$s")
	echo "# $name: tries logged: $t0, $QUIET s later $t1"
	check "$name: one try per recording at most before the pause (1 or 2)" \
		test "$t0" -ge 1 -a "$t0" -le 2
	check "$name: no retry loop: no further try logged in $QUIET s" test "$t1" = "$t0"
	echo "# $name: $n0 failed uploaded event(s), $QUIET s later $n1"
	check "$name: no more failed uploaded events (one per recording tried, at most 2)" \
		test "$n1" = "$n0" -a "$n1" -le 2
	check "$name: recordings stay stored_local (not verified)" stored_not_verified "$s"
	check "$name: no camera_released event" not_released "$s"
	check "$name: the camera still holds both recordings" on_camera "$s"
	check "$name: dockd still runs" dk_alive
}
recovered() { # NAME SERIAL
	name=$1; s=$2
	check "$name fixed: $s/REC-1 storage_verified" dk_wait_stored "$s/REC-1" "$WAIT"
	check "$name fixed: $s/REC-2 storage_verified" dk_wait_stored "$s/REC-2" "$WAIT"
	dk_dock "$s"
	check "$name fixed: released at the next docking" sh -c \
		'[ "$1" = released ] && [ "$2" = released ]' - "$(dk_state "$s/REC-1")" "$(dk_state "$s/REC-2")"
	check "$name fixed: $s/REC-2 decrypts byte-identical from S3" dk_same_s3 "$s" REC-2
	check "$name fixed: released only after storage_verified" \
		dk_order "$s/REC-1" storage_verified camera_released
}

GOOD_BUCKET=$(s3_uniq dock-err)
check "setup: bucket $GOOD_BUCKET" s3_bucket "$GOOD_BUCKET"
DK_TARGET=s3
DK_S3_BUCKET=$GOOD_BUCKET
DK_RELEASE_WAIT=2
check "setup: keys, config, ledger" dk_init "$T/e" storage
check "setup: status user" dk_status_user
for c in CAM-K CAM-N CAM-T CAM-L; do check "setup: camera $c" cam "$c"; done
# Same access key, wrong secret (0600, as dockd requires).
(umask 077 && sed 's/^\(secret_key *= *\).*/\1WRONGwrongWRONGwrongWRONGwrongWRONGwrong/' \
	"$S3_CREDS_FILE" >"$DK/bad.creds")
check "setup: credentials file with a wrong secret" sh -c "! cmp -s '$S3_CREDS_FILE' '$DK/bad.creds'"

# ---- wrong secret key ----------------------------------------------------------
DK_S3_CREDS=$DK/bad.creds
dk_conf_write
start_mark
check "wrong secret: dockd starts anyway (the vault keeps working)" dk_start
refused "wrong secret" CAM-K 'access denied|SignatureDoesNotMatch|InvalidAccessKeyId' \
	'access denied'
DK_S3_CREDS=
dk_conf_write
dk_stop
check "wrong secret fixed: dockd restarts with the right credentials" dk_start
recovered "wrong secret" CAM-K

# ---- missing bucket ------------------------------------------------------------
DK_S3_BUCKET=$(s3_uniq dock-missing)
dk_conf_write
dk_stop
start_mark
check "missing bucket: dockd starts anyway" dk_start
refused "missing bucket" CAM-N 'NoSuchBucket|does not exist|no such bucket' 'no such bucket'
check "missing bucket: the bucket is created" s3_bucket "$DK_S3_BUCKET"
kill -HUP "$DK_PID"
recovered "missing bucket (SIGHUP)" CAM-N
check "missing bucket: dockd stops with exit 0" dk_stop

# ---- clock skew ----------------------------------------------------------------
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
if [ -n "$FAKETIME_LIB" ] &&
	[ $(($(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=+1h date +%s) - $(date +%s))) -ge 3500 ]; then
	# ASan must tolerate libfaketime in LD_PRELOAD ahead of it.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	export ASAN_OPTIONS
	# libfaketime preloaded by env (which execs: $DK_PID stays dockd's pid).
	DK_WRAP="env LD_PRELOAD=$FAKETIME_LIB FAKETIME=+1h"
	start_mark
	check "clock skew: dockd starts with its clock 1 h fast (faketime)" dk_start
	DK_WRAP=
	refused "clock skew" CAM-T 'RequestTimeTooSkewed|skew' 'skew'
	dk_stop
	check "clock skew fixed: dockd restarts with the right clock" dk_start
	recovered "clock skew" CAM-T
	dk_stop
else
	skip "clock skew" "faketime not installed (packaging/install-deps.sh installs it)"
fi

# ---- Object Lock required, bucket without it ------------------------------------
DK_S3_EXTRA="object_lock = governance
object_lock_required = true"
dk_conf_write
start_mark
check "lock required: dockd starts anyway" dk_start
refused "lock required" CAM-L 'no Object Lock.*required' 'Object Lock'
DK_S3_EXTRA=
dk_conf_write
dk_stop
check "lock required: dockd restarts without object_lock_required" dk_start
recovered "lock not required" CAM-L
check "dockd stops with exit 0" dk_stop

check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
sed 's/^/# verify: /' "$DK/verify.out"
done_testing
