# Shared helpers for dockd's shell tests, benches and the demo. Source it
# AFTER tests/lib.sh (it uses $BIN, $TBIN, $TOP). Everything lives under one
# directory $DK (set by dk_init). Functions (all return 0 on success):
#
#   dk_init DIR [storage|local]   agency signing + encryption keys, checkpoint
#                                 key, dock key + certificate, config file
#                                 $DK_CONF, ledger; release policy (default storage)
#   dk_conf_write                 rewrite $DK_CONF from the DK_* variables below
#                                 (call after changing them)
#   dk_camera SERIAL N SIZE [OFFICER]
#                                 a camsim camera $DK/cams/SERIAL with N random
#                                 recordings REC-1..REC-N of about SIZE bytes
#                                 (originals in $DK/orig/SERIAL/), enrolled
#   dk_start [ARGS...]            start dockd in the background ($DK_PID), log
#                                 to $DK_LOG, wait for its camera socket
#   dk_stop                       SIGTERM dockd and wait; returns its exit code
#   dk_kill9                      kill -9 dockd and reap it
#   dk_alive                      dockd is still running
#   dk_dock SERIAL [FAULTS...]    one docking: `camsim serve --connect` (its
#                                 exit code; log in $DK/cam-SERIAL.log)
#   dk_dock_bg SERIAL [FAULTS...] the same in the background; camsim's pid in
#                                 $DK_CAM_PID
#   dk_state EVID                 the recording's dock_recordings state
#   dk_wait_state EVID STATE [S]  wait (default 60 s) until EVID is in STATE
#   dk_wait_stored EVID [S]       wait until EVID is storage_verified or released
#   dk_wait_count STATE N [S]     wait until N recordings are in STATE
#   dk_events EVID                the item's ledger actions, one per line
#   dk_order EVID A B             action A occurs (first) before action B
#   dk_count_action EVID A        how many A events the item has
#   dk_ledger_rules [POLICY]      whole-ledger release rule and once-only steps
#   dk_py 'PYTHON' ARGS...        run PYTHON with events(EVID=None) -> [(seq,
#                                 action name, evidence id, details dict)], con
#                                 (read-only sqlite3) and args
#   dk_sql 'SQL'                  read-only query of the ledger database
#   dk_verify                     `custody verify` of the ledger
#   dk_decrypt SERIAL REC OUT     decrypt the vault file with the agency key
#   dk_same SERIAL REC            vault copy decrypts to the original bytes
#   dk_same_store SERIAL REC      the storage target's copy, likewise
#   dk_cam_has SERIAL REC         the camera still holds REC
#   dk_alerts                     number of alert command runs so far
#   dk_camera_cats SERIAL SIZE CATEGORY...
#                                 like dk_camera, one recording REC-i per
#                                 CATEGORY (i = 1, 2, ...; start times ascending)
#   dk_status_json                `custody status --json` (the test user must
#                                 have a role: dk_status_user first)
#   dk_status_user                give the OS user running the test a clerk role
#   dk_s3_key SERIAL REC          the S3 object key of a recording (DK_TARGET=s3)
#   dk_s3tool CMD ARGS...         tests/tools/s3tool on DK_S3_BUCKET, straight to
#                                 RGW over HTTPS as the main user (not through
#                                 the dock's endpoint, which may be a proxy)
#   dk_same_s3 SERIAL REC         the S3 object (GET by s3tool) decrypts with
#                                 the agency key to the original bytes
#
# S3 mode (source tests/s3_lib.sh and call s3_up first): DK_TARGET=s3 makes
# dk_conf_write emit `target = s3://DK_S3_BUCKET[/DK_S3_PREFIX]` and an [s3]
# section: endpoint DK_S3_ENDPOINT (default $S3_ENDPOINT_HTTPS), ca_file
# DK_S3_CA (default $S3_CA_FILE; set it to "none" for no ca_file line),
# credentials_file DK_S3_CREDS (default $S3_CREDS_FILE), region $S3_REGION,
# and DK_S3_EXTRA (more [s3] lines). DK_EXTRA_RETENTION: more [retention]
# lines (e.g. `homicide = indefinite`).
# Variables: DK DK_CONF DK_DB DK_SOCK DK_LOG DK_VAULT DK_STORE DK_PID
# DK_AGENCY DK_DOCK_ID DK_POLICY. Config knobs (set before dk_init, or
# change and call dk_conf_write): DK_VAULT DK_CHUNK (65536) DK_SYNC_MB (1)
# DK_RELEASE_WAIT (10) DK_IDLE_MS (500) DK_MIN_FREE_MB (0) DK_USB (false)
# DK_LOG_LEVEL (debug) DK_EXTRA_DOCK (more [dock] lines) DK_EXTRA_STORAGE
# (more [storage] lines). DK_KEY, DK_CKPT_KEY: the dock and checkpoint
# keys (file or PKCS#11 URI; default files in $DK/state; tests/p11_lib.sh).
# DK_LOW_FREE DK_HIGH_FREE DK_STATE_MIN_FREE_MB ([vault] purge marks and
# state-dir guard, all 0 = off, so a test on a nearly full disk never loses
# the vault copies it compares; a test may append its own [vault] section
# after dk_conf_write, later keys win). DK_WRAP: command
# prefix for dockd (valgrind, fiu-run). DOCKD: binary (default $BIN/dockd).
# Internal variables are all named dk_*: tests may use short names freely.
: "${DOCKD:=$BIN/dockd}"
CUSTODY="$BIN/custody"
CAMSIM="$BIN/camsim"
DK_AGENCY=pd-test
DK_DOCK_ID=dock-1
DK_WRAP=${DK_WRAP:-}
DK_PID=

# Skip the whole script (TAP) when dockd is not built yet.
dk_require() {
	if [ ! -x "$DOCKD" ]; then
		skip "dockd tests" "$DOCKD not built"
		done_testing
	fi
}

dk_target_url() {
	if [ "${DK_TARGET:-file}" = s3 ]; then
		echo "s3://$DK_S3_BUCKET${DK_S3_PREFIX:+/$DK_S3_PREFIX}"
	else
		echo "file://$DK_STORE"
	fi
}

dk_s3_section() {
	[ "${DK_TARGET:-file}" = s3 ] || return 0
	echo "[s3]"
	echo "endpoint = ${DK_S3_ENDPOINT:-$S3_ENDPOINT_HTTPS}"
	echo "region = ${S3_REGION:-us-east-1}"
	dk_ca=${DK_S3_CA:-$S3_CA_FILE}
	[ "$dk_ca" = none ] || echo "ca_file = $dk_ca"
	echo "credentials_file = ${DK_S3_CREDS:-$S3_CREDS_FILE}"
	[ -z "${DK_S3_EXTRA:-}" ] || printf '%s\n' "$DK_S3_EXTRA"
}

dk_conf_write() {
	cat >"$DK_CONF" <<EOC
# dockd test configuration (tests/dockd_lib.sh)
[dock]
id = $DK_DOCK_ID
agency_id = $DK_AGENCY
state_dir = $DK/state
vault_dir = $DK_VAULT
key = ${DK_KEY:-$DK/state/dock.key}
cert = $DK/state/dock.cert
camera_socket = $DK_SOCK
usb = ${DK_USB:-false}
release_policy = $DK_POLICY
min_free_mb = ${DK_MIN_FREE_MB:-0}
alert_command = $DK/alert.sh
log_level = ${DK_LOG_LEVEL:-debug}
sync_interval_mb = ${DK_SYNC_MB:-1}
release_wait_s = ${DK_RELEASE_WAIT:-10}
idle_grace_ms = ${DK_IDLE_MS:-500}
${DK_EXTRA_DOCK:-}

[encryption]
recipients = $DK/keys/agency-enc.pub
chunk_size = $DK_CHUNK

[retention]
uncategorized = 60d
patrol = 90d
use-of-force = 2y
${DK_EXTRA_RETENTION:-}

[storage]
target = $(dk_target_url)
${DK_EXTRA_STORAGE:-}
$(dk_s3_section)

[vault]
low_free = ${DK_LOW_FREE:-0}
high_free = ${DK_HIGH_FREE:-0}
state_min_free_mb = ${DK_STATE_MIN_FREE_MB:-0}

[ledger]
path = $DK_DB
agency_id = $DK_AGENCY
checkpoint_key = ${DK_CKPT_KEY:-$DK/state/ckpt.key}
checkpoint_pub = $DK/state/ckpt.vkey
checkpoint_origin = dock.test/$DK_AGENCY
external_checkpoint_dir = $DK/anchor
checkpoint_interval_s = 0

[query]
socket = $DK/query.sock
EOC
}

dk_init() {
	DK=$1
	DK_POLICY=${2:-storage}
	DK_CONF=$DK/dockd.conf
	DK_DB=$DK/state/custody.db
	DK_SOCK=$DK/cam.sock
	DK_LOG=$DK/dockd.log
	: "${DK_VAULT:=$DK/vault}"
	DK_STORE=$DK/store
	: "${DK_CHUNK:=65536}"
	mkdir -p "$DK/state" "$DK/keys" "$DK/store" "$DK/anchor" "$DK/cams" "$DK/orig" \
		"$DK_VAULT" || return 1
	chmod 700 "$DK/state" "$DK/keys"
	cat >"$DK/alert.sh" <<EOA
#!/bin/sh
# Test alert command: one line per alert.
echo "\$*" >>"$DK/alerts.log"
EOA
	chmod 755 "$DK/alert.sh"
	# The agency's Ed25519 key certifies docks; its P-256 key receives evidence.
	(umask 077 &&
		openssl genpkey -algorithm ed25519 -out "$DK/keys/agency-sign.key" 2>/dev/null &&
		openssl pkey -in "$DK/keys/agency-sign.key" -pubout -out "$DK/keys/agency-sign.pub" &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$DK/keys/agency-enc.key" 2>/dev/null &&
		openssl pkey -in "$DK/keys/agency-enc.key" -pubout -out "$DK/keys/agency-enc.pub") ||
		return 1
	chmod 644 "$DK/keys/agency-sign.pub" "$DK/keys/agency-enc.pub"
	"$CUSTODY" keygen --key "${DK_CKPT_KEY:-$DK/state/ckpt.key}" --vkey "$DK/state/ckpt.vkey" \
		--name "dock.test/$DK_AGENCY" >/dev/null || return 1
	dk_conf_write
	dk_pub=$("$DOCKD" --config "$DK_CONF" keygen 2>"$DK/keygen.log") || return 1
	dk_pub=$(printf '%s\n' "$dk_pub" | grep -Eo '[0-9a-f]{64}' | tail -1)
	"$DOCKD" certify --agency-key "$DK/keys/agency-sign.key" --agency-id "$DK_AGENCY" \
		--dock-id "$DK_DOCK_ID" --dock-pub "$dk_pub" --days 30 \
		--out "$DK/state/dock.cert" >/dev/null || return 1
	if [ ! -f "$DK_DB" ]; then
		"$CUSTODY" --config "$DK_CONF" init >/dev/null || return 1
	fi
}

# Random but reproducible-enough content: AES-CTR keystream of a seed.
dk_randfile() { # PATH SIZE SEED
	head -c "$2" /dev/zero | openssl enc -aes-256-ctr -nosalt -pass "pass:$3" -pbkdf2 \
		>"$1" 2>/dev/null
}

dk_camera() { # SERIAL N SIZE [OFFICER]
	dk_cs=$1; dk_off=${4:-OFF-$1}
	mkdir -p "$DK/orig/$dk_cs" || return 1
	dk_cpub=$("$CAMSIM" init --dir "$DK/cams/$dk_cs" --serial "$dk_cs" --model M1 \
		--officer "$dk_off" --agency-pub "$DK/keys/agency-sign.pub") || return 1
	dk_ci=1
	while [ "$dk_ci" -le "$2" ]; do
		# Sizes differ and are not chunk multiples: last chunks are short.
		dk_f="$DK/orig/$dk_cs/REC-$dk_ci.bin"
		dk_randfile "$dk_f" $(($3 + dk_ci * 4099)) "$dk_cs-$dk_ci" || return 1
		"$CAMSIM" add --dir "$DK/cams/$dk_cs" --id "REC-$dk_ci" --file "$dk_f" \
			--category patrol --start $((1700000000 + dk_ci * 600)) \
			--end $((1700000000 + dk_ci * 600 + 300)) >/dev/null || return 1
		dk_ci=$((dk_ci + 1))
	done
	"$DOCKD" --config "$DK_CONF" enroll --serial "$dk_cs" --pubkey "$dk_cpub" \
		--officer "$dk_off" --model M1 --reason "test enrolment" >/dev/null
}

dk_alive() { [ -n "$DK_PID" ] && kill -0 "$DK_PID" 2>/dev/null; }

dk_start() {
	rm -f "$DK_SOCK"
	$DK_WRAP "$DOCKD" --config "$DK_CONF" "$@" >>"$DK_LOG" 2>&1 &
	DK_PID=$!
	dk_i=0
	while [ ! -S "$DK_SOCK" ]; do
		dk_alive || { echo "# dockd exited at start; log:"; tail -20 "$DK_LOG" | sed 's/^/#   /'; return 1; }
		dk_i=$((dk_i + 1))
		[ $dk_i -lt 600 ] || return 1 # 60 s (valgrind is slow)
		sleep 0.1
	done
}

dk_stop() {
	[ -n "$DK_PID" ] || return 0
	kill -TERM "$DK_PID" 2>/dev/null
	wait "$DK_PID"
	dk_rc=$?
	DK_PID=
	return $dk_rc
}

dk_kill9() {
	[ -n "$DK_PID" ] || return 0
	kill -KILL "$DK_PID" 2>/dev/null
	wait "$DK_PID" 2>/dev/null
	DK_PID=
	return 0
}

dk_dock() { # SERIAL [camsim serve options]
	dk_s=$1; shift
	"$CAMSIM" serve --dir "$DK/cams/$dk_s" --connect "$DK_SOCK" "$@" >>"$DK/cam-$dk_s.log" 2>&1
}

# The same in the background; DK_CAM_PID is camsim's own pid (not a
# subshell's), so a test can pull the camera out with kill.
dk_dock_bg() { # SERIAL [camsim serve options]
	dk_s=$1; shift
	(exec "$CAMSIM" serve --dir "$DK/cams/$dk_s" --connect "$DK_SOCK" "$@" \
		>>"$DK/cam-$dk_s.log" 2>&1) &
	DK_CAM_PID=$!
}

dk_sql() { sqlite3 -readonly -cmd '.timeout 5000' "$DK_DB" "$1" 2>/dev/null; }

dk_state() { dk_sql "SELECT state FROM dock_recordings WHERE evidence_id='$1'"; }

dk_wait_state() { # EVID STATE [SECONDS]
	dk_i=0; dk_max=$(( ${3:-60} * 10 ))
	while [ "$(dk_state "$1")" != "$2" ]; do
		dk_i=$((dk_i + 1))
		[ $dk_i -lt $dk_max ] || return 1
		sleep 0.1
	done
}

# Wait until EVID's copy is verified in the storage target (storage_verified,
# or already released).
dk_wait_stored() { # EVID [SECONDS]
	dk_i=0; dk_max=$(( ${2:-60} * 10 ))
	until case "$(dk_state "$1")" in storage_verified|released) true ;; *) false ;; esac; do
		dk_i=$((dk_i + 1))
		[ $dk_i -lt $dk_max ] || return 1
		sleep 0.1
	done
}

dk_wait_count() { # STATE N [SECONDS]
	dk_i=0; dk_max=$(( ${3:-60} * 10 ))
	while [ "$(dk_sql "SELECT count(*) FROM dock_recordings WHERE state='$1'")" != "$2" ]; do
		dk_i=$((dk_i + 1))
		[ $dk_i -lt $dk_max ] || return 1
		sleep 0.1
	done
}

# Python over the ledger (read-only). Action names come from the comments
# of custody/event.h's enum, so new actions need no change here.
dk_py() { # SCRIPT ARGS...
	dk_script=$1; shift
	python3 -c "$DK_PY_COMMON
$dk_script" "$DK_DB" "$TOP/custody/event.h" "$@"
}
DK_PY_COMMON='
import json, re, sqlite3, sys
db, hdr = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
names, v = {}, 0
for line in open(hdr):
    m = re.match(r"\s*CUST_A_\w+(?:\s*=\s*(\d+))?\s*,\s*/\*\s*([a-z_]+)", line)
    if m:
        if m.group(1): v = int(m.group(1))
        names[v] = m.group(2); v += 1
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
def events(evid=None):
    q = "SELECT seq, action, evidence_id, details FROM events"
    rows = con.execute(q + (" WHERE evidence_id=? ORDER BY seq" if evid else " ORDER BY seq"),
                       (evid,) if evid else ())
    return [(s, names.get(a, str(a)), e, json.loads(d or "{}")) for s, a, e, d in rows]
'

dk_events() { dk_py 'print("\n".join(a for _, a, _, _ in events(args[0])))' "$1"; }

dk_count_action() { # EVID ACTION
	dk_py 'print(sum(1 for _, a, _, _ in events(args[0]) if a == args[1]))' "$1" "$2"
}

dk_order() { # EVID A B: the first A comes before the first B (both present)
	dk_py '
acts = [a for _, a, _, _ in events(args[0])]
sys.exit(0 if args[1] in acts and args[2] in acts and acts.index(args[1]) < acts.index(args[2]) else 1)' \
		"$1" "$2" "$3"
}

# The release rule, checkable from the ledger alone (docs/dockd.md): every
# camera_released has an earlier storage_verified of the same item (policy
# local: an earlier stored_local), and the item was ingested with the
# manifest SHA-256 the dock holds. Each item is ingested, stored and
# released at most once. Prints the problems; exit 1 if any.
dk_ledger_rules() { # [POLICY]
	dk_py '
policy = args[0] if args else "storage"
need = "storage_verified" if policy == "storage" else "stored_local"
bad = []
seen = {}
for seq, a, e, d in events():
    if not e: continue
    h = seen.setdefault(e, [])
    h.append((seq, a, d))
    if a in ("ingested", "stored_local", "storage_verified", "camera_released") and \
       sum(1 for x in h if x[1] == a) > 1:
        bad.append("%s: %s twice (seq %d)" % (e, a, seq))
    if a == "camera_released":
        if not any(x[1] == need for x in h[:-1]):
            bad.append("%s: camera_released (seq %d) without an earlier %s" % (e, seq, need))
        ing = [x for x in h if x[1] == "ingested"]
        row = con.execute("SELECT sha256 FROM dock_recordings WHERE evidence_id=?", (e,)).fetchone()
        if not ing:
            bad.append("%s: released, never ingested" % e)
        elif row and ing[0][2].get("sha256", "").lower() != (row[0] or "").lower():
            bad.append("%s: ingested sha256 differs from the manifest" % e)
for b in bad: print("# rule: " + b)
sys.exit(1 if bad else 0)' "${1:-$DK_POLICY}"
}

dk_verify() { "$CUSTODY" --config "$DK_CONF" verify >"$DK/verify.out" 2>&1; }

dk_vault_file() { echo "$DK_VAULT/$DK_AGENCY/$1/$2.bcde"; }

dk_decrypt() { # SERIAL REC OUT  (or: dk_decrypt_file IN OUT)
	dk_decrypt_file "$(dk_vault_file "$1" "$2")" "$3"
}

dk_decrypt_file() { # IN OUT: the evidence-format reader (test tool; no ledger event)
	rm -f "$2"
	"$TBIN/test_evfile" --decrypt "$DK/keys/agency-enc.key" "$1" "$2" >/dev/null 2>&1
}

dk_same() { # SERIAL REC
	dk_decrypt "$1" "$2" "$DK/dec.bin" && cmp -s "$DK/dec.bin" "$DK/orig/$1/$2.bin"
}

dk_same_store() { # SERIAL REC
	dk_decrypt_file "$DK_STORE/$DK_AGENCY/$1/$2.bcde" "$DK/dec.bin" &&
		cmp -s "$DK/dec.bin" "$DK/orig/$1/$2.bin"
}

dk_cam_has() { "$CAMSIM" list --dir "$DK/cams/$1" | grep -q "^$2 "; }

dk_alerts() { [ -f "$DK/alerts.log" ] && wc -l <"$DK/alerts.log" | tr -d ' ' || echo 0; }

dk_camera_cats() { # SERIAL SIZE CATEGORY...
	dk_cs=$1; dk_sz=$2; shift 2
	mkdir -p "$DK/orig/$dk_cs" || return 1
	dk_cpub=$("$CAMSIM" init --dir "$DK/cams/$dk_cs" --serial "$dk_cs" --model M1 \
		--officer "OFF-$dk_cs" --agency-pub "$DK/keys/agency-sign.pub") || return 1
	dk_ci=1
	for dk_cat in "$@"; do
		dk_f="$DK/orig/$dk_cs/REC-$dk_ci.bin"
		dk_randfile "$dk_f" $((dk_sz + dk_ci * 4099)) "$dk_cs-$dk_ci" || return 1
		"$CAMSIM" add --dir "$DK/cams/$dk_cs" --id "REC-$dk_ci" --file "$dk_f" \
			--category "$dk_cat" --start $((1700000000 + dk_ci * 600)) \
			--end $((1700000000 + dk_ci * 600 + 300)) >/dev/null || return 1
		dk_ci=$((dk_ci + 1))
	done
	"$DOCKD" --config "$DK_CONF" enroll --serial "$dk_cs" --pubkey "$dk_cpub" \
		--officer "OFF-$dk_cs" --model M1 --reason "test enrolment" >/dev/null
}

dk_status_user() {
	"$CUSTODY" --config "$DK_CONF" user add "$(id -un)" --role clerk --agency "$DK_AGENCY" \
		--reason "dockd test" >/dev/null 2>&1
}

dk_status_json() {
	"$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" --json
}

dk_s3_key() { echo "${DK_S3_PREFIX:+$DK_S3_PREFIX/}$DK_AGENCY/$1/$2.bcde"; }

dk_s3tool() {
	"$TBIN/tools/s3tool" --endpoint "$S3_ENDPOINT_HTTPS" --ca "$S3_CA_FILE" \
		--creds "$S3_CREDS_FILE" --region "${S3_REGION:-us-east-1}" --bucket "$DK_S3_BUCKET" "$@"
}

dk_same_s3() { # SERIAL REC
	rm -f "$DK/s3get.bcde"
	dk_s3tool get "$(dk_s3_key "$1" "$2")" "$DK/s3get.bcde" >/dev/null 2>&1 &&
		dk_decrypt_file "$DK/s3get.bcde" "$DK/dec.bin" &&
		cmp -s "$DK/dec.bin" "$DK/orig/$1/$2.bin"
}
