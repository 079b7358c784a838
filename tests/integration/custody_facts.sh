#!/bin/sh
# Governing facts are events (issue #10): a real dockd ingests from an
# enrolled camsim camera; then
#  - the ingested event carries the camera's signed manifest entry, its
#    signature and the device key, and an outside verifier (openssl, from
#    docs/custody-ledger.md alone) checks the signature against the key of
#    the device_enrolled event; `custody verify` is clean;
#  - a camera enrolled by a direct SQL INSERT into dock_cameras is refused
#    at docking (device_rejected + alert) and reported by verify;
#  - a role granted by a direct SQL INSERT into custody_users, or raised by
#    an UPDATE, is reported by verify (table-users) and refused by the
#    query service;
#  - config_changed at start and on a SIGHUP that changed the file;
#  - recipients must match the agency-signed recipient policy: a PEM added
#    to the config without the agency's signature is refused at start and on
#    SIGHUP (alert), a changed policy note is refused, the policy in force is
#    a recipient_policy event, and ingested events list their recipients.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
DK_IDLE_MS=2000
check "dock, agency and checkpoint keys" dk_init "$T/dk"
check "camera CAM-1 with 1 recording, enrolled" dk_camera CAM-1 1 50000
"$CUSTODY" --config "$DK_CONF" user add "$(id -un)" --role clerk --agency "$DK_AGENCY" \
	--reason "facts test" >/dev/null 2>&1
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
check "camsim docking ends cleanly" [ $? -eq 0 ]
wait "$DK_PID"; DK_PID=
check "CAM-1/REC-1 stored" [ -n "$(dk_sql "SELECT 1 FROM dock_recordings WHERE evidence_id='CAM-1/REC-1' AND state != 'pulling'")" ]
check "custody verify is clean" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
sha=$(sha256sum "$DK_CONF" | cut -d' ' -f1)
check "config_changed at start records the file's SHA-256 and its keys" dk_py '
ev = [e for e in events() if e[1] == "config_changed"][-1][3]
assert ev["sha256"] == args[0] and ev["trigger"] == "start", ev
assert "encryption.recipients" in ev["keys"] and "encryption.recipients" in ev["changed"], ev
' "$sha"

# The outside verifier: the bytes of docs/custody-ledger.md "Origin of a
# recording", the key from the device_enrolled event, openssl.
dk_py '
import json, sys
ing = [e for e in events("CAM-1/REC-1") if e[1] == "ingested"][0][3]
enr = [e for e in events() if e[1] == "device_enrolled" and e[3]["serial"] == "CAM-1"][-1][3]
assert ing["device_key"] == enr["pubkey"], "device_key is the enrolled key"
assert len(ing["recipients"]) >= 1 and all(len(k) == 64 for k in ing["recipients"])
serial = ing["camera"].encode()
tbs = b"BCDK-v1 manifest\0" + len(serial).to_bytes(2, "big") + serial + bytes.fromhex(ing["manifest_entry"])
d = args[0]
open(d + "/tbs.bin", "wb").write(tbs)
open(d + "/sig.bin", "wb").write(bytes.fromhex(ing["manifest_sig"]))
sig = bytes.fromhex(ing["manifest_sig"])
open(d + "/bad.bin", "wb").write(bytes([sig[0] ^ 1]) + sig[1:])  # R changed: always a different signature
spki = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(enr["pubkey"])
open(d + "/dev.der", "wb").write(spki)
' "$T" 2>"$T/py.err"
check "ingested event has manifest_entry, manifest_sig, enrolled device_key, recipients" [ $? -eq 0 ]
sed 's/^/#   /' "$T/py.err" | tail -3
openssl pkey -pubin -inform DER -in "$T/dev.der" -out "$T/dev.pem" 2>/dev/null
check "openssl verifies the manifest signature with the enrolled key" \
	openssl pkeyutl -verify -pubin -inkey "$T/dev.pem" -rawin -in "$T/tbs.bin" -sigfile "$T/sig.bin"
check_fails "openssl refuses a changed signature" \
	openssl pkeyutl -verify -pubin -inkey "$T/dev.pem" -rawin -in "$T/tbs.bin" -sigfile "$T/bad.bin"

# A camera enrolled by SQL, with no event.
xpub=$("$CAMSIM" init --dir "$DK/cams/X" --serial CAM-X --model M --officer OFF-X \
	--agency-pub "$DK/keys/agency-sign.pub")
head -c 1000 /dev/urandom >"$T/x.bin"
"$CAMSIM" add --dir "$DK/cams/X" --id R1 --file "$T/x.bin" --category patrol >/dev/null
sqlite3 "$DK_DB" "INSERT INTO dock_cameras VALUES('CAM-X','$xpub','OFF-X','M','$DK_AGENCY','enrolled',1)"
a0=$(dk_alerts)
check "dockd starts again" dk_start --exit-when-idle
dk_dock X
check_fails "the camera enrolled by SQL is refused" [ $? -eq 0 ]
wait "$DK_PID"; DK_PID=
check "device_rejected says the row has no event" [ "$(dk_sql "SELECT count(*) FROM events WHERE action=3 AND reason LIKE '%no device_enrolled event%'")" -ge 1 ]
check "an alert was raised" [ "$(dk_alerts)" -gt "$a0" ]
check "nothing ingested from it" [ -z "$(dk_sql "SELECT 1 FROM dock_recordings WHERE serial='CAM-X'")" ]
check_fails "custody verify fails" dk_verify
check "verify reports the dock_cameras row (table-cameras)" grep -q "FINDING table-cameras.*CAM-X" "$DK/verify.out"
sqlite3 "$DK_DB" "DELETE FROM dock_cameras WHERE serial='CAM-X'"
check "verify is clean once the row is gone" dk_verify

# Roles by SQL.
sqlite3 "$DK_DB" "INSERT INTO custody_users VALUES('mallory','admin','$DK_AGENCY',1,0)"
check_fails "custody verify fails (role inserted by SQL)" dk_verify
check "verify reports the custody_users row (table-users)" grep -q "FINDING table-users.*mallory" "$DK/verify.out"
sqlite3 "$DK_DB" "DELETE FROM custody_users WHERE name='mallory'"
me=$(id -un)
check "dockd starts (query service)" dk_start
st() { "$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" --json >/dev/null 2>&1; }
check "the clerk's role (set by its event) works" st
sqlite3 "$DK_DB" "UPDATE custody_users SET role='admin' WHERE name='$me'"
check_fails "a role raised by SQL grants nothing: the service refuses" st
check_fails "custody verify fails (role raised by SQL)" dk_verify
check "verify reports the raised role" grep -q "FINDING table-users.*$me" "$DK/verify.out"
sqlite3 "$DK_DB" "UPDATE custody_users SET role='clerk' WHERE name='$me'"
n0=$(dk_sql "SELECT count(*) FROM events WHERE action=47")
kill -HUP "$DK_PID"; sleep 1
check "SIGHUP with an unchanged file records nothing" [ "$(dk_sql "SELECT count(*) FROM events WHERE action=47")" -eq "$n0" ]
DK_LOG_LEVEL=info; dk_conf_write
kill -HUP "$DK_PID"
i=0; while [ "$(dk_sql "SELECT count(*) FROM events WHERE action=47")" -eq "$n0" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "SIGHUP after an edit: config_changed names only the changed key" dk_py '
ev = [e for e in events() if e[1] == "config_changed"][-1][3]
assert ev["trigger"] == "sighup" and ev["changed"] == ["dock.log_level"], ev
'
dk_stop

# ---- the agency-signed recipient policy ----
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --key "$A" --agency-id "$DK_AGENCY" >"$DK/agency.vkey"
check "the agency signs recipient policy v1 (its encryption key)" \
	quiet "$CUSTODY" agency-sign recipients --key "$A" --agency-id "$DK_AGENCY" --version 1 \
	--recipient "$DK/keys/agency-enc.pub" --out "$DK/recipients.note"
(umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rogue.key" 2>/dev/null)
openssl pkey -in "$T/rogue.key" -pubout -out "$T/rogue.pub"
conf() { # RECIPIENTS [POLICY]
	dk_conf_write
	sed -i "s|^recipients = .*|recipients = $1\\nrecipient_policy = ${2:-$DK/recipients.note}\\nagency_vkey = $DK/agency.vkey|" "$DK_CONF"
}
conf "$DK/keys/agency-enc.pub"
check "dockd starts with recipients matching the policy" dk_start
kid=$("$CUSTODY" agency-keyid "$DK/keys/agency-enc.pub" | grep -Eo '[0-9a-f]{64}' | head -1)
check "recipient_policy event: note, version 1, the agency key id" dk_py '
ev = [e for e in events() if e[1] == "recipient_policy"][-1][3]
assert ev["version"] == 1 and ev["key_ids"] == [args[0]], ev
assert ev["note"] == open(args[1]).read(), "the whole signed note"
' "$kid" "$DK/recipients.note"
np=$(dk_sql "SELECT count(*) FROM events WHERE action=54")
a0=$(dk_alerts)
conf "$DK/keys/agency-enc.pub, $T/rogue.pub"
kill -HUP "$DK_PID"
i=0; while ! grep -q "not in the agency-signed recipient policy" "$DK_LOG" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "SIGHUP with a PEM the agency did not sign is refused (log names file, cause, fix)" \
	grep -q "rogue.pub (key id [0-9a-f]*) is not in the agency-signed recipient policy .*fix:" "$DK_LOG"
check "an alert was raised for the refused reload" [ "$(dk_alerts)" -gt "$a0" ]
check "dockd keeps running" dk_alive
check "no recipient_policy event for it" [ "$(dk_sql "SELECT count(*) FROM events WHERE action=54")" -eq "$np" ]
dk_stop
: >"$DK_LOG"
check_fails "dockd refuses to start with the unsigned recipient" dk_start --exit-when-idle
check "the start refusal names the file, the cause and the fix" \
	grep -q "rogue.pub (key id [0-9a-f]*) is not in the agency-signed recipient policy .*fix:" "$DK_LOG"
sed "s/^version 1\$/version 2/" "$DK/recipients.note" >"$T/changed.note"
conf "$DK/keys/agency-enc.pub" "$T/changed.note"
: >"$DK_LOG"
check_fails "dockd refuses a policy note whose text was changed" dk_start --exit-when-idle
check "... because the agency's signature does not verify" grep -q "signature does not verify" "$DK_LOG"
dk_conf_write
: >"$DK_LOG"
check_fails "dockd refuses to run without a policy once the ledger holds one" dk_start --exit-when-idle
check "... and says so" grep -q "ledger already holds an agency-signed recipient policy" "$DK_LOG"
conf "$DK/keys/agency-enc.pub"
check "camera CAM-2, enrolled" dk_camera CAM-2 1 30000
check "dockd starts with the policy again" dk_start --exit-when-idle
dk_dock CAM-2
wait "$DK_PID"; DK_PID=
check "ingested event lists the policy's key id as its recipient" dk_py '
ev = [e for e in events("CAM-2/REC-1") if e[1] == "ingested"][0][3]
assert ev["recipients"] == [args[0]], ev
' "$kid"
check "custody verify is clean" dk_verify
dk_verify || sed 's/^/#   /' "$DK/verify.out" | head
done_testing
