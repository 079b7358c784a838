#!/bin/sh
# Exports from an agency workstation recorded on the dock (issue 13,
# "Recorded on the dock, always"; docs/custody-access.md "Exports from a
# workstation"). Real dockd ingest, a real `custody serve` on its socket,
# real OS users (SO_PEERCRED). The workstation holds a read-only copy of
# the ledger, a copy of the vault and the agency key:
#   - a clerk's decrypt is recorded on the dock through the service, and
#     no output exists while the dock has not answered; a court package
#     likewise; a ledger copy whose SHA-256 differs from the dock is refused;
#   - an auditor (no export role) and another agency's clerk are refused:
#     no output, an access_denied event, an alert;
#   - a share is recorded on the dock with case, expiry and recipient;
#   - the dock down: refused with a clear message, no output;
#   - --on-behalf from an account that is not the console's: refused as a
#     delegation attempt (access_denied), no output;
#   - --offline: a signed receipt under a supervisor-issued number, verify
#     warns it is unfiled, `receipt file` files it, verify is clean; a
#     forged, duplicate or malformed receipt is refused, recorded, alerted.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null 2>&1; then
	skip "exports recorded on the dock" "needs root and runuser"
	done_testing
fi
dk_require
mktmp
chmod 0755 "$T"
CREATED=""
SERVE_PID=""
cleanup_users() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	for u in $CREATED; do userdel "$u" >/dev/null 2>&1; done
}
trap 'cleanup_users; [ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT INT TERM
test_users CLERK:dockt-rx-clerk:daemon SUPER:dockt-rx-super:bin \
	    AUDITOR:dockt-rx-aud:sys OTHER:dockt-rx-other:games
for u in "$CLERK" "$SUPER" "$AUDITOR" "$OTHER"; do
	id "$u" >/dev/null 2>&1 || { not_ok "account $u exists"; done_testing; }
done
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
eventually() { n=0; until "$@"; do n=$((n + 1)); [ $n -ge 100 ] && return 1; sleep 0.1; done; }

# ---- the dock: one ingested recording ------------------------------------
check "dock keys, config, ledger" dk_init "$T/dk"
chmod 0755 "$DK"
printf '\n[alert]\ncommand = %s\ntimeout_ms = 5000\n' "$DK/alert.sh" >>"$DK_CONF"
# an agency-certified checkpoint key and a witness (court packages carry
# tlog-proofs), as in custody_export.sh
CS="$TBIN/tools/cosign"
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
"$CUSTODY" agency-sign custody-cert --key "$A" --agency-id "$DK_AGENCY" \
	--dock-id "$DK_DOCK_ID" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$DK/state/ckpt.vkey" \
	--dock-pub "$dk_pub" --days 365 --out "$DK/keys/custody.cert" >/dev/null
sed -i "/^checkpoint_interval_s/a custody_cert = $DK/keys/custody.cert\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
check "camera CAM-1 with 1 recording" dk_camera CAM-1 1 60000
check "dockd starts" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd ingested and exited 0" [ $rc -eq 0 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
C() { "$CUSTODY" --config "$DK_CONF" "$@"; }
for p in "$CLERK:clerk:$DK_AGENCY" "$SUPER:supervisor:$DK_AGENCY" \
	 "$AUDITOR:auditor:$DK_AGENCY" "$OTHER:clerk:pd-other"; do
	IFS=: read -r u r a <<EOF
$p
EOF
	C user add "$u" --role "$r" --agency "$a" --reason "test" >/dev/null 2>&1
done
check "four users mapped on the dock" [ "$(dk_sql "SELECT count(*) FROM custody_users")" = 4 ]
check "the dock's ledger is not readable by the clerk" \
	sh -c "! runuser -u '$CLERK' -- test -r '$DK_DB'"

# ---- the workstation: ledger copy, vault copy, keys -----------------------
W="$T/ws"
mkdir -p "$W/vault" "$T/out"
cp "$DK_DB" "$W/copy.db"
cp -r "$DK_VAULT/." "$W/vault/"
chmod -R a+rX "$W"
chmod 0644 "$W/copy.db"
chmod 0777 "$T/out"
cat >"$W/ws.conf" <<EOF
[ledger]
path = $W/copy.db
agency_id = $DK_AGENCY

[query]
socket = $DK/query.sock
EOF
chmod 0644 "$W/ws.conf"
for u in "$CLERK" "$AUDITOR" "$OTHER"; do
	cp "$DK/keys/agency-enc.key" "$W/$u.key"; chown "$u" "$W/$u.key"; chmod 0600 "$W/$u.key"
done
ORIG="$DK/orig/CAM-1/REC-1.bin"
WS() { u=$1; shift; as "$u" "$CUSTODY" --config "$W/ws.conf" "$@"; }
dec() { # USER OUT [ARGS...]: decrypt CAM-1/REC-1 at the workstation
	u=$1; o=$2; shift 2
	WS "$u" decrypt --key "$W/$u.key" --vault "$W/vault" --reason "court order 12" \
		--out "$T/out/$o" "$@" CAM-1/REC-1
}
# ledger rows on the dock
nact() { dk_sql "SELECT count(*) FROM events WHERE action = $1 $2"; }
A_EXPORTED=20; A_SHARED=21; A_DENIED=22; A_FILED=60; A_ISSUED=61
copy_events=$(sqlite3 -readonly "$W/copy.db" "SELECT count(*) FROM events")

serve_up() {
	"$CUSTODY" --config "$DK_CONF" serve >>"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	eventually test -S "$DK/query.sock"
}
serve_down() {
	kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
	eventually sh -c "[ ! -e '$DK/query.sock' ]"
}
check "custody serve listens on the dock's socket" serve_up

# ---- 1. recorded on the dock before any byte leaves -----------------------
before=$(nact $A_EXPORTED)
kill -STOP "$SERVE_PID"
dec "$CLERK" r1.bin >"$T/r1.out" 2>"$T/r1.err" &
CPID=$!
# the clerk's connection waits in the (stopped) service's accept queue
connected() { ss -xlH 2>/dev/null | awk -v p="$DK/query.sock" '$5 == p && $3 >= 1 { f = 1 } END { exit !f }'; }
check "the workstation waits on the dock's answer" eventually connected
check "... and no output exists while the dock has not recorded it" \
	sh -c "[ -z \"\$(ls -A '$T/out')\" ] && [ $(nact $A_EXPORTED) = $before ]"
kill -CONT "$SERVE_PID"
wait "$CPID"; rc=$?
check "the dock answered: the decryption completes (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/r1.err"
check "the output is the original recording" cmp -s "$T/out/r1.bin" "$ORIG"
check "one exported event on the dock, by the clerk, through the service" \
	[ "$(nact $A_EXPORTED "AND actor_id = '$CLERK' AND evidence_id = 'CAM-1/REC-1'
	     AND reason = 'court order 12' AND json_extract(details, '$.via') = 'qservice'
	     AND json_extract(details, '$.command') = 'decrypt'
	     AND json_extract(details, '$.out') = '$T/out/r1.bin'")" = 1 ]
check "the workstation's ledger copy was not written" \
	[ "$(sqlite3 -readonly "$W/copy.db" "SELECT count(*) FROM events")" = "$copy_events" ]

# ---- 1b. a court package exported at the workstation ------------------------
e0=$(nact $A_EXPORTED)
WS "$CLERK" export CAM-1/REC-1 --vault "$W/vault" --out "$T/out/pkg.tar" \
	--reason "court order 12" --case CASE-9 >/dev/null 2>"$T/p1.err"; rc=$?
check "a court package exported at the workstation (exit $rc)" [ $rc -eq 0 -a -s "$T/out/pkg.tar" ]
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/p1.err"
check "... recorded on the dock: package, evidence SHA-256, case, via the service" \
	[ "$(nact $A_EXPORTED "AND actor_id = '$CLERK' AND case_no = 'CASE-9'
	     AND json_extract(details, '$.command') = 'export'
	     AND json_extract(details, '$.package') = 'pkg'
	     AND json_extract(details, '$.evidence_sha256') = '$(sha256sum "$W/vault/$DK_AGENCY/CAM-1/REC-1.bcde" | cut -c1-64)'
	     AND json_extract(details, '$.via') = 'qservice'")" = 1 ]
vp() { "$CUSTODY" verify-package "$T/out/pkg.tar" --agency "$DK/keys/agency.vkey" \
	--witnesses "$DK/keys/witnesses.note" >"$T/vp.out" 2>&1; }
check "... and the package verifies (with the agency and witness keys from outside)" vp ||
	sed 's/^/#   /' "$T/vp.out"

# ---- 1b'. --on-behalf is the web console's alone ----------------------------
# (docs/console.md "Court packages"): a clerk naming a supervisor is
# refused by the service as a delegation attempt, recorded, no output
e0=$(nact $A_EXPORTED); d0=$(nact $A_DENIED)
WS "$CLERK" export CAM-1/REC-1 --vault "$W/vault" --out "$T/out/ob.tar" --reason "court order 12" \
	--socket "$DK/query.sock" --on-behalf "$SUPER" >/dev/null 2>"$T/ob.err"; rc=$?
check "export --on-behalf from a clerk's account: refused (exit $rc), no package" \
	sh -c "[ $rc -ne 0 ] && grep -q 'refused to record' '$T/ob.err' && [ ! -e '$T/out/ob.tar' ] && [ ! -e '$T/out/ob.tar.partial' ]"
check "... recorded as access_denied (deny-delegation), no exported event" \
	[ "$(nact $A_DENIED "AND seq > 0 AND details LIKE '%deny-delegation%'")" -ge 1 -a \
	  "$(nact $A_DENIED)" = $((d0 + 1)) -a "$(nact $A_EXPORTED)" = "$e0" ]

# ---- 1c. a ledger copy that differs from the dock decides nothing ------------
cp "$W/copy.db" "$W/stale.db"
sqlite3 "$W/stale.db" "UPDATE evidence SET sha256 = '$(printf '0%.0s' $(seq 64))'
	WHERE evidence_id = 'CAM-1/REC-1'"
chmod 0644 "$W/stale.db"
sed "s|^path = .*|path = $W/stale.db|" "$W/ws.conf" >"$W/stale.conf"; chmod 0644 "$W/stale.conf"
as "$CLERK" "$CUSTODY" --config "$W/stale.conf" decrypt --key "$W/$CLERK.key" --vault "$W/vault" \
	--reason "court order 12" --out "$T/out/stale.bin" CAM-1/REC-1 >/dev/null 2>"$T/st.err"; rc=$?
check "a copy whose SHA-256 differs from the dock's: refused (exit $rc), no output" \
	sh -c "[ $rc -eq 1 ] && grep -q 'the dock records SHA-256' '$T/st.err' && [ ! -e '$T/out/stale.bin' ]"
check "... the attempt and its failure are on the dock" \
	[ "$(nact $A_EXPORTED "AND outcome = 2 AND json_extract(details, '$.error') = 'ledger copy differs from the dock'")" = 1 ]

# ---- 2. refused: role, agency ----------------------------------------------
alerts0=$(dk_alerts)
den0=$(nact $A_DENIED)
dec "$AUDITOR" r2.bin >/dev/null 2>"$T/r2.err"; rc=$?
check "an auditor (no export role) is refused, exit 1, saying so" \
	sh -c "[ $rc -eq 1 ] && grep -q 'refused to record' '$T/r2.err' && grep -q 'role' '$T/r2.err'"
check "... no output" [ ! -e "$T/out/r2.bin" ]
check "... an access_denied event (deny-role) on the item" \
	[ "$(nact $A_DENIED "AND actor_id = '$AUDITOR' AND evidence_id = 'CAM-1/REC-1'
	     AND json_extract(details, '$.verdict') = 'deny-role'")" = 1 ]
check "... and an alert" eventually sh -c "[ \$(wc -l <'$DK/alerts.log') -gt $alerts0 ]"
dec "$OTHER" r3.bin >/dev/null 2>"$T/r3.err"; rc=$?
check "another agency's clerk is refused (exit $rc), no output" \
	sh -c "[ $rc -eq 1 ] && [ ! -e '$T/out/r3.bin' ]"
check "... an access_denied event (deny-agency) and an alert" \
	sh -c "[ \"\$(sqlite3 -readonly '$DK_DB' \"SELECT count(*) FROM events WHERE action = $A_DENIED
		AND actor_id = '$OTHER' AND json_extract(details, '\$.verdict') = 'deny-agency'\")\" = 1 ]"
check "... alerted" eventually sh -c "grep -q 'deny-agency' '$DK/alerts.log'"

# ---- 3. a share, recorded on the dock with case, expiry, recipient ----------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/da.key" 2>/dev/null
openssl pkey -in "$T/da.key" -pubout -out "$W/da.pub" && chmod 0644 "$W/da.pub"
WS "$CLERK" share CAM-1/REC-1 --key "$W/$CLERK.key" --vault "$W/vault" --to "$W/da.pub" \
	--case "CASE-9" --until 2099-01-01 --reason "to the DA" --out "$T/out/s1.share.json" \
	>/dev/null 2>"$T/s1.err"
check "a share at the workstation is made" [ -s "$T/out/s1.share.json" ]
[ -s "$T/out/s1.share.json" ] || sed 's/^/#   /' "$T/s1.err"
rk=$("$CUSTODY" agency-keyid "$W/da.pub")
check "... and recorded on the dock: case, until, recipient key id" \
	[ "$(nact $A_SHARED "AND actor_id = '$CLERK' AND case_no = 'CASE-9'
	     AND json_extract(details, '$.until') = '2099-01-01T23:59:59Z'
	     AND json_extract(details, '$.recipient_key_id') = '$rk'
	     AND json_extract(details, '$.via') = 'qservice'")" = 1 ]

# ---- 4. offline receipts: issued by a supervisor ----------------------------
openssl genpkey -algorithm ed25519 -out "$T/ws1.key" 2>/dev/null
openssl pkey -in "$T/ws1.key" -pubout -out "$W/ws1.pub"; chmod 0644 "$W/ws1.pub"
mkdir -p "$T/wsc"; chown "$CLERK" "$T/wsc"; mv "$T/ws1.key" "$T/wsc/ws1.key"
chown "$CLERK" "$T/wsc/ws1.key"; chmod 0600 "$T/wsc/ws1.key"
WS "$CLERK" receipt issue --workstation ws1 --key "$W/ws1.pub" --count 1 \
	--reason "field office" --out "$T/out/x.range" >/dev/null 2>"$T/i0.err"; rc=$?
check "a clerk may not issue receipts (exit $rc)" sh -c "[ $rc -eq 1 ] && [ ! -e '$T/out/x.range' ]"
chmod 0777 "$T/wsc"
WS "$SUPER" receipt issue --workstation ws1 --key "$W/ws1.pub" --count 1 \
	--reason "field office" --out "$T/wsc/ws1.range" >"$T/i1.out" 2>&1
check "a supervisor issues one receipt number to ws1" \
	[ "$(nact $A_ISSUED "AND actor_id = '$SUPER' AND json_extract(details, '$.workstation') = 'ws1'")" = 1 ]
N=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["first"])' "$T/wsc/ws1.range")
chown "$CLERK" "$T/wsc/ws1.range"; chmod 0755 "$T/wsc"

# ---- 5. the dock down -------------------------------------------------------
check "the dock's service stops" serve_down
exp0=$(nact $A_EXPORTED)
dec "$CLERK" r4.bin >/dev/null 2>"$T/r4.err"; rc=$?
check "dock unreachable: refused (exit $rc) with a clear message, no output" \
	sh -c "[ $rc -eq 2 ] && grep -q 'cannot be reached' '$T/r4.err' &&
	       grep -q -- '--offline' '$T/r4.err' && [ ! -e '$T/out/r4.bin' ]"

# ---- 6. --offline: a signed receipt, reported until filed -------------------
dec "$CLERK" r5.bin --offline --receipt-key "$T/wsc/ws1.key" --receipts "$T/wsc/ws1.range" \
	>/dev/null 2>"$T/r5.err"; rc=$?
R="$T/wsc/ws1.range.$N.receipt"
check "--offline: the decryption is made (exit $rc), saying OFFLINE" \
	sh -c "[ $rc -eq 0 ] && cmp -s '$T/out/r5.bin' '$ORIG' && grep -q OFFLINE '$T/r5.err'"
check "... with receipt $N written" [ -s "$R" ]
check "... the receipt verifies with openssl alone (docs' format)" sh -c "
	head -n -1 '$R' >'$T/msg' && sed -n 's/^signature: //p' '$R' | xxd -r -p >'$T/sig' &&
	openssl pkeyutl -verify -pubin -inkey '$W/ws1.pub' -rawin -in '$T/msg' -sigfile '$T/sig' >/dev/null"
check "... nothing reached the dock" [ "$(nact $A_EXPORTED)" = "$exp0" ]
dec "$CLERK" r6.bin --offline --receipt-key "$T/wsc/ws1.key" --receipts "$T/wsc/ws1.range" \
	>/dev/null 2>"$T/r6.err"; rc=$?
check "every number used: a second offline export is refused, no output" \
	sh -c "[ $rc -ne 0 ] && [ ! -e '$T/out/r6.bin' ] && grep -q 'every receipt number' '$T/r6.err'"
C verify >"$T/v1.out" 2>&1; rc=$?
check "verify reports receipt $N unfiled (a warning; exit $rc = the findings')" \
	sh -c "[ $rc -eq 0 ] && grep -q '^WARNING: unfiled export receipt $N ' '$T/v1.out'"

# ---- 7. filing back -----------------------------------------------------------
check "the dock's service is back" serve_up
sed 's/^reason: court order 12$/reason: court order 13/' "$R" >"$T/wsc/forged.receipt"
check "(the forged copy differs only in its reason)" \
	[ "$(cmp -l "$R" "$T/wsc/forged.receipt" | wc -l)" = 1 ]
alerts1=$(dk_alerts)
WS "$CLERK" receipt file "$T/wsc/forged.receipt" >/dev/null 2>"$T/f0.err"; rc=$?
check "a forged receipt is refused (exit $rc), saying why" \
	sh -c "[ $rc -eq 1 ] && grep -q 'signature does not verify' '$T/f0.err'"
check "... recorded as a failed filing and alerted" sh -c \
	"[ \"\$(sqlite3 -readonly '$DK_DB' \"SELECT count(*) FROM events WHERE action = $A_FILED AND outcome = 2\")\" = 1 ]" 
check "... alert receipt-refused" eventually sh -c "grep -q 'receipt-refused' '$DK/alerts.log'"
WS "$CLERK" receipt file "$R" >"$T/f1.out" 2>&1; rc=$?
check "the receipt is filed (exit $rc)" [ $rc -eq 0 ]
check "... export_receipt_filed on the item, naming number, command, who, why" \
	[ "$(nact $A_FILED "AND outcome = 1 AND evidence_id = 'CAM-1/REC-1' AND reason = 'court order 12'
	     AND json_extract(details, '$.number') = $N AND json_extract(details, '$.command') = 'decrypt'
	     AND json_extract(details, '$.by') = '$CLERK'")" = 1 ]
WS "$CLERK" receipt file "$R" >/dev/null 2>"$T/f2.err"; rc=$?
check "filing it again is refused as a duplicate (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'duplicate' '$T/f2.err'"
check "... and alerted" eventually sh -c "[ \$(grep -c 'receipt-refused' '$DK/alerts.log') -ge 2 ]"
printf 'custody-export-receipt/v1\nnumber: 1\n' >"$T/wsc/junk.receipt"
WS "$CLERK" receipt file "$T/wsc/junk.receipt" >/dev/null 2>"$T/f3.err"; rc=$?
check "a malformed receipt is refused (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'documented format' '$T/f3.err'"
check "exactly one receipt filed ok" [ "$(nact $A_FILED "AND outcome = 1")" = 1 ]
serve_down
C verify >"$T/v2.out" 2>&1; rc=$?
check "verify: no unfiled receipt any more (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && ! grep -q 'unfiled' '$T/v2.out'"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/v2.out"
done_testing
