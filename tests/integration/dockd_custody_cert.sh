#!/bin/sh
# dockd and the agency's custody certificate ([ledger] custody_cert,
# witness_policy, agency_vkey; docs/trust.md): dockd refuses to start on
# a certificate for another checkpoint key, another dock key, another dock
# id, or one not signed by the agency; with a valid one that expires in 10
# days it starts, records custody_certified and witness_policy once,
# raises a custody-cert alert and `custody status` warns. The checkpoint
# dockd writes at start covers them, and once a witness cosigned it an
# auditor with only the agency vkey verifies the ledger.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
CS="$TBIN/tools/cosign"
check "dock, agency and checkpoint keys" dk_init "$T/dk"
A="$DK/keys/agency-sign.key"
"$CUSTODY" agency-vkey --pub "$DK/keys/agency-sign.pub" --agency-id "$DK_AGENCY" >"$DK/keys/agency.vkey"
"$CS" keygen witness.test/w1 "$DK/keys/w1.key" "$DK/keys/w1.vkey"
"$CUSTODY" agency-sign witnesses --key "$A" --agency-id "$DK_AGENCY" --version 1 --quorum 1 \
	--witness "$DK/keys/w1.vkey" --out "$DK/keys/witnesses.note" >/dev/null
cert() { # OUT CKPT_VKEY DOCK_PUB DOCK_ID DAYS [KEY]
	"$CUSTODY" agency-sign custody-cert --key "${6:-$A}" --agency-id "$DK_AGENCY" \
		--dock-id "$4" --origin "dock.test/$DK_AGENCY" --checkpoint-vkey "$2" \
		--dock-pub "$3" --days "$5" --out "$1" >/dev/null
}
use_cert() { # CERT: [ledger] keys after checkpoint_interval_s
	dk_conf_write
	sed -i "/^checkpoint_interval_s/a custody_cert = $1\nwitness_policy = $DK/keys/witnesses.note\nagency_vkey = $DK/keys/agency.vkey" "$DK_CONF"
}
refused() { # DESC PATTERN
	: >"$DK_LOG"
	timeout 20 "$DOCKD" --config "$DK_CONF" >>"$DK_LOG" 2>&1; rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] && grep -q -- "$2" "$DK_LOG"; then ok "$1"
	else not_ok "$1 (exit $rc)"; tail -5 "$DK_LOG" | sed 's/^/#   /'; fi
}
"$CUSTODY" keygen --key "$DK/keys/other.key" --vkey "$DK/keys/other.vkey" --name "dock.test/$DK_AGENCY" >/dev/null
OTHERPUB=$(printf 'cd%.0s' $(seq 32))

cert "$DK/keys/c-otherkey.cert" "$DK/keys/other.vkey" "$dk_pub" "$DK_DOCK_ID" 365
use_cert "$DK/keys/c-otherkey.cert"
refused "refuses a certificate of another checkpoint key" "does not certify \[ledger\] checkpoint_key"
cert "$DK/keys/c-otherdock.cert" "$DK/state/ckpt.vkey" "$OTHERPUB" "$DK_DOCK_ID" 365
use_cert "$DK/keys/c-otherdock.cert"
refused "refuses a certificate of another dock key" "certifies another dock key"
cert "$DK/keys/c-otherid.cert" "$DK/state/ckpt.vkey" "$dk_pub" dock-2 365
use_cert "$DK/keys/c-otherid.cert"
refused "refuses a certificate of another dock id" "certifies dock 'dock-2'"
openssl genpkey -algorithm ed25519 -out "$DK/keys/fake.key" 2>/dev/null; chmod 600 "$DK/keys/fake.key"
cert "$DK/keys/c-fake.cert" "$DK/state/ckpt.vkey" "$dk_pub" "$DK_DOCK_ID" 365 "$DK/keys/fake.key"
use_cert "$DK/keys/c-fake.cert"
refused "refuses a certificate the agency did not sign" "does not verify"
check "nothing was recorded by the refused starts" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action IN (53, 55)")" = 0 ]

cert "$DK/keys/c-short.cert" "$DK/state/ckpt.vkey" "$dk_pub" "$DK_DOCK_ID" 10
use_cert "$DK/keys/c-short.cert"
dk_status_user
: >"$DK_LOG"
check "starts with a valid certificate that expires in 10 days" dk_start
check "... warns in its log" grep -q "custody certificate expires in" "$DK_LOG"
check "... raises a custody-cert alert" sh -c "grep -q '^custody-cert' '$DK/alerts.log'"
out=$("$CUSTODY" --config "$DK_CONF" status --socket "$DK/query.sock" 2>&1)
case $out in *"WARNING custody certificate of $DK_DOCK_ID expires"*) ok "custody status warns about the certificate";;
	*) not_ok "custody status warning"; echo "$out" | tail -5 | sed 's/^/#   /';; esac
check "custody status --json stays JSON (the warning goes to stderr)" sh -c \
	"'$CUSTODY' --config '$DK_CONF' status --socket '$DK/query.sock' --json 2>/dev/null | python3 -m json.tool >/dev/null"
check "dockd stops cleanly" dk_stop
check "custody_certified and witness_policy recorded once each" \
	[ "$(dk_sql "SELECT count(*) FROM events WHERE action = 53")" = 1 -a \
	  "$(dk_sql "SELECT count(*) FROM events WHERE action = 55")" = 1 ]
check "restart records nothing again" dk_start
dk_stop
check "... still once each" [ "$(dk_sql "SELECT count(*) FROM events WHERE action IN (53, 55)")" = 2 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
check "a checkpoint covers them (size $N)" \
	[ "$N" -ge "$(dk_sql "SELECT max(seq) FROM events WHERE action IN (53, 55)")" ]
line=$("$CS" sign witness.test/w1 "$DK/keys/w1.key" "$DK/anchor/checkpoint.$N")
sqlite3 "$DK_DB" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
	line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness));
	INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($N, 'witness.test/w1', '$line', 0)"
out=$("$CUSTODY" --db "$DK_DB" --read-only verify --agency "$DK/keys/agency.vkey" \
	--external "$DK/anchor" --origin "dock.test/$DK_AGENCY" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "witnessed through event $N"; then
	ok "an auditor with only the agency vkey verifies dockd's ledger, witnessed through $N"
else not_ok "agency-mode verify of dockd's ledger (exit $rc)"; echo "$out" | sed 's/^/#   /' | head; fi
done_testing
