#!/bin/sh
# Court-package export from the web console (docs/console.md "Court
# packages") in a real headless Chromium: a real dockd ingest (two
# recordings, a witness-cosigned checkpoint, the agency's custody
# certificate, as in custody_export.sh), a real `custody serve` and
# `custody-console`. The permission split of a packaged dock: the console
# runs as another account (nobody) that can read neither the ledger nor
# the vault (0700, the dock's); the query service builds the package
# (op export-package) and hands the console an open descriptor. A clerk exports CAM-1/REC-1 from the item page; the
# downloaded tar passes `custody verify-package` and the independent
# tests/tools/bagit_check.py; the service's `exported` event (the clerk,
# via console) comes before the console's download event. A forged CSRF
# token on the export form gets nothing and is recorded; a damaged vault
# copy gives a clear page, a failed `exported` event, a failed download
# event and no file anywhere; an auditor (no export role) posting the form
# is refused by the service and recorded. Skips like console_browser.sh.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
PAMW=/usr/lib/x86_64-linux-gnu/libpam_wrapper.so
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
PY=/usr/bin/python3
for f in /usr/bin/chromium /usr/bin/chromedriver "$PAMW" "$MATRIX" "$BIN/custody-console"; do
	if [ ! -e "$f" ]; then
		skip "console export in Chromium" "$f is missing (packaging/install-deps.sh)"
		done_testing
	fi
done
if ldd "$BIN/custody-console" | grep -q libasan; then
	skip "console export in Chromium" "pam_wrapper (RTLD_DEEPBIND) cannot load PAM under ASan"
	done_testing
fi
dk_require
mktmp
SERVE_PID=""; CONSOLE_PID=""
cleanup() {
	for p in $CONSOLE_PID $SERVE_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
CS="$TBIN/tools/cosign"
BAGCHECK="$TOP/tests/tools/bagit_check.py"
OUT="$TOP/$BUILD/console-export"
rm -rf "$OUT"; mkdir -p "$OUT/dl"

# ---- the dock: two recordings, a cosigned checkpoint (custody_export.sh) ---
check "dock, agency and checkpoint keys" dk_init "$T/dk"
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" \
	--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" \
	--dock-pub "$dk_pub" --days 365 --out "$DK/keys/custody.cert" >/dev/null
sed -i "/^checkpoint_interval_s/a custody_cert = $DK/keys/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
check "camera CAM-1 with 2 recordings" dk_camera CAM-1 2 70000
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd ingested and exited 0" [ $rc -eq 0 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"

# ---- the console: its section, the clerk, PAM (pam_matrix) and TOTP --------
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ME=$(id -un)
# the console's own account: nobody (setpriv), not the dock's
CU=nobody; CG=nogroup
sed -i "/^socket = /a socket_mode = 0666\nconsole_account = $CU\ncustody = $CUSTODY" "$DK_CONF"
cat >>"$DK_CONF" <<EOC

[console]
listen = 127.0.0.1:$PORT
cert = $T/console.crt
key = $T/console.key
totp_file = $T/totp
pam_service = evidence-console
EOC
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$T/console.key" -out "$T/console.crt" 2>/dev/null
mkdir -p "$T/pam" "$T/ctmp"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	"$MATRIX" "$T/passdb" "$MATRIX" "$T/passdb" >"$T/pam/evidence-console"
for u in clerk1 aud1; do
	echo "$u:pw-$u-$$:evidence-console" >>"$T/passdb"
	echo "$u $($PY -c 'import base64,os; print(base64.b32encode(os.urandom(20)).decode())')" >>"$T/totp"
done
chmod 0600 "$T/totp"
C() { "$CUSTODY" --config "$DK_CONF" "$@"; }
for u in clerk1:clerk aud1:auditor; do
	C user add "${u%%:*}" --role "${u#*:}" --agency "$DK_AGENCY" --reason setup >/dev/null 2>&1
done
check "clerk1 (clerk) and aud1 (auditor) mapped" \
	[ "$(dk_sql "SELECT count(*) FROM custody_users")" = 2 ]
# the split: the console's account reaches the config, its own files and
# the socket; the ledger (state/, 0700) and the vault (0700) are the dock's
chmod 0711 "$T" "$DK"
chmod 0700 "$DK_VAULT"
chmod 0644 "$DK_CONF"
chown $CU:$CG "$T/console.key" "$T/totp" "$T/ctmp"
chmod -R a+rX "$T/pam" "$T/passdb" "$T/console.crt"
check "the console's account cannot read the ledger or the vault" \
	sh -c "setpriv --reuid=$CU --regid=$CG --clear-groups true &&
	       ! setpriv --reuid=$CU --regid=$CG --clear-groups cat '$DK_DB' >/dev/null 2>&1 &&
	       ! setpriv --reuid=$CU --regid=$CG --clear-groups cat '$(dk_vault_file CAM-1 REC-1)' >/dev/null 2>&1"
mkdir -p "$T/stmp"
TMPDIR="$T/stmp" "$CUSTODY" --config "$DK_CONF" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0; while [ ! -S "$DK/query.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "query service listening" test -S "$DK/query.sock"
TMPDIR="$T/ctmp" LD_PRELOAD=$PAMW PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam" \
	setpriv --reuid=$CU --regid=$CG --clear-groups "$BIN/custody-console" --config "$DK_CONF" 2>"$T/console.log" &
CONSOLE_PID=$!
i=0; while ! grep -q ready "$T/console.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "console ready" grep -q "ready on https port $PORT" "$T/console.log" || cat "$T/console.log" >&2

# REC-2's vault copy is damaged (same size, one byte changed): its export
# must fail while copying, after the `exported` event was written
check "REC-2's vault copy damaged" flip_byte "$(dk_vault_file CAM-1 REC-2)" 5000

$PY "$TOP/tests/integration/console_export.py" "https://127.0.0.1:$PORT" "$OUT" "$T/totp" "$T/passdb" \
	>"$T/browser.out" 2>"$T/browser.err"
if grep -q '^SKIP' "$T/browser.out"; then
	skip "console export in Chromium" "$(sed -n 's/^SKIP //p' "$T/browser.out" | head -1)"
	done_testing
fi
while IFS= read -r line; do
	case $line in
	PASS*) ok "browser: ${line#PASS }" ;;
	FAIL*) not_ok "browser: ${line#FAIL }" ;;
	esac
done <"$T/browser.out"
check "browser script finished" test -s "$T/browser.out" -a ! -s "$T/browser.err" ||
	{ cat "$T/browser.err" >&2; tail -20 "$T/console.log" >&2; }

PKG="$OUT/dl/court-CAM-1_REC-1.tar"
check "the package was downloaded as court-CAM-1_REC-1.tar" test -s "$PKG" || ls -l "$OUT/dl" >&2
out=$("$CUSTODY" verify-package "$PKG" --agency "$DK/keys/agency.vkey" 2>&1); rc=$?
check "custody verify-package accepts the downloaded package (exit $rc)" [ $rc -eq 0 ] ||
	printf '%s\n' "$out" | sed 's/^/# /' | tail -8
check "the independent RFC 8493 validator accepts it" python3 "$BAGCHECK" "$PKG"
check "its evidence is the vault file, byte for byte" sh -c \
	"tar -xOf '$PKG' court-CAM-1_REC-1/data/items/CAM-1/REC-1/evidence.bcde | cmp -s - '$(dk_vault_file CAM-1 REC-1)'"

# ---- the ledger -----------------------------------------------------------
A_EXPORTED=20; A_DOWNLOAD=67; A_REFUSED=68
seq_of() { dk_sql "SELECT min(seq) FROM events WHERE $1"; }
xs=$(seq_of "action=$A_EXPORTED AND outcome=1 AND evidence_id='CAM-1/REC-1' AND actor_id='clerk1' AND reason='court order 7' AND details LIKE '%\"via\":\"console\"%' AND details LIKE '%\"package\":\"court-CAM-1_REC-1\"%'")
ds=$(seq_of "action=$A_DOWNLOAD AND outcome=1 AND evidence_id='CAM-1/REC-1' AND actor_id='clerk1' AND details LIKE '%\"detail\":\"package\"%'")
check "exported (clerk1, via console, reason, package) at seq $xs, before the download event at $ds" \
	[ -n "$xs" ] && [ -n "$ds" ] && [ "$xs" -lt "$ds" ]
check "the forged CSRF token on the export form: console_refused, as clerk1" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_REFUSED AND actor_id='clerk1' AND details LIKE '%/export%' AND details LIKE '%bad CSRF token%'")" = 1 ]
check "... and it exported nothing (one exported event for REC-1, one package download)" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_EXPORTED AND evidence_id='CAM-1/REC-1'")" = 1 -a \
	  "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_DOWNLOAD AND details LIKE '%\"detail\":\"package\"%'")" = 1 ]
check "the damaged copy: exported ok then exported failed for REC-2, by clerk1 via console" \
	[ "$(dk_sql "SELECT group_concat(outcome) FROM (SELECT outcome FROM events WHERE action=$A_EXPORTED AND evidence_id='CAM-1/REC-2' AND actor_id='clerk1' AND details LIKE '%\"via\":\"console\"%' ORDER BY seq)")" = "1,2" ]
check "... and a failed download event naming the package" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_DOWNLOAD AND outcome=2 AND evidence_id='CAM-1/REC-2' AND details LIKE '%package: %'")" = 1 ]
check "the auditor's export (a role without export): access_denied by the service, via console" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=22 AND actor_id='aud1' AND evidence_id='CAM-1/REC-1' AND details LIKE '%\"via\":\"console\"%'")" = 1 ]
check "... a failed download event, and no exported event by aud1" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_DOWNLOAD AND outcome=2 AND actor_id='aud1'")" = 1 -a \
	  "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_EXPORTED AND actor_id='aud1'")" = 0 ]
check_fails "--on-behalf without --socket is refused (it is the console's, through the service)" \
	C export CAM-1/REC-1 --out "$T/ob.tar" --reason r --on-behalf clerk1 2>/dev/null
check "... and wrote nothing" [ ! -e "$T/ob.tar" ]
check "no file left in the console's temporary directory" [ -z "$(ls -A "$T/ctmp")" ]
check "... nor in the service's" [ -z "$(ls -A "$T/stmp")" ]
# export-package from any account but the console's: an unknown op for
# the service, recorded and refused, no package built
n0=$(dk_sql "SELECT count(*) FROM events WHERE action=$A_EXPORTED")
out=$(printf '{"op":"export-package","on_behalf":"clerk1","item":"CAM-1/REC-1","reason":"r"}\n' |
	"$CUSTODY" remote --socket "$DK/query.sock" --raw 2>&1)
check "export-package from the dock's own account (not the console) is refused" \
	sh -c "printf '%s' '$out' | grep -q '\"ok\":false'" || printf '# %s\n' "$out"
check "... recorded (access_denied naming export-package) and nothing exported" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action=22 AND actor_id='$ME' AND details LIKE '%export-package%'")" = 1 -a \
	  "$(dk_sql "SELECT count(*) FROM events WHERE action=$A_EXPORTED")" = "$n0" ]
check "no partial download of REC-2" sh -c "! ls '$OUT/dl' | grep -q REC-2"
check "custody verify passes afterwards" dk_verify
done_testing
