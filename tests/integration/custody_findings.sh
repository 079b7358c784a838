#!/bin/sh
# `custody verify` finding classes on a real dock ledger (docs/custody-ledger.md
# "custody verify"): dockd ingests and stores two recordings of one camera,
# then each case tampers a fresh copy of that ledger (or its published
# checkpoints) in one targeted way and verify must exit 1 with a
# `FINDING <class> seq <N>:` line of exactly the class (and seq) that tamper
# produces:
#   record-missing       an item's evidence row deleted
#   record-orphan        an evidence row with no events inserted
#   agency               an event re-signed (canonical bytes and leaf hash
#                        recomputed) naming another agency for an item
#   checkpoint-missing   a published checkpoint deleted from the ledger
#   checkpoint-mismatch  a published checkpoint copied under another size
#                        (also checkpoint-missing: the ledger lacks that size)
#   bad-encoding         an event's canonical bytes that do not decode
#   unreadable-row       an event column of the wrong type
# The untouched copy verifies clean. Runtime ~10 s.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/dockd_lib.sh"
dk_require
mktmp

check "setup: keys, certificate, config, ledger" dk_init "$T/d" storage
check "setup: camera CAM-F with two recordings" dk_camera CAM-F 2 100000
check "dockd starts" dk_start --exit-when-idle
check "CAM-F docks" dk_dock CAM-F
wait "$DK_PID"; rc=$?; DK_PID=
check "dockd --exit-when-idle exits 0 once idle" [ "$rc" -eq 0 ]
check "both recordings storage_verified or released" sh -c \
	'for s in "$@"; do case $s in storage_verified|released) ;; *) exit 1 ;; esac; done' - \
	"$(dk_state CAM-F/REC-1)" "$(dk_state CAM-F/REC-2)"
sqlite3 "$DK_DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
n_ck=$(ls "$DK/anchor" | grep -c '^checkpoint\.')
check "the dock published checkpoints ($n_ck)" [ "$n_ck" -ge 1 ]
# Pristine checkpoints were written seconds ago; verify ignores a ledger
# checkpoint signed < 10 s before it lists the directory. Age them as a
# real gap would (this changes no signed byte).
sqlite3 "$DK_DB" "DROP TRIGGER checkpoints_no_update;
	UPDATE checkpoints SET created_ns = created_ns - 60000000000;" 2>/dev/null

# case NAME: a fresh copy of the dock's ledger and checkpoints in $D
case_dir() {
	D="$T/$1"; rm -rf "$D"; mkdir -p "$D"
	cp "$DK_DB" "$D/l.db" && cp -r "$DK/anchor" "$D/ext" || return 1
	cat >"$D/c.ini" <<EOC
[ledger]
path = $D/l.db
agency_id = $DK_AGENCY
checkpoint_pub = $DK/state/ckpt.vkey
checkpoint_origin = dock.test/$DK_AGENCY
external_checkpoint_dir = $D/ext
EOC
}
sq() { sqlite3 "$D/l.db" "$@" >/dev/null; }
verify_out() { "$CUSTODY" --config "$D/c.ini" verify >"$D/out" 2>&1; }
# expect DESC CLASS [SEQ]: exit 1 and a finding of CLASS (at SEQ)
expect() {
	verify_out; rc=$?
	# checkpoint findings carry no seq: "FINDING <class>: ..."
	if [ -n "${3:-}" ]; then pat="^FINDING $2 seq $3:"; else pat="^FINDING $2( seq [0-9]+)?:"; fi
	if [ "$rc" -eq 1 ] && grep -Eq "$pat" "$D/out"; then
		ok "$1: exit 1, FINDING $2${3:+ seq $3}"
	else
		not_ok "$1: exit $rc, no FINDING $2${3:+ seq $3}"
		head -8 "$D/out" | sed 's/^/# /'
	fi
	echo "# classes: $(grep -Eo '^FINDING [a-z-]+' "$D/out" | cut -d' ' -f2 | sort | uniq -c | tr -s ' \n' ' ')"
}
# only CLASS...: no finding of any other class (the tamper is targeted)
only() {
	others=$(grep -Eo '^FINDING [a-z-]+' "$D/out" | cut -d' ' -f2 | sort -u |
		grep -vxF "$(printf '%s\n' "$@")")
	[ -z "$others" ] || { echo "# other classes: $others"; return 1; }
}
seq_of() { # EVID ACTION-NUMBER: seq of the item's first event of that action
	sqlite3 "$DK_DB" "SELECT min(seq) FROM events WHERE evidence_id='$1'${2:+ AND action=$2}"
}

case_dir pristine
verify_out; rc=$?
check "the untouched copy verifies clean (exit 0, no finding)" \
	sh -c '[ "$1" -eq 0 ] && ! grep -q "^FINDING" "$2"' - "$rc" "$D/out"
grep '^FINDING' "$D/out" | head -5 | sed 's/^/# /'

# ---- evidence records ------------------------------------------------------
case_dir missing
sq "DELETE FROM evidence WHERE evidence_id = 'CAM-F/REC-1'"
expect "evidence row deleted" record-missing "$(seq_of CAM-F/REC-1)"
check "record-missing names the item" grep -q '^FINDING record-missing .*CAM-F/REC-1' "$D/out"
check "record-missing: no other class" only record-missing

case_dir orphan
sq "CREATE TEMP TABLE x AS SELECT * FROM evidence WHERE evidence_id = 'CAM-F/REC-2';
	UPDATE x SET evidence_id = 'CAM-F/REC-99'; INSERT INTO evidence SELECT * FROM x"
expect "evidence row without events inserted" record-orphan
check "record-orphan names the row" grep -q '^FINDING record-orphan .*CAM-F/REC-99' "$D/out"
check "record-orphan: no other class" only record-orphan

# ---- an event re-signed for another agency -----------------------------------
# The canonical encoding (docs/custody-ledger.md) is recomputed, so the row
# is self-consistent; only the replay sees the item change agency. The
# checkpoints catch the rewrite too (checkpoint-root).
case_dir agency
aseq=$(sqlite3 "$D/l.db" "SELECT max(seq) FROM events WHERE evidence_id = 'CAM-F/REC-1'")
python3 - "$D/l.db" "$aseq" <<'PY'
import sqlite3, hashlib, struct, sys
db = sqlite3.connect(sys.argv[1]); seq = int(sys.argv[2])
db.executescript("DROP TRIGGER events_no_update;")
def s(t): b = (t or "").encode(); return struct.pack(">I", len(b)) + b
r = list(db.execute("SELECT seq,time_ns,clock,agency_id,actor_kind,actor_id,action,evidence_id,"
                    "outcome,reason,case_no,details,canon FROM events WHERE seq=?", (seq,)).fetchone())
def enc(r):
    return (bytes([1]) + struct.pack(">Qq", r[0], r[1]) + bytes([r[2]]) + s(r[3]) + bytes([r[4]])
            + s(r[5]) + struct.pack(">H", r[6]) + s(r[7]) + bytes([r[8]]) + s(r[9]) + s(r[10])
            + s(r[11]))
assert enc(r) == r[12], "independent encoding differs"
r[3] = "pd-other"
c = enc(r)
db.execute("UPDATE events SET agency_id=?, canon=?, leaf_hash=? WHERE seq=?",
           (r[3], c, hashlib.sha256(b"\0" + c).digest(), seq))
db.commit()
PY
check "agency: event $aseq re-encoded for agency pd-other" [ $? -eq 0 ]
expect "event naming another agency for an item" agency "$aseq"
check "agency: the row itself is consistent (no changed-field, leaf-hash, bad-encoding)" \
	sh -c '! grep -Eq "^FINDING (changed-field|leaf-hash|bad-encoding) " "$1"' - "$D/out"

# ---- checkpoints -------------------------------------------------------------
case_dir ckmissing
csz=$(sqlite3 "$D/l.db" "SELECT min(size) FROM checkpoints")
sq "DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE size = $csz"
expect "published checkpoint $csz deleted from the ledger" checkpoint-missing
check "checkpoint-missing names size $csz" \
	grep -q "^FINDING checkpoint-missing: checkpoint $csz was published" "$D/out"
check "checkpoint-missing: no other class" only checkpoint-missing

case_dir ckmismatch
f=$(ls "$D/ext" | grep '^checkpoint\.' | head -1)
cp "$D/ext/$f" "$D/ext/checkpoint.99999"
expect "checkpoint $f copied as checkpoint.99999" checkpoint-mismatch
check "checkpoint-mismatch names 99999 and the signed size" \
	grep -q "^FINDING checkpoint-mismatch: external checkpoint 99999: signed tree size is ${f#checkpoint.}" \
	"$D/out"
# (the ledger has no checkpoint 99999, so it is also missing there)
check "checkpoint-mismatch: no other class than checkpoint-missing" \
	only checkpoint-mismatch checkpoint-missing

# ---- rows ----------------------------------------------------------------------
case_dir badenc
bseq=$(seq_of CAM-F/REC-2)
sq "DROP TRIGGER events_no_update; UPDATE events SET canon = x'01ff' WHERE seq = $bseq"
expect "canonical bytes that do not decode" bad-encoding "$bseq"

case_dir unreadable
useq=$(seq_of CAM-F/REC-1)
sq "DROP TRIGGER events_no_update; UPDATE events SET time_ns = 'not a number' WHERE seq = $useq"
check "unreadable: time_ns is stored as text" \
	[ "$(sqlite3 "$D/l.db" "SELECT typeof(time_ns) FROM events WHERE seq = $useq")" = text ]
expect "a column of the wrong type" unreadable-row "$useq"
check "unreadable-row names the column" grep -q "^FINDING unreadable-row seq $useq: column time_ns" "$D/out"
done_testing
