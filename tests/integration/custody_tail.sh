#!/bin/sh
# No unprotected tail (issue #10): every process that appends to the
# ledger publishes a signed checkpoint covering its events before it
# answers or exits. Here: the custody CLI (history, search, verify, proof,
# user), the query service (`custody serve`, checkpoint before the reply),
# and the CLI without the checkpoint key (says so on stderr, events stay in
# the tail). Then the dock's root deletes the last events - the audit
# events those reads wrote - by putting back a consistent copy of the
# ledger from before them: `custody verify` must find it against the
# external checkpoints (on the old code no checkpoint covered them and
# verify passed). The attack runs before anything else signs.
. "$(dirname "$0")/../lib.sh"
mktmp
C="$BIN/custody"
CONF="$T/c.ini"
DB="$T/l.db"
SOCK="$T/q.sock"
cat >"$CONF" <<EOF
[ledger]
path = $DB
agency_id = pd-test
checkpoint_key = $T/ck.key
checkpoint_pub = $T/ck.vkey
checkpoint_origin = dock.example/pd-test
external_checkpoint_dir = $T/ext
[query]
socket = $SOCK
socket_mode = 0600
EOF
sed '/^checkpoint_key/d' "$CONF" >"$T/nokey.ini"
mkdir -p "$T/ext"
q() { sqlite3 "$DB" "$1"; }
events() { q "SELECT count(*) FROM events"; }
newest_ext() { ls "$T/ext" | sed -n 's/^checkpoint\.//p' | sort -n | tail -1; }
newest_ck() { q "SELECT coalesce(max(size), 0) FROM checkpoints"; }
# covered DESC: the ledger's events are all under a published checkpoint
covered() {
	n=$(events); e=$(newest_ext); k=$(newest_ck)
	if [ "$e" = "$n" ] && [ "$k" = "$n" ] && [ -f "$T/ext/checkpoint.$n" ]; then ok "$1"
	else not_ok "$1 (events $n, newest external checkpoint ${e:-none}, in ledger $k)"; fi
}
# snapshot NAME: a consistent copy of the ledger as it is now
snapshot() { sqlite3 "$DB" ".backup '$T/$1.db'"; }

"$C" keygen --key "$T/ck.key" --vkey "$T/ck.vkey" --name dock.example/pd-test >/dev/null
"$C" --config "$CONF" init >/dev/null 2>&1
"$C" --config "$CONF" demo-fill 4 --per-session 2 >/dev/null 2>&1
ID=$(q "SELECT evidence_id FROM evidence ORDER BY evidence_id LIMIT 1")
check "demo ledger has an item ($ID)" [ -n "$ID" ]
covered "demo ledger covered by its checkpoints"

# --- the CLI signs what it appended before it exits ----------------------
snapshot before_reads
n0=$(events)
"$C" --config "$CONF" history "$ID" --reason "tail test" >/dev/null 2>"$T/err"; rc=$?
check "history ok, appended its ledger_read event" test $rc -eq 0 -a "$(events)" -eq $((n0 + 1))
covered "after history: a checkpoint covers its audit event"
check "history said nothing on stderr" [ ! -s "$T/err" ]
"$C" --config "$CONF" search --reason "tail test" >/dev/null 2>&1
covered "after search: covered"
"$C" --config "$CONF" verify >/dev/null 2>&1; rc=$?
check "verify clean" [ $rc -eq 0 ]
check "verify recorded its run" [ "$(q "SELECT action FROM events ORDER BY seq DESC LIMIT 1")" = 43 ]
covered "after verify: its ledger_verified event is covered"
# --- the dock's root deletes the newest events ---------------------------
# A consistent ledger from before the reads (frontier, checkpoints, records
# all match): only the published checkpoints remember the reads. Each
# copy is verified in place (--db) against the external checkpoints.
# expect_truncated DESC COPY
expect_truncated() {
	out=$("$C" --config "$CONF" --db "$2" --read-only verify 2>&1); rc=$?
	if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q "FINDING truncated"; then ok "$1"
	else not_ok "$1 (exit $rc)"; printf '%s\n' "$out" | sed 's/^/# /' | head -5; fi
}
expect_truncated "deleting the reads' audit events is detected" "$T/before_reads.db"

"$C" --config "$CONF" proof "$ID" --out "$T/proof.json" >/dev/null 2>&1; rc=$?
check "proof written" test $rc -eq 0 -a -s "$T/proof.json"
covered "after proof: its ledger_read event is covered"
"$C" --config "$CONF" user add tailclerk --role clerk --agency pd-test >/dev/null 2>&1
covered "after user add: its user_added event is covered"

# only the newest event: the verify run's own record
snapshot before_verify
"$C" --config "$CONF" verify >/dev/null 2>&1
expect_truncated "deleting verify's own ledger_verified event is detected" "$T/before_verify.db"

# --- the query service signs before it answers ---------------------------
"$C" --config "$CONF" user add root --role clerk --agency pd-test >/dev/null 2>&1
"$C" --config "$CONF" serve 2>"$T/serve.log" &
SP=$!
i=0; while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "query service listening" test -S "$SOCK"
n1=$(events)
out=$("$C" --config "$CONF" remote --socket "$SOCK" history "$ID" --reason "via service" 2>&1); rc=$?
check "remote history answered" [ $rc -eq 0 ]
# The reply came after the checkpoint: no waiting here.
check "service appended its audit event" [ "$(events)" -gt "$n1" ]
covered "when the answer arrives a checkpoint covers the service's event"
"$C" --config "$CONF" remote --socket "$SOCK" history EV-NOPE --reason x >/dev/null 2>&1
covered "a refused/missing-item request is covered too"
kill "$SP"; wait "$SP" 2>/dev/null
check "service without problems signing" sh -c "! grep -q 'checkpoint not written' '$T/serve.log'"

# --- without the key: said on stderr, events stay in the tail -------------
k0=$(newest_ck)
"$C" --config "$T/nokey.ini" history "$ID" --reason "no key" >/dev/null 2>"$T/err"; rc=$?
check "history without the key still answers (exit 0)" [ $rc -eq 0 ]
check "stderr says the event stays in the unsigned tail" grep -q "unsigned tail" "$T/err"
check "no checkpoint was written" [ "$(newest_ck)" = "$k0" ]
"$C" --config "$CONF" checkpoint >/dev/null 2>&1
covered "custody checkpoint then covers the tail"

check "the ledger verifies" sh -c "'$C' --config '$CONF' --read-only verify >/dev/null"
done_testing
