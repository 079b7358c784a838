#!/bin/sh
# SIGHUP and the upload windows, end to end (docs/dockd.md "Signals",
# docs/dockd-config.md): one SIGHUP, no restart, must apply
#   - log_level (error -> debug: info lines appear only after it)
#   - alert_command (the next alert runs the new command, not the old one)
#   - recipients (the next pull is encrypted to the new agency key only)
#   - retention rules (the next pull's retention_set has the new days)
#   - upload_windows and upload_priority (closed -> open: the queued
#     recordings upload at once, in the new priority order)
# and an upload window that is open from the start lets a docking go all
# the way: ingested, uploaded, verified, released at the next docking.
# Runtime ~30 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

DK_RELEASE_WAIT=0
DK_IDLE_MS=1500
DK_LOG_LEVEL=error
H=$(date +%H | sed 's/^0//')
# A window closed now (opens in 2 h) and one open now (from the last full
# hour to 2 h after this one).
CLOSED=$(printf '%02d:00-%02d:00' $(((H + 2) % 24)) $(((H + 3) % 24)))
OPEN=$(printf '%02d:00-%02d:00' $(((H + 23) % 24)) $(((H + 2) % 24)))

conf() { # LEVEL ALERT RECIPIENTS PATROL-DAYS [storage lines]
	DK_LOG_LEVEL=$1
	DK_EXTRA_STORAGE="parallel_uploads = 1
$5"
	dk_conf_write
	sed -i -e "s|^alert_command = .*|alert_command = $2|" \
		-e "s|^recipients = .*|recipients = $3|" \
		-e "s|^patrol = 90d|patrol = ${4}d|" "$DK_CONF"
}
lines_of() { grep -c " dockd\[[0-9]*\] $1: " "$DK_LOG"; }
retention_days() { # EVID
	dk_py 'print([d.get("days") for _, a, _, d in events(args[0]) if a == "retention_set"])' "$1"
}
decrypts_with() { # KEY SERIAL REC
	rm -f "$DK/dec.bin"
	"$TBIN/test_evfile" --decrypt "$1" "$(dk_vault_file "$2" "$3")" "$DK/dec.bin" \
		>/dev/null 2>&1 && cmp -s "$DK/dec.bin" "$DK/orig/$2/$3.bin"
}

wait_until() { # SECONDS CMD...: poll every 0.1 s
	w=$(( $1 * 10 )); shift
	while ! "$@"; do w=$((w - 1)); [ $w -gt 0 ] || return 1; sleep 0.1; done
}
not_decrypts_with() { ! decrypts_with "$@"; }

check "setup: keys, certificate, config, ledger" dk_init "$T/d" storage
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$DK/keys/agency-enc2.key" 2>/dev/null &&
	openssl pkey -in "$DK/keys/agency-enc2.key" -pubout -out "$DK/keys/agency-enc2.pub")
chmod 644 "$DK/keys/agency-enc2.pub"
check "setup: a second agency encryption key" test -s "$DK/keys/agency-enc2.pub"
sed "s|alerts.log|alerts2.log|" "$DK/alert.sh" >"$DK/alert2.sh"; chmod 755 "$DK/alert2.sh"
check "setup: camera CAM-P, four recordings (patrol traffic homicide patrol)" \
	dk_camera_cats CAM-P 30000 patrol traffic homicide patrol
check "setup: camera CAM-N, one patrol recording" dk_camera_cats CAM-N 30000 patrol
check "setup: camera CAM-U, not enrolled" sh -c '"$1" init --dir "$2" --serial CAM-U --model M1 \
	--officer OFF-U --agency-pub "$3" >/dev/null' - "$CAMSIM" "$DK/cams/CAM-U" "$DK/keys/agency-sign.pub"

# ---- before SIGHUP: error log level, alert.sh, key 1, patrol 90 d, closed ----
conf error "$DK/alert.sh" "$DK/keys/agency-enc.pub" 90 "upload_windows = $CLOSED"
check "dockd starts (log_level error, window $CLOSED closed)" dk_start
check "CAM-P docks" dk_dock CAM-P
check "CAM-P's four recordings are stored_local (window closed)" dk_wait_count stored_local 4 20
check "nothing uploaded outside the window" \
	[ "$(dk_py 'print(sum(1 for _, a, _, _ in events() if a == "upload_started"))')" = 0 ]
check "CAM-P/REC-1: retention 90 days" [ "$(retention_days CAM-P/REC-1)" = "[90]" ]
check "CAM-P/REC-1 decrypts with agency key 1" decrypts_with "$DK/keys/agency-enc.key" CAM-P REC-1
dk_dock CAM-U
# alert_command runs in the background: give it a moment
check "unenrolled CAM-U: an alert through alert.sh" \
	wait_until 10 grep -qs "^device-rejected" "$DK/alerts.log"
info0=$(lines_of info); debug0=$(lines_of debug)
echo "# log lines at level error: info $info0, debug $debug0"
check "log_level error: no info or debug line logged" [ "$info0$debug0" = 00 ]

# ---- SIGHUP: debug, alert2.sh, key 2, patrol 7 d, window open, priority ------
conf debug "$DK/alert2.sh" "$DK/keys/agency-enc2.pub" 7 "upload_windows = $OPEN
upload_priority = traffic, homicide"
kill -HUP "$DK_PID"
check "after SIGHUP the queued recordings upload (window $OPEN open now)" \
	dk_wait_count storage_verified 4 30
order=$(dk_py 'print(" ".join(e for _, a, e, _ in events() if a == "upload_started"))')
echo "# upload order: $order"
check "in the new priority order: traffic, homicide, then the rest oldest first" \
	[ "$order" = "CAM-P/REC-2 CAM-P/REC-3 CAM-P/REC-1 CAM-P/REC-4" ]
check "dockd still runs (no restart)" dk_alive
check "log_level debug after SIGHUP: info lines appear (none before)" [ "$(lines_of info)" -gt 0 ]
a1=$(grep -c . "$DK/alerts.log")
dk_dock CAM-U
check "the next alert runs alert2.sh" wait_until 10 grep -qs "^device-rejected" "$DK/alerts2.log"
check "... and not alert.sh" [ "$(grep -c . "$DK/alerts.log")" = "$a1" ]
check "CAM-N docks" dk_dock CAM-N
check "CAM-N/REC-1 stored and verified" dk_wait_stored CAM-N/REC-1 30
check "CAM-N/REC-1: retention 7 days (the reloaded rule)" [ "$(retention_days CAM-N/REC-1)" = "[7]" ]
check "CAM-N/REC-1 decrypts with agency key 2" decrypts_with "$DK/keys/agency-enc2.key" CAM-N REC-1
check "CAM-N/REC-1 does not decrypt with agency key 1" \
	not_decrypts_with "$DK/keys/agency-enc.key" CAM-N REC-1
check "dockd stops with exit 0" dk_stop

# ---- an open window from the start: ingest to release -------------------------
check "setup: camera CAM-O, two recordings" dk_camera CAM-O 2 40000
conf info "$DK/alert.sh" "$DK/keys/agency-enc.pub" 90 "upload_windows = $OPEN"
mark=$(grep -c . "$DK_LOG")
check "dockd starts with window $OPEN (open now)" dk_start
check "CAM-O docks" dk_dock CAM-O
check "CAM-O/REC-1 storage_verified" dk_wait_stored CAM-O/REC-1 30
check "CAM-O/REC-2 storage_verified" dk_wait_stored CAM-O/REC-2 30
check "no 'outside upload_windows' line in this run" sh -c \
	'! tail -n +$(($2 + 1)) "$1" | grep -q "outside \[storage\] upload_windows"' - "$DK_LOG" "$mark"
check "CAM-O docks again: both released" dk_dock CAM-O
check "CAM-O/REC-1 and REC-2 released" sh -c '[ "$1$2" = releasedreleased ]' - \
	"$(dk_state CAM-O/REC-1)" "$(dk_state CAM-O/REC-2)"
check "CAM-O/REC-2: the stored copy decrypts byte-identical" dk_same_store CAM-O REC-2
check "dockd stops with exit 0" dk_stop
check "release rule holds over the whole ledger" dk_ledger_rules storage
check "custody verify is clean" dk_verify
done_testing
