#!/bin/sh
# Witnessed checkpoints (issue 10): two real `custody witness` processes on
# loopback cosign dockd's checkpoints; a witness restarted keeps its state;
# a forged history re-signed with the real checkpoint key, a rollback and
# hostile request bodies get no cosignature; a fork shown to two auditors
# is caught by `custody audit`; a witness that was down catches up.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp
W1_PID= W2_PID=
# mktmp's trap, plus the witnesses (restarted ones are no longer jobs)
trap 'kill $(jobs -p) $W1_PID $W2_PID $DK_PID 2>/dev/null; rm -rf "$T"' EXIT
C="$BIN/custody"
DK_IDLE_MS=1500
check "dock, agency and checkpoint keys" dk_init "$T/dk"
ORIGIN=dock.test/$DK_AGENCY
LOGSPEC="$ORIGIN $(cat "$DK/state/ckpt.vkey")"
HASH=$(printf '%s' "$ORIGIN" | sha256sum | cut -c1-64)

# wstart N [PORT]: witness wN on loopback (port 0: any), pid in W<N>_PID
wstart() {
	"$C" witness --listen "127.0.0.1:${2:-0}" --state "$T/w$1" --key "$T/w$1.key" \
		--name "w$1.test/witness" --log "$LOGSPEC" >"$T/w$1.out" 2>>"$T/w$1.err" &
	eval "W$1_PID=$!"
	i=0
	until grep -q '^vkey ' "$T/w$1.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.05
	done
	eval "W$1_PORT=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$T/w$1.out")"
}
wstop() { eval "kill \$W$1_PID; wait \$W$1_PID"; }
# post N FILE: HTTP status of POST FILE to witness N, body in $T/resp
post() {
	eval "p=\$W$1_PORT"
	curl -s -o "$T/resp" -w '%{http_code}' --data-binary @"$2" \
		"http://127.0.0.1:$p/add-checkpoint"
}
both() { [ "$1" = "$2" ] && [ "$3" = "$4" ]; }
for n in 1 2; do
	"$C" witness keygen --key "$T/w$n.key" --vkey "$T/w$n.vkey" --name "w$n.test/witness" \
		>/dev/null
done
cat "$T/w1.vkey" "$T/w2.vkey" >"$T/witnesses.vkeys"
check "witness 1 starts on loopback" wstart 1
check "witness 2 starts on loopback" wstart 2
cat >>"$DK_CONF" <<EOC

[witness]
witness = http://127.0.0.1:$W1_PORT $(cat "$T/w1.vkey")
witness = http://127.0.0.1:$W2_PORT/ $(cat "$T/w2.vkey")
timeout_s = 5
retry_s = 1
EOC

# ---- dockd gets cosignatures from both witnesses --------------------------
dk_camera CAM-1 2 50000 || not_ok "camera CAM-1"
check "dockd starts with two witnesses" dk_start --exit-when-idle
dk_dock CAM-1
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd exits 0" [ $rc -eq 0 ]
N=$(dk_sql "SELECT max(size) FROM checkpoints")
check "the newest checkpoint ($N) has cosignatures from both witnesses" \
	[ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs WHERE size = $N")" -eq 2 ]
F="$DK/anchor/checkpoint.$N.cosigned"
check "the external copy carries the cosignature lines" \
	[ "$(grep -c 'w[12].test/witness' "$F")" -eq 2 ]
out=$("$C" audit --state "$T/aud0" --vkey "$DK/state/ckpt.vkey" --note "$F" \
	--witnesses "$T/witnesses.vkeys" --quorum 2); rc=$?
check "an auditor checks both cosignatures and the log signature" [ $rc -eq 0 ]
case $out in *"2 of 2 known witnesses"*) ok "audit counts 2 witnesses";;
	*) not_ok "audit output: $out";; esac
check "custody verify still accepts the ledger" dk_verify

# ---- restart: the witness keeps its state ---------------------------------
wstop 1
check "witness 1 restarts on its state" wstart 1 "$W1_PORT"
curl -s "http://127.0.0.1:$W1_PORT/$HASH/checkpoint" >"$T/w1.cp"
check "after restart it serves its latest checkpoint ($N)" \
	[ "$(sed -n 2p "$T/w1.cp")" = "$N" ]
{ printf 'old 0\n\n'; cat "$DK/anchor/checkpoint.$N"; } >"$T/old0"
st=$(post 1 "$T/old0")
check "old size 0 is answered 409 with the size it holds ($st $(cat "$T/resp"))" \
	both "$st" 409 "$(cat "$T/resp")" "$N"

# ---- forged history, re-signed with the real checkpoint key ---------------
# The dock's root rewrites the log: a different history under the same
# origin and key (here: a fresh ledger, larger and equal in size).
mkdir -p "$T/forge/ext"
cat >"$T/forge/c.ini" <<EOC
[ledger]
path = $T/forge/l.db
agency_id = $DK_AGENCY
checkpoint_key = $DK/state/ckpt.key
checkpoint_origin = $ORIGIN
external_checkpoint_dir = $T/forge/ext
EOC
"$C" --config "$T/forge/c.ini" init >/dev/null
"$C" --config "$T/forge/c.ini" demo-fill 6 --per-session 1 >/dev/null
M=$(sqlite3 "$T/forge/l.db" "SELECT max(size) FROM checkpoints")
check "forged log is larger ($M > $N)" [ "$M" -gt "$N" ]
"$C" --config "$T/forge/c.ini" consistency-proof "$N" "$M" >"$T/forged.req"
st=$(post 1 "$T/forged.req")
check "witness refuses the rewritten history (HTTP $st)" [ "$st" = 422 ]
st=$(post 2 "$T/forged.req")
check "the other witness refuses it too (HTTP $st)" [ "$st" = 422 ]
check "no cosignature was returned" sh -c "! grep -q 'witness' '$T/resp'"
check "the refused, validly signed note is kept as evidence" \
	[ -n "$(ls "$T/w1/refused" 2>/dev/null)" ]
curl -s "http://127.0.0.1:$W1_PORT/$HASH/checkpoint" >"$T/w1.cp2"
check "the witness state did not move" cmp -s "$T/w1.cp" "$T/w1.cp2"
# same size, other root (a fork at equal size)
same=$(ls "$T/forge/ext" | sed 's/checkpoint\.//' | sort -n | awk -v n="$N" '$1 >= n' | head -1)
if [ "$same" = "$N" ]; then
	{ printf 'old %s\n\n' "$N"; cat "$T/forge/ext/checkpoint.$N"; } >"$T/fork.req"
	st=$(post 1 "$T/fork.req")
	check "a different root at the same size is refused (HTTP $st)" [ "$st" = 422 ]
fi

# ---- rollback --------------------------------------------------------------
OLD=$(ls "$DK/anchor" | grep -E '^checkpoint\.[0-9]+$' | sed 's/checkpoint\.//' | sort -n | head -1)
{ printf 'old %s\n\n' "$N"; cat "$DK/anchor/checkpoint.$OLD"; } >"$T/rb1"
{ printf 'old 0\n\n'; cat "$DK/anchor/checkpoint.$OLD"; } >"$T/rb2"
if [ "$OLD" -lt "$N" ]; then
	st1=$(post 1 "$T/rb1"); st2=$(post 1 "$T/rb2")
	check "rollback to size $OLD refused ($st1 old>size, $st2 stale)" \
		both "$st1" 400 "$st2" 409
else
	skip "rollback" "only one checkpoint"
fi

# ---- a fork shown to two auditors -----------------------------------------
# Auditor A is shown the real log, auditor B the forged one.
"$C" audit --state "$T/audA" --vkey "$DK/state/ckpt.vkey" --note "$F" >/dev/null
"$C" audit --state "$T/audB" --vkey "$DK/state/ckpt.vkey" \
	--note "$T/forge/ext/checkpoint.$M" >/dev/null
out=$("$C" audit --state "$T/audA" --vkey "$DK/state/ckpt.vkey" --note "$T/forged.req"); rc=$?
check "auditor A, shown the forged log next, finds the fork (exit $rc)" [ $rc -eq 1 ]
case $out in *FORK*) ok "audit says FORK";; *) not_ok "audit output: $out";; esac
out=$("$C" audit --state "$T/audB" --vkey "$DK/state/ckpt.vkey" --note "$F"); rc=$?
check "auditor B, shown the real (smaller) log, finds a rollback (exit $rc)" [ $rc -eq 1 ]
case $out in *ROLLBACK*) ok "audit says ROLLBACK";; *) not_ok "audit output: $out";; esac
"$C" audit --state "$T/audC" --vkey "$DK/state/ckpt.vkey" --note "$T/forge/ext/checkpoint.$M" \
	--witnesses "$T/witnesses.vkeys" --quorum 1 >/dev/null; rc=$?
check "the forged checkpoint has no witness quorum (exit $rc)" [ $rc -eq 1 ]
out=$("$C" audit --state "$T/audA" --vkey "$DK/state/ckpt.vkey" --note "$F"); rc=$?
check "the auditor's state was not advanced by the fork" [ $rc -eq 0 ]

# ---- hostile request bodies -------------------------------------------------
printf 'garbage' >"$T/h1"
printf 'old 01\n\n' >"$T/h2"; cat "$DK/anchor/checkpoint.$N" >>"$T/h2"
{ printf 'old 1\n'; i=0; while [ $i -lt 64 ]; do
	echo 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; i=$((i + 1)); done
	printf '\n'; cat "$DK/anchor/checkpoint.$N"; } >"$T/h3"
printf 'old 1\nnot-base64-at-all!\n\n' >"$T/h4"; cat "$DK/anchor/checkpoint.$N" >>"$T/h4"
printf 'old 1\n\n' >"$T/h5"
for h in h1 h2 h3 h4 h5; do
	st=$(post 1 "$T/$h")
	check "hostile body $h: 400 (got $st)" [ "$st" = 400 ]
done
head -c 60000 /dev/zero | tr '\0' 'a' >"$T/big"
st=$(post 1 "$T/big")
check "oversized body: 413 (got $st)" [ "$st" = 413 ]
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/big" "http://127.0.0.1:$W1_PORT/add-checkpoint")
check "oversized chunked body: connection closed, no answer (got $st)" [ "$st" = 000 ]
# one base64 character of the signature (past the key id) changed
python3 -c '
import sys
t = open(sys.argv[1], encoding="utf-8").read().split("\n")
i = [k for k, l in enumerate(t) if l.startswith("\u2014 dock.test")][0]
name, b = t[i].rsplit(" ", 1)
c = "A" if b[20] != "A" else "B"
t[i] = name + " " + b[:20] + c + b[21:]
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(t))
' "$DK/anchor/checkpoint.$N" "$T/badsig.cp"
{ printf 'old %s\n\n' "$N"; cat "$T/badsig.cp"; } >"$T/h6"
st=$(post 1 "$T/h6")
check "a bad log signature: 403 (got $st)" [ "$st" = 403 ]
sed "1s/.*/other.example\/log/" "$DK/anchor/checkpoint.$N" >"$T/other.cp"
{ printf 'old 0\n\n'; cat "$T/other.cp"; } >"$T/h7"
st=$(post 1 "$T/h7")
check "an unknown origin: 404 (got $st)" [ "$st" = 404 ]
st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$T/h1" \
	"http://127.0.0.1:$W1_PORT/add-checkpoint")
check "wrong method: 405 (got $st)" [ "$st" = 405 ]
check "witness 1 is still serving" kill -0 "$W1_PID"

# ---- a witness down catches up later ---------------------------------------
wstop 2
dk_camera CAM-2 1 40000 || not_ok "camera CAM-2"
check "dockd starts (witness 2 down)" dk_start
dk_dock CAM-2
i=0; N2=$N
while [ $i -lt 100 ]; do
	N2=$(dk_sql "SELECT max(size) FROM checkpoints")
	[ "$N2" -gt "$N" ] && [ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs WHERE size = $N2 AND witness = 'w1.test/witness'")" -eq 1 ] && break
	i=$((i + 1)); sleep 0.1
done
check "witness 1 cosigned the new checkpoint $N2" [ $i -lt 100 ]
check "docking did not wait for the witness that is down" \
	[ "$(dk_state CAM-2/REC-1)" != "" ]
check "witness 2 (down) has no cosignature of it" \
	[ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs WHERE size = $N2 AND witness = 'w2.test/witness'")" -eq 0 ]
check "witness 2 restarts on its state" wstart 2 "$W2_PORT"
i=0
while [ $i -lt 100 ]; do
	[ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs WHERE size = $N2 AND witness = 'w2.test/witness'")" -eq 1 ] && break
	i=$((i + 1)); sleep 0.1
done
check "dockd retried: witness 2 cosigned $N2 after it came back" [ $i -lt 100 ]
check "dockd stops cleanly" dk_stop
out=$("$C" --db "$DK_DB" audit --state "$T/aud0" --vkey "$DK/state/ckpt.vkey" \
	--note "$DK/anchor/checkpoint.$N2.cosigned" --witnesses "$T/witnesses.vkeys" --quorum 2); rc=$?
check "the auditor proves the log only grew $N -> $N2 (from the ledger)" [ $rc -eq 0 ]
case $out in *"only grew"*) ok "audit says the log only grew";; *) not_ok "audit: $out";; esac

# ---- the dock's root swaps in the rewritten ledger ------------------------
# (with a fresh external directory, so the old copies do not stop dockd):
# the witnesses refuse what dockd sends them and dockd raises an alert.
cp "$T/forge/l.db" "$DK_DB" && rm -f "$DK_DB-wal" "$DK_DB-shm"
mkdir -p "$T/anchor2"
sed -i "s#^external_checkpoint_dir = .*#external_checkpoint_dir = $T/anchor2#" "$DK_CONF"
: >"$DK/alerts.log"
check "dockd starts on the rewritten ledger" dk_start --exit-when-idle
wait "$DK_PID"; DK_PID=
check "no witness cosigned the rewritten history" \
	[ "$(dk_sql "SELECT count(*) FROM checkpoint_cosigs")" -eq 0 ]
check "dockd raised a witness alert" grep -q '^witness .*refused' "$DK/alerts.log"
curl -s "http://127.0.0.1:$W1_PORT/$HASH/checkpoint" >"$T/w1.cp3"
check "witness 1 still holds the real log ($N2)" [ "$(sed -n 2p "$T/w1.cp3")" = "$N2" ]
wstop 1
wstop 2
done_testing
