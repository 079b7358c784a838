#!/bin/sh
# dockd's admin commands end to end: keygen (0600, refuses to overwrite, a
# key_changed event), certify (agency side; the certificate names the dock
# key), enroll / revoke / cameras against a real ledger and a real camsim
# key file, bad arguments exit 2 with a message, and the ledger verifies
# clean with `custody verify` afterwards.
. "$(dirname "$0")/../lib.sh"
D="$BIN/dockd"
if [ ! -x "$D" ]; then
	skip "dockd admin commands" "dockd not built"
	done_testing
fi
mktmp
command -v openssl >/dev/null || { skip "dockd admin" "openssl missing"; done_testing; }
command -v sqlite3 >/dev/null || { skip "dockd admin" "sqlite3 missing"; done_testing; }

# The agency's keys (they stay with the agency; only public halves on docks).
openssl genpkey -algorithm ed25519 -out "$T/agency-sign.key" 2>/dev/null
chmod 600 "$T/agency-sign.key"
openssl pkey -in "$T/agency-sign.key" -pubout -out "$T/agency-sign.pub" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/agency-enc.key" 2>/dev/null
openssl pkey -in "$T/agency-enc.key" -pubout -out "$T/agency-enc.pub" 2>/dev/null

mkdir -m 700 "$T/state"
# The ledger's checkpoint key, so that `custody verify` has a trusted key.
"$BIN/custody" keygen --key "$T/state/ckpt.key" --vkey "$T/ckpt.vkey" \
	--name test.example/pd-a >/dev/null 2>&1
C="$T/dockd.conf"
cat >"$C" <<EOF
[dock]
id = dock-1
agency_id = pd-a
state_dir = $T/state
usb = false
[encryption]
recipients = $T/agency-enc.pub
[ledger]
path = $T/state/custody.db
agency_id = pd-a
checkpoint_key = $T/state/ckpt.key
checkpoint_pub = $T/ckpt.vkey
checkpoint_origin = test.example/pd-a
EOF
DB="$T/state/custody.db"
q() { sqlite3 "$DB" "$1"; }
# run CMD...: exit status in $rc, stdout in $T/out, stderr in $T/err
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# ---- keygen ---------------------------------------------------------------
run "$D" --config "$C" keygen
check "keygen succeeds" [ "$rc" -eq 0 ]
pub=$(cat "$T/out")
check "keygen prints the public key in hex" sh -c "printf %s '$pub' | grep -Eq '^[0-9a-f]{64}$'"
check "dock key is mode 0600" [ "$(stat -c %a "$T/state/dock.key")" = 600 ]
check "key_changed event (48) with the public key" \
	sh -c "sqlite3 '$DB' 'SELECT details FROM events WHERE action = 48' | grep -q '$pub'"
check "the ledger begins with ledger_created (50)" [ "$(q 'SELECT action FROM events WHERE seq = 1')" = 50 ]
sum=$(sha256sum "$T/state/dock.key")
run "$D" --config "$C" keygen
check "keygen refuses to overwrite the dock key (exit 1)" [ "$rc" -eq 1 ]
check "... saying so" grep -q "refusing to overwrite" "$T/err"
check "... and the key is unchanged" [ "$(sha256sum "$T/state/dock.key")" = "$sum" ]
check "... and no second key_changed event" [ "$(q 'SELECT count(*) FROM events WHERE action = 48')" = 1 ]
actor=$(q 'SELECT actor_id FROM events WHERE action = 48')
check "actor is the OS user ($actor)" \
	sh -c "printf %s '$actor' | grep -Eq '^user:$(id -un)\($(id -u)\)'"
run "$D" --config "$C" keygen extra
check "keygen with an extra argument exits 2" [ "$rc" -eq 2 ]

# ---- certify ----------------------------------------------------------------
run "$D" certify --agency-key "$T/agency-sign.key" --agency-id pd-a --dock-id dock-1 \
	--dock-pub "$pub" --days 30 --out "$T/dock.cert"
check "certify succeeds" [ "$rc" -eq 0 ]
check "certificate names the dock key" grep -qx "dock_pubkey $pub" "$T/dock.cert"
check "certificate names the dock and agency" \
	sh -c "grep -qx 'dock_id dock-1' '$T/dock.cert' && grep -qx 'agency_id pd-a' '$T/dock.cert'"
nb=$(sed -n 's/^not_before //p' "$T/dock.cert"); na=$(sed -n 's/^not_after //p' "$T/dock.cert")
check "validity is --days 30" [ $((na - nb)) -eq $((30 * 86400)) ]
echo "$pub" >"$T/dock.pubhex"
run "$D" certify --agency-key "$T/agency-sign.key" --agency-id pd-a --dock-id dock-1 \
	--dock-pub-file "$T/dock.pubhex" --out "$T/dock.cert"
check "certify refuses to overwrite --out (exit 1)" [ "$rc" -eq 1 ]
run "$D" certify --agency-key "$T/agency-sign.key" --agency-id pd-a --dock-id dock-1 \
	--dock-pub-file "$T/dock.pubhex" --out "$T/dock2.cert"
check "certify reads --dock-pub-file (hex)" [ "$rc" -eq 0 ]
check "default validity is 365 days" [ $(( $(sed -n 's/^not_after //p' "$T/dock2.cert") - \
	$(sed -n 's/^not_before //p' "$T/dock2.cert") )) -eq $((365 * 86400)) ]
chmod 644 "$T/agency-sign.key"
run "$D" certify --agency-key "$T/agency-sign.key" --agency-id pd-a --dock-id dock-1 \
	--dock-pub "$pub" --out "$T/dock3.cert"
check "certify refuses a group-readable agency key (exit 1)" [ "$rc" -eq 1 ]
check "certify with a group-readable agency key writes no certificate" [ ! -e "$T/dock3.cert" ]
chmod 600 "$T/agency-sign.key"
for bad in "--days 0" "--days 3651" "--days 12x" "--dock-pub 1234" "--bogus" "--dock-id bad/id"; do
	# shellcheck disable=SC2086
	run "$D" certify --agency-key "$T/agency-sign.key" --agency-id pd-a --dock-id dock-1 \
		--dock-pub "$pub" --out "$T/dock4.cert" $bad
	check "certify $bad: exit 2 with a message" sh -c "[ $rc -eq 2 ] && [ -s '$T/err' ]"
done
run "$D" certify --agency-id pd-a --dock-id dock-1 --dock-pub "$pub" --out "$T/dock4.cert"
check "certify without --agency-key: exit 2" sh -c "[ $rc -eq 2 ] && grep -q agency-key '$T/err'"

# ---- enroll / revoke / cameras --------------------------------------------
cam=$("$BIN/camsim" init --dir "$T/cam" --serial CAM-1 --model "BC 1" --officer ofc-7 \
	--agency-pub "$T/agency-sign.pub")
run "$D" --config "$C" enroll --serial CAM-1 --pubkey-file "$T/cam/device.pub" --officer ofc-7 \
	--model "BC 1" --reason "issued to ofc-7"
if grep -q "does not know the device_enrolled" "$T/err"; then
	skip "enroll / revoke / cameras" "custody does not know device_enrolled yet"
	done_testing
fi
check "enroll from camsim's device.pub" [ "$rc" -eq 0 ]
check "enroll says what it did" grep -q "enrolled camera CAM-1 for officer ofc-7.*$cam" "$T/out"
check "device_enrolled event (51) with serial and key" \
	sh -c "sqlite3 '$DB' 'SELECT details FROM events WHERE action = 51' | grep -q '\"pubkey\":\"$cam\"'"
run "$D" --config "$C" enroll --serial CAM-1 --pubkey "$cam" --officer ofc-7
check "enrolling an enrolled serial again fails (exit 1)" [ "$rc" -eq 1 ]
check "... and points at --replace" grep -q -- "--replace" "$T/err"
other=$(openssl rand -hex 32)
run "$D" --config "$C" enroll --serial CAM-2 --pubkey "$other" --officer ofc-8
check "enroll with --pubkey HEX" [ "$rc" -eq 0 ]
run "$D" --config "$C" enroll --serial CAM-3 --pubkey "$other" --officer ofc-9
check "one key cannot be enrolled for two serials" [ "$rc" -eq 1 ]
run "$D" --config "$C" cameras
check "cameras lists both" sh -c "grep -q '^CAM-1 .*enrolled.*ofc-7' '$T/out' && grep -q '^CAM-2 ' '$T/out'"
run "$D" --config "$C" revoke --serial CAM-1 --reason "reported lost"
check "revoke" [ "$rc" -eq 0 ]
check "device_revoked event (52) with the reason" \
	[ "$(q "SELECT reason FROM events WHERE action = 52")" = "reported lost" ]
run "$D" --config "$C" revoke --serial CAM-1 --reason again
check "revoking twice fails (exit 1)" [ "$rc" -eq 1 ]
run "$D" --config "$C" revoke --serial CAM-1
check "revoke without --reason: exit 2" sh -c "[ $rc -eq 2 ] && grep -q reason '$T/err'"
run "$D" --config "$C" cameras --json
check "cameras --json shows CAM-1 revoked" python3 -c "
import json,sys
a = json.load(open('$T/out'))
c = {x['serial']: x for x in a}
assert c['CAM-1']['status'] == 'revoked' and c['CAM-2']['status'] == 'enrolled'
assert c['CAM-1']['pubkey'] == '$cam' and c['CAM-1']['agency'] == 'pd-a'
"
run "$D" --config "$C" enroll --serial CAM-1 --pubkey "$cam" --officer ofc-7
check "a revoked serial is not re-enrolled without --replace" [ "$rc" -eq 1 ]
run "$D" --config "$C" enroll --serial CAM-1 --pubkey "$cam" --officer ofc-7 --replace \
	--reason "found"
check "... and is with --replace" [ "$rc" -eq 0 ]
new=$(openssl rand -hex 32)
n0=$(q 'SELECT count(*) FROM events')
run "$D" --config "$C" enroll --serial CAM-1 --pubkey "$new" --officer ofc-7 --replace
check "--replace of an enrolled camera: revoke + enroll events" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(sqlite3 '$DB' 'SELECT group_concat(action) FROM events WHERE seq > $n0')\" = 52,51 ]"
check "dock_cameras holds the new key" [ "$(q "SELECT pubkey FROM dock_cameras WHERE serial = 'CAM-1'")" = "$new" ]

for bad in "--serial" "--serial 'a b' --pubkey \$new --officer o" "--serial X --officer o" \
	"--serial X --pubkey \$new --pubkey-file \$T/cam/device.pub --officer o" \
	"--serial X --pubkey zz --officer o" "--serial X --pubkey \$new" \
	"--serial X --pubkey-file \$T/nope --officer o" "--serial X --pubkey \$new --officer o extra" \
	"--serial X --pubkey \$new --officer o --frob"; do
	eval "set -- $bad"
	run "$D" --config "$C" enroll "$@"
	check "enroll $bad: exit 2 with a message" sh -c "[ $rc -eq 2 ] && [ -s '$T/err' ]"
done
run "$D" enroll --serial X --pubkey "$new" --officer o
check "enroll without --config: exit 2" sh -c "[ $rc -eq 2 ] && grep -q -- --config '$T/err'"
run "$D" --config "$T/nope.conf" cameras
check "missing config file: exit 2" sh -c "[ $rc -eq 2 ] && grep -q nope.conf '$T/err'"
printf '[dock]\nid = dock-1\nagency_id = pd-a\nmax_cameras = 999\n' >"$T/bad.conf"
run "$D" --config "$T/bad.conf" cameras
check "bad config value: exit 2 naming the key" sh -c "[ $rc -eq 2 ] && grep -q max_cameras '$T/err'"
run "$D" --config "$C" cameras --bogus
check "cameras --bogus: exit 2" [ "$rc" -eq 2 ]
check "no event was recorded by a refused command" [ "$(q 'SELECT count(*) FROM events WHERE outcome != 1')" = 0 ]

# ---- the ledger still verifies ----------------------------------------------
if [ -x "$BIN/custody" ]; then
	run "$BIN/custody" --config "$C" verify
	check "custody verify is clean (exit 0)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err"
else
	skip "custody verify" "custody not built"
fi
done_testing
