#!/bin/sh
# Keys in a PKCS#11 token (softhsm2; docs/operations.md "Key storage"): the
# dock key and the checkpoint key are created in a fresh token by `dockd
# keygen` and `custody keygen` (sensitive, never extractable, sign only)
# and never exist as files. A full docking
# over the camera socket to a file:// target: the camera checks the
# token-signed AUTH_DOCK and release receipts and deletes its recordings;
# checkpoints signed by the token verify with `custody verify` and, tied
# to the agency's custody certificate, with `custody verify --agency`. No
# private key file is anywhere under the dock's directories. A wrong PIN,
# a missing token, a missing library or a PIN file others can read stop
# dockd at start with a message that names the cause.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
. "$TOP/tests/p11_lib.sh"
dk_require
p11_require
mktmp
CS="$TBIN/tools/cosign"
DK_IDLE_MS=3000

check "a fresh softhsm2 token" p11_up "$T/hsm" dock
DK_KEY=$(p11_uri dock-key)
DK_CKPT_KEY=$(p11_uri ckpt-key)
check "dock and checkpoint keys created in the token, certificate, config" dk_init "$T/dk"
check "dockd keygen printed the token key's public half" [ -n "$dk_pub" ]
check "the config names the keys by PKCS#11 URI" \
	grep -q "^key = pkcs11:token=dock;object=dock-key?" "$DK_CONF"
check_fails "keygen refuses to create a second key with the same label" \
	"$DOCKD" --config "$DK_CONF" keygen 2>"$T/keygen2.err"
check "... and says why" grep -q "labelled 'dock-key' exists already" "$T/keygen2.err"

# The agency certifies the token's checkpoint key and dock key.
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
certify() {
	"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" \
		--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" \
		--checkpoint-vkey "$DK/state/ckpt.vkey" --dock-pub "$dk_pub" --days 30 \
		--out "$DK/state/custody.cert" >/dev/null
}
check "the agency certifies the token's checkpoint and dock keys" certify
use_cert() {
	dk_conf_write
	sed -i "/^checkpoint_interval_s/a custody_cert = $DK/state/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
}
use_cert

check "camera CAM-1 with 2 recordings, enrolled" dk_camera CAM-1 2 90000
check "dockd starts with both keys in the token" dk_start --exit-when-idle
dk_dock CAM-1
check "camsim docking ends cleanly (it accepted the token-signed AUTH_DOCK)" [ $? -eq 0 ]
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd --exit-when-idle exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$DK_LOG" | sed 's/^/#   /'
for r in REC-1 REC-2; do
	check "CAM-1/$r: released after storage_verified" dk_order "CAM-1/$r" storage_verified camera_released
	check "CAM-1/$r: storage copy decrypts byte-identical" dk_same_store CAM-1 $r
	if dk_cam_has CAM-1 $r; then not_ok "CAM-1/$r: the camera verified the receipt and deleted it"
	else ok "CAM-1/$r: the camera verified the receipt and deleted it"; fi
	check "CAM-1/$r: the camera keeps the receipt" [ -s "$DK/cams/CAM-1/receipts/$r" ]
done
check "the camera counts 2 receipts" sh -c \
	"'$CAMSIM' list --dir '$DK/cams/CAM-1' | grep -q ' receipts 2 '"
check "custody verify is clean (checkpoints signed by the token)" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
N=$(dk_sql "SELECT max(size) FROM checkpoints")
check "checkpoints were written (newest covers $N events)" [ "${N:-0}" -gt 0 ]
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
out=$("$CUSTODY" --db "$DK_DB" --read-only verify --agency "$DK/keys/agency.vkey" \
	--external "$DK/anchor" --origin "dock.test/$DK_AGENCY" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "witnessed through event $N"; then
	ok "custody verify --agency: the token's checkpoints chain to the agency vkey"
else not_ok "custody verify --agency (exit $rc)"; echo "$out" | sed 's/^/#   /' | head; fi

# No private key anywhere the dock keeps files ($DK/keys is the agency's
# and the witness's, held off the dock in real life; cams/ and orig/ are
# the simulated cameras').
keyfiles() {
	find "$DK" \( -path "$DK/keys" -o -path "$DK/cams" -o -path "$DK/orig" \) -prune \
		-o -type f -print | while read -r f; do
		grep -l "PRIVATE KEY" "$f" 2>/dev/null
	done
}
check "no private key file under the dock's directories" [ -z "$(keyfiles)" ]
keyfiles | sed 's/^/#   found: /'
# The token's own view (opensc's pkcs11-tool): the private keys can sign
# and nothing else, and can never be read out.
if command -v pkcs11-tool >/dev/null 2>&1; then
	for o in dock-key ckpt-key; do
		pkcs11-tool --module "$P11_MODULE" --token-label dock --login --pin "$P11_PIN" \
			-O --type privkey --label "$o" >"$T/$o.attrs" 2>&1
		check "$o: sensitive, never extractable, usage sign only" sh -c \
			"grep -q 'Access: *sensitive, always sensitive, never extractable' '$T/$o.attrs' &&
			 grep -q 'Usage: *sign\$' '$T/$o.attrs'"
	done
else
	skip "token key attributes" "pkcs11-tool (opensc) not installed"
fi
check "no dock.key or ckpt.key was written" [ ! -e "$DK/state/dock.key" -a ! -e "$DK/state/ckpt.key" ]

# Start-up refusals: each names the cause.
refused() { # DESC PATTERN
	: >"$DK_LOG"
	timeout 20 "$DOCKD" --config "$DK_CONF" >>"$DK_LOG" 2>&1; rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] && grep -q -- "$2" "$DK_LOG"; then ok "$1"
	else not_ok "$1 (exit $rc)"; tail -5 "$DK_LOG" | sed 's/^/#   /'; fi
}
cp "$P11_DIR/pin" "$T/pin.good"
echo 11112222 >"$P11_DIR/pin"
refused "a wrong PIN stops dockd at start" "login refused: CKR_PIN_INCORRECT (check the PIN in $P11_DIR/pin)"
cp "$T/pin.good" "$P11_DIR/pin"
chmod 644 "$P11_DIR/pin"
refused "a PIN file others can read stops dockd" "PIN file must be a regular file readable by its owner only"
chmod 600 "$P11_DIR/pin"
DK_KEY=$(p11_uri dock-key nosuch-token)
use_cert
refused "a missing token stops dockd" "no token labelled 'nosuch-token'"
DK_KEY=$(p11_uri no-such-key)
use_cert
refused "a missing key in the token stops dockd" "no Ed25519 private key labelled 'no-such-key'"
DK_KEY=$(p11_uri dock-key | sed "s|module-path=[^&]*|module-path=$T/none.so|")
use_cert
refused "a missing PKCS#11 library stops dockd" "cannot load the PKCS#11 library"
DK_KEY="pkcs11:token=dock;object=dock-key;pin-value=1234?module-path=$P11_MODULE"
use_cert
refused "a URI with an unsupported attribute (pin-value) is refused" "attribute 'pin-value' is not supported"
DK_KEY=$(p11_uri dock-key)
DK_CKPT_KEY=$(p11_uri dock-key)
use_cert
refused "the dock key as checkpoint key: the certificate does not match" "does not certify"
DK_CKPT_KEY=$(p11_uri ckpt-key)
use_cert
# A witness (custody witness --key) may keep its key in a token too.
W=$(p11_uri witness-key)
wkeygen() { "$CUSTODY" witness keygen --key "$W" --vkey "$T/w2.vkey" --name w2.test/witness >/dev/null; }
check "custody witness keygen creates the witness key in the token" wkeygen
"$CUSTODY" witness --listen 127.0.0.1:0 --state "$T/w2" --key "$W" --name w2.test/witness \
	--log "dock.test/$DK_AGENCY $(cat "$DK/state/ckpt.vkey")" >"$T/w2.out" 2>&1 &
wpid=$!
i=0; until grep -q '^vkey ' "$T/w2.out" 2>/dev/null || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
check "custody witness serves with the token key (same vkey)" \
	[ "$(sed -n 's/^vkey //p' "$T/w2.out")" = "$(cat "$T/w2.vkey")" ]
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
check "with everything restored dockd starts again" dk_start
check "... and stops cleanly" dk_stop
check "custody verify is still clean" dk_verify
done_testing
