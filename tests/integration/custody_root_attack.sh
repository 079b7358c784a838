#!/bin/sh
# The dock's root against an auditor who holds only the agency's vkey
# (docs/trust.md, docs/threat-model.md). Root holds every key and file on
# the dock: it rewrites history without an old ledger_read event,
# recomputes every hash, re-signs every checkpoint (with the dock's
# certified checkpoint key, or with a key of its own and its own vkey
# file, or with a custody certificate from an "agency" key of its own)
# and replaces every file. `custody verify` trusting the dock's key file
# passes every one of these forgeries (the old code path, shown below);
# `custody verify --agency` catches each. Also: the dock's own start-up
# checks of the certificate, idempotent recording, the expiry warning.
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
CS="$TBIN/tools/cosign"
RW="$TBIN/tools/ledger_rewrite"
ORIGIN=dock.example/pd-test
DOCKPUB=$(printf 'ab%.0s' $(seq 32))
mkdir -p "$T/agency" "$T/dock/ext" "$T/w" "$T/auditor" "$T/root"

# --- at the agency (offline): signing key, vkey for auditors ---
openssl genpkey -algorithm ed25519 -out "$T/agency/sign.key" 2>/dev/null
chmod 600 "$T/agency/sign.key"
openssl pkey -in "$T/agency/sign.key" -pubout -out "$T/agency/sign.pub"
"$C" agency-vkey --pub "$T/agency/sign.pub" --agency-id pd-test >"$T/auditor/agency.vkey"
check "agency vkey is named <agency>/agency" grep -q '^pd-test/agency+[0-9a-f]\{8\}+' "$T/auditor/agency.vkey"
cp "$T/auditor/agency.vkey" "$T/dock/agency.vkey"
# a witness on another machine (stand-in: the real cosignature code)
"$CS" keygen witness.example/w1 "$T/w/w1.key" "$T/w/w1.vkey"
"$C" agency-sign witnesses --key "$T/agency/sign.key" --agency-id pd-test --version 1 \
	--quorum 1 --witness "$T/w/w1.vkey" --out "$T/dock/witnesses.note" >/dev/null
cp "$T/dock/witnesses.note" "$T/auditor/"

# --- the dock: checkpoint key, certified by the agency ---
"$C" keygen --key "$T/dock/ck.key" --vkey "$T/dock/ck.vkey" --name $ORIGIN >/dev/null
"$C" agency-sign custody-cert --key "$T/agency/sign.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/dock/ck.vkey" --dock-pub "$DOCKPUB" --days 365 \
	--out "$T/dock/custody.cert" >/dev/null
check "custody certificate verifies with the agency vkey alone" \
	sh -c "'$C' agency-check --agency '$T/auditor/agency.vkey' '$T/dock/custody.cert' >/dev/null"
mkconf() { # file cert
	cat >"$1" <<EOC
[ledger]
path = $T/dock/l.db
agency_id = pd-test
checkpoint_key = $T/dock/ck.key
checkpoint_pub = $T/dock/ck.vkey
checkpoint_origin = $ORIGIN
external_checkpoint_dir = $T/dock/ext
custody_cert = $2
witness_policy = $T/dock/witnesses.note
agency_vkey = $T/dock/agency.vkey
EOC
}
mkconf "$T/dock/c.ini" "$T/dock/custody.cert"
CF="--config $T/dock/c.ini"
"$C" $CF init >/dev/null
"$C" $CF demo-fill 6 --per-session 2 >/dev/null
"$C" $CF history "$(sqlite3 "$T/dock/l.db" "SELECT min(evidence_id) FROM evidence")" \
	--reason "court order 17" >/dev/null   # a ledger_read
"$C" $CF demo-fill 4 --per-session 2 >/dev/null
"$C" $CF checkpoint >/dev/null
q() { sqlite3 "$T/dock/l.db" "$@"; }
check "custody_certified (53) recorded once, before the first checkpoint" \
	[ "$(q "SELECT count(*) FROM events WHERE action = 53")" = 1 -a \
	  "$(q "SELECT min(seq) FROM events WHERE action = 53")" -lt "$(q "SELECT min(size) FROM checkpoints")" ]
check "witness_policy (55) recorded once" [ "$(q "SELECT count(*) FROM events WHERE action = 55")" = 1 ]
check "the recorded note is the agency's file byte for byte" \
	[ "$(q "SELECT json_extract(details, '\$.note') FROM events WHERE action = 53")" = "$(cat "$T/dock/custody.cert")" ]
READ=$(q "SELECT min(seq) FROM events WHERE action = 42")
check "the ledger_read to be deleted exists (seq $READ)" [ -n "$READ" ]

out=$("$C" $CF verify --agency "$T/auditor/agency.vkey" 2>&1); rc=$?
case $out in *"FINDING unwitnessed"*) ok "before any cosignature: newest checkpoint reported unwitnessed";;
	*) not_ok "unwitnessed not reported (exit $rc)"; echo "$out" | sed 's/^/# /' | head;; esac

# --- the witness cosigns every checkpoint (table of docs/trust.md) ---
witness_all() { # db extdir [age: seconds since the witness cosigned, default 0]
	sqlite3 "$1" "CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT,
		line TEXT, received_ns INTEGER, PRIMARY KEY(size, witness))"
	for s in $(sqlite3 "$1" "SELECT size FROM checkpoints ORDER BY size"); do
		line=$("$CS" sign witness.example/w1 "$T/w/w1.key" "$2/checkpoint.$s" \
			$(($(date +%s) - ${3:-0}))) || return 1
		sqlite3 "$1" "INSERT OR IGNORE INTO checkpoint_cosigs VALUES ($s, 'witness.example/w1', '$line', 0)"
	done
}
witness_all "$T/dock/l.db" "$T/dock/ext" 3600   # the witness saw them an hour ago
out=$("$C" $CF verify --agency "$T/auditor/agency.vkey" --witnesses "$T/auditor/witnesses.note" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^OK: " && echo "$out" | grep -q "1 certified checkpoint key, witness policy version 1"; then
	ok "honest ledger verifies in agency mode (agency vkey + witness policy only)"
else not_ok "honest agency-mode verify (exit $rc)"; echo "$out" | sed 's/^/# /' | head -12; fi
# new checkpoints the witnesses have not cosigned: a grace period counted
# from the witnesses' own signed time of the newest witnessed checkpoint
"$C" $CF demo-fill 2 >/dev/null
expect0() { # DESC PATTERN ARGS: verify exits 1 and prints PATTERN
	d=$1; p=$2; shift 2
	out=$("$C" $CF verify "$@" 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$p"; then ok "$d"
	else not_ok "$d (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | head -8; fi
}
expect0 "witnesses silent for an hour: the unwitnessed newest checkpoint is a finding" \
	"FINDING unwitnessed seq .*cosigned 36[0-9][0-9] s ago, more than the 600 s allowed" \
	--agency "$T/auditor/agency.vkey"
witness_all "$T/dock/l.db" "$T/dock/ext" 60
"$C" $CF demo-fill 2 >/dev/null
out=$("$C" $CF verify --agency "$T/auditor/agency.vkey" 2>&1); rc=$?
check "a checkpoint newer than the last cosignature (60 s ago) is within the grace" [ $rc -eq 0 ]
check "... and said so" sh -c "echo '$out' | grep -q 'INFO the newest checkpoint .* is not witnessed yet'"
expect0 "... but not with --witness-grace 30" "FINDING unwitnessed" \
	--agency "$T/auditor/agency.vkey" --witness-grace 30
witness_all "$T/dock/l.db" "$T/dock/ext" 60
out=$("$C" $CF verify --agency "$T/auditor/agency.vkey" 2>&1); rc=$?
check "... and with the witness policy taken from its witness_policy event" [ $rc -eq 0 ]
# a read after the last cosignature: its ledger_read is not witnessed yet
"$C" $CF history "$(q "SELECT max(evidence_id) FROM evidence")" >/dev/null
out=$("$C" $CF verify --agency "$T/auditor/agency.vkey" 2>&1); rc=$?
check "events after the newest witnessed checkpoint are reported not yet witnessed" \
	sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q 'INFO events .* are not yet witnessed; the oldest is'"
"$C" $CF checkpoint >/dev/null
check "repeated runs do not record the certificate again" [ "$(q "SELECT count(*) FROM events WHERE action = 53")" = 1 ]
witness_all "$T/dock/l.db" "$T/dock/ext" 60
sqlite3 "$T/dock/l.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp -a "$T/dock" "$T/pristine"

# --- root: rewrite history with the dock's certified key ---
# attack DIR: replace the dock's ledger and published checkpoints with a
# rewrite of the pristine ledger (without event $READ) signed by KEY
attack() { # key origin [drop|rewrite]
	rm -rf "$T/dock" && cp -a "$T/pristine" "$T/dock"
	rm -f "$T/dock/l.db" "$T/dock/l.db-wal" "$T/dock/l.db-shm"
	mkdir -p "$T/root/ext.new" && rm -f "$T/root/ext.new/"*
	"$RW" "$T/pristine/l.db" "$T/dock/l.db" "$1" "$2" "$T/root/ext.new" "$READ" ${3:-drop} >/dev/null || return 1
	rm -rf "$T/dock/ext" && cp -a "$T/root/ext.new" "$T/dock/ext"
	# published checkpoints look a minute old, like any real ones
	find "$T/dock/ext" -type f -exec touch -d '-1 minute' {} +
	sqlite3 "$T/dock/l.db" "UPDATE checkpoints SET created_ns = created_ns - 60000000000" 2>/dev/null || \
	sqlite3 "$T/dock/l.db" "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET created_ns = created_ns - 60000000000"
}
keep_cosigs() { # root keeps the witness's old cosignatures, hoping they pass
	sqlite3 "$T/dock/l.db" "ATTACH '$T/pristine/l.db' AS p;
		CREATE TABLE IF NOT EXISTS checkpoint_cosigs(size INTEGER, witness TEXT, line TEXT,
			received_ns INTEGER, PRIMARY KEY(size, witness));
		INSERT OR IGNORE INTO checkpoint_cosigs SELECT * FROM p.checkpoint_cosigs"
}
# expect DESC PATTERN ARGS: verify must fail (exit 1) and print PATTERN
expect() {
	d=$1; p=$2; shift 2
	out=$("$C" $CF verify "$@" 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q -- "$p"; then ok "$d"
	else not_ok "$d (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | head -8; fi
}
passes() { # DESC: the old code path (trusting the dock's key file) passes
	out=$("$C" $CF verify 2>&1); rc=$?
	if [ $rc -eq 0 ]; then ok "$1"; else not_ok "$1 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | head -5; fi
}

attack "$T/pristine/ck.key" $ORIGIN rewrite && keep_cosigs
check "root's rewrite really replaced the ledger_read" \
	[ "$(q "SELECT count(*) FROM events WHERE action = 42")" -lt "$(sqlite3 "$T/pristine/l.db" "SELECT count(*) FROM events WHERE action = 42")" ]
passes "old path: verify trusting the dock's checkpoint_pub passes the rewritten ledger"
expect "agency mode: the witness's cosignatures do not verify on re-signed checkpoints" \
	"FINDING cosignature" --agency "$T/auditor/agency.vkey"
expect "agency mode: the newest (re-signed) checkpoint is not witnessed" \
	"FINDING unwitnessed" --agency "$T/auditor/agency.vkey" --witnesses "$T/auditor/witnesses.note"

attack "$T/pristine/ck.key" $ORIGIN   # deleted outright, cosignatures dropped
passes "old path: passes the rewrite without cosignatures too"
expect "agency mode: rewrite with the cosignatures dropped: unwitnessed" \
	"FINDING unwitnessed" --agency "$T/auditor/agency.vkey" --witnesses "$T/auditor/witnesses.note"

attack "$T/pristine/ck.key" $ORIGIN   # ... and no checkpoint left at all
sqlite3 "$T/dock/l.db" "DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints"
rm -f "$T/dock/ext/"*
passes "old path: passes a ledger without any checkpoint"
expect "agency mode: events with no certified checkpoint at all: unwitnessed" \
	"FINDING unwitnessed" --agency "$T/auditor/agency.vkey"

# --- root: its own checkpoint key and its own vkey file ---
"$C" keygen --key "$T/root/ck.key" --vkey "$T/root/ck.vkey" --name $ORIGIN >/dev/null
attack "$T/root/ck.key" $ORIGIN && keep_cosigs
cp "$T/root/ck.vkey" "$T/dock/ck.vkey"; cp "$T/root/ck.key" "$T/dock/ck.key"
passes "old path: root's own key + own vkey file passes"
expect "agency mode: checkpoints by root's own key are not certified" \
	"FINDING checkpoint-unknown-key" --agency "$T/auditor/agency.vkey"

# --- root: an "agency" of its own certifies root's key; the dock's
#     agency_vkey replaced, so the dock itself starts happily ---
openssl genpkey -algorithm ed25519 -out "$T/root/agency.key" 2>/dev/null; chmod 600 "$T/root/agency.key"
"$C" agency-vkey --key "$T/root/agency.key" --agency-id pd-test >"$T/root/agency.vkey"
"$C" agency-sign custody-cert --key "$T/root/agency.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/root/ck.vkey" --dock-pub "$DOCKPUB" --days 365 \
	--out "$T/root/custody.cert" >/dev/null
"$C" agency-sign witnesses --key "$T/root/agency.key" --agency-id pd-test --version 2 \
	--quorum 1 --witness "$T/w/w1.vkey" --out "$T/root/witnesses.note" >/dev/null
cp "$T/root/agency.vkey" "$T/dock/agency.vkey"
cp "$T/root/witnesses.note" "$T/dock/witnesses.note"
mkconf "$T/dock/c.ini" "$T/root/custody.cert"
out=$("$C" $CF checkpoint 2>&1); rc=$?
check "the dock accepts root's certificate under root's agency_vkey (it proves nothing)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /' 
expect "agency mode: a certificate not signed by the agency is a finding" \
	"FINDING custody-cert seq" --agency "$T/auditor/agency.vkey"
expect "agency mode: ... and root's key stays untrusted" \
	"FINDING checkpoint-unknown-key" --agency "$T/auditor/agency.vkey"
expect "agency mode: ... so is a witness policy not signed by the agency" \
	"FINDING witness-policy seq" --agency "$T/auditor/agency.vkey"

# --- the dock's own start-up checks (an honest dock, operator mistakes) ---
rm -rf "$T/dock" && cp -a "$T/pristine" "$T/dock"
"$C" agency-sign custody-cert --key "$T/agency/sign.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/root/ck.vkey" --dock-pub "$DOCKPUB" --days 365 \
	--out "$T/dock/other.cert" >/dev/null
mkconf "$T/dock/c.ini" "$T/dock/other.cert"
out=$("$C" $CF checkpoint 2>&1); rc=$?
check "a certificate of another checkpoint key: refuses to sign (exit $rc)" [ $rc -eq 2 ]
case $out in *"does not certify [ledger] checkpoint_key"*) ok "... and says why";; *) not_ok "reason: $out";; esac
mkconf "$T/dock/c.ini" "$T/root/custody.cert"
out=$("$C" $CF checkpoint 2>&1); rc=$?
check "a certificate the agency did not sign: refuses to sign (exit $rc)" [ $rc -eq 2 ]
case $out in *"does not verify"*) ok "... and says why";; *) not_ok "reason: $out";; esac
"$C" agency-sign custody-cert --key "$T/agency/sign.key" --agency-id pd-test --dock-id dock-1 \
	--origin $ORIGIN --checkpoint-vkey "$T/dock/ck.vkey" --dock-pub "$DOCKPUB" --days 10 \
	--out "$T/dock/short.cert" >/dev/null
mkconf "$T/dock/c.ini" "$T/dock/short.cert"
out=$("$C" $CF checkpoint 2>&1); rc=$?
check "a certificate expiring in 10 days still signs (exit $rc)" [ $rc -eq 0 ]
case $out in *"WARNING"*"expires in 9 day"*|*"WARNING"*"expires in 10 day"*) ok "... with a warning and an alert";;
	*) not_ok "expiry warning: $out";; esac
check "a renewed certificate is recorded as a second custody_certified" \
	[ "$(q "SELECT count(*) FROM events WHERE action = 53")" = 2 ]
done_testing
